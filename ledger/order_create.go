package ledger

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/walletd/walletd"

	"github.com/shopspring/decimal"
	"github.com/walletd/walletd/events"
)

// Creating an order: its terms are checked and completed (lines from the
// catalogue, totals added up), its storefront reference claimed, its id
// issued, and its first step appended.

func (c *CreateOrder) apply(b *batch, r *request) error {
	o, err := b.orderTerms(c)
	if err != nil {
		return err
	}
	status := c.Status
	switch status {
	case "", walletd.OrderPending:
		status = walletd.OrderPending
	case walletd.OrderCompleted:
		if o.CustomerID == "" {
			return walletd.Errorf(walletd.EInvalid, "customer_id is required to record a completed order: its rewards go to the customer's wallet.")
		}
	default:
		return walletd.Errorf(walletd.EInvalid, "status must be pending or completed (an order the storefront was paid for).")
	}
	// The terms that make a repeat a repeat: the command as checked.
	terms := *c
	terms.Source, terms.Status = o.Source, status
	terms.Lines, terms.MetaData, terms.Items = nil, nil, o.Items
	terms.DiscountTotal, terms.ShippingTotal, terms.TotalTax, terms.Total = o.DiscountTotal.String(), o.ShippingTotal.String(), o.TotalTax.String(), o.Total.String()
	fp := Fingerprint(&struct {
		CreateOrder
		Lines []walletd.OrderLine `json:"order_lines"`
		Meta  []walletd.OrderMeta `json:"order_meta"`
	}{terms, o.Lines, o.MetaData})

	if o.ExternalID != "" {
		if done, err := b.existingOrder(o, status, fp); done || err != nil {
			return err
		}
	}
	taken := func(n int64) bool { return b.shopOrders.get(walletd.IntKey(n)) != nil || b.legacyIDTaken(n) }
	claimed := false
	if o.Source == walletd.SourceAPI {
		if n, ok := walletd.ParseOrderID(o.ExternalID); ok {
			if taken(n) {
				return walletd.Errorf(walletd.EConflict, "Order %d exists, and an order of source api with external_id %s would take the id %d. Record this storefront order under another source.",
					n, o.ExternalID, n)
			}
			o.ID, claimed = n, true
		}
	}
	if !claimed {
		last := int64(0)
		if s := b.sequences.get(walletd.SeqOrder); s != nil {
			last = s.Last
		}
		for o.ID = last + 1; taken(o.ID); o.ID++ {
		}
		if o.ID > walletd.MaxOrderID {
			return walletd.Errorf(walletd.EUnavailable, "The order ids are exhausted.")
		}
	}
	if o.CustomerID != "" {
		o.WalletID = b.walletOf(o.CustomerID, o.Currency)
	}
	if status == walletd.OrderCompleted && o.WalletID == "" {
		return walletd.Errorf(walletd.ENotFound, "User %q has no %s wallet.", o.CustomerID, o.Currency)
	}
	o.CreatedAt, o.UpdatedAt = b.now, b.now
	if status == walletd.OrderCompleted {
		o.Status, o.PaidAt, o.CompletedAt = walletd.OrderCompleted, b.now, b.now
		if err := b.complete(r, o, events.OrderCreated); err != nil {
			return err
		}
	} else {
		o.Status = walletd.OrderPending
		b.orderStep(r, o, walletd.TypeOrderCreated, events.OrderCreated, "")
		b.putOrder(o)
	}
	// The variations it references can no longer be deleted.
	for _, l := range o.Lines {
		if l.VariationID != 0 {
			key := walletd.IntKey(l.VariationID)
			v := *b.variations.get(key)
			v.OrderLines++
			b.variations.put(key, &v, b.seq)
		}
	}
	if o.ExternalID != "" {
		b.orderRefs.put(walletd.OrderRefKey(o.Source, o.ExternalID), &walletd.OrderRef{OrderID: o.ID, Fingerprint: fp}, b.seq)
	}
	if !claimed {
		b.sequences.put(walletd.SeqOrder, &walletd.Sequence{Name: walletd.SeqOrder, Last: o.ID}, b.seq)
	}
	return nil
}

