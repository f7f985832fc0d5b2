package webhooks

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"github.com/walletd/walletd"
)

// The woocommerce format's order bodies. A WooCommerce backend reads an
// order topic's body as WooCommerce's REST order object (GET
// /wp-json/wc/v3/orders/{id}); WooCommerce's webhooks send exactly that.
// walletd renders it from an OrderInput, the order as walletd knows it.

// OrderInput is what the woocommerce format needs of an order to render
// WooCommerce's REST order object. The dispatcher decodes the data object
// of an order topic (order.created, order.updated) into it: that data is
// walletd.ShopOrder, whose JSON names are WooCommerce's, so it decodes as
// it is (fields the mapper does not use are ignored). walletpro and
// standard endpoints that list the order topics receive the data as
// published; woocommerce endpoints receive WooCommerceOrder's object.
//
// FromOrder fills it from a walletd.Order (an order completion of the old
// route). Every field is optional except ID, Status, Currency and Total;
// amounts are decimal strings in the order's currency.
type OrderInput struct {
	// ID is the integer order id (WooCommerce's id): walletd's order
	// sequence, or the storefront's id when it is a decimal integer. 0
	// when the order has none.
	ID int64 `json:"id"`
	// Number is the order number shown to the customer (default: ID).
	Number string `json:"number,omitempty"`
	// ParentID is the order this one belongs to (0: none).
	ParentID int64 `json:"parent_id,omitempty"`
	// OrderKey is the order's key, "wc_order_" + 13 characters, as in its
	// pay URL.
	OrderKey string `json:"order_key,omitempty"`
	// Status, in WooCommerce's words: pending, processing, on-hold,
	// completed, cancelled, refunded or failed (a "wc-" prefix is dropped).
	Status   string `json:"status"`
	Currency string `json:"currency"`
	// Total is what the customer pays, taxes and shipping included.
	Total            string `json:"total"`
	TotalTax         string `json:"total_tax,omitempty"`
	DiscountTotal    string `json:"discount_total,omitempty"`
	DiscountTax      string `json:"discount_tax,omitempty"`
	ShippingTotal    string `json:"shipping_total,omitempty"`
	ShippingTax      string `json:"shipping_tax,omitempty"`
	CartTax          string `json:"cart_tax,omitempty"`
	PricesIncludeTax bool   `json:"prices_include_tax,omitempty"`
	// CustomerID is the storefront's user id: WooCommerce's customer_id
	// when it is a decimal integer, 0 (a guest) otherwise.
	CustomerID        string       `json:"customer_id,omitempty"`
	Billing           OrderAddress `json:"billing,omitzero"`
	Shipping          OrderAddress `json:"shipping,omitzero"`
	CustomerNote      string       `json:"customer_note,omitempty"`
	CustomerIP        string       `json:"customer_ip_address,omitempty"`
	CustomerUserAgent string       `json:"customer_user_agent,omitempty"`
	// PaymentMethod is the payment's kind (wallet, stripe, paypal, generic,
	// wegetfinancing); PaymentMethodTitle its name for people;
	// TransactionID the provider's payment reference.
	PaymentMethod      string `json:"payment_method,omitempty"`
	PaymentMethodTitle string `json:"payment_method_title,omitempty"`
	TransactionID      string `json:"transaction_id,omitempty"`
	// WalletID is the walletd wallet of the customer, when there is one.
	WalletID   string      `json:"wallet_id,omitempty"`
	CreatedVia string      `json:"created_via,omitempty"` // default "walletd"
	CartHash   string      `json:"cart_hash,omitempty"`
	PaymentURL string      `json:"payment_url,omitempty"`
	Lines      []OrderLine `json:"lines,omitempty"`
	// Items is the free-form items of an order recorded by the old
	// complete route. When Lines is empty, the lines are read from them
	// (see FromOrder).
	Items    json.RawMessage `json:"items,omitempty"`
	MetaData []OrderMeta     `json:"meta_data,omitempty"`
	Refunds  []OrderRefund   `json:"refunds,omitempty"`
	// NeedsProcessing is WooCommerce's needs_processing; nil: true when the
	// order has lines (WooCommerce says false only for orders of virtual,
	// downloadable products).
	NeedsProcessing *bool `json:"needs_processing,omitempty"`
	// The order's times; zero when they have not happened. UpdatedAt
	// defaults to CreatedAt.
	CreatedAt   time.Time `json:"created_at,omitzero"`
	UpdatedAt   time.Time `json:"updated_at,omitzero"`
	PaidAt      time.Time `json:"paid_at,omitzero"`
	CompletedAt time.Time `json:"completed_at,omitzero"`
}

