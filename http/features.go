package http

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/walletd/walletd"

	"github.com/gorilla/mux"
	"github.com/walletd/walletd/ledger"
)

// The wallet features over HTTP: top-ups, withdrawals, spending limits,
// KYC, auto-reload, redemption codes, cashback rules, milestones,
// referrals and orders. Each write is one ledger command submitted with
// the request's Idempotency-Key; its answer renders the object the command
// reports (ledger.Result.Object), read back from the ledger when a replay
// carries none.

func (s *Server) registerFeatureRoutes(handle handleFunc) {
	read, write, admin := walletd.ScopeWalletsRead, walletd.ScopeWalletsWrite, walletd.ScopeAdmin
	handle("POST", "/v1/wallets/{id}/topups", write, s.handleCreateTopup)
	handle("GET", "/v1/topups/{id}", read, s.handleGetTopup)
	handle("POST", "/v1/topups/{id}/complete", admin, s.handleCompleteTopup)
	handle("POST", "/v1/topups/{id}/fail", admin, s.handleFailTopup)

	handle("POST", "/v1/wallets/{id}/withdrawals", write, s.handleRequestWithdrawal)
	handle("GET", "/v1/withdrawals/{id}", read, s.handleGetWithdrawal)
	handle("POST", "/v1/withdrawals/{id}/approve", admin, s.handleApproveWithdrawal)
	handle("POST", "/v1/withdrawals/{id}/reject", admin, s.handleRejectWithdrawal)

	handle("GET", "/v1/wallets/{id}/limits", read, s.handleGetLimits)
	handle("PUT", "/v1/wallets/{id}/limits", write, s.handleSetLimits)
	handle("PUT", "/v1/wallets/{id}/kyc", admin, s.handleSetKYC)
	handle("GET", "/v1/wallets/{id}/auto-reload", read, s.handleGetAutoReload)
	handle("PUT", "/v1/wallets/{id}/auto-reload", write, s.handleSetAutoReload(false))
	handle("DELETE", "/v1/wallets/{id}/auto-reload", write, s.handleSetAutoReload(true))
	handle("GET", "/v1/settings/kyc", admin, getSettings(s, walletd.ObjKYCSettings, kycSettingsToJSON))
	handle("PUT", "/v1/settings/kyc", admin, setSettings(s, walletd.ObjKYCSettings,
		func() walletd.Command { return new(ledger.SetKYCSettings) }, kycSettingsToJSON))

	handle("POST", "/v1/redemption-codes", admin, s.handleCreateCode)
	handle("GET", "/v1/redemption-codes/{id}", admin, s.handleGetCode)
	handle("POST", "/v1/wallets/{id}/redeem", write, s.handleRedeem)

	handle("POST", "/v1/cashback-rules", admin, s.handleCreateCashbackRule)
	handle("GET", "/v1/cashback-rules", admin, s.handleListCashbackRules)
	handle("POST", "/v1/milestones", admin, s.handleCreateMilestone)
	handle("GET", "/v1/milestones", admin, s.handleListMilestones)
	handle("GET", "/v1/settings/referrals", admin, getSettings(s, walletd.ObjReferralSettings, referralSettingsToJSON))
	handle("PUT", "/v1/settings/referrals", admin, setSettings(s, walletd.ObjReferralSettings,
		func() walletd.Command { return new(ledger.SetReferralSettings) }, referralSettingsToJSON))
	handle("POST", "/v1/referrals", admin, s.handleCreateReferral)
	handle("GET", "/v1/referrals/{referee_user_id}", admin, s.handleGetReferral)

	handle("POST", "/v1/orders/{order_id}/complete", admin, s.handleCompleteOrder)
	handle("POST", "/v1/orders/{order_id}/refund", admin, s.handleRefundOrder)
	handle("GET", "/v1/orders/{order_id}", admin, s.handleGetOrder)
}

