package plugin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"
	"github.com/walletd/walletd"
	"github.com/walletd/walletd/events"
)

// The order_data of order/process, as the guide's WooCommerce and EDD
// examples build it: order_id (integer or string), total (a decimal
// string, or a JSON number as EDD's float total encodes), currency,
// status, customer{email, first_name, last_name, phone, country},
// products[]{name, quantity, price, account_size, challenge_type}. Each
// field is checked on its own; the first bad one is answered 400 with its
// path (order_data.products[1].price). Members the guide does not name are
// ignored.

// MaxProducts bounds the products of one order.
const MaxProducts = 40

// OrderData is a checked order_data.
type OrderData struct {
	OrderID  walletd.StorefrontID
	Total    decimal.Decimal
	Currency string
	Scale    int32
	// Status is the shop's status, "" if not sent.
	Status   string
	Customer events.PluginCustomer
	Products []Product
}

// Product is one checked product.
type Product struct {
	Name          string
	Quantity      int64
	Price         decimal.Decimal
	AccountSize   string
	ChallengeType string
}

// FieldError is a bad field of a request body.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Message: sprintf(format, args...)}
}

// shopStatuses are the statuses of an order a shop was paid for.
var shopStatuses = map[string]bool{"completed": true, "processing": true}

// ParseOrderData checks raw, the order_data member, with the currencies
// walletd knows.
func ParseOrderData(raw json.RawMessage, currencies *walletd.Currencies) (*OrderData, error) {
	const at = "order_data"
	m, err := object(at, raw)
	if err != nil {
		return nil, err
	}
	var o OrderData
	if err := o.OrderID.UnmarshalJSON(nonNull(m["order_id"])); err != nil || o.OrderID == "" {
		return nil, fieldErr(at+".order_id", "is required: the shop's order id, a whole number or a string of 1 to %d characters.", walletd.MaxStorefrontIDLen)
	}
	if o.Currency, err = str(at+".currency", m["currency"], 3, true); err != nil {
		return nil, err
	}
	o.Currency = strings.ToUpper(o.Currency)
	if o.Scale, err = currencies.Scale(o.Currency); err != nil {
		return nil, fieldErr(at+".currency", "%s is not a currency walletd knows (ISO 4217, such as \"USD\").", walletd.QuoteInput(o.Currency))
	}
	if o.Total, err = amount(at+".total", m["total"], o.Scale, true); err != nil {
		return nil, err
	}
	if !o.Total.IsPositive() {
		return nil, fieldErr(at+".total", "must be above zero.")
	}
	if o.Status, err = str(at+".status", m["status"], 32, false); err != nil {
		return nil, err
	}
	o.Status = strings.TrimPrefix(strings.ToLower(o.Status), "wc-")
	if o.Status != "" && !shopStatuses[o.Status] {
		return nil, fieldErr(at+".status", "%s is not the status of a paid order: send completed or processing.", walletd.QuoteInput(o.Status))
	}
	if o.Customer, err = customer(at+".customer", m["customer"]); err != nil {
		return nil, err
	}
	if o.Products, err = products(at+".products", m["products"], o.Scale); err != nil {
		return nil, err
	}
	return &o, nil
}

