package client

import (
	"context"
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

// WalletJSON is a wallet as the API shows it: the server writes it
// (package http) and the client reads it.
type WalletJSON struct {
	ID        string `json:"id"`
	UserID    string `json:"user_id"`
	Email     string `json:"email"`
	Currency  string `json:"currency"`
	Balance   string `json:"balance"`
	Held      string `json:"held"`
	Available string `json:"available"`
	Status    string `json:"status"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
	LastSeq   uint64 `json:"last_seq"`
	// The wallet's settings (http/limits.go).
	KYCStatus  string         `json:"kyc_status"`
	Limits     LimitsJSON     `json:"limits"`
	AutoReload AutoReloadJSON `json:"auto_reload"`
}

// LimitsJSON are a wallet's spending limits; an absent field is no limit.
type LimitsJSON struct {
	PerTransaction string `json:"per_transaction,omitempty"`
	Daily          string `json:"daily,omitempty"`
	Monthly        string `json:"monthly,omitempty"`
}

// AutoReloadJSON is a wallet's auto-reload; disabled has no other field.
type AutoReloadJSON struct {
	Enabled   bool   `json:"enabled"`
	Threshold string `json:"threshold,omitempty"`
	Amount    string `json:"amount,omitempty"`
	Method    string `json:"method,omitempty"`
}

// transferJSON is the part of the answer of POST /v1/transfers that the
// client reads: its two entries.
type transferJSON struct {
	Debit  EntryJSON `json:"debit"`
	Credit EntryJSON `json:"credit"`
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
		var w WalletJSON
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
		var j EntryJSON
		if resp, err = s.Client.do(ctx, r, &j); err != nil {
			return nil, err
		}
		e, err := j.Entry()
		if err != nil {
			return nil, err
		}
		entries = []*walletd.Entry{e}
	case *ledger.Transfer:
		var t transferJSON
		if resp, err = s.Client.do(ctx, r, &t); err != nil {
			return nil, err
		}
		out, err := t.Debit.Entry()
		if err != nil {
			return nil, err
		}
		in, err := t.Credit.Entry()
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