// ---------------------------------------------------------------------------
// Shared plumbing

// written names the last entry a write appended: pass seq as min_seq to
// read your write from the read models.
type written struct {
	Seq        uint64 `json:"seq,omitempty"`
	LedgerHash string `json:"ledger_hash,omitempty"`
}

func writtenBy(es []*walletd.Entry) written {
	if len(es) == 0 {
		return written{}
	}
	e := es[len(es)-1]
	return written{Seq: e.Seq, LedgerHash: e.Hash.String()}
}

// apply submits cmd with the request's Idempotency-Key and answers status
// with what render makes of the result. A replay carries
// Idempotent-Replayed: true.
func (s *Server) apply(w http.ResponseWriter, r *http.Request, status int, cmd walletd.Command, render func(*walletd.Result) (any, error)) {
	res, err := s.Writer.Submit(r.Context(), r.Header.Get("Idempotency-Key"), cmd)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	data, err := render(res)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	if res.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeData(w, status, data)
}

// decodeOptional decodes the body into v when there is one: the body of
// these operations may be left out.
func decodeOptional(w http.ResponseWriter, r *http.Request, v any) error {
	if !hasBody(r) {
		return nil
	}
	return decodeJSON(w, r, v)
}

// readObject reads the committed object of kind and id. Returns ENotFound.
func readObject[T any](ctx context.Context, s *Server, kind, id string) (*T, error) {
	v, err := s.Ledger.Object(ctx, kind, id)
	if err != nil {
		return nil, err
	}
	t, ok := v.(*T)
	if !ok || t == nil {
		return nil, fmt.Errorf("http: %s %q decoded as %T", kind, id, v)
	}
	return t, nil
}

// resultObject returns the object a command reported, or reads object id
// of kind when the result carries none (some idempotent replays).
func resultObject[T any](ctx context.Context, s *Server, res *walletd.Result, kind, id string) (*T, error) {
	if t, ok := res.Object.(*T); ok && t != nil {
		return t, nil
	}
	if id == "" {
		return nil, fmt.Errorf("http: the result of a %s command names no object", kind)
	}
	return readObject[T](ctx, s, kind, id)
}

// entryMeta returns the metadata of entry i of es, or nil.
func entryMeta(es []*walletd.Entry, i int) map[string]string {
	if i >= len(es) || es[i].Metadata == "" {
		return nil
	}
	var m map[string]string
	json.Unmarshal([]byte(es[i].Metadata), &m)
	return m
}

// firstEntry returns the first entry of a result that must have one.
func firstEntry(res *walletd.Result) (*walletd.Entry, error) {
	if len(res.Entries) == 0 {
		return nil, fmt.Errorf("http: the command wrote no entry")
	}
	return res.Entries[0], nil
}

// getObject answers GET for one object of kind, named by path variable v.
func getObject[T any](s *Server, kind, v string, render func(*T) any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		o, err := readObject[T](r.Context(), s, kind, mux.Vars(r)[v])
		if err != nil {
			s.Error(w, r, err)
			return
		}
		writeData(w, http.StatusOK, render(o))
	}
}

// listObjects answers a page of the objects of kind in id order, paged
// like the wallets: pass next_cursor as cursor until it is empty.
func listObjects[T any](s *Server, kind string, id func(*T) string, render func(*T) any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		limit, err := parseLimit(q.Get("limit"), 50, 200)
		if err != nil {
			s.Error(w, r, err)
			return
		}
		list, err := s.Ledger.Objects(r.Context(), kind, q.Get("cursor"), limit+1)
		if err != nil {
			s.Error(w, r, err)
			return
		}
		next := ""
		items := make([]any, 0, min(len(list), limit))
		for i, v := range list {
			o, ok := v.(*T)
			if !ok {
				s.Error(w, r, fmt.Errorf("http: %s decoded as %T", kind, v))
				return
			}
			if i == limit {
				next = id(list[limit-1].(*T))
				break
			}
			items = append(items, render(o))
		}
		writeData(w, http.StatusOK, map[string]any{"items": items, "next_cursor": next})
	}
}

