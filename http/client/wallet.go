package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/ledger"
)

// WalletService writes to the wallets of a walletd through its API: it
// submits the ledger commands that have an endpoint of their own. The token
// needs the wallets:write scope.
//
// It implements walletd.Submitter, so a caller can drive a remote walletd
// with the same commands it would give a local writer. What an HTTP answer
// cannot carry differs from the writer's Result; see Submit.
type WalletService struct {
	Client *Client
}

var _ walletd.Submitter = (*WalletService)(nil)

// postRequest is the body of POST /v1/wallets/{id}/credit and /debit; the
// wallet and the kind are in the path. CreateWallet and Transfer are sent
// as they are: the server decodes its bodies into those commands.
type postRequest struct {
	Amount   string            `json:"amount"`
	Type     string            `json:"type,omitempty"` // "": manual_credit or manual_debit
	Reason   string            `json:"reason,omitempty"`
	OrderID  string            `json:"order_id,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

// walletJSON is the part of a wallet as the API shows it that the client
// reads: the answer of POST /v1/wallets.
type walletJSON struct {
	ID        string `json:"id"`
	UserID    string `json:"user_id"`
	Email     string `json:"email"`
	Currency  string `json:"currency"`
	Balance   string `json:"balance"`
	Held      string `json:"held"`
	CreatedAt string `json:"created_at"`
	LastSeq   uint64 `json:"last_seq"`
}

// entryJSON is a ledger entry (a transaction) as the API shows it; the
// derived available_after is not read.
type entryJSON struct {
	TransactionID  string            `json:"transaction_id"`
	Seq            uint64            `json:"seq"`
	LedgerHash     string            `json:"ledger_hash"`
	PrevHash       string            `json:"prev_hash"`
	RequestHash    string            `json:"request_hash"`
	Email          string            `json:"email"`
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
	Reason         string            `json:"reason"`
	OrderID        string            `json:"order_id"`
	TransferID     string            `json:"transfer_id"`
	Counterparty   string            `json:"counterparty_wallet_id"`
	Metadata       map[string]string `json:"metadata"`
	IdempotencyKey string            `json:"idempotency_key"`
	CreatedAt      string            `json:"created_at"`
}

// transferJSON is the part of the answer of POST /v1/transfers that the
// client reads: its two entries.
type transferJSON struct {
	Debit  entryJSON `json:"debit"`
	Credit entryJSON `json:"credit"`
}

// entry returns j as the domain type.
func (j *entryJSON) entry() (*walletd.Entry, error) {
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

// walletRequest returns the request that submits cmd with key.
// Returns EInvalid for commands the client does not send.
func walletRequest(key string, cmd walletd.Command) (*request, error) {
	r := &request{method: "POST", idempotencyKey: key}
	switch c := cmd.(type) {
	case *ledger.CreateWallet:
		r.path, r.body = "/v1/wallets", c
	case *ledger.Post:
		if c.Kind != walletd.KindCredit && c.Kind != walletd.KindDebit {
			return nil, walletd.Errorf(walletd.EInvalid, "kind must be %s or %s.", walletd.KindCredit, walletd.KindDebit)
		} else if c.WalletID == "" {
			return nil, walletd.Errorf(walletd.EInvalid, "wallet_id is required.")
		}
		r.path = "/v1/wallets/" + url.PathEscape(c.WalletID) + "/" + c.Kind
		r.body = postRequest{Amount: c.Amount, Type: c.Type, Reason: c.Reason, OrderID: c.OrderID, Metadata: c.Metadata}
	case *ledger.Transfer:
		r.path, r.body = "/v1/transfers", c
	default:
		return nil, walletd.Errorf(walletd.EInvalid, "The HTTP client cannot submit %s commands (only create_wallet, post and transfer).", cmd.Op())
	}
	return r, nil
}

// Submit sends cmd (a *ledger.CreateWallet, *ledger.Post or
// *ledger.Transfer) with idempotencyKey (none if empty) and returns its
// entries as the answer shows them; Replayed is the Idempotent-Replayed
// header. Returns EInvalid for other commands, and the server's code when
// it refuses one (EInvalid, EInvalidAmount, ENotFound, EInsufficientFunds,
// EWalletFrozen, EIdempotencyConflict, EUnavailable …).
//
// The answer of create_wallet is the new wallet, not its open entry: the
// one entry of that result has the wallet's fields (WalletID, UserID,
// Email, Currency, BalanceAfter, HeldAfter, Seq, CreatedAt) and no id or
// hashes.
func (s *WalletService) Submit(ctx context.Context, idempotencyKey string, cmd walletd.Command) (*walletd.Result, error) {
	r, err := walletRequest(idempotencyKey, cmd)
	if err != nil {
		return nil, err
	}
	var entries []*walletd.Entry
	var resp *response
	switch cmd.(type) {
	case *ledger.CreateWallet:
		var w walletJSON
		if resp, err = s.Client.do(ctx, r, &w); err != nil {
			return nil, err
		}
		e := &walletd.Entry{Seq: w.LastSeq, Kind: walletd.KindOpen, WalletID: w.ID, UserID: w.UserID, Email: w.Email,
			Currency: w.Currency, BalanceAfter: w.Balance, HeldAfter: w.Held, IdempotencyKey: idempotencyKey}
		if e.CreatedAt, err = parseTime(w.CreatedAt); err != nil {
			return nil, fmt.Errorf("wallet %s: created_at: %w", w.ID, err)
		}
		entries = []*walletd.Entry{e}
	case *ledger.Post:
		var j entryJSON
		if resp, err = s.Client.do(ctx, r, &j); err != nil {
			return nil, err
		}
		e, err := j.entry()
		if err != nil {
			return nil, err
		}
		entries = []*walletd.Entry{e}
	case *ledger.Transfer:
		var t transferJSON
		if resp, err = s.Client.do(ctx, r, &t); err != nil {
			return nil, err
		}
		out, err := t.Debit.entry()
		if err != nil {
			return nil, err
		}
		in, err := t.Credit.entry()
		if err != nil {
			return nil, err
		}
		entries = []*walletd.Entry{out, in}
	}
	return &walletd.Result{Entries: entries, Replayed: resp.replayed}, nil
}

// Exec sends cmd as Submit does but does not decode a successful answer; it
// reads it to the end, so the connection is reused. It is for load
// generators (walletd bench), which measure the server and need only the
// outcome. Returns the errors of Submit.
func (s *WalletService) Exec(ctx context.Context, idempotencyKey string, cmd walletd.Command) error {
	r, err := walletRequest(idempotencyKey, cmd)
	if err != nil {
		return err
	}
	return s.Client.exec(ctx, r)
}
