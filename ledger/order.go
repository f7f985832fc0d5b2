package ledger

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/walletd/walletd"

	"github.com/shopspring/decimal"
	"github.com/walletd/walletd/events"
)

// Orders (DESIGN, "Orders"): the one state machine behind every
// storefront flow. An order is created pending; a payment (a debit of the
// customer's wallet, or a provider's payment recorded by its reference)
// makes it processing; it is then completed (running the rewards of
// reward.go, once) or refunded (reversing exactly what was paid, and its
// cashback). Before payment it may be cancelled or failed. Each
// transition happens once: a second one is EConflict and changes nothing.
//
// Every step is one entry, whose metadata carries the order as the step
// left it (its JSON under "order"): the entry's events (order.created,
// order.updated, event.go) are made from the entry alone. This file holds
// the commands and their shared helpers; order_create.go creates orders,
// order_pay.go pays and refunds them, order_legacy.go keeps the old
// complete route's completions.

// Keys of an order step's metadata, besides FlowKey.
const (
	metaOrder      = "order"       // the order's JSON as the step left it
	metaOrderID    = "order_id"    // its id, in decimal
	metaOrderEvent = "order_event" // order.created or order.updated
)

// CreateOrder creates an order, pending, or completed when the storefront
// took the payment itself (Status "completed": walletd records the order
// and pays its rewards). Creating the order of a storefront (Source,
// ExternalID) again with the same terms creates nothing and reports the
// existing order (Result.Replayed); with other terms it is EConflict.
type CreateOrder struct {
	// Source names the storefront or flow ([a-z0-9_], default "api");
	// ExternalID is its own id of the order, or "".
	Source     string `json:"source,omitempty"`
	ExternalID string `json:"external_id,omitempty"`
	// Status is "" or "pending", or "completed".
	Status   string `json:"status,omitempty"`
	Currency string `json:"currency"`
	// CustomerID is the storefront's user id: whose wallet in Currency
	// pays with method wallet and earns the rewards.
	CustomerID string               `json:"customer_id,omitempty"`
	Billing    walletd.OrderAddress `json:"billing"`
	Lines      []OrderLineInput     `json:"lines,omitempty"`
	// The totals: Total must equal the lines' total - DiscountTotal +
	// ShippingTotal + TotalTax when given; an order without lines has
	// only Total.
	DiscountTotal string           `json:"discount_total,omitempty"`
	ShippingTotal string           `json:"shipping_total,omitempty"`
	TotalTax      string           `json:"total_tax,omitempty"`
	Total         string           `json:"total,omitempty"`
	MetaData      []OrderMetaInput `json:"meta_data,omitempty"`
	// Items is the free-form items of the old complete route.
	Items json.RawMessage `json:"items,omitempty"`
}

// OrderLineInput is one line of a CreateOrder: a variation of the
// catalogue (VariationID; name, SKU and price come from it, and a price or
// name given must be the catalogue's), or a free line with a Name and a
// Price (ProductID, if given, is kept as the caller's reference).
type OrderLineInput struct {
	ProductID   int64  `json:"product_id,omitempty"`
	VariationID int64  `json:"variation_id,omitempty"`
	Name        string `json:"name,omitempty"`
	SKU         string `json:"sku,omitempty"`
	Quantity    int64  `json:"quantity,omitempty"` // default 1
	Price       string `json:"price,omitempty"`
	Total       string `json:"total,omitempty"` // checked: Price × Quantity
}

// OrderMetaInput is one meta_data entry of a CreateOrder: a key and any
// JSON value.
type OrderMetaInput struct {
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
}

// PayOrder pays a pending order, once: with method wallet by debiting the
// customer's wallet (WalletID, or the wallet of the order's customer in
// its currency) in the same commit, through the rules of every debit
// (status, available funds, KYC, spending limits); with a provider method
// by recording the provider's payment, whose Reference pays one order
// once. Amount and Currency, when given (always for a provider), must be
// the order's total and currency.
type PayOrder struct {
	ID        int64  `json:"id"`
	Method    string `json:"method"`
	Amount    string `json:"amount,omitempty"`
	Currency  string `json:"currency,omitempty"`
	Reference string `json:"reference,omitempty"`
	WalletID  string `json:"wallet_id,omitempty"`
}