// ---------------------------------------------------------------------------
// Top-ups

type topupJSON struct {
	ID            string `json:"id"`
	WalletID      string `json:"wallet_id"`
	UserID        string `json:"user_id"`
	Amount        string `json:"amount"`
	Currency      string `json:"currency"`
	Method        string `json:"method"`
	ExternalRef   string `json:"external_ref"`
	Origin        string `json:"origin"`
	Status        string `json:"status"`
	FailureReason string `json:"failure_reason,omitempty"`
	TransactionID string `json:"transaction_id,omitempty"`
	CreatedAt     string `json:"created_at"`
	UpdatedAt     string `json:"updated_at"`
	written
	Transaction *entryJSON `json:"transaction,omitempty"`
}

func topupToJSON(t *walletd.Topup) *topupJSON {
	return &topupJSON{
		ID: t.ID, WalletID: t.WalletID, UserID: t.UserID, Amount: t.Amount, Currency: t.Currency,
		Method: t.Method, ExternalRef: t.ExternalRef, Origin: t.Origin, Status: t.Status,
		FailureReason: t.FailureReason, TransactionID: t.TransactionID,
		CreatedAt: timeJSON(t.CreatedAt), UpdatedAt: timeJSON(t.UpdatedAt),
	}
}

// renderTopup renders the top-up of a create, complete or fail; with
// credit, the first entry (the credit of a completion) as its transaction.
func (s *Server) renderTopup(ctx context.Context, res *walletd.Result, id string, credit bool) (any, error) {
	if id == "" {
		id = entryMeta(res.Entries, 0)["topup_id"]
	}
	t, err := resultObject[walletd.Topup](ctx, s, res, walletd.ObjTopup, id)
	if err != nil {
		return nil, err
	}
	out := topupToJSON(t)
	out.written = writtenBy(res.Entries)
	if credit {
		e, err := firstEntry(res)
		if err != nil {
			return nil, err
		}
		tx := entryToJSON(e)
		out.Transaction = &tx
	}
	return out, nil
}

