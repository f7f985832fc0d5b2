package events

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// The data of each event, with the WalletPro seed's field names and types:
// a receiver written from the seed's tables (integer transaction_id,
// user_id and transfer_id, integer-or-null order_id, decimal strings for
// money) decodes every body unchanged. walletd's own string ids travel as
// extra fields (txn_id, tfr_id, wallet_id), which the seed's receivers
// ignore. docs/events.md is the reference.
//
// transaction_id is the ledger seq of the entry (its seq field too): a
// positive integer, unique and never reused. transfer_id is the seq of the
// transfer's debit leg (transfer_out); the writer appends the credit leg
// right after it (ledger/transfer.go), so both legs' events carry the same
// transfer_id.

// StorefrontID is an id a storefront owns (the user id of a wallet's
// owner, an order id) as the payloads carry it. walletd keeps the id as
// text; MarshalJSON writes it as a JSON integer when the text is a
// decimal integer that reads back the same (digits only, no leading zero,
// at most 9223372036854775807: 1204), as a JSON string otherwise
// ("cus_1042", "01204"), and as null when it is empty (no order).
type StorefrontID string

// Int64 returns the id as an integer, and whether it is one: the
// canonical decimal text of a number from 0 to 9223372036854775807.
func (id StorefrontID) Int64() (int64, bool) {
	s := string(id)
	if s == "" || len(s) > 1 && s[0] == '0' || s[0] == '+' || s[0] == '-' {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// MarshalJSON writes the id as an integer, a string or null (see
// StorefrontID).
func (id StorefrontID) MarshalJSON() ([]byte, error) {
	if id == "" {
		return []byte("null"), nil
	}
	if _, ok := id.Int64(); ok {
		return []byte(id), nil
	}
	return json.Marshal(string(id))
}

// UnmarshalJSON reads what MarshalJSON writes: a JSON integer, a string
// or null (the empty id). It is lenient on purpose, as readers of
// payloads are: a string id that looks like a number is kept as it is.
func (id *StorefrontID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		*id = ""
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*id = StorefrontID(s)
		return nil
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("events: storefront id %s is not a non-negative integer, a string or null", b)
	}
	*id = StorefrontID(strconv.FormatInt(n, 10))
	return nil
}

// TransactionData is the data of wallet.credited and wallet.debited: the
// seed's transaction fields, then walletd's own.
type TransactionData struct {
	TransactionID uint64       `json:"transaction_id"` // the entry's seq
	UserID        StorefrontID `json:"user_id"`
	UserEmail     string       `json:"user_email"`
	Amount        string       `json:"amount"`
	Currency      string       `json:"currency"`
	BalanceAfter  string       `json:"balance_after"`
	Type          string       `json:"type"`
	Reason        string       `json:"reason"`
	OrderID       StorefrontID `json:"order_id"` // null when the entry has none
	LedgerHash    string       `json:"ledger_hash"`
	Seq           uint64       `json:"seq"`
	WalletID      string       `json:"wallet_id"`
	TxnID         string       `json:"txn_id"` // walletd's transaction id, "txn_…"
}

// TransferData is the data of wallet.transfer.sent and .received: the
// seed's transfer fields, then the leg's entry.
type TransferData struct {
	TransferID     uint64       `json:"transfer_id"` // the seq of the debit leg
	SenderID       StorefrontID `json:"sender_id"`
	SenderEmail    string       `json:"sender_email"`
	RecipientID    StorefrontID `json:"recipient_id"`
	RecipientEmail string       `json:"recipient_email"`
	Amount         string       `json:"amount"`
	Currency       string       `json:"currency"`
	Note           string       `json:"note"`
	TransactionID  uint64       `json:"transaction_id"` // this leg's seq
	LedgerHash     string       `json:"ledger_hash"`
	Seq            uint64       `json:"seq"`
	WalletID       string       `json:"wallet_id"` // this leg's wallet
	TxnID          string       `json:"txn_id"`    // this leg's transaction id, "txn_…"
	TfrID          string       `json:"tfr_id"`    // walletd's transfer id, "tfr_…"
}

// WalletData is the data of wallet.created, wallet.frozen, wallet.unfrozen.
type WalletData struct {
	WalletID      string       `json:"wallet_id"`
	UserID        StorefrontID `json:"user_id"`
	UserEmail     string       `json:"user_email"`
	Currency      string       `json:"currency"`
	Status        string       `json:"status"`
	Reason        string       `json:"reason"`
	TransactionID uint64       `json:"transaction_id"` // the entry's seq
	LedgerHash    string       `json:"ledger_hash"`
	Seq           uint64       `json:"seq"`
	TxnID         string       `json:"txn_id"`
}

// FlowData is the data of the events that accompany a wallet.credited or
// wallet.debited, or that record a step of a flow without a balance change
// (top-ups, withdrawals, redemptions, rewards, refusals, reloads). It
// carries the transaction fields of the seed's reference, then the fields
// of the flow; fields a flow does not use are left out.
type FlowData struct {
	TransactionData
	HeldAfter string `json:"held_after,omitempty"`

	TopupID         string       `json:"topup_id,omitempty"`
	WithdrawalID    string       `json:"withdrawal_id,omitempty"`
	Method          string       `json:"method,omitempty"`
	ExternalRef     string       `json:"external_ref,omitempty"`
	Destination     string       `json:"destination,omitempty"`
	FailureReason   string       `json:"failure_reason,omitempty"`
	CodeID          string       `json:"code_id,omitempty"`
	CodeHint        string       `json:"code_hint,omitempty"`
	MilestoneID     string       `json:"milestone_id,omitempty"`
	MilestoneName   string       `json:"milestone_name,omitempty"`
	Metric          string       `json:"metric,omitempty"`
	Threshold       string       `json:"threshold,omitempty"`
	RuleID          string       `json:"rule_id,omitempty"`
	Percent         string       `json:"percent,omitempty"`
	OrderTotal      string       `json:"order_total,omitempty"`
	ReferralRole    string       `json:"referral_role,omitempty"`
	ReferrerUserID  StorefrontID `json:"referrer_user_id,omitempty"`
	RefereeUserID   StorefrontID `json:"referee_user_id,omitempty"`
	LimitKind       string       `json:"limit_kind,omitempty"`
	Limit           string       `json:"limit,omitempty"`
	Spent           string       `json:"spent,omitempty"`
	AttemptedAmount string       `json:"attempted_amount,omitempty"`
	Operation       string       `json:"operation,omitempty"`
	KYCStatus       string       `json:"kyc_status,omitempty"`
	KYCThreshold    string       `json:"kyc_threshold,omitempty"`
	ReloadAmount    string       `json:"reload_amount,omitempty"`
}

// UpdateData is the data of wallet.updated (a wallet's limits, KYC status
// or auto-reload changed) and config.updated (a rule, milestone, code,
// referral or setting was created or changed): what changed and its new
// settings, as strings.
type UpdateData struct {
	Change        string            `json:"change"`
	ID            string            `json:"id,omitempty"`
	WalletID      string            `json:"wallet_id,omitempty"`
	UserID        StorefrontID      `json:"user_id,omitempty"`
	UserEmail     string            `json:"user_email,omitempty"`
	Currency      string            `json:"currency,omitempty"`
	Settings      map[string]string `json:"settings"`
	TransactionID uint64            `json:"transaction_id"` // the entry's seq
	LedgerHash    string            `json:"ledger_hash"`
	Seq           uint64            `json:"seq"`
	TxnID         string            `json:"txn_id"`
}

// CheckpointData is the data of ledger.checkpoint.
type CheckpointData struct {
	LedgerID  string `json:"ledger_id"`
	Seq       uint64 `json:"seq"`
	HeadHash  string `json:"head_hash"`
	CreatedAt string `json:"created_at"`
	Signature string `json:"signature"` // base64 Ed25519
}
