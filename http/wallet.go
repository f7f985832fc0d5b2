package http

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/walletd/walletd"

	"github.com/gorilla/mux"
	"github.com/shopspring/decimal"
	"github.com/walletd/walletd/ledger"
)

type handleFunc func(method, path, scope string, h http.HandlerFunc)

func (s *Server) registerWalletRoutes(handle handleFunc) {
	handle("POST", "/v1/wallets", walletd.ScopeWalletsWrite, s.handleCreateWallet)
	handle("GET", "/v1/wallets", walletd.ScopeWalletsRead, s.handleListWallets)
	handle("GET", "/v1/wallets/{id}", walletd.ScopeWalletsRead, s.handleGetWallet)
	handle("POST", "/v1/wallets/{id}/credit", walletd.ScopeWalletsWrite, s.handlePost(walletd.KindCredit))
	handle("POST", "/v1/wallets/{id}/debit", walletd.ScopeWalletsWrite, s.handlePost(walletd.KindDebit))
	handle("POST", "/v1/wallets/{id}/freeze", walletd.ScopeWalletsWrite, s.handleSetStatus(true))
	handle("POST", "/v1/wallets/{id}/unfreeze", walletd.ScopeWalletsWrite, s.handleSetStatus(false))
	handle("POST", "/v1/transfers", walletd.ScopeWalletsWrite, s.handleTransfer)
}

// walletJSON is a wallet as the API shows it.
type walletJSON struct {
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
	// The features' settings of the wallet (see features.go).
	KYCStatus  string         `json:"kyc_status"`
	Limits     limitsJSON     `json:"limits"`
	AutoReload autoReloadJSON `json:"auto_reload"`
}

func (s *Server) walletJSON(w *walletd.Wallet) walletJSON {
	sc, _ := s.Currencies.Scale(w.Currency)
	return walletJSON{
		ID: w.ID, UserID: w.UserID, Email: w.Email, Currency: w.Currency,
		Balance:    walletd.FormatAmount(w.Balance, sc),
		Held:       walletd.FormatAmount(w.Held, sc),
		Available:  walletd.FormatAmount(w.Available(), sc),
		Status:     w.Status,
		CreatedAt:  w.CreatedAt.UTC().Format(time.RFC3339Nano),
		UpdatedAt:  w.UpdatedAt.UTC().Format(time.RFC3339Nano),
		LastSeq:    w.LastSeq,
		KYCStatus:  w.Features.KYC(),
		Limits:     limitsJSON(w.Features.Limits),
		AutoReload: autoReloadToJSON(w.Features.AutoReload),
	}
}