// existingOrder handles a CreateOrder whose storefront reference is
// taken: by an order created with the same terms (reported, done), by an
// order with other terms (EConflict), or, for source api, by a completion
// the old route recorded (reported if the terms are the old route's
// completion's, else EConflict).
func (b *batch) existingOrder(o *walletd.ShopOrder, status, fp string) (bool, error) {
	if ref := b.orderRefs.get(walletd.OrderRefKey(o.Source, o.ExternalID)); ref != nil {
		prev, err := b.order(ref.OrderID)
		if err != nil {
			return false, err
		}
		if ref.Fingerprint != fp {
			return false, walletd.Errorf(walletd.EConflict, "Order %d is the order %s of source %s, created with other terms.",
				prev.ID, walletd.QuoteInput(o.ExternalID), o.Source)
		}
		b.report(walletd.ObjShopOrder, walletd.IntKey(prev.ID), prev)
		b.repeat = true
		return true, nil
	}
	if o.Source != walletd.SourceAPI {
		return false, nil
	}
	prev := b.orders.get(o.ExternalID)
	if prev == nil {
		return false, nil
	}
	legacyTerms := status == walletd.OrderCompleted && len(o.Lines) == 0 && len(o.MetaData) == 0 && o.Billing == (walletd.OrderAddress{}) &&
		o.DiscountTotal.Decimal().IsZero() && o.ShippingTotal.Decimal().IsZero() && o.TotalTax.Decimal().IsZero()
	if !legacyTerms || prev.Fingerprint != legacyFingerprint(o.ExternalID, o.CustomerID, o.Total, o.Currency, o.Items) {
		return false, walletd.Errorf(walletd.EConflict, "Order %q was already completed with other terms (user %s, total %s %s).",
			o.ExternalID, prev.UserID, prev.Total, prev.Currency)
	}
	b.report(walletd.ObjOrder, prev.ID, prev)
	b.repeat = true
	return true, nil
}

// orderTerms checks a CreateOrder and returns the order it describes,
// without id, status or times: its lines filled in from the catalogue and
// its totals added up. Returns EInvalid, EInvalidAmount, EInvalidCurrency
// or ENotFound (an unknown variation).
func (b *batch) orderTerms(c *CreateOrder) (*walletd.ShopOrder, error) {
	o := &walletd.ShopOrder{Source: c.Source, ExternalID: c.ExternalID, CustomerID: c.CustomerID, Currency: c.Currency, Billing: c.Billing,
		Lines: []walletd.OrderLine{}, MetaData: []walletd.OrderMeta{}, Payments: []walletd.OrderPayment{}}
	if o.Source == "" {
		o.Source = walletd.SourceAPI
	}
	if err := checkSource(o.Source); err != nil {
		return nil, err
	} else if err := walletd.CheckText("external_id", o.ExternalID, walletd.MaxOrderIDLen, false); err != nil {
		return nil, err
	} else if o.ExternalID != strings.TrimSpace(o.ExternalID) {
		return nil, walletd.Errorf(walletd.EInvalid, "external_id has white space at an end.")
	} else if err := walletd.CheckText("customer_id", o.CustomerID, walletd.MaxUserIDLen, false); err != nil {
		return nil, err
	} else if err := checkBilling(&o.Billing); err != nil {
		return nil, err
	}
	s, err := b.w.cfg.Currencies.Scale(o.Currency)
	if err != nil {
		return nil, err
	}
	if len(c.Lines) > walletd.MaxOrderLines {
		return nil, walletd.Errorf(walletd.EInvalid, "An order has at most %d lines.", walletd.MaxOrderLines)
	}
	subtotal := decimal.Zero
	for i := range c.Lines {
		l, err := b.orderLine(&c.Lines[i], i, o.Currency, s)
		if err != nil {
			return nil, err
		}
		subtotal = subtotal.Add(l.Total.Decimal())
		o.Lines = append(o.Lines, l)
	}
	var discount, shipping, tax decimal.Decimal
	if discount, err = orderAmount("discount_total", c.DiscountTotal, s); err != nil {
		return nil, err
	} else if shipping, err = orderAmount("shipping_total", c.ShippingTotal, s); err != nil {
		return nil, err
	} else if tax, err = orderAmount("total_tax", c.TotalTax, s); err != nil {
		return nil, err
	}
	var total decimal.Decimal
	if len(o.Lines) == 0 {
		if !discount.IsZero() || !shipping.IsZero() || !tax.IsZero() {
			return nil, walletd.Errorf(walletd.EInvalid, "An order without lines has a total only: no discount_total, shipping_total or total_tax.")
		}
		if total, err = walletd.ParseAmount(c.Total, s); err != nil {
			return nil, walletd.Errorf(walletd.EInvalidAmount, "total: %s", walletd.ErrorMessage(err))
		}
		subtotal = total
	} else {
		total = subtotal.Sub(discount).Add(shipping).Add(tax)
		if !total.IsPositive() {
			return nil, walletd.Errorf(walletd.EInvalidAmount, "The order's total, %s, must be above zero.", walletd.FormatAmount(total, s))
		} else if !total.LessThan(maxBalance) {
			return nil, walletd.Errorf(walletd.EInvalidAmount, "The order's total is too large.")
		}
		if c.Total != "" {
			given, err := walletd.ParseAmount(c.Total, s)
			if err != nil {
				return nil, walletd.Errorf(walletd.EInvalidAmount, "total: %s", walletd.ErrorMessage(err))
			} else if !given.Equal(total) {
				return nil, walletd.Errorf(walletd.EInvalidAmount, "total %s does not add up: the lines' %s - discount %s + shipping %s + tax %s = %s.",
					walletd.QuoteInput(c.Total), walletd.FormatAmount(subtotal, s), walletd.FormatAmount(discount, s),
					walletd.FormatAmount(shipping, s), walletd.FormatAmount(tax, s), walletd.FormatAmount(total, s))
			}
		}
	}
	o.Subtotal, o.DiscountTotal, o.ShippingTotal = walletd.NewMoney(subtotal, s), walletd.NewMoney(discount, s), walletd.NewMoney(shipping, s)
	o.TotalTax, o.Total = walletd.NewMoney(tax, s), walletd.NewMoney(total, s)

	if len(c.MetaData) > walletd.MaxOrderMeta {
		return nil, walletd.Errorf(walletd.EInvalid, "meta_data has more than %d entries.", walletd.MaxOrderMeta)
	}
	keys := make(map[string]bool, len(c.MetaData))
	for i, m := range c.MetaData {
		if err := walletd.CheckText("meta_data key", m.Key, walletd.MaxOrderMetaKey, true); err != nil {
			return nil, err
		} else if keys[m.Key] {
			return nil, walletd.Errorf(walletd.EInvalid, "meta_data holds the key %s twice.", walletd.QuoteInput(m.Key))
		}
		keys[m.Key] = true
		v, err := compactValue("meta_data value of "+walletd.QuoteInput(m.Key), m.Value, walletd.MaxOrderMetaValue)
		if err != nil {
			return nil, err
		}
		o.MetaData = append(o.MetaData, walletd.OrderMeta{ID: int64(i + 1), Key: m.Key, Value: v})
	}
	if o.Items, err = compactItems(c.Items); err != nil {
		return nil, err
	}
	return o, nil
}

