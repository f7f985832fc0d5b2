package http

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/walletd/walletd"

	"github.com/gorilla/mux"
	"github.com/walletd/walletd/http/client"
	"github.com/walletd/walletd/ledger"
)

// Wallets over HTTP: open, list and read them, credit and debit them,
// freeze and unfreeze them.

func (s *Server) registerWalletRoutes(handle handleFunc) {
	read, write := walletd.ScopeWalletsRead, walletd.ScopeWalletsWrite
	handle("POST", "/v1/wallets", write, s.handleCreateWallet)
	handle("GET", "/v1/wallets", read, s.handleListWallets)
	handle("GET", "/v1/wallets/{id}", read, s.handleGetWallet)
	handle("POST", "/v1/wallets/{id}/credit", write, s.handlePost(walletd.KindCredit))
	handle("POST", "/v1/wallets/{id}/debit", write, s.handlePost(walletd.KindDebit))
	handle("POST", "/v1/wallets/{id}/freeze", write, s.handleSetStatus(true))
	handle("POST", "/v1/wallets/{id}/unfreeze", write, s.handleSetStatus(false))
}

// walletJSON is a wallet as the API shows it: the client's type, so that
// the two cannot drift apart.
type walletJSON = client.WalletJSON

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
		Limits:     limitsToJSON(w.Features.Limits),
		AutoReload: autoReloadToJSON(w.Features.AutoReload),
	}
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

// createWalletRequest is the body of POST /v1/wallets. user_id is the
// storefront's id of the owner: a JSON integer or a string.
type createWalletRequest struct {
	UserID   walletd.StorefrontID `json:"user_id"`
	Email    string               `json:"email"`
	Currency string               `json:"currency"`
}

func (s *Server) handleCreateWallet(w http.ResponseWriter, r *http.Request) {
	var req createWalletRequest
	if err := decodeJSON(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	cmd := &ledger.CreateWallet{UserID: req.UserID.String(), Email: req.Email, Currency: req.Currency}
	s.apply(w, r, http.StatusCreated, cmd, func(res *walletd.Result) (any, error) {
		e, err := firstEntry(res)
		if err != nil {
			return nil, err
		}
		return walletFromOpen(e), nil
	})
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

// postRequest is the body of credit and debit. order_id is the
// storefront's order: a JSON integer or a string; metadata values may be
// JSON integers too. The amount is a string, always.
type postRequest struct {
	Amount   string                           `json:"amount"`
	Type     string                           `json:"type"`
	Reason   string                           `json:"reason"`
	OrderID  walletd.StorefrontID             `json:"order_id"`
	Metadata map[string]walletd.TextOrInteger `json:"metadata"`
}

// metadataOf returns request metadata as the commands take it: values as
// text, integers as their decimal digits.
func metadataOf(m map[string]walletd.TextOrInteger) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v.String()
	}
	return out
}

// handlePost credits or debits (kind) a wallet and answers the entry.
func (s *Server) handlePost(kind string) http.HandlerFunc {
	defType := "manual_credit"
	if kind == walletd.KindDebit {
		defType = "manual_debit"
	}
	return func(w http.ResponseWriter, r *http.Request) {
		var req postRequest
		if err := decodePost(w, r, &req); err != nil {
			s.Error(w, r, err)
			return
		}
		if req.Type == "" {
			req.Type = defType
		}
		cmd := &ledger.Post{WalletID: routeVar(r, "id"), Kind: kind, Amount: req.Amount, Type: req.Type,
			Reason: req.Reason, OrderID: req.OrderID.String(), Metadata: metadataOf(req.Metadata)}
		s.applyEntry(w, r, cmd)
	}
}

// handleSetStatus freezes or unfreezes a wallet; the body (a reason) may
// be left out.
func (s *Server) handleSetStatus(frozen bool) http.HandlerFunc {
	status := walletd.StatusActive
	if frozen {
		status = walletd.StatusFrozen
	}
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Reason string `json:"reason"`
		}
		if err := decodeOptional(w, r, &req); err != nil {
			s.Error(w, r, err)
			return
		}
		cmd := &ledger.SetStatus{WalletID: mux.Vars(r)["id"], Frozen: frozen, Reason: req.Reason}
		s.apply(w, r, http.StatusCreated, cmd, func(res *walletd.Result) (any, error) {
			e, err := firstEntry(res)
			if err != nil {
				return nil, err
			}
			out := entryToJSON(e)
			return map[string]any{"wallet_id": out.WalletID, "status": status, "transaction_id": out.TransactionID,
				"seq": out.Seq, "ledger_hash": out.LedgerHash, "balance_after": out.BalanceAfter, "entry": out}, nil
		})
	}
}

// walletSetting is the answer of a change of a wallet's settings. It is
// rendered from the entry that recorded the change, so that a replay
// answers the same.
type walletSetting struct {
	WalletID   string          `json:"wallet_id"`
	Limits     *limitsJSON     `json:"limits,omitempty"`
	KYCStatus  string          `json:"kyc_status,omitempty"`
	AutoReload *autoReloadJSON `json:"auto_reload,omitempty"`
	written
}

// applySetting applies a change of a wallet's settings and answers what
// set makes of the metadata of the entry that recorded it. A setting the
// wallet already had appends nothing (res.Unchanged): the answer is then
// what current makes of the wallet as it is, with the seq and hash of the
// wallet's last entry, from which the read models show it.
func (s *Server) applySetting(w http.ResponseWriter, r *http.Request, cmd walletd.Command, set func(ws *walletSetting, meta map[string]string), current func(ws *walletSetting, wal *walletd.Wallet)) {
	s.apply(w, r, http.StatusOK, cmd, func(res *walletd.Result) (any, error) {
		if wal := res.Unchanged; wal != nil {
			es, err := s.Ledger.Entries(r.Context(), wal.LastSeq-1, 1)
			if err != nil {
				return nil, err
			} else if len(es) == 0 || es[0].Seq != wal.LastSeq {
				return nil, fmt.Errorf("http: entry %d of wallet %s is not in the ledger", wal.LastSeq, wal.ID)
			}
			out := &walletSetting{WalletID: wal.ID, written: writtenBy(es)}
			current(out, wal)
			return out, nil
		}
		e, err := firstEntry(res)
		if err != nil {
			return nil, err
		}
		var meta map[string]string
		if e.Metadata != "" {
			if err := json.Unmarshal([]byte(e.Metadata), &meta); err != nil {
				return nil, err
			}
		}
		out := &walletSetting{WalletID: e.WalletID, written: writtenBy(res.Entries)}
		set(out, meta)
		return out, nil
	})
}
