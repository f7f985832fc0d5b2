package http

import (
	"context"
	"net/http"

	"github.com/walletd/walletd"

	"github.com/gorilla/mux"
	"github.com/walletd/walletd/ledger"
)

// Top-ups over HTTP: a top-up is created pending, then completed (a
// credit) or failed by an admin.

func (s *Server) registerTopupRoutes(handle handleFunc) {
	read, write, admin := walletd.ScopeWalletsRead, walletd.ScopeWalletsWrite, walletd.ScopeAdmin
	handle("POST", "/v1/wallets/{id}/topups", write, s.handleCreateTopup)
	handle("GET", "/v1/topups/{id}", read, getObject(s, walletd.ObjTopup, "id", topupToJSON))
	handle("POST", "/v1/topups/{id}/complete", admin, s.handleCompleteTopup)
	handle("POST", "/v1/topups/{id}/fail", admin, s.handleFailTopup)
}

// topupJSON is a top-up as the API shows it; a write adds the entries it
// wrote and, on completion, the credit.
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

func topupToJSON(t *walletd.Topup, wr written) *topupJSON {
	return &topupJSON{
		ID: t.ID, WalletID: t.WalletID, UserID: t.UserID, Amount: t.Amount.String(), Currency: t.Currency,
		Method: t.Method, ExternalRef: t.ExternalRef, Origin: t.Origin, Status: t.Status,
		FailureReason: t.FailureReason, TransactionID: t.TransactionID,
		CreatedAt: timeJSON(t.CreatedAt), UpdatedAt: timeJSON(t.UpdatedAt), written: wr,
	}
}

// renderTopup renders the top-up of a create, complete or fail; with
// credit, the first entry (the credit of a completion) as its transaction.
func (s *Server) renderTopup(ctx context.Context, res *walletd.Result, credit bool) (any, error) {
	t, err := resultObject[walletd.Topup](ctx, s, res)
	if err != nil {
		return nil, err
	}
	out := topupToJSON(t, writtenBy(res.Entries))
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
		Amount string `json:"amount"`
		Method string `json:"method"`
		// ExternalRef is the payment's or the storefront order's
		// reference: a string, or an integer id (a WooCommerce order).
		ExternalRef walletd.TextOrInteger `json:"external_ref"`
		// Billing is the customer's details for method wegetfinancing
		// (financing.go).
		Billing *walletd.OrderAddress `json:"billing"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	cmd := &ledger.CreateTopup{WalletID: mux.Vars(r)["id"], Amount: req.Amount, Method: req.Method, ExternalRef: req.ExternalRef.String()}
	if req.Method == walletd.PayWeGetFinancing {
		s.createFinancedTopup(w, r, cmd, req.Billing)
		return
	} else if req.Billing != nil {
		s.Error(w, r, walletd.Errorf(walletd.EInvalid, "billing is for method %s only.", walletd.PayWeGetFinancing))
		return
	}
	s.apply(w, r, http.StatusCreated, cmd, func(res *walletd.Result) (any, error) {
		return s.renderTopup(r.Context(), res, false)
	})
}

func (s *Server) handleCompleteTopup(w http.ResponseWriter, r *http.Request) {
	var req struct{}
	if err := decodeOptional(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	s.apply(w, r, http.StatusOK, &ledger.CompleteTopup{TopupID: mux.Vars(r)["id"]}, func(res *walletd.Result) (any, error) {
		return s.renderTopup(r.Context(), res, true)
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
	s.apply(w, r, http.StatusOK, &ledger.FailTopup{TopupID: mux.Vars(r)["id"], Reason: req.Reason}, func(res *walletd.Result) (any, error) {
		return s.renderTopup(r.Context(), res, false)
	})
}
