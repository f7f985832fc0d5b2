// Package events defines walletd's events: the WalletPro v1 envelope, the
// catalogue of event keys and their data, and subject names. It is pure
// data; publishing lives in events/bus.
package events

import (
	"crypto/sha256"
	"encoding/json"
	"strings"
	"time"

	"github.com/segmentio/ksuid"
)

// APIVersion is the envelope's api_version.
const APIVersion = "v1"

// IDPrefix starts every event id.
const IDPrefix = "wph_"

// The WalletPro event keys (walletpro-webhooks seed), then walletd's own.
const (
	WalletCredited         = "wallet.credited"
	WalletDebited          = "wallet.debited"
	TopupCompleted         = "wallet.topup.completed"
	TopupFailed            = "wallet.topup.failed"
	ReloadTriggered        = "wallet.reload.triggered"
	TransferSent           = "wallet.transfer.sent"
	TransferReceived       = "wallet.transfer.received"
	WithdrawalRequested    = "wallet.withdrawal.requested"
	WithdrawalApproved     = "wallet.withdrawal.approved"
	WithdrawalRejected     = "wallet.withdrawal.rejected"
	RedemptionCodeRedeemed = "wallet.redemption_code.redeemed"
	MilestoneAwarded       = "wallet.milestone.awarded"
	CashbackAwarded        = "wallet.cashback.awarded"
	ReferralRewarded       = "wallet.referral.rewarded"
	SpendingLimitBlocked   = "wallet.spending_limit.blocked"
	KYCRequired            = "wallet.kyc.required"
	WalletCreated          = "wallet.created"
	WalletFrozen           = "wallet.frozen"
	WalletUnfrozen         = "wallet.unfrozen"
	WalletUpdated          = "wallet.updated"
	TopupPending           = "wallet.topup.pending"
	OrderCompleted         = "wallet.order.completed"
	OrderRefunded          = "wallet.order.refunded"
	ConfigUpdated          = "config.updated"
	LedgerCheckpoint       = "ledger.checkpoint"
	Ping                   = "ping"
)

// Envelope is the WalletPro v1 envelope every event travels in. Field
// order is the order on the wire.
type Envelope struct {
	ID         string          `json:"id"`
	Event      string          `json:"event"`
	APIVersion string          `json:"api_version"`
	CreatedAt  string          `json:"created_at"`
	SiteURL    string          `json:"site_url"`
	Data       json.RawMessage `json:"data"`
	Test       bool            `json:"test,omitempty"`
}

// Record is one event ready to publish, with its place in the outbox
// order: ledger seq, then index among the events of that entry.
type Record struct {
	Seq      uint64    // ledger seq of the entry, or of the head a checkpoint signs
	Index    int       // 0, 1 … among the events of one entry
	Time     time.Time // when the entry or checkpoint was committed
	Envelope Envelope
}

// Checkpoint records are ordered after every entry event of their seq.
const CheckpointIndex = 100

// Key returns the record's event key.
func (r *Record) Key() string { return r.Envelope.Event }

// Body returns the envelope's JSON: the exact bytes published and signed.
func (r *Record) Body() []byte {
	b, _ := json.Marshal(r.Envelope)
	return b
}

// Subject returns the NATS subject of an event key under prefix:
// "walletd" + "wallet.credited" → "walletd.wallet.credited".
func Subject(prefix, key string) string { return prefix + "." + key }

// KeyFromSubject is the inverse of Subject.
func KeyFromSubject(prefix, subject string) (string, bool) {
	return strings.CutPrefix(subject, prefix+".")
}

// TimeFormat is created_at's format: RFC 3339 in UTC, to the second.
const TimeFormat = "2006-01-02T15:04:05Z"

// FormatTime renders t as created_at.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }

// NewID returns a fresh event id: "wph_" + KSUID.
func NewID() string { return IDPrefix + ksuid.New().String() }

// DeriveID returns the id of the n-th further event of an entry whose first
// event has id: the same KSUID time with a payload taken from SHA-256 of
// (id, n). It is fixed by id, so every re-publication carries it unchanged.
func DeriveID(id string, n int) string {
	k, err := ksuid.Parse(strings.TrimPrefix(id, IDPrefix))
	if err != nil {
		sum := sha256.Sum256([]byte(id))
		k, _ = ksuid.FromParts(time.Unix(0, 0), sum[:16])
	}
	sum := sha256.Sum256(append([]byte(id), byte(n)))
	d, _ := ksuid.FromParts(k.Time(), sum[:16])
	return IDPrefix + d.String()
}

// IDFor returns a deterministic event id for something that is not an
// entry (a checkpoint): the KSUID of time t with a payload taken from
// SHA-256 of parts.
func IDFor(t time.Time, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	k, _ := ksuid.FromParts(t, h.Sum(nil)[:16])
	return IDPrefix + k.String()
}