func (s *Server) handleCreateTopup(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Amount      string `json:"amount"`
		Method      string `json:"method"`
		ExternalRef string `json:"external_ref"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	cmd := &ledger.CreateTopup{WalletID: mux.Vars(r)["id"], Amount: req.Amount, Method: req.Method, ExternalRef: req.ExternalRef}
	s.apply(w, r, http.StatusCreated, cmd, func(res *walletd.Result) (any, error) {
		return s.renderTopup(r.Context(), res, "", false)
	})
}

func (s *Server) handleGetTopup(w http.ResponseWriter, r *http.Request) {
	getObject(s, walletd.ObjTopup, "id", func(t *walletd.Topup) any { return topupToJSON(t) })(w, r)
}

func (s *Server) handleCompleteTopup(w http.ResponseWriter, r *http.Request) {
	var req struct{}
	if err := decodeOptional(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	id := mux.Vars(r)["id"]
	s.apply(w, r, http.StatusOK, &ledger.CompleteTopup{TopupID: id}, func(res *walletd.Result) (any, error) {
		return s.renderTopup(r.Context(), res, id, true)
	})
}

func (s *Server) handleFailTopup(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Reason string `json:"reason"`
	}
	if err := decodeOptional(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	id := mux.Vars(r)["id"]
	s.apply(w, r, http.StatusOK, &ledger.FailTopup{TopupID: id, Reason: req.Reason}, func(res *walletd.Result) (any, error) {
		return s.renderTopup(r.Context(), res, id, false)
	})
}

// ---------------------------------------------------------------------------
// Withdrawals

type withdrawalJSON struct {
	ID            string `json:"id"`
	WalletID      string `json:"wallet_id"`
	UserID        string `json:"user_id"`
	Amount        string `json:"amount"`
	Currency      string `json:"currency"`
	Method        string `json:"method"`
	Destination   string `json:"destination"`
	Status        string `json:"status"`
	RejectReason  string `json:"reject_reason,omitempty"`
	TransactionID string `json:"transaction_id,omitempty"`
	CreatedAt     string `json:"created_at"`
	UpdatedAt     string `json:"updated_at"`
	written
	// The wallet after the hold, debit or release (writes only).
	BalanceAfter   string     `json:"balance_after,omitempty"`
	HeldAfter      string     `json:"held_after,omitempty"`
	AvailableAfter string     `json:"available_after,omitempty"`
	Transaction    *entryJSON `json:"transaction,omitempty"`
}

func withdrawalToJSON(d *walletd.Withdrawal) *withdrawalJSON {
	return &withdrawalJSON{
		ID: d.ID, WalletID: d.WalletID, UserID: d.UserID, Amount: d.Amount, Currency: d.Currency,
		Method: d.Method, Destination: d.Destination, Status: d.Status, RejectReason: d.RejectReason,
		TransactionID: d.TransactionID, CreatedAt: timeJSON(d.CreatedAt), UpdatedAt: timeJSON(d.UpdatedAt),
	}
}

// renderWithdrawal renders the withdrawal of a request, approval or
// rejection with the wallet as the first entry (hold, settle or release)
// left it; with debit, that entry as its transaction.
func (s *Server) renderWithdrawal(ctx context.Context, res *walletd.Result, id string, debit bool) (any, error) {
	if id == "" {
		id = entryMeta(res.Entries, 0)["withdrawal_id"]
	}
	d, err := resultObject[walletd.Withdrawal](ctx, s, res, walletd.ObjWithdrawal, id)
	if err != nil {
		return nil, err
	}
	e, err := firstEntry(res)
	if err != nil {
		return nil, err
	}
	tx := entryToJSON(e)
	out := withdrawalToJSON(d)
	out.written = writtenBy(res.Entries)
	out.BalanceAfter, out.HeldAfter, out.AvailableAfter = tx.BalanceAfter, tx.HeldAfter, tx.AvailableAfter
	if debit {
		out.Transaction = &tx
	}
	return out, nil
}

func (s *Server) handleRequestWithdrawal(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Amount      string `json:"amount"`
		Method      string `json:"method"`
		Destination string `json:"destination"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	cmd := &ledger.RequestWithdrawal{WalletID: mux.Vars(r)["id"], Amount: req.Amount, Method: req.Method, Destination: req.Destination}
	s.apply(w, r, http.StatusCreated, cmd, func(res *walletd.Result) (any, error) {
		return s.renderWithdrawal(r.Context(), res, "", false)
	})
}

func (s *Server) handleGetWithdrawal(w http.ResponseWriter, r *http.Request) {
	getObject(s, walletd.ObjWithdrawal, "id", func(d *walletd.Withdrawal) any { return withdrawalToJSON(d) })(w, r)
}

func (s *Server) handleApproveWithdrawal(w http.ResponseWriter, r *http.Request) {
	var req struct{}
	if err := decodeOptional(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	id := mux.Vars(r)["id"]
	s.apply(w, r, http.StatusOK, &ledger.ApproveWithdrawal{WithdrawalID: id}, func(res *walletd.Result) (any, error) {
		return s.renderWithdrawal(r.Context(), res, id, true)
	})
}

func (s *Server) handleRejectWithdrawal(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Reason string `json:"reason"`
	}
	if err := decodeOptional(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	id := mux.Vars(r)["id"]
	s.apply(w, r, http.StatusOK, &ledger.RejectWithdrawal{WithdrawalID: id, Reason: req.Reason}, func(res *walletd.Result) (any, error) {
		return s.renderWithdrawal(r.Context(), res, id, false)
	})
}