func customer(at string, raw json.RawMessage) (events.PluginCustomer, error) {
	var c events.PluginCustomer
	m, err := object(at, raw)
	if err != nil {
		return c, err
	}
	if c.Email, err = str(at+".email", m["email"], walletd.MaxEmailLen, true); err != nil {
		return c, err
	}
	i := strings.LastIndexByte(c.Email, '@')
	if i < 1 || i == len(c.Email)-1 || strings.ContainsAny(c.Email, " \t<>\"") {
		return c, fieldErr(at+".email", "%s is not an email address.", walletd.QuoteInput(c.Email))
	}
	c.UserID = strings.ToLower(c.Email)
	for _, f := range []struct {
		name string
		dst  *string
	}{{"first_name", &c.FirstName}, {"last_name", &c.LastName}, {"phone", &c.Phone}} {
		if *f.dst, err = str(at+"."+f.name, m[f.name], walletd.MaxNameLen, false); err != nil {
			return c, err
		}
	}
	if c.Country, err = str(at+".country", m["country"], 2, false); err != nil {
		return c, err
	}
	c.Country = strings.ToUpper(c.Country)
	if c.Country != "" && (len(c.Country) != 2 || strings.Trim(c.Country, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "") {
		return c, fieldErr(at+".country", "must be a two-letter ISO 3166-1 code such as \"US\".")
	}
	return c, nil
}

func products(at string, raw json.RawMessage, scale int32) ([]Product, error) {
	raw = nonNull(raw)
	if raw == nil {
		return nil, nil
	}
	if raw[0] != '[' {
		return nil, fieldErr(at, "must be an array of products.")
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fieldErr(at, "must be an array of products.")
	}
	if len(items) > MaxProducts {
		return nil, fieldErr(at, "has %d products; at most %d are accepted.", len(items), MaxProducts)
	}
	out := make([]Product, 0, len(items))
	for i, item := range items {
		pat := at + "[" + strconv.Itoa(i) + "]"
		m, err := object(pat, item)
		if err != nil {
			return nil, err
		}
		var p Product
		if p.Name, err = str(pat+".name", m["name"], walletd.MaxNameLen, true); err != nil {
			return nil, err
		}
		if p.Quantity, err = quantity(pat+".quantity", m["quantity"]); err != nil {
			return nil, err
		}
		if p.Price, err = amount(pat+".price", m["price"], scale, true); err != nil {
			return nil, err
		}
		if p.AccountSize, err = strOrNumber(pat+".account_size", m["account_size"], 64); err != nil {
			return nil, err
		}
		if p.ChallengeType, err = str(pat+".challenge_type", m["challenge_type"], 64, false); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// nonNull returns raw, or nil for an absent or null member.
func nonNull(raw json.RawMessage) json.RawMessage {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return raw
}

// object reads a required JSON object.
func object(at string, raw json.RawMessage) (map[string]json.RawMessage, error) {
	raw = nonNull(raw)
	if raw == nil {
		return nil, fieldErr(at, "is required.")
	} else if raw[0] != '{' {
		return nil, fieldErr(at, "must be a JSON object.")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fieldErr(at, "must be a JSON object.")
	}
	return m, nil
}

// str reads a string of at most max bytes that walletd.CheckText accepts,
// trimmed of white space; "" when absent, null or empty unless required.
func str(at string, raw json.RawMessage, max int, required bool) (string, error) {
	raw = nonNull(raw)
	if raw == nil {
		if required {
			return "", fieldErr(at, "is required.")
		}
		return "", nil
	} else if raw[0] != '"' {
		return "", fieldErr(at, "must be a string.")
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fieldErr(at, "must be a string.")
	}
	s = strings.TrimSpace(s)
	if s == "" && required {
		return "", fieldErr(at, "is required.")
	}
	if err := walletd.CheckText(at, s, max, false); err != nil {
		return "", fieldErr(at, "%s", strings.TrimPrefix(walletd.ErrorMessage(err), at+" "))
	}
	return s, nil
}

// strOrNumber reads an optional string or JSON number as text
// (account_size: "10000" or 10000).
func strOrNumber(at string, raw json.RawMessage, max int) (string, error) {
	raw = nonNull(raw)
	if raw != nil && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
		if len(raw) > max {
			return "", fieldErr(at, "is longer than %d characters.", max)
		}
		return string(raw), nil
	}
	s, err := str(at, raw, max, false)
	if err != nil {
		return "", fieldErr(at, "must be a string or a number.")
	}
	return s, nil
}

// amount reads an amount sent as a decimal string ("99.00") or a JSON
// number (99.5, as PHP encodes a float): plain decimal text, no sign or
// exponent, at most scale decimals (walletd.ParseMoney). Zero passes.
func amount(at string, raw json.RawMessage, scale int32, required bool) (decimal.Decimal, error) {
	raw = nonNull(raw)
	if raw == nil {
		if required {
			return decimal.Zero, fieldErr(at, "is required.")
		}
		return decimal.Zero, nil
	}
	text := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &text); err != nil {
			return decimal.Zero, fieldErr(at, "must be a decimal string such as \"99.00\".")
		}
	} else if raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') {
		return decimal.Zero, fieldErr(at, "must be a decimal string such as \"99.00\".")
	}
	// PHP writes a whole float as 99.0: drop zeros past the scale.
	if i := strings.IndexByte(text, '.'); i >= 0 && !strings.ContainsAny(text, "eE") {
		for len(text) > i+1+int(scale) && text[len(text)-1] == '0' {
			text = text[:len(text)-1]
		}
		text = strings.TrimSuffix(text, ".")
	}
	m, err := walletd.ParseMoney(text, scale)
	if err != nil {
		return decimal.Zero, fieldErr(at, "%s", walletd.ErrorMessage(err))
	}
	return m.Decimal(), nil
}

// quantity reads an optional quantity: a whole number from 1 to
// walletd.MaxLineQuantity, as a JSON integer or a string of digits;
// default 1.
func quantity(at string, raw json.RawMessage) (int64, error) {
	raw = nonNull(raw)
	if raw == nil {
		return 1, nil
	}
	text := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &text); err != nil {
			return 0, fieldErr(at, "must be a whole number.")
		}
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil || n < 1 || n > walletd.MaxLineQuantity || strconv.FormatInt(n, 10) != text {
		return 0, fieldErr(at, "must be a whole number from 1 to %d.", walletd.MaxLineQuantity)
	}
	return n, nil
}

func sprintf(format string, args ...any) string {
	if len(args) == 0 {
		return format
	}
	return fmt.Sprintf(format, args...)
}