// CompleteOrder completes a paid (processing) order, once, and pays the
// rewards it earns (reward.go) in the same commit.
//
// Its other form, with OrderID instead of ID, is the command of the old
// complete route, which records a completion (walletd.Order) keyed by the
// storefront's order id; see order_legacy.go.
type CompleteOrder struct {
	ID int64 `json:"id,omitempty"`

	OrderID  string          `json:"order_id"`
	UserID   string          `json:"user_id"`
	Total    string          `json:"total"`
	Currency string          `json:"currency"`
	Items    json.RawMessage `json:"items,omitempty"`
}

// CancelOrder cancels a pending order, once: an order is cancelled only
// before it is paid.
type CancelOrder struct {
	ID     int64  `json:"id"`
	Reason string `json:"reason,omitempty"`
}

// FailOrder marks a pending order failed (its payment was refused), once.
type FailOrder struct {
	ID     int64  `json:"id"`
	Reason string `json:"reason,omitempty"`
}

// RefundOrder refunds a paid order (processing or completed), once: a
// wallet payment is credited back to the wallet it came from, a provider
// payment is marked refunded, and the cashback completion paid is taken
// back as far as the wallet's available funds go.
//
// With OrderID instead of ID it is the old refund route's command: the
// order is the old route's completion of that id, else the order
// FindOrder names by it (order_legacy.go).
type RefundOrder struct {
	ID      int64  `json:"id,omitempty"`
	OrderID string `json:"order_id"`
	Reason  string `json:"reason"`
}

// Op names the command in fingerprints and logs.
func (*CreateOrder) Op() string { return "create_order" }

// Op names the command in fingerprints and logs.
func (*PayOrder) Op() string { return "pay_order" }

// Op names the command in fingerprints and logs.
func (*CompleteOrder) Op() string { return "complete_order" }

// Op names the command in fingerprints and logs.
func (*CancelOrder) Op() string { return "cancel_order" }

// Op names the command in fingerprints and logs.
func (*FailOrder) Op() string { return "fail_order" }

// Op names the command in fingerprints and logs.
func (*RefundOrder) Op() string { return "refund_order" }

// orderRef names the order of committed entries: the one the first
// order step among them names, else the old route's completion id.
func orderRef(es []*walletd.Entry, legacyID string) (string, string) {
	for _, e := range es {
		if m := metaOf(e); m[FlowKey] == walletd.FlowOrder && m[metaOrderID] != "" {
			if id, ok := walletd.ParseOrderID(m[metaOrderID]); ok {
				return walletd.ObjShopOrder, walletd.IntKey(id)
			}
		}
	}
	if legacyID == "" {
		return "", ""
	}
	return walletd.ObjOrder, legacyID
}

func (c *CreateOrder) objectRef(es []*walletd.Entry) (string, string) { return orderRef(es, "") }
func (c *PayOrder) objectRef([]*walletd.Entry) (string, string) {
	return walletd.ObjShopOrder, walletd.IntKey(c.ID)
}
func (c *CompleteOrder) objectRef(es []*walletd.Entry) (string, string) {
	if c.ID != 0 {
		return walletd.ObjShopOrder, walletd.IntKey(c.ID)
	}
	return walletd.ObjOrder, c.OrderID
}
func (c *CancelOrder) objectRef([]*walletd.Entry) (string, string) {
	return walletd.ObjShopOrder, walletd.IntKey(c.ID)
}
func (c *FailOrder) objectRef([]*walletd.Entry) (string, string) {
	return walletd.ObjShopOrder, walletd.IntKey(c.ID)
}
func (c *RefundOrder) objectRef(es []*walletd.Entry) (string, string) {
	if c.ID != 0 {
		return walletd.ObjShopOrder, walletd.IntKey(c.ID)
	}
	return orderRef(es, c.OrderID)
}