// orderLine checks line i of an order in currency (scale s) and returns
// it complete. A line of a variation takes its name, SKU and price from
// the catalogue; the variation must be orderable and in currency.
func (b *batch) orderLine(in *OrderLineInput, i int, currency string, s int32) (walletd.OrderLine, error) {
	l := walletd.OrderLine{ID: int64(i + 1), ProductID: in.ProductID, VariationID: in.VariationID, Name: in.Name, SKU: in.SKU, Quantity: in.Quantity}
	at := "lines[" + strconv.Itoa(i) + "]"
	if l.Quantity == 0 {
		l.Quantity = 1
	}
	if l.Quantity < 1 || l.Quantity > walletd.MaxLineQuantity {
		return l, walletd.Errorf(walletd.EInvalid, "%s: quantity must be 1 to %d.", at, walletd.MaxLineQuantity)
	} else if l.ProductID < 0 || l.ProductID > walletd.MaxOrderID || l.VariationID < 0 || l.VariationID > walletd.MaxOrderID {
		return l, walletd.Errorf(walletd.EInvalid, "%s: product_id and variation_id must be whole numbers from 1 to %d.", at, int64(walletd.MaxOrderID))
	}
	var price decimal.Decimal
	if l.VariationID != 0 {
		v := b.variations.get(walletd.IntKey(l.VariationID))
		if v == nil || v.Deleted {
			return l, walletd.Errorf(walletd.ENotFound, "%s: variation %d not found.", at, l.VariationID)
		}
		p := b.products.get(walletd.IntKey(v.ProductID))
		if !v.Orderable(p) {
			return l, walletd.Errorf(walletd.EConflict, "%s: variation %d is disabled.", at, l.VariationID)
		} else if v.Currency != currency {
			return l, walletd.Errorf(walletd.ECurrencyMismatch, "%s: variation %d is priced in %s, the order is in %s.", at, l.VariationID, v.Currency, currency)
		} else if l.ProductID != 0 && l.ProductID != v.ProductID {
			return l, walletd.Errorf(walletd.EInvalid, "%s: variation %d belongs to product %d, not %d.", at, l.VariationID, v.ProductID, l.ProductID)
		}
		name := walletd.VariationName(p, v)
		if l.Name != "" && l.Name != name {
			return l, walletd.Errorf(walletd.EInvalid, "%s: the name of variation %d is %s; leave name out.", at, l.VariationID, walletd.QuoteInput(name))
		} else if l.SKU != "" && l.SKU != v.SKU {
			return l, walletd.Errorf(walletd.EInvalid, "%s: the SKU of variation %d is %s; leave sku out.", at, l.VariationID, walletd.QuoteInput(v.SKU))
		}
		if in.Price != "" {
			given, err := orderAmount(at+".price", in.Price, s)
			if err != nil {
				return l, err
			} else if !given.Equal(v.Price.Decimal()) {
				return l, walletd.Errorf(walletd.EInvalidAmount, "%s: the price of variation %d is %s, not %s.", at, l.VariationID, v.Price, walletd.QuoteInput(in.Price))
			}
		}
		l.ProductID, l.Name, l.SKU, price = v.ProductID, name, v.SKU, v.Price.Decimal()
	} else {
		if err := walletd.CheckText(at+".name", l.Name, walletd.MaxNameLen, true); err != nil {
			return l, err
		} else if err := walletd.CheckText(at+".sku", l.SKU, walletd.MaxNameLen, false); err != nil {
			return l, err
		} else if in.Price == "" {
			return l, walletd.Errorf(walletd.EInvalidAmount, "%s: price is required (or a variation_id).", at)
		}
		var err error
		if price, err = orderAmount(at+".price", in.Price, s); err != nil {
			return l, err
		}
	}
	total := price.Mul(decimal.NewFromInt(l.Quantity))
	if !total.LessThan(maxBalance) {
		return l, walletd.Errorf(walletd.EInvalidAmount, "%s: the line's total is too large.", at)
	}
	if in.Total != "" {
		given, err := orderAmount(at+".total", in.Total, s)
		if err != nil {
			return l, err
		} else if !given.Equal(total) {
			return l, walletd.Errorf(walletd.EInvalidAmount, "%s: total %s is not price %s × quantity %d = %s.", at,
				walletd.QuoteInput(in.Total), walletd.FormatAmount(price, s), l.Quantity, walletd.FormatAmount(total, s))
		}
	}
	l.Price, l.Subtotal, l.Total = walletd.NewMoney(price, s), walletd.NewMoney(total, s), walletd.NewMoney(total, s)
	return l, nil
}

