package http

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/walletd/walletd"

	"github.com/gorilla/mux"
	"github.com/walletd/walletd/ledger"
)

// The order API (docs/orders.md): create, get, list, pay, cancel, complete
// and refund orders (walletd.ShopOrder). The old complete and refund
// routes (order.go) share the paths /v1/orders/{order_id}/complete and
// /refund: a complete with the old body records an order the storefront
// completed; {order_id} is an order's id, or the external id of source
// api that the old route was given (ledger.FindOrder).

func (s *Server) registerShopOrderRoutes(handle handleFunc) {
	read, write := walletd.ScopeWalletsRead, walletd.ScopeWalletsWrite
	handle("POST", "/v1/orders", write, s.handleCreateOrder)
	handle("GET", "/v1/orders", read, s.handleListOrders)
	handle("POST", "/v1/orders/{order_id}/pay", write, s.handlePayOrder)
	handle("POST", "/v1/orders/{order_id}/cancel", write, s.handleCancelOrder)
}

// orderResponse is an order as the API answers it: the order, then for
// the orders of source api the old route's names of its external id and
// customer (order_id, user_id), then what a write wrote.
type orderResponse struct {
	*walletd.ShopOrder
	LegacyOrderID string `json:"order_id,omitempty"`
	LegacyUserID  string `json:"user_id,omitempty"`
	written
	// Transactions are the entries this request wrote (writes only): an
	// empty list when it found the order already as asked.
	Transactions []entryJSON `json:"transactions,omitzero"`
}

func shopOrderToJSON(o *walletd.ShopOrder, wr written) *orderResponse {
	out := &orderResponse{ShopOrder: o, written: wr}
	if o.Source == walletd.SourceAPI {
		out.LegacyOrderID, out.LegacyUserID = o.ExternalID, o.CustomerID
	}
	return out
}

// renderAnyOrder renders the order a write reports, with the entries it
// wrote: an order, or a completion of the old route (orderToJSON).
func (s *Server) renderAnyOrder(ctx context.Context, res *walletd.Result) (any, error) {
	txns := make([]entryJSON, 0, len(res.Entries))
	for _, e := range res.Entries {
		txns = append(txns, entryToJSON(e))
	}
	if res.ObjectKind == walletd.ObjOrder {
		o, err := resultObject[walletd.Order](ctx, s, res)
		if err != nil {
			return nil, err
		}
		out := orderToJSON(o, writtenBy(res.Entries))
		out.Transactions = txns
		return out, nil
	}
	o, err := resultObject[walletd.ShopOrder](ctx, s, res)
	if err != nil {
		return nil, err
	}
	out := shopOrderToJSON(o, writtenBy(res.Entries))
	out.Transactions = txns
	return out, nil
}

// createdOrStatus is the status of a write that may find its work done:
// 201 when it wrote, 200 when it found the order already as asked (again
// 201, byte for byte, on an Idempotency-Key replay, which has entries).
func createdOrStatus(res *walletd.Result, status int) int {
	if res.Replayed && len(res.Entries) == 0 {
		return http.StatusOK
	}
	return status
}

// findOrder reads the order ref names in a path: an order (walletd's id,
// or source api's external id), or a completion of the old route. Returns
// ENotFound.
func (s *Server) findOrder(ctx context.Context, ref string) (*walletd.ShopOrder, *walletd.Order, error) {
	var lookupErr error
	id, ok := ledger.FindOrder(ref, func(key string) (int64, bool) {
		r, err := readObject[walletd.OrderRef](ctx, s, walletd.ObjOrderRef, key)
		if err != nil {
			if walletd.ErrorCode(err) != walletd.ENotFound {
				lookupErr = err
			}
			return 0, false
		}
		return r.OrderID, true
	})
	if lookupErr != nil {
		return nil, nil, lookupErr
	}
	if ok {
		o, err := readObject[walletd.ShopOrder](ctx, s, walletd.ObjShopOrder, walletd.IntKey(id))
		if err == nil || walletd.ErrorCode(err) != walletd.ENotFound {
			return o, nil, err
		}
	}
	if len(ref) <= walletd.MaxOrderIDLen {
		old, err := readObject[walletd.Order](ctx, s, walletd.ObjOrder, ref)
		if err == nil || walletd.ErrorCode(err) != walletd.ENotFound {
			return nil, old, err
		}
	}
	return nil, nil, walletd.Errorf(walletd.ENotFound, "Order %s not found.", walletd.QuoteInput(ref))
}

// orderID returns the id of the order {order_id} names. Returns
// ENotFound, also for a completion of the old route, which has no id.
func (s *Server) orderID(r *http.Request) (int64, error) {
	ref := mux.Vars(r)["order_id"]
	o, _, err := s.findOrder(r.Context(), ref)
	if err == nil && o == nil {
		err = walletd.Errorf(walletd.ENotFound, "Order %s was completed before orders had ids: it can only be read and refunded.", walletd.QuoteInput(ref))
	}
	if err != nil {
		return 0, err
	}
	return o.ID, nil
}