// order returns order id as the batch has left it, or ENotFound.
func (b *batch) order(id int64) (*walletd.ShopOrder, error) {
	if o := b.shopOrders.get(walletd.IntKey(id)); o != nil {
		return o, nil
	}
	return nil, walletd.Errorf(walletd.ENotFound, "Order %d not found.", id)
}

// orderIn returns a copy of order id to change, if its status is one of
// from; otherwise ENotFound, or EConflict naming the status it has.
func (b *batch) orderIn(id int64, from ...string) (*walletd.ShopOrder, error) {
	o, err := b.order(id)
	if err != nil {
		return nil, err
	}
	for _, s := range from {
		if o.Status == s {
			return cloneOrder(o), nil
		}
	}
	return nil, walletd.Errorf(walletd.EConflict, "Order %d is %s.", id, o.Status)
}

// cloneOrder returns a copy of o whose lists may be changed without
// changing o, which a Result may have handed out.
func cloneOrder(o *walletd.ShopOrder) *walletd.ShopOrder {
	c := *o
	c.Lines = append([]walletd.OrderLine{}, o.Lines...)
	c.MetaData = append([]walletd.OrderMeta{}, o.MetaData...)
	c.Payments = append([]walletd.OrderPayment{}, o.Payments...)
	c.Refunds = append([]walletd.OrderRefund(nil), o.Refunds...)
	c.Awards = append([]walletd.Award(nil), o.Awards...)
	return &c
}

// FindOrder returns the id of the order ref names in a path such as
// /v1/orders/{order_id}: a whole number (walletd.ParseOrderID) is the
// order's id; any other text is the external id of an order of source
// api. The writer keeps the two from naming different orders: an order of
// source api whose external id is a whole number has that number as its
// id, and the order sequence skips the ids that old completions hold.
// lookup returns the stored order reference of a key (ObjOrderRef), or
// false.
func FindOrder(ref string, lookup func(key string) (int64, bool)) (int64, bool) {
	if id, ok := walletd.ParseOrderID(ref); ok {
		return id, true
	}
	return lookup(walletd.OrderRefKey(walletd.SourceAPI, ref))
}

// findOrder is FindOrder on the batch's state.
func (b *batch) findOrder(ref string) (int64, bool) {
	return FindOrder(ref, func(key string) (int64, bool) {
		if r := b.orderRefs.get(key); r != nil {
			return r.OrderID, true
		}
		return 0, false
	})
}

// orderWallet returns the batch's own copy of the wallet an order's steps
// are recorded on and its rewards paid to: the order's wallet, else its
// customer's wallet in its currency; nil if there is none.
func (b *batch) orderWallet(o *walletd.ShopOrder) *walletd.Wallet {
	id := o.WalletID
	if id == "" && o.CustomerID != "" {
		id = b.walletOf(o.CustomerID, o.Currency)
	}
	if id == "" || b.wallet(id) == nil {
		return nil
	}
	return b.mutable(id)
}

// orderMeta returns the metadata of a step of o: the flow, the event it
// publishes and the order as the step left it.
func orderMeta(o *walletd.ShopOrder, event string) string {
	data, err := json.Marshal(o)
	if err != nil {
		panic("ledger: encode order: " + err.Error()) // its fields always encode
	}
	return sysMeta(walletd.FlowOrder, metaOrderEvent, event, metaOrderID, strconv.FormatInt(o.ID, 10), metaOrder, string(data))
}

// orderStep appends the entry of a step of o that moves no money: a note
// of the order's wallet (amount: the order's total), or, for an order
// without one, a config entry in its currency. o must be as the step
// leaves it.
func (b *batch) orderStep(r *request, o *walletd.ShopOrder, typ, event, reason string) *walletd.Entry {
	meta := orderMeta(o, event)
	ref := strconv.FormatInt(o.ID, 10)
	if w := b.orderWallet(o); w != nil {
		return b.record(r, w, walletd.KindNote, typ, o.Total.Decimal(), reason, ref, meta)
	}
	e := &walletd.Entry{Kind: walletd.KindConfig, Type: typ, Currency: o.Currency, Reason: reason, OrderID: ref, Metadata: meta}
	b.append(r, e)
	return e
}

