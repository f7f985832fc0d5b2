package client

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/walletd/walletd"
)

// EntryJSON is a ledger entry (a transaction) as the API shows it: the
// server writes it (package http) and the client reads it.
type EntryJSON struct {
	TransactionID  string            `json:"transaction_id"`
	Seq            uint64            `json:"seq"`
	LedgerHash     string            `json:"ledger_hash"`
	PrevHash       string            `json:"prev_hash"`
	RequestHash    string            `json:"request_hash,omitempty"`
	Email          string            `json:"email,omitempty"`
	KeyID          string            `json:"key_id"`
	EventID        string            `json:"event_id"`
	Kind           string            `json:"kind"`
	Type           string            `json:"type"`
	WalletID       string            `json:"wallet_id"`
	UserID         string            `json:"user_id"`
	Currency       string            `json:"currency"`
	Amount         string            `json:"amount"`
	BalanceAfter   string            `json:"balance_after"`
	HeldAfter      string            `json:"held_after"`
	AvailableAfter string            `json:"available_after"`
	Reason         string            `json:"reason"`
	OrderID        string            `json:"order_id,omitempty"`
	TransferID     string            `json:"transfer_id,omitempty"`
	Counterparty   string            `json:"counterparty_wallet_id,omitempty"`
	Metadata       map[string]string `json:"metadata"`
	IdempotencyKey string            `json:"idempotency_key,omitempty"`
	CreatedAt      string            `json:"created_at"`
}

// NewEntryJSON returns e as the API shows it.
func NewEntryJSON(e *walletd.Entry) EntryJSON {
	out := EntryJSON{
		TransactionID: e.ID, Seq: e.Seq, LedgerHash: e.Hash.String(), PrevHash: e.PrevHash.String(),
		RequestHash: e.RequestHash, Email: e.Email, KeyID: e.KeyID, EventID: e.EventID, Kind: e.Kind, Type: e.Type, WalletID: e.WalletID,
		UserID: e.UserID, Currency: e.Currency, Amount: e.Amount, BalanceAfter: e.BalanceAfter,
		HeldAfter: e.HeldAfter, AvailableAfter: AvailableAfter(e), Reason: e.Reason, OrderID: e.OrderID,
		TransferID: e.TransferID, Counterparty: e.Counterparty, IdempotencyKey: e.IdempotencyKey,
		CreatedAt: e.CreatedAt.UTC().Format(time.RFC3339Nano), Metadata: map[string]string{},
	}
	if e.Metadata != "" {
		json.Unmarshal([]byte(e.Metadata), &out.Metadata)
	}
	return out
}

// AvailableAfter is an entry's balance minus its held amount, at the
// balance's scale: the entry's text is all there is of the wallet at that
// seq. An entry with no balance (a config entry) answers its balance.
func AvailableAfter(e *walletd.Entry) string {
	var b, h walletd.Money
	if b.UnmarshalText([]byte(e.BalanceAfter)) != nil || !b.IsSet() || h.UnmarshalText([]byte(e.HeldAfter)) != nil {
		return e.BalanceAfter
	}
	return walletd.NewMoney(b.Decimal().Sub(h.Decimal()), b.Scale()).String()
}

// Entry returns j as the domain type: the entry the server showed, with
// its metadata in canonical form. Returns an error if a time or a hash
// does not parse.
func (j *EntryJSON) Entry() (*walletd.Entry, error) {
	e := &walletd.Entry{Seq: j.Seq, ID: j.TransactionID, EventID: j.EventID, Kind: j.Kind, Type: j.Type,
		WalletID: j.WalletID, UserID: j.UserID, Email: j.Email, Currency: j.Currency, Amount: j.Amount,
		BalanceAfter: j.BalanceAfter, HeldAfter: j.HeldAfter, Reason: j.Reason, OrderID: j.OrderID,
		TransferID: j.TransferID, Counterparty: j.Counterparty, IdempotencyKey: j.IdempotencyKey,
		RequestHash: j.RequestHash, KeyID: j.KeyID}
	var err error
	if e.CreatedAt, err = parseTime(j.CreatedAt); err != nil {
		return nil, fmt.Errorf("entry %d: created_at: %w", j.Seq, err)
	} else if e.Hash, err = walletd.ParseHash(j.LedgerHash); err != nil {
		return nil, fmt.Errorf("entry %d: ledger_hash: %w", j.Seq, err)
	} else if e.PrevHash, err = walletd.ParseHash(j.PrevHash); err != nil {
		return nil, fmt.Errorf("entry %d: prev_hash: %w", j.Seq, err)
	}
	if len(j.Metadata) > 0 {
		// The entry's canonical form: a JSON object with sorted keys, as
		// the ledger writes it (json.Marshal sorts map keys).
		b, err := json.Marshal(j.Metadata)
		if err != nil {
			return nil, fmt.Errorf("entry %d: metadata: %w", j.Seq, err)
		}
		e.Metadata = string(b)
	}
	return e, nil
}
