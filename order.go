package walletd

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// MaxItemsBytes bounds the items an order completion may carry.
const MaxItemsBytes = 16 << 10

// Order is an order completion recorded by the old complete route before
// orders had integer ids (object kind ObjOrder, keyed by the storefront's
// order id): the order walletd completed (and maybe refunded) and the
// rewards it earned. New orders are ShopOrders; these rows are kept, read
// and refunded as they are (docs/orders.md, "The old routes").
type Order struct {
	ID          string          `json:"order_id"`
	UserID      string          `json:"user_id"`
	WalletID    string          `json:"wallet_id"`
	Total       Money           `json:"total"`
	Currency    string          `json:"currency"`
	Items       json.RawMessage `json:"items,omitempty"`
	Status      string          `json:"status"` // completed or refunded
	Awards      []Award         `json:"awards"`
	CompletedAt time.Time       `json:"completed_at"`
	RefundedAt  time.Time       `json:"refunded_at,omitzero"`
	// Fingerprint identifies the completion request, so a repeat with
	// other terms is told apart from a retry.
	Fingerprint string `json:"fingerprint"`
}

// Order statuses, in WooCommerce's words. An order is created pending
// (awaiting payment); a payment makes it processing; it is then completed
// or refunded. Before payment it may be cancelled (by the merchant, or
// when its payment link expires) or failed (its payment was refused).
// Each transition happens once.
const (
	OrderPending    = "pending"
	OrderProcessing = "processing"
	OrderCompleted  = "completed"
	OrderCancelled  = "cancelled"
	OrderFailed     = "failed"
	OrderRefunded   = "refunded"
)

// Payment methods of an order: the customer's walletd wallet, or a
// payment provider that reports a payment by its reference.
const (
	PayWallet         = "wallet"
	PayStripe         = "stripe"
	PayPayPal         = "paypal"
	PayGeneric        = "generic"
	PayWeGetFinancing = "wegetfinancing"
)

// PaymentMethods lists the payment methods an order may be paid with.
var PaymentMethods = []string{PayWallet, PayStripe, PayPayPal, PayGeneric, PayWeGetFinancing}

// Payment statuses.
const (
	PaymentPaid     = "paid"
	PaymentRefunded = "refunded"
)

// SourceAPI is the source of the orders of the native API that name none,
// and of the orders the old complete route records: the storefront order
// id given there is the order's external_id. An order of this source
// whose external_id is a whole number (ParseOrderID) takes that number as
// its id, so that /v1/orders/{order_id} means one order whichever id the
// caller holds.
const SourceAPI = "api"

// Order field limits.
const (
	MaxOrderLines     = 100
	MaxOrderMeta      = 50
	MaxOrderMetaKey   = 255
	MaxOrderMetaValue = 4 << 10 // bytes of one value's compact JSON
	MaxLineQuantity   = 10000
	MaxNameLen        = 200
	MaxSourceLen      = 32
	MaxReferenceLen   = 255
)

// MaxOrderID is the largest order id: 2^53 - 1, so that an id survives a
// JSON reader that holds numbers as doubles. Product and variation ids
// share the bound.
const MaxOrderID = 1<<53 - 1