// putOrder stores o, changed by the entry just appended, and reports it.
func (b *batch) putOrder(o *walletd.ShopOrder) {
	key := walletd.IntKey(o.ID)
	b.shopOrders.put(key, o, b.seq)
	b.report(walletd.ObjShopOrder, key, o)
}

func (c *CancelOrder) apply(b *batch, r *request) error {
	return b.endUnpaid(r, c.ID, c.Reason, walletd.OrderCancelled, walletd.TypeOrderCancelled)
}

func (c *FailOrder) apply(b *batch, r *request) error {
	return b.endUnpaid(r, c.ID, c.Reason, walletd.OrderFailed, walletd.TypeOrderFailed)
}

// endUnpaid moves a pending order to status (cancelled or failed), once.
func (b *batch) endUnpaid(r *request, id int64, reason, status, typ string) error {
	if err := walletd.CheckText("reason", reason, walletd.MaxReasonLen, false); err != nil {
		return err
	}
	o, err := b.orderIn(id, walletd.OrderPending)
	if err != nil {
		return err
	}
	o.Status, o.Reason, o.UpdatedAt = status, reason, b.now
	b.orderStep(r, o, typ, events.OrderUpdated, reason)
	b.putOrder(o)
	return nil
}

func (c *CompleteOrder) apply(b *batch, r *request) error {
	if c.ID == 0 {
		return c.applyLegacy(b, r)
	} else if c.OrderID != "" || c.UserID != "" || c.Total != "" || c.Currency != "" || len(c.Items) > 0 {
		return walletd.Errorf(walletd.EInvalid, "Complete an order by its id, or record one by its order_id, user_id, total and currency; not both.")
	}
	o, err := b.orderIn(c.ID, walletd.OrderProcessing)
	if err != nil {
		return err
	}
	o.Status, o.CompletedAt, o.UpdatedAt = walletd.OrderCompleted, b.now, b.now
	return b.complete(r, o, events.OrderUpdated)
}

// complete appends the completion step of o (completed now) and pays its
// rewards, once, to its wallet: none when the order has no wallet.
func (b *batch) complete(r *request, o *walletd.ShopOrder, event string) error {
	b.orderStep(r, o, walletd.TypeOrderCompleted, event, "")
	if w := b.orderWallet(o); w != nil && o.CustomerID != "" {
		ro := &rewardOrder{ref: strconv.FormatInt(o.ID, 10), userID: o.CustomerID, currency: o.Currency, total: o.Total, awards: &o.Awards}
		if err := b.completeRewards(r, ro, w, b.scale(o.Currency)); err != nil {
			return err
		}
	}
	b.putOrder(o)
	return nil
}

// checkSource validates a source name: 1 to MaxSourceLen of a-z, 0-9, _.
func checkSource(s string) error {
	if len(s) == 0 || len(s) > walletd.MaxSourceLen || strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
		return walletd.Errorf(walletd.EInvalid, "source must be 1 to %d characters of a-z, 0-9 and _.", walletd.MaxSourceLen)
	}
	return nil
}

// orderAmount parses an optional amount of an order that may be zero (a
// price, a discount, shipping, tax): "" is zero. Returns EInvalidAmount
// naming field.
func orderAmount(field, s string, scale int32) (decimal.Decimal, error) {
	if s == "" {
		return decimal.Zero, nil
	}
	m, err := walletd.ParseMoney(s, scale)
	if err != nil {
		return decimal.Zero, walletd.Errorf(walletd.EInvalidAmount, "%s: %s", field, walletd.ErrorMessage(err))
	}
	return m.Decimal(), nil
}