// requireAdmin refuses a request whose key lacks the admin scope.
func requireAdmin(r *http.Request, why string) error {
	if k := APIKeyFrom(r.Context()); k == nil || !k.HasScope(walletd.ScopeAdmin) {
		return walletd.Errorf(EForbidden, "The API key lacks the %q scope, which %s needs.", walletd.ScopeAdmin, why)
	}
	return nil
}

// orderRequest is the body of POST /v1/orders (ledger.CreateOrder).
// Storefront ids (external_id, customer_id) may be JSON integers.
type orderRequest struct {
	Source        string               `json:"source"`
	ExternalID    walletd.StorefrontID `json:"external_id"`
	Status        string               `json:"status"`
	Currency      string               `json:"currency"`
	CustomerID    walletd.StorefrontID `json:"customer_id"`
	Billing       walletd.OrderAddress `json:"billing"`
	Lines         []orderLineRequest   `json:"lines"`
	DiscountTotal string               `json:"discount_total"`
	ShippingTotal string               `json:"shipping_total"`
	TotalTax      string               `json:"total_tax"`
	Total         string               `json:"total"`
	MetaData      []orderMetaRequest   `json:"meta_data"`
}

type orderLineRequest struct {
	ProductID   int64  `json:"product_id"`
	VariationID int64  `json:"variation_id"`
	Name        string `json:"name"`
	SKU         string `json:"sku"`
	Quantity    int64  `json:"quantity"`
	Price       string `json:"price"`
	Total       string `json:"total"`
}

type orderMetaRequest struct {
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
}