// ShopOrder is an order: the one state machine behind every storefront
// flow (plugin orders, reset-fee links, financing, gateway payments), a
// ledger object that only the writer changes, each step an entry of the
// chain and an order.created or order.updated event.
//
// Its JSON is the object the API answers, the writer stores and the order
// events carry as their data. Field names are WooCommerce's where
// WooCommerce has the field (id, status, currency, the totals,
// customer_id, billing, payment_method, transaction_id, meta_data, the
// dates), so that the woocommerce webhook format can render WooCommerce's
// REST order object from it. Amounts are decimal strings at the
// currency's scale.
type ShopOrder struct {
	// ID is the order id, from one ledger-wide sequence (or, for source
	// api, the storefront's integer id: see SourceAPI). Other objects
	// call it order_id.
	ID int64 `json:"id"`
	// Source and ExternalID name the storefront order this is, unique
	// together: the same storefront order twice is one walletd order.
	// ExternalID may be empty (no storefront reference).
	Source     string `json:"source"`
	ExternalID string `json:"external_id,omitempty"`
	Status     string `json:"status"`
	Currency   string `json:"currency"`
	// Subtotal is the sum of the lines' totals; Total = Subtotal -
	// DiscountTotal + ShippingTotal + TotalTax. An order without lines
	// (the old complete route's) has only Total, and Subtotal = Total.
	Subtotal      Money `json:"subtotal"`
	DiscountTotal Money `json:"discount_total"`
	ShippingTotal Money `json:"shipping_total"`
	TotalTax      Money `json:"total_tax"`
	Total         Money `json:"total"`
	// CustomerID and Billing are the customer: the storefront's user id
	// (whose wallet in Currency pays with method wallet and earns the
	// rewards) and the billing details.
	CustomerID string       `json:"customer_id,omitempty"`
	Billing    OrderAddress `json:"billing"`
	// WalletID is the customer's wallet in the order's currency: the one
	// the order was paid from, else the one the customer had when the
	// order was created; "" if none.
	WalletID string `json:"wallet_id,omitempty"`
	// PaymentMethod, PaymentMethodTitle and TransactionID summarise the
	// payment, as WooCommerce does: its method, the method's name for
	// people and its reference (OrderPayment.Reference).
	PaymentMethod      string         `json:"payment_method,omitempty"`
	PaymentMethodTitle string         `json:"payment_method_title,omitempty"`
	TransactionID      string         `json:"transaction_id,omitempty"`
	Lines              []OrderLine    `json:"lines"`
	MetaData           []OrderMeta    `json:"meta_data"`
	Payments           []OrderPayment `json:"payments"`
	Refunds            []OrderRefund  `json:"refunds,omitempty"`
	// Awards are the reward credits completion paid (and a refund's
	// reversals of them). Each is also its own event.
	Awards []Award `json:"awards,omitempty"`
	// Items is the free-form items of an order recorded by the old
	// complete route, compacted.
	Items json.RawMessage `json:"items,omitempty"`
	// Reason says why the order was cancelled or failed.
	Reason      string    `json:"reason,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	PaidAt      time.Time `json:"paid_at,omitzero"`
	CompletedAt time.Time `json:"completed_at,omitzero"`
	RefundedAt  time.Time `json:"refunded_at,omitzero"`
}

// Reported reports whether the order was recorded completed without a
// payment through walletd (the old complete route, or a create with
// status completed): the storefront took the money, walletd only paid the
// rewards. Refunding such an order takes its rewards back, so it needs the
// admin scope, as recording it did.
func (o *ShopOrder) Reported() bool {
	return len(o.Payments) == 0 && (o.Status == OrderCompleted || o.Status == OrderRefunded)
}

// MetaVirtual is the meta_data key that marks an order of virtual
// products (true, "true", "yes" or 1).
const MetaVirtual = "virtual"

// Virtual reports whether the order is of virtual products: nothing to
// ship, so a payment completes it. Reset-fee orders are virtual; any other
// order is when its meta_data "virtual" says so. Every flow that pays an
// order (the payment page, gateway webhooks, financing postbacks) asks
// this one method.
func (o *ShopOrder) Virtual() bool {
	if o.Source == SourceResetFee {
		return true
	}
	for _, m := range o.MetaData {
		if m.Key == MetaVirtual {
			var v any
			return json.Unmarshal(m.Value, &v) == nil && (v == true || v == "true" || v == "yes" || v == float64(1))
		}
	}
	return false
}

// OrderAddress is the billing details of an order's customer, in
// WooCommerce's fields (and the reset-fee seed's billing_details).
type OrderAddress struct {
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
	Company   string `json:"company,omitempty"`
	Address1  string `json:"address_1,omitempty"`
	Address2  string `json:"address_2,omitempty"`
	City      string `json:"city,omitempty"`
	State     string `json:"state,omitempty"`
	Postcode  string `json:"postcode,omitempty"`
	Country   string `json:"country,omitempty"` // ISO 3166-1 alpha-2, upper case
	Email     string `json:"email,omitempty"`
	Phone     string `json:"phone,omitempty"`
}

// OrderLine is one line of an order: a variation of the catalogue (its
// name, SKU and price filled in from it), or a free line named and priced
// by the caller. Total = Price × Quantity; Subtotal = Total.
type OrderLine struct {
	ID          int64  `json:"id"`
	ProductID   int64  `json:"product_id,omitempty"`
	VariationID int64  `json:"variation_id,omitempty"`
	Name        string `json:"name"`
	SKU         string `json:"sku,omitempty"`
	Quantity    int64  `json:"quantity"`
	Price       Money  `json:"price"`
	Subtotal    Money  `json:"subtotal"`
	Total       Money  `json:"total"`
}

// OrderMeta is one meta_data entry of an order (account_id for a reset
// fee, a plugin's processing options …): a key and any JSON value. IDs
// number the entries 1, 2, 3 … as WooCommerce's meta ids do.
type OrderMeta struct {
	ID    int64           `json:"id"`
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
}

// OrderPayment is one payment of an order: its method, amount and
// reference: a provider's payment id, unique across all orders, or for a
// wallet payment the ledger seq of its debit (the debit's transaction_id
// in the WalletPro events). A refund marks it refunded and reverses
// exactly it.
type OrderPayment struct {
	ID        int64  `json:"id"`
	Method    string `json:"method"`
	Amount    Money  `json:"amount"`
	Currency  string `json:"currency"`
	Reference string `json:"reference"`
	Status    string `json:"status"` // paid or refunded
	// WalletID is the wallet a wallet payment debited; RefundReference
	// the seq of the credit that gave it back.
	WalletID        string    `json:"wallet_id,omitempty"`
	RefundReference string    `json:"refund_reference,omitempty"`
	CreatedAt       time.Time `json:"created_at"`
	RefundedAt      time.Time `json:"refunded_at,omitzero"`
	// DayKey and MonthKey are the spending-limit periods a wallet payment
	// counted in, so that its refund gives the amount back to them.
	DayKey   string `json:"day_key,omitempty"`
	MonthKey string `json:"month_key,omitempty"`
}

// OrderRefund is one refund of an order: the amount paid back (zero for
// an order paid outside walletd) and why.
type OrderRefund struct {
	ID        int64     `json:"id"`
	Reason    string    `json:"reason"`
	Total     Money     `json:"total"`
	CreatedAt time.Time `json:"created_at"`
}

// OrderRef is the index row of an order's storefront reference (object
// kind ObjOrderRef, keyed by OrderRefKey(source, external_id)) or of a
// provider payment reference (ObjPaymentRef, keyed by the reference): the
// order it belongs to. Fingerprint identifies the terms the order was
// created with, so that creating it again with the same terms is told
// apart from a conflict.
type OrderRef struct {
	OrderID     int64  `json:"order_id"`
	Fingerprint string `json:"fingerprint,omitempty"`
	Method      string `json:"method,omitempty"`
}

// OrderRefKey is the key of an order's (source, external_id) in
// ObjOrderRef. Sources hold no "/", so keys never collide.
func OrderRefKey(source, externalID string) string { return source + "/" + externalID }

// Sequence is one of the writer's id sequences (object kind ObjSequence,
// keyed by its name): the last id it issued.
type Sequence struct {
	Name string `json:"name"`
	Last int64  `json:"last"`
}

// Sequence names.
const (
	SeqOrder     = "order"
	SeqCatalogue = "catalogue" // products and variations, one sequence as in WooCommerce
)

// IntKey is the object id under which an object with integer id n
// (an order, a product, a variation) is stored: n in 19 digits with
// leading zeros, so that the objects' id order is their numeric order
// and a cursor pages through them.
func IntKey(n int64) string { return fmt.Sprintf("%019d", n) }

// ParseOrderID returns s as an order id, and whether it is one: the
// canonical decimal text of a whole number from 1 to MaxOrderID (no sign,
// no leading zero). Product and variation ids read the same way.
func ParseOrderID(s string) (int64, bool) {
	if s == "" || len(s) > 16 || s[0] < '1' || s[0] > '9' {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > MaxOrderID || strconv.FormatInt(n, 10) != s {
		return 0, false
	}
	return n, true
}

// Entry types of the steps of an order, besides TypeOrderCompleted and
// TypeOrderRefunded (entry.go). A step that moves no money is a note of
// the order's wallet, or a config entry when the order has no wallet; a
// wallet payment and its refund are the debit and the credit themselves.
const (
	TypeOrderCreated   = "order_created"
	TypeOrderPaid      = "order_paid"    // a provider payment was recorded
	TypeOrderPayment   = "order_payment" // the debit of a wallet payment
	TypeOrderRefund    = "order_refund"  // the credit that gives a wallet payment back
	TypeOrderCancelled = "order_cancelled"
	TypeOrderFailed    = "order_failed"
)

// Entry types of the catalogue's config entries.
const (
	TypeProduct   = "product"
	TypeVariation = "variation"
)