// OrderAddress is a billing or shipping address (Email only for billing).
type OrderAddress struct {
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
	Company   string `json:"company,omitempty"`
	Address1  string `json:"address_1,omitempty"`
	Address2  string `json:"address_2,omitempty"`
	City      string `json:"city,omitempty"`
	State     string `json:"state,omitempty"`
	Postcode  string `json:"postcode,omitempty"`
	Country   string `json:"country,omitempty"` // ISO 3166-1 alpha-2
	Email     string `json:"email,omitempty"`
	Phone     string `json:"phone,omitempty"`
}

// OrderLine is one line of an order: a product or one of its variations.
type OrderLine struct {
	ID          int64  `json:"id,omitempty"`
	ProductID   int64  `json:"product_id"`
	VariationID int64  `json:"variation_id,omitempty"`
	Name        string `json:"name"`
	SKU         string `json:"sku,omitempty"`
	Quantity    int64  `json:"quantity"`
	// Price is the unit price; Total the line's total after discounts
	// (default Price × Quantity); Subtotal before them (default Total).
	Price    string      `json:"price,omitempty"`
	Subtotal string      `json:"subtotal,omitempty"`
	Total    string      `json:"total,omitempty"`
	MetaData []OrderMeta `json:"meta_data,omitempty"`
}

// OrderMeta is one meta_data entry (account_id for reset fees, a plugin's
// processing options …). Value is any JSON value.
type OrderMeta struct {
	ID    int64           `json:"id"`
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
}

// OrderRefund is one refund of an order; Total is the positive amount
// refunded (WooCommerce shows it negative).
type OrderRefund struct {
	ID     int64  `json:"id"`
	Reason string `json:"reason"`
	Total  string `json:"total"`
}

// FromOrder returns the OrderInput of a storefront order walletd completed
// (and maybe refunded), as far as walletd.Order knows it: the storefront's
// order id (the integer id when it is one, the number always), the
// user, the total, the lines its items describe (objects with product_id,
// variation_id, name, sku, quantity, price, subtotal, total; other items
// give no lines), the completion as creation, payment and completion time,
// and a refund of the total.
func FromOrder(o *walletd.Order) OrderInput {
	in := OrderInput{
		ID: parseID(o.ID), Number: o.ID, Status: o.Status, Currency: o.Currency, Total: o.Total.String(),
		CustomerID: o.UserID, WalletID: o.WalletID, Lines: linesFromItems(o.Items),
		CreatedAt: o.CompletedAt, UpdatedAt: o.CompletedAt, PaidAt: o.CompletedAt, CompletedAt: o.CompletedAt,
	}
	if o.Status == walletd.StatusRefunded {
		in.Refunds = []OrderRefund{{Total: in.Total}}
		if !o.RefundedAt.IsZero() {
			in.UpdatedAt = o.RefundedAt
		}
	}
	return in
}

