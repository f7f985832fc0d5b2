package http

import (
	"context"
	"fmt"
	"net/http"

	"github.com/walletd/walletd"

	"github.com/gorilla/mux"
	"github.com/walletd/walletd/ledger"
)

// Withdrawals over HTTP: a request holds the amount until an admin
// approves it (a debit from the hold) or rejects it (a release).

func (s *Server) registerWithdrawalRoutes(handle handleFunc) {
	read, write, admin := walletd.ScopeWalletsRead, walletd.ScopeWalletsWrite, walletd.ScopeAdmin
	handle("POST", "/v1/wallets/{id}/withdrawals", write, s.handleRequestWithdrawal)
	handle("GET", "/v1/withdrawals/{id}", read, getObject(s, walletd.ObjWithdrawal, "id", withdrawalToJSON))
	handle("POST", "/v1/withdrawals/{id}/approve", admin, s.handleApproveWithdrawal)
	handle("POST", "/v1/withdrawals/{id}/reject", admin, s.handleRejectWithdrawal)
}

// withdrawalJSON is a withdrawal as the API shows it; a write adds the
// entries it wrote, the wallet as it left it and, on approval, the debit.
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

func withdrawalToJSON(d *walletd.Withdrawal, wr written) *withdrawalJSON {
	return &withdrawalJSON{
		ID: d.ID, WalletID: d.WalletID, UserID: d.UserID, Amount: d.Amount.String(), Currency: d.Currency,
		Method: d.Method, Destination: d.Destination, Status: d.Status, RejectReason: d.RejectReason,
		TransactionID: d.TransactionID, CreatedAt: timeJSON(d.CreatedAt), UpdatedAt: timeJSON(d.UpdatedAt),
		written: wr,
	}
}

// renderWithdrawal renders the withdrawal of a request, approval or
// rejection with its wallet as the command left it; with debit, the first
// entry (the settle of an approval) as its transaction.
func (s *Server) renderWithdrawal(ctx context.Context, res *walletd.Result, debit bool) (any, error) {
	d, err := resultObject[walletd.Withdrawal](ctx, s, res)
	if err != nil {
		return nil, err
	}
	wal := res.Wallet(d.WalletID)
	if wal == nil {
		return nil, fmt.Errorf("http: the result of withdrawal %s lacks wallet %s", d.ID, d.WalletID)
	}
	out := withdrawalToJSON(d, writtenBy(res.Entries))
	out.BalanceAfter, out.HeldAfter, out.AvailableAfter = wal.Balance.String(), wal.Held.String(), wal.Available().String()
	if debit {
		e, err := firstEntry(res)
		if err != nil {
			return nil, err
		}
		tx := entryToJSON(e)
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
		return s.renderWithdrawal(r.Context(), res, false)
	})
}

func (s *Server) handleApproveWithdrawal(w http.ResponseWriter, r *http.Request) {
	var req struct{}
	if err := decodeOptional(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	s.apply(w, r, http.StatusOK, &ledger.ApproveWithdrawal{WithdrawalID: mux.Vars(r)["id"]}, func(res *walletd.Result) (any, error) {
		return s.renderWithdrawal(r.Context(), res, true)
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
	cmd := &ledger.RejectWithdrawal{WithdrawalID: mux.Vars(r)["id"], Reason: req.Reason}
	s.apply(w, r, http.StatusOK, cmd, func(res *walletd.Result) (any, error) {
		return s.renderWithdrawal(r.Context(), res, false)
	})
}
