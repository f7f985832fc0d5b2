package http

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/walletd/walletd"

	"github.com/gorilla/mux"
	"github.com/walletd/walletd/ledger"
)

// Orders over HTTP: the old routes, by which a storefront reports a
// completed order once, and walletd pays the rewards it earns (see
// reward.go); a refund takes them back. They now record orders
// (order_api.go, docs/orders.md "The old routes"); orderJSON is the shape
// of the completions they recorded before.

func (s *Server) registerOrderRoutes(handle handleFunc) {
	s.registerShopOrderRoutes(handle)
	handle("POST", "/v1/orders/{order_id}/complete", walletd.ScopeWalletsWrite, s.handleOrderComplete)
	handle("POST", "/v1/orders/{order_id}/refund", walletd.ScopeWalletsWrite, s.handleOrderRefund)
	handle("GET", "/v1/orders/{order_id}", walletd.ScopeWalletsRead, s.handleGetOrder)
}

// awardJSON is one reward an order paid or took back.
type awardJSON struct {
	Kind          string `json:"kind"`
	TransactionID string `json:"transaction_id"`
	WalletID      string `json:"wallet_id"`
	UserID        string `json:"user_id"`
	Amount        string `json:"amount"`
	Ref           string `json:"ref"`
}

// orderJSON is an order as the API shows it.
type orderJSON struct {
	OrderID     string          `json:"order_id"`
	UserID      string          `json:"user_id"`
	WalletID    string          `json:"wallet_id"`
	Total       string          `json:"total"`
	Currency    string          `json:"currency"`
	Items       json.RawMessage `json:"items,omitempty"`
	Status      string          `json:"status"`
	Awards      []awardJSON     `json:"awards"`
	CompletedAt string          `json:"completed_at"`
	RefundedAt  string          `json:"refunded_at,omitempty"`
	written
	// Transactions are the entries this request wrote (writes only): an
	// empty list on a repeat of a completed order.
	Transactions []entryJSON `json:"transactions,omitzero"`
}

func orderToJSON(o *walletd.Order, wr written) *orderJSON {
	out := &orderJSON{OrderID: o.ID, UserID: o.UserID, WalletID: o.WalletID, Total: o.Total.String(), Currency: o.Currency,
		Items: o.Items, Status: o.Status, Awards: make([]awardJSON, 0, len(o.Awards)),
		CompletedAt: timeJSON(o.CompletedAt), RefundedAt: timeJSON(o.RefundedAt), written: wr}
	for _, a := range o.Awards {
		out.Awards = append(out.Awards, awardJSON{Kind: a.Kind, TransactionID: a.TransactionID, WalletID: a.WalletID,
			UserID: a.UserID, Amount: a.Amount.String(), Ref: a.Ref})
	}
	return out
}

// renderOrder renders an order with the entries the request wrote.
func (s *Server) renderOrder(ctx context.Context, res *walletd.Result) (any, error) {
	return s.renderAnyOrder(ctx, res)
}

func (s *Server) handleCompleteOrder(w http.ResponseWriter, r *http.Request) {
	var req struct {
		UserID   walletd.StorefrontID `json:"user_id"` // a JSON integer or a string
		Total    string               `json:"total"`
		Currency string               `json:"currency"`
		Items    json.RawMessage      `json:"items"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	cmd, err := legacyCompletion(mux.Vars(r)["order_id"], req.UserID.String(), req.Total, req.Currency, req.Items)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	s.applyStatus(w, r, cmd, func(res *walletd.Result) (int, any, error) {
		out, err := s.renderOrder(r.Context(), res)
		// The first completion answers 201 (again, byte for byte, on an
		// Idempotency-Key replay); a repeat of a completed order with the
		// same terms writes nothing and answers 200 with the order as it is.
		if res.Replayed && len(res.Entries) == 0 {
			return http.StatusOK, out, err
		}
		return http.StatusCreated, out, err
	})
}

func (s *Server) handleRefundOrder(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Reason string `json:"reason"`
	}
	if err := decodeOptional(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	cmd := &ledger.RefundOrder{OrderID: mux.Vars(r)["order_id"], Reason: req.Reason}
	s.apply(w, r, http.StatusOK, cmd, func(res *walletd.Result) (any, error) {
		return s.renderOrder(r.Context(), res)
	})
}