// entryJSON is a ledger entry (a transaction) as the API shows it.
type entryJSON struct {
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

func entryToJSON(e *walletd.Entry) entryJSON {
	out := entryJSON{
		TransactionID: e.ID, Seq: e.Seq, LedgerHash: e.Hash.String(), PrevHash: e.PrevHash.String(),
		RequestHash: e.RequestHash, Email: e.Email, KeyID: e.KeyID, EventID: e.EventID, Kind: e.Kind, Type: e.Type, WalletID: e.WalletID,
		UserID: e.UserID, Currency: e.Currency, Amount: e.Amount, BalanceAfter: e.BalanceAfter,
		HeldAfter: e.HeldAfter, AvailableAfter: e.BalanceAfter, Reason: e.Reason, OrderID: e.OrderID,
		TransferID: e.TransferID, Counterparty: e.Counterparty, IdempotencyKey: e.IdempotencyKey,
		CreatedAt: e.CreatedAt.UTC().Format(time.RFC3339Nano), Metadata: map[string]string{},
	}
	if e.Metadata != "" {
		json.Unmarshal([]byte(e.Metadata), &out.Metadata)
	}
	// available = balance − held, both fixed-scale strings of one currency.
	if b, err := decimal.NewFromString(e.BalanceAfter); err == nil {
		if h, err := decimal.NewFromString(e.HeldAfter); err == nil {
			scale := int32(0)
			if _, frac, ok := cutDot(e.BalanceAfter); ok {
				scale = int32(len(frac))
			}
			out.AvailableAfter = b.Sub(h).StringFixed(scale)
		}
	}
	return out
}

func cutDot(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// walletFromOpen renders the wallet an open entry created: the response
// of POST /v1/wallets, identical on an idempotent replay.
func walletFromOpen(e *walletd.Entry) walletJSON {
	ts := e.CreatedAt.UTC().Format(time.RFC3339Nano)
	return walletJSON{
		ID: e.WalletID, UserID: e.UserID, Email: e.Email, Currency: e.Currency,
		Balance: e.BalanceAfter, Held: e.HeldAfter, Available: e.BalanceAfter,
		Status: walletd.StatusActive, CreatedAt: ts, UpdatedAt: ts, LastSeq: e.Seq,
		KYCStatus: walletd.KYCNone,
	}
}

// submit sends cmd to the writer and answers 201 with render(result).
func (s *Server) submit(w http.ResponseWriter, r *http.Request, cmd walletd.Command, render func([]*walletd.Entry) any) {
	res, err := s.Writer.Submit(r.Context(), r.Header.Get("Idempotency-Key"), cmd)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	if res.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeData(w, http.StatusCreated, render(res.Entries))
}

func (s *Server) handleCreateWallet(w http.ResponseWriter, r *http.Request) {
	var req ledger.CreateWallet
	if err := decodeJSON(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	s.submit(w, r, &req, func(es []*walletd.Entry) any { return walletFromOpen(es[0]) })
}

func (s *Server) handleGetWallet(w http.ResponseWriter, r *http.Request) {
	wal, err := s.Ledger.Wallet(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeData(w, http.StatusOK, s.walletJSON(wal))
}

func (s *Server) handleListWallets(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := parseLimit(q.Get("limit"), 50, 200)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	list, err := s.Ledger.Wallets(r.Context(), q.Get("user_id"), q.Get("cursor"), limit+1)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	next := ""
	if len(list) > limit {
		list = list[:limit]
		next = list[limit-1].ID
	}
	items := make([]walletJSON, 0, len(list))
	for _, wal := range list {
		items = append(items, s.walletJSON(wal))
	}
	writeData(w, http.StatusOK, map[string]any{"items": items, "next_cursor": next})
}

// postRequest is the body of credit and debit.
type postRequest struct {
	Amount   string            `json:"amount"`
	Type     string            `json:"type"`
	Reason   string            `json:"reason"`
	OrderID  string            `json:"order_id"`
	Metadata map[string]string `json:"metadata"`
}

func (s *Server) handlePost(kind string) http.HandlerFunc {
	defType := "manual_credit"
	if kind == walletd.KindDebit {
		defType = "manual_debit"
	}
	return func(w http.ResponseWriter, r *http.Request) {
		var req postRequest
		if err := decodeJSON(w, r, &req); err != nil {
			s.Error(w, r, err)
			return
		}
		if req.Type == "" {
			req.Type = defType
		}
		cmd := &ledger.Post{WalletID: mux.Vars(r)["id"], Kind: kind, Amount: req.Amount, Type: req.Type,
			Reason: req.Reason, OrderID: req.OrderID, Metadata: req.Metadata}
		s.submit(w, r, cmd, func(es []*walletd.Entry) any { return entryToJSON(es[0]) })
	}
}

func (s *Server) handleSetStatus(frozen bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Reason string `json:"reason"`
		}
		if hasBody(r) {
			if err := decodeJSON(w, r, &req); err != nil {
				s.Error(w, r, err)
				return
			}
		}
		cmd := &ledger.SetStatus{WalletID: mux.Vars(r)["id"], Frozen: frozen, Reason: req.Reason}
		s.submit(w, r, cmd, func(es []*walletd.Entry) any {
			out := entryToJSON(es[0])
			status := walletd.StatusActive
			if frozen {
				status = walletd.StatusFrozen
			}
			return map[string]any{"wallet_id": out.WalletID, "status": status, "transaction_id": out.TransactionID,
				"seq": out.Seq, "ledger_hash": out.LedgerHash, "balance_after": out.BalanceAfter, "entry": out}
		})
	}
}

// transferJSON is the response of POST /v1/transfers.
type transferJSON struct {
	TransferID    string    `json:"transfer_id"`
	FromWalletID  string    `json:"from_wallet_id"`
	ToWalletID    string    `json:"to_wallet_id"`
	Amount        string    `json:"amount"`
	Currency      string    `json:"currency"`
	Note          string    `json:"note"`
	TransactionID string    `json:"transaction_id"` // the debit leg
	Seq           uint64    `json:"seq"`            // the last seq the transfer wrote
	LedgerHash    string    `json:"ledger_hash"`    // the hash at Seq
	BalanceAfter  string    `json:"balance_after"`  // the sender's balance after
	Debit         entryJSON `json:"debit"`
	Credit        entryJSON `json:"credit"`
}

func (s *Server) handleTransfer(w http.ResponseWriter, r *http.Request) {
	var req ledger.Transfer
	if err := decodeJSON(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	s.submit(w, r, &req, func(es []*walletd.Entry) any {
		out, in := entryToJSON(es[0]), entryToJSON(es[1])
		return transferJSON{
			TransferID: out.TransferID, FromWalletID: out.WalletID, ToWalletID: in.WalletID,
			Amount: out.Amount, Currency: out.Currency, Note: out.Reason,
			TransactionID: out.TransactionID, Seq: in.Seq, LedgerHash: in.LedgerHash,
			BalanceAfter: out.BalanceAfter, Debit: out, Credit: in,
		}
	})
}

// hasBody reports whether the request carries a body, reading ahead for
// chunked requests with no Content-Length.
func hasBody(r *http.Request) bool {
	if r.ContentLength > 0 {
		return true
	} else if r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody {
		return false
	}
	br := bufio.NewReader(r.Body)
	_, err := br.Peek(1)
	r.Body = struct {
		io.Reader
		io.Closer
	}{br, r.Body}
	return err == nil
}

func parseLimit(s string, def, max int) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > max {
		return 0, walletd.Errorf(walletd.EInvalid, "limit must be an integer from 1 to %d.", max)
	}
	return n, nil
}

func parseSeq(name, s string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 63)
	if err != nil {
		return 0, walletd.Errorf(walletd.EInvalid, "%s must be a non-negative integer.", name)
	}
	return n, nil
}