// TransactionData is the data of wallet.credited, wallet.debited and the
// events that pair with a balance change (seed field reference), plus the
// ledger seq and wallet id.
type TransactionData struct {
	TransactionID string `json:"transaction_id"`
	UserID        string `json:"user_id"`
	UserEmail     string `json:"user_email"`
	Amount        string `json:"amount"`
	Currency      string `json:"currency"`
	BalanceAfter  string `json:"balance_after"`
	Type          string `json:"type"`
	Reason        string `json:"reason"`
	OrderID       string `json:"order_id"`
	LedgerHash    string `json:"ledger_hash"`
	Seq           uint64 `json:"seq"`
	WalletID      string `json:"wallet_id"`
}

// TransferData is the data of wallet.transfer.sent and .received.
type TransferData struct {
	TransferID     string `json:"transfer_id"`
	SenderID       string `json:"sender_id"`
	SenderEmail    string `json:"sender_email"`
	RecipientID    string `json:"recipient_id"`
	RecipientEmail string `json:"recipient_email"`
	Amount         string `json:"amount"`
	Currency       string `json:"currency"`
	Note           string `json:"note"`
	TransactionID  string `json:"transaction_id"`
	LedgerHash     string `json:"ledger_hash"`
	Seq            uint64 `json:"seq"`
}

// WalletData is the data of wallet.created, wallet.frozen, wallet.unfrozen.
type WalletData struct {
	WalletID      string `json:"wallet_id"`
	UserID        string `json:"user_id"`
	UserEmail     string `json:"user_email"`
	Currency      string `json:"currency"`
	Status        string `json:"status"`
	Reason        string `json:"reason"`
	TransactionID string `json:"transaction_id"`
	LedgerHash    string `json:"ledger_hash"`
	Seq           uint64 `json:"seq"`
}

// FlowData is the data of the events that accompany a wallet.credited or
// wallet.debited, or that record a step of a flow without a balance change
// (top-ups, withdrawals, redemptions, rewards, refusals, reloads). It
// carries the transaction fields of the seed's reference, then the fields
// of the flow; fields a flow does not use are left out.
type FlowData struct {
	TransactionData
	HeldAfter string `json:"held_after,omitempty"`

	TopupID         string `json:"topup_id,omitempty"`
	WithdrawalID    string `json:"withdrawal_id,omitempty"`
	Method          string `json:"method,omitempty"`
	ExternalRef     string `json:"external_ref,omitempty"`
	Destination     string `json:"destination,omitempty"`
	FailureReason   string `json:"failure_reason,omitempty"`
	CodeID          string `json:"code_id,omitempty"`
	CodeHint        string `json:"code_hint,omitempty"`
	MilestoneID     string `json:"milestone_id,omitempty"`
	MilestoneName   string `json:"milestone_name,omitempty"`
	Metric          string `json:"metric,omitempty"`
	Threshold       string `json:"threshold,omitempty"`
	RuleID          string `json:"rule_id,omitempty"`
	Percent         string `json:"percent,omitempty"`
	OrderTotal      string `json:"order_total,omitempty"`
	ReferralRole    string `json:"referral_role,omitempty"`
	ReferrerUserID  string `json:"referrer_user_id,omitempty"`
	RefereeUserID   string `json:"referee_user_id,omitempty"`
	LimitKind       string `json:"limit_kind,omitempty"`
	Limit           string `json:"limit,omitempty"`
	Spent           string `json:"spent,omitempty"`
	AttemptedAmount string `json:"attempted_amount,omitempty"`
	Operation       string `json:"operation,omitempty"`
	KYCStatus       string `json:"kyc_status,omitempty"`
	KYCThreshold    string `json:"kyc_threshold,omitempty"`
	ReloadAmount    string `json:"reload_amount,omitempty"`
}

// UpdateData is the data of wallet.updated (a wallet's limits, KYC status
// or auto-reload changed) and config.updated (a rule, milestone, code,
// referral or setting was created or changed): what changed and its new
// settings, as strings.
type UpdateData struct {
	Change        string            `json:"change"`
	ID            string            `json:"id,omitempty"`
	WalletID      string            `json:"wallet_id,omitempty"`
	UserID        string            `json:"user_id,omitempty"`
	UserEmail     string            `json:"user_email,omitempty"`
	Currency      string            `json:"currency,omitempty"`
	Settings      map[string]string `json:"settings"`
	TransactionID string            `json:"transaction_id"`
	LedgerHash    string            `json:"ledger_hash"`
	Seq           uint64            `json:"seq"`
}

// CheckpointData is the data of ledger.checkpoint.
type CheckpointData struct {
	LedgerID  string `json:"ledger_id"`
	Seq       uint64 `json:"seq"`
	HeadHash  string `json:"head_hash"`
	CreatedAt string `json:"created_at"`
	Signature string `json:"signature"` // base64 Ed25519
}