func (s *Server) handleCreateOrder(w http.ResponseWriter, r *http.Request) {
	var req orderRequest
	if err := decodeJSON(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	if req.Status == walletd.OrderCompleted {
		if err := requireAdmin(r, "recording an order the storefront was paid for"); err != nil {
			s.Error(w, r, err)
			return
		}
	}
	cmd := &ledger.CreateOrder{Source: req.Source, ExternalID: req.ExternalID.String(), Status: req.Status, Currency: req.Currency,
		CustomerID: req.CustomerID.String(), Billing: req.Billing, DiscountTotal: req.DiscountTotal, ShippingTotal: req.ShippingTotal,
		TotalTax: req.TotalTax, Total: req.Total}
	for _, l := range req.Lines {
		cmd.Lines = append(cmd.Lines, ledger.OrderLineInput(l))
	}
	for _, m := range req.MetaData {
		cmd.MetaData = append(cmd.MetaData, ledger.OrderMetaInput(m))
	}
	s.applyStatus(w, r, cmd, func(res *walletd.Result) (int, any, error) {
		if res.ObjectKind == walletd.ObjOrder {
			return 0, nil, walletd.Errorf(walletd.EConflict, "Order %s of source api was completed before orders had ids; see GET /v1/orders/%s.",
				walletd.QuoteInput(cmd.ExternalID), cmd.ExternalID)
		}
		out, err := s.renderAnyOrder(r.Context(), res)
		return createdOrStatus(res, http.StatusCreated), out, err
	})
}

// legacyCompletion is the command of the old complete route: the order
// the storefront completed, recorded under source api with the route's
// order id as its external id (docs/orders.md, "The old routes").
func legacyCompletion(orderID, userID, total, currency string, items json.RawMessage) (*ledger.CreateOrder, error) {
	if userID == "" {
		return nil, walletd.Errorf(walletd.EInvalid, "user_id is required.")
	}
	return &ledger.CreateOrder{Source: walletd.SourceAPI, ExternalID: orderID, Status: walletd.OrderCompleted, CustomerID: userID,
		Total: total, Currency: currency, Items: items}, nil
}

// handleOrderComplete serves POST /v1/orders/{order_id}/complete: with an
// empty body (or {}), it completes a paid order; with the old route's
// body (user_id, total, currency), it records a completed order, which
// needs the admin scope (handleCompleteOrder).
func (s *Server) handleOrderComplete(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		s.Error(w, r, jsonError(err))
		return
	}
	var fields map[string]json.RawMessage
	if b := bytes.TrimSpace(body); len(b) > 0 && (json.Unmarshal(b, &fields) != nil || len(fields) > 0) {
		if err := requireAdmin(r, "recording a completed order (a body with user_id, total and currency)"); err != nil {
			s.Error(w, r, err)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		s.handleCompleteOrder(w, r)
		return
	}
	id, err := s.orderID(r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	s.applyOrder(w, r, &ledger.CompleteOrder{ID: id})
}

// handleOrderRefund serves POST /v1/orders/{order_id}/refund. Refunding an
// order walletd did not see paid (the old route's, or one created
// completed) takes its rewards back, and needs the admin scope as
// recording it did.
func (s *Server) handleOrderRefund(w http.ResponseWriter, r *http.Request) {
	o, old, err := s.findOrder(r.Context(), mux.Vars(r)["order_id"])
	if err != nil {
		s.Error(w, r, err)
		return
	}
	if old != nil || o.Reported() {
		if err := requireAdmin(r, "refunding an order walletd did not see paid"); err != nil {
			s.Error(w, r, err)
			return
		}
	}
	s.handleRefundOrder(w, r)
}

// handleGetOrder serves GET /v1/orders/{order_id}.
func (s *Server) handleGetOrder(w http.ResponseWriter, r *http.Request) {
	o, old, err := s.findOrder(r.Context(), mux.Vars(r)["order_id"])
	if err != nil {
		s.Error(w, r, err)
		return
	}
	if old != nil {
		writeData(w, http.StatusOK, orderToJSON(old, written{}))
		return
	}
	writeData(w, http.StatusOK, shopOrderToJSON(o, written{}))
}

func (s *Server) handlePayOrder(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Method    string `json:"method"`
		Amount    string `json:"amount"`
		Currency  string `json:"currency"`
		Reference string `json:"reference"`
		WalletID  string `json:"wallet_id"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	if req.Method != walletd.PayWallet {
		if err := requireAdmin(r, "recording a provider's payment"); err != nil {
			s.Error(w, r, err)
			return
		}
	}
	id, err := s.orderID(r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	s.applyOrder(w, r, &ledger.PayOrder{ID: id, Method: req.Method, Amount: req.Amount, Currency: req.Currency, Reference: req.Reference, WalletID: req.WalletID})
}

func (s *Server) handleCancelOrder(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Reason string `json:"reason"`
	}
	if err := decodeOptional(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	id, err := s.orderID(r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	s.applyOrder(w, r, &ledger.CancelOrder{ID: id, Reason: req.Reason})
}

// applyOrder applies a transition of an order and answers 200 with the
// order and the entries the transition wrote.
func (s *Server) applyOrder(w http.ResponseWriter, r *http.Request, cmd walletd.Command) {
	s.apply(w, r, http.StatusOK, cmd, func(res *walletd.Result) (any, error) {
		return s.renderAnyOrder(r.Context(), res)
	})
}

// Listing: orders are stored under walletd.IntKey(id), so the objects'
// order is the ids'. A filtered page reads at most maxOrderScan orders; it
// may then hold fewer than limit, with a next_cursor to go on from.
const maxOrderScan = 5000

func (s *Server) handleListOrders(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := parseLimit(q.Get("limit"), 50, 200)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	after := ""
	if c := q.Get("cursor"); c != "" {
		id, ok := walletd.ParseOrderID(c)
		if !ok {
			s.Error(w, r, walletd.Errorf(walletd.EInvalid, "cursor must be the next_cursor of a page."))
			return
		}
		after = walletd.IntKey(id)
	}
	status, source, email, customer := q.Get("status"), q.Get("source"), q.Get("customer_email"), q.Get("customer_id")
	switch status {
	case "", walletd.OrderPending, walletd.OrderProcessing, walletd.OrderCompleted, walletd.OrderCancelled, walletd.OrderFailed, walletd.OrderRefunded:
	default:
		s.Error(w, r, walletd.Errorf(walletd.EInvalid, "status must be pending, processing, completed, cancelled, failed or refunded."))
		return
	}
	if len(source) > walletd.MaxSourceLen || len(email) > walletd.MaxEmailLen || len(customer) > walletd.MaxStorefrontIDLen {
		s.Error(w, r, walletd.Errorf(walletd.EInvalid, "A filter is longer than any source, email or customer id."))
		return
	}
	match := func(o *walletd.ShopOrder) bool {
		return (status == "" || o.Status == status) && (source == "" || o.Source == source) &&
			(email == "" || strings.EqualFold(o.Billing.Email, email)) && (customer == "" || o.CustomerID == customer)
	}
	items := make([]*orderResponse, 0, limit)
	next, scanned := "", 0
	for len(items) < limit && scanned < maxOrderScan {
		page, err := s.Ledger.Objects(r.Context(), walletd.ObjShopOrder, after, min(500, maxOrderScan-scanned))
		if err != nil {
			s.Error(w, r, err)
			return
		}
		for _, v := range page {
			o, ok := v.(*walletd.ShopOrder)
			if !ok {
				s.Error(w, r, errors.New("http: a shop_order decoded as another type"))
				return
			}
			scanned++
			after = walletd.IntKey(o.ID)
			if match(o) {
				items = append(items, shopOrderToJSON(o, written{}))
				if len(items) == limit {
					break
				}
			}
		}
		if len(page) == 0 {
			after = ""
			break
		}
	}
	if after != "" {
		// More may follow: the last order read. A page that ends exactly
		// at the last order says so on the next call, with no items.
		id, _ := strconv.ParseInt(strings.TrimLeft(after, "0"), 10, 64)
		next = strconv.FormatInt(id, 10)
	}
	writeData(w, http.StatusOK, map[string]any{"items": items, "next_cursor": next})
}