// checkBilling checks an order's billing details: text fields of at most
// MaxNameLen bytes, an email address if any, a two-letter country code.
func checkBilling(a *walletd.OrderAddress) error {
	for _, f := range []struct{ name, v string }{
		{"billing.first_name", a.FirstName}, {"billing.last_name", a.LastName}, {"billing.company", a.Company},
		{"billing.address_1", a.Address1}, {"billing.address_2", a.Address2}, {"billing.city", a.City},
		{"billing.state", a.State}, {"billing.postcode", a.Postcode}, {"billing.phone", a.Phone},
	} {
		if err := walletd.CheckText(f.name, f.v, walletd.MaxNameLen, false); err != nil {
			return err
		}
	}
	if a.Email != "" {
		if err := checkEmail(a.Email); err != nil {
			return walletd.Errorf(walletd.EInvalid, "billing.%s", walletd.ErrorMessage(err))
		}
	}
	if a.Country != "" && (len(a.Country) != 2 || strings.Trim(a.Country, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "") {
		return walletd.Errorf(walletd.EInvalid, "billing.country %s must be a two-letter ISO 3166-1 code in upper case, such as \"US\".", walletd.QuoteInput(a.Country))
	}
	return nil
}

// compactValue checks a JSON value a caller gave (walletd.CheckRawJSON)
// and returns it compact, at most max bytes. Returns EInvalid.
func compactValue(field string, v json.RawMessage, max int) (json.RawMessage, error) {
	if len(bytes.TrimSpace(v)) == 0 {
		return nil, walletd.Errorf(walletd.EInvalid, "%s is required.", field)
	} else if err := walletd.CheckRawJSON(field, v); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, v); err != nil {
		return nil, walletd.Errorf(walletd.EInvalid, "%s is not valid JSON.", field)
	} else if buf.Len() > max {
		return nil, walletd.Errorf(walletd.EInvalid, "%s is longer than %d bytes.", field, max)
	}
	return buf.Bytes(), nil
}