// parseID returns s as a positive integer id, or 0 when it is not the
// decimal form of one.
func parseID(s string) int64 {
	if s == "" || s[0] < '1' || s[0] > '9' {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// linesFromItems reads order lines from a completion's free-form items:
// an array of objects whose product_id, variation_id and quantity are
// integers (or their decimal strings) and whose amounts are decimal
// strings or numbers. Anything else gives no lines.
func linesFromItems(items json.RawMessage) []OrderLine {
	var raw []map[string]json.RawMessage
	if len(items) == 0 || json.Unmarshal(items, &raw) != nil {
		return nil
	}
	integer := func(v json.RawMessage) int64 {
		var s string
		if json.Unmarshal(v, &s) == nil {
			return parseID(s)
		}
		var n json.Number
		if json.Unmarshal(v, &n) == nil {
			if i, err := n.Int64(); err == nil && i > 0 {
				return i
			}
		}
		return 0
	}
	text := func(v json.RawMessage) string {
		var s string
		json.Unmarshal(v, &s)
		return s
	}
	amount := func(v json.RawMessage) string {
		var n json.Number
		if json.Unmarshal(v, &n) != nil {
			var s string
			json.Unmarshal(v, &s)
			n = json.Number(s)
		}
		if !plainDecimal.MatchString(n.String()) {
			return ""
		}
		return n.String()
	}
	lines := make([]OrderLine, 0, len(raw))
	for _, m := range raw {
		l := OrderLine{ProductID: integer(m["product_id"]), VariationID: integer(m["variation_id"]), Name: text(m["name"]),
			SKU: text(m["sku"]), Quantity: integer(m["quantity"]), Price: amount(m["price"]), Subtotal: amount(m["subtotal"]),
			Total: amount(m["total"])}
		if l.Quantity == 0 {
			l.Quantity = 1
		}
		lines = append(lines, l)
	}
	return lines
}

// WooCommerce's REST order object, field for field in WooCommerce's order.
type (
	wcOrder struct {
		ID                 int64        `json:"id"`
		ParentID           int64        `json:"parent_id"`
		Status             string       `json:"status"`
		Currency           string       `json:"currency"`
		Version            string       `json:"version"`
		PricesIncludeTax   bool         `json:"prices_include_tax"`
		DateCreated        *string      `json:"date_created"`
		DateModified       *string      `json:"date_modified"`
		DiscountTotal      string       `json:"discount_total"`
		DiscountTax        string       `json:"discount_tax"`
		ShippingTotal      string       `json:"shipping_total"`
		ShippingTax        string       `json:"shipping_tax"`
		CartTax            string       `json:"cart_tax"`
		Total              string       `json:"total"`
		TotalTax           string       `json:"total_tax"`
		CustomerID         int64        `json:"customer_id"`
		OrderKey           string       `json:"order_key"`
		Billing            wcBilling    `json:"billing"`
		Shipping           wcShipping   `json:"shipping"`
		PaymentMethod      string       `json:"payment_method"`
		PaymentMethodTitle string       `json:"payment_method_title"`
		TransactionID      string       `json:"transaction_id"`
		CustomerIP         string       `json:"customer_ip_address"`
		CustomerUserAgent  string       `json:"customer_user_agent"`
		CreatedVia         string       `json:"created_via"`
		CustomerNote       string       `json:"customer_note"`
		DateCompleted      *string      `json:"date_completed"`
		DatePaid           *string      `json:"date_paid"`
		CartHash           string       `json:"cart_hash"`
		Number             string       `json:"number"`
		MetaData           []wcMeta     `json:"meta_data"`
		LineItems          []wcLineItem `json:"line_items"`
		TaxLines           []struct{}   `json:"tax_lines"`
		ShippingLines      []struct{}   `json:"shipping_lines"`
		FeeLines           []struct{}   `json:"fee_lines"`
		CouponLines        []struct{}   `json:"coupon_lines"`
		Refunds            []wcRefund   `json:"refunds"`
		PaymentURL         string       `json:"payment_url"`
		NeedsPayment       bool         `json:"needs_payment"`
		NeedsProcessing    bool         `json:"needs_processing"`
		DateCreatedGMT     *string      `json:"date_created_gmt"`
		DateModifiedGMT    *string      `json:"date_modified_gmt"`
		DateCompletedGMT   *string      `json:"date_completed_gmt"`
		DatePaidGMT        *string      `json:"date_paid_gmt"`
	}
	wcBilling struct {
		FirstName string `json:"first_name"`
		LastName  string `json:"last_name"`
		Company   string `json:"company"`
		Address1  string `json:"address_1"`
		Address2  string `json:"address_2"`
		City      string `json:"city"`
		State     string `json:"state"`
		Postcode  string `json:"postcode"`
		Country   string `json:"country"`
		Email     string `json:"email"`
		Phone     string `json:"phone"`
	}
	wcShipping struct {
		FirstName string `json:"first_name"`
		LastName  string `json:"last_name"`
		Company   string `json:"company"`
		Address1  string `json:"address_1"`
		Address2  string `json:"address_2"`
		City      string `json:"city"`
		State     string `json:"state"`
		Postcode  string `json:"postcode"`
		Country   string `json:"country"`
		Phone     string `json:"phone"`
	}
	wcMeta struct {
		ID    int64           `json:"id"`
		Key   string          `json:"key"`
		Value json.RawMessage `json:"value"`
	}
	wcLineItem struct {
		ID          int64       `json:"id"`
		Name        string      `json:"name"`
		ProductID   int64       `json:"product_id"`
		VariationID int64       `json:"variation_id"`
		Quantity    int64       `json:"quantity"`
		TaxClass    string      `json:"tax_class"`
		Subtotal    string      `json:"subtotal"`
		SubtotalTax string      `json:"subtotal_tax"`
		Total       string      `json:"total"`
		TotalTax    string      `json:"total_tax"`
		Taxes       []struct{}  `json:"taxes"`
		MetaData    []wcMeta    `json:"meta_data"`
		SKU         string      `json:"sku"`
		Price       json.Number `json:"price"` // a number in WooCommerce's object
	}
	wcRefund struct {
		ID     int64  `json:"id"`
		Reason string `json:"reason"`
		Total  string `json:"total"` // negative
	}
)

// wcTimeFormat is WooCommerce's REST date format: no zone. walletd has no
// store time zone, so the local dates are the UTC (_gmt) ones.
const wcTimeFormat = "2006-01-02T15:04:05"

func wcTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(wcTimeFormat)
	return &s
}

// WooCommerceOrder renders o as WooCommerce's REST order object: the body
// of an order topic sent to a woocommerce endpoint. Absent amounts are
// zero at the scale of the total, absent dates null, absent lists empty.
func WooCommerceOrder(o *OrderInput) ([]byte, error) {
	scale := int32(2) // of the zero amounts: the total's
	if plainDecimal.MatchString(o.Total) {
		_, frac, _ := strings.Cut(o.Total, ".")
		scale = int32(len(frac))
	}
	zero := walletd.FormatAmount(decimal.Zero, scale)
	or := func(s string) string {
		if s == "" {
			return zero
		}
		return s
	}
	number := o.Number
	if number == "" && o.ID > 0 {
		number = strconv.FormatInt(o.ID, 10)
	}
	updated := o.UpdatedAt
	if updated.IsZero() {
		updated = o.CreatedAt
	}
	createdVia := o.CreatedVia
	if createdVia == "" {
		createdVia = "walletd"
	}
	status := strings.TrimPrefix(o.Status, "wc-")
	total := or(o.Total)
	lines := o.Lines
	if len(lines) == 0 {
		lines = linesFromItems(o.Items)
	}
	needsProcessing := len(lines) > 0
	if o.NeedsProcessing != nil {
		needsProcessing = *o.NeedsProcessing
	}
	sh := o.Shipping
	w := wcOrder{
		ID: o.ID, ParentID: o.ParentID, Status: status, Currency: o.Currency, PricesIncludeTax: o.PricesIncludeTax,
		DateCreated: wcTime(o.CreatedAt), DateModified: wcTime(updated),
		DiscountTotal: or(o.DiscountTotal), DiscountTax: or(o.DiscountTax), ShippingTotal: or(o.ShippingTotal),
		ShippingTax: or(o.ShippingTax), CartTax: or(o.CartTax), Total: total, TotalTax: or(o.TotalTax),
		CustomerID: parseID(o.CustomerID), OrderKey: o.OrderKey,
		Billing: wcBilling(o.Billing),
		Shipping: wcShipping{FirstName: sh.FirstName, LastName: sh.LastName, Company: sh.Company, Address1: sh.Address1,
			Address2: sh.Address2, City: sh.City, State: sh.State, Postcode: sh.Postcode, Country: sh.Country, Phone: sh.Phone},
		PaymentMethod: o.PaymentMethod, PaymentMethodTitle: o.PaymentMethodTitle, TransactionID: o.TransactionID,
		CustomerIP: o.CustomerIP, CustomerUserAgent: o.CustomerUserAgent, CreatedVia: createdVia, CustomerNote: o.CustomerNote,
		DateCompleted: wcTime(o.CompletedAt), DatePaid: wcTime(o.PaidAt), CartHash: o.CartHash, Number: number,
		MetaData: wcMetas(o.MetaData), LineItems: make([]wcLineItem, 0, len(lines)),
		TaxLines: []struct{}{}, ShippingLines: []struct{}{}, FeeLines: []struct{}{}, CouponLines: []struct{}{},
		Refunds: make([]wcRefund, 0, len(o.Refunds)), PaymentURL: o.PaymentURL,
		NeedsPayment:    (status == "pending" || status == "failed") && decimalOf(total).IsPositive(),
		NeedsProcessing: needsProcessing,
		DateCreatedGMT:  wcTime(o.CreatedAt), DateModifiedGMT: wcTime(updated),
		DateCompletedGMT: wcTime(o.CompletedAt), DatePaidGMT: wcTime(o.PaidAt),
	}
	for _, l := range lines {
		w.LineItems = append(w.LineItems, wcLine(&l, scale, zero))
	}
	for _, r := range o.Refunds {
		w.Refunds = append(w.Refunds, wcRefund{ID: r.ID, Reason: r.Reason, Total: decimalOf(r.Total).Neg().StringFixed(scale)})
	}
	return json.Marshal(w)
}

// wcLine renders an order line, computing the amounts it lacks.
func wcLine(l *OrderLine, scale int32, zero string) wcLineItem {
	qty := l.Quantity
	if qty <= 0 {
		qty = 1
	}
	total := l.Total
	if total == "" && l.Price != "" {
		total = decimalOf(l.Price).Mul(decimal.NewFromInt(qty)).StringFixed(scale)
	}
	if total == "" {
		total = zero
	}
	subtotal := l.Subtotal
	if subtotal == "" {
		subtotal = total
	}
	price := l.Price
	if price == "" {
		price = decimalOf(total).Div(decimal.NewFromInt(qty)).String()
	}
	return wcLineItem{ID: l.ID, Name: l.Name, ProductID: l.ProductID, VariationID: l.VariationID, Quantity: qty,
		Subtotal: subtotal, SubtotalTax: zero, Total: total, TotalTax: zero, Taxes: []struct{}{},
		MetaData: wcMetas(l.MetaData), SKU: l.SKU, Price: json.Number(decimalOf(price).String())}
}

func wcMetas(ms []OrderMeta) []wcMeta {
	out := make([]wcMeta, 0, len(ms))
	for _, m := range ms {
		v := m.Value
		if len(v) == 0 {
			v = json.RawMessage(`""`)
		}
		out = append(out, wcMeta{ID: m.ID, Key: m.Key, Value: v})
	}
	return out
}

// plainDecimal is the form of the amounts the mapper reads: digits with
// an optional fraction, no exponent (an exponent such as 1e999999999 would
// make a string of a billion digits).
var plainDecimal = regexp.MustCompile(`^-?[0-9]{1,30}(\.[0-9]{1,30})?$`)

// decimalOf parses a plain decimal string; anything else is zero.
func decimalOf(s string) decimal.Decimal {
	if !plainDecimal.MatchString(s) {
		return decimal.Zero
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Zero
	}
	return d
}

// bodyFor returns the body an endpoint of format receives for a stream
// event: payloadFor's, except that a woocommerce endpoint receives
// WooCommerce's REST order object for an order topic whose data is an
// OrderInput.
func bodyFor(format, key string, envelope []byte) []byte {
	if format == FormatWooCommerce && isOrderTopic(key) {
		var env struct {
			Data OrderInput `json:"data"`
		}
		if json.Unmarshal(envelope, &env) == nil {
			if b, err := WooCommerceOrder(&env.Data); err == nil {
				return b
			}
		}
	}
	return payloadFor(format, envelope)
}

// sampleOrderData is the data of a test order topic: a paid reset-fee
// order with one line, in the shape the order flows publish
// (walletd.ShopOrder's JSON).
func sampleOrderData(now time.Time) json.RawMessage {
	t := strconv.Quote(now.UTC().Truncate(time.Second).Format(time.RFC3339))
	return json.RawMessage(`{"id":1204,"source":"api","external_id":"1204","status":"processing","currency":"USD",` +
		`"subtotal":"49.00","discount_total":"0.00","shipping_total":"0.00","total_tax":"0.00","total":"49.00",` +
		`"customer_id":"103","billing":{"first_name":"Jane","last_name":"Doe","address_1":"1 Main St",` +
		`"city":"Springfield","state":"IL","postcode":"62701","country":"US","email":"jane@example.com","phone":"+1 555 0100"},` +
		`"wallet_id":"wal_test","payment_method":"wallet","payment_method_title":"Wallet balance","transaction_id":"4821",` +
		`"lines":[{"id":1,"product_id":77,"variation_id":781,"name":"Challenge reset - 50K","sku":"RESET-50K",` +
		`"quantity":1,"price":"49.00","subtotal":"49.00","total":"49.00"}],` +
		`"meta_data":[{"id":1,"key":"account_id","value":"MT5-100234"}],` +
		`"payments":[{"id":1,"method":"wallet","amount":"49.00","currency":"USD","reference":"4821","status":"paid",` +
		`"wallet_id":"wal_test","created_at":` + t + `}],` +
		`"created_at":` + t + `,"updated_at":` + t + `,"paid_at":` + t + `}`)
}
