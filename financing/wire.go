package financing

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"

	"github.com/walletd/walletd"
)

// APIVersion is the version walletd sends: 1.9 makes the provider post
// JSON postbacks.
const APIVersion = "1.9"

// CreateRequest is the body of POST {api}/merchant/{merchant_id}/requests,
// in the seed's fields and order.
type CreateRequest struct {
	MerchantTransactionID string     `json:"merchant_transaction_id"`
	FirstName             string     `json:"first_name"`
	LastName              string     `json:"last_name"`
	Email                 string     `json:"email"`
	Phone                 string     `json:"phone"`
	BillingAddress1       string     `json:"billing_address1"`
	BillingCity           string     `json:"billing_city"`
	BillingState          string     `json:"billing_state"`
	BillingZipcode        string     `json:"billing_zipcode"`
	ShippingAddress1      string     `json:"shipping_address1"`
	ShippingCity          string     `json:"shipping_city"`
	ShippingState         string     `json:"shipping_state"`
	ShippingZipcode       string     `json:"shipping_zipcode"`
	Amount                string     `json:"amount"`
	Version               string     `json:"version"`
	CartItems             []CartItem `json:"cart_items"`
	PostbackURL           string     `json:"postback_url"`
	SuccessURL            string     `json:"success_url"`
	FailureURL            string     `json:"failure_url"`
}

// CartItem is one line of a CreateRequest; every field is a string, as in
// the seed.
type CartItem struct {
	SKU         string `json:"sku"`
	DisplayName string `json:"display_name"`
	UnitPrice   string `json:"unit_price"`
	Quantity    string `json:"quantity"`
	UnitTax     string `json:"unit_tax"`
}

// Answer is the provider's answer to a created request: {href,
// request_token} in the integration guide, {inv_id, href, amount} in the
// API reference (request_token = inv_id).
type Answer struct {
	Href         string
	RequestToken string
	Amount       string
}

// ParseAnswer reads the answer to a created request in either shape. The
// href must be an absolute http(s) URL and the token text of at most 255
// bytes.
func ParseAnswer(body []byte) (*Answer, error) {
	if err := walletd.CheckRawJSON("answer", body); err != nil {
		return nil, err
	}
	var in struct {
		Href         flexText `json:"href"`
		RequestToken flexText `json:"request_token"`
		InvID        flexText `json:"inv_id"`
		Amount       flexText `json:"amount"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, walletd.Errorf(walletd.EInvalid, "The answer is not the expected JSON object.")
	}
	a := &Answer{Href: string(in.Href), RequestToken: string(in.RequestToken), Amount: string(in.Amount)}
	if a.RequestToken == "" {
		a.RequestToken = string(in.InvID)
	}
	if err := walletd.CheckText("request_token", a.RequestToken, maxTokenLen, true); err != nil {
		return nil, err
	} else if err := checkURL("href", a.Href, false); err != nil {
		return nil, err
	}
	return a, nil
}

// ProviderError is the provider's error body: {"type": "error", "error":
// "missing_parameters", "code": 400, "message": …}.
type ProviderError struct {
	Type    string   `json:"type"`
	Error   string   `json:"error"`
	Code    flexText `json:"code"`
	Message string   `json:"message"`
}

// maxProviderMessage bounds the provider's message walletd repeats.
const maxProviderMessage = 300

// ParseProviderError reads an error body; ok is false when the body is
// not one.
func ParseProviderError(body []byte) (pe ProviderError, ok bool) {
	d := json.NewDecoder(bytes.NewReader(body))
	if err := d.Decode(&pe); err != nil || (pe.Message == "" && pe.Error == "") {
		return ProviderError{}, false
	}
	pe.Message, pe.Error = clip(pe.Message), clip(pe.Error)
	return pe, true
}

// clip makes the provider's text safe to repeat: printable, one line, at
// most maxProviderMessage bytes.
func clip(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0xfffd {
			return ' '
		}
		return r
	}, s)
	if walletd.CheckText("message", s, len(s), false) != nil {
		return "(unprintable)"
	}
	if len(s) > maxProviderMessage {
		n := maxProviderMessage
		for n > 0 && s[n]&0xc0 == 0x80 {
			n--
		}
		s = s[:n] + "…"
	}
	return strings.TrimSpace(s)
}

// checkURL checks an absolute URL of at most 2048 bytes: https, or http
// when insecureOK or its host is a loopback address (local development
// and the fake provider); no user info or fragment.
func checkURL(field, s string, insecureOK bool) error {
	u, err := url.Parse(s)
	if err != nil || len(s) > 2048 || !u.IsAbs() || u.Host == "" || u.User != nil || u.Fragment != "" {
		return walletd.Errorf(walletd.EInvalid, "%s must be an absolute http(s) URL without user info or fragment.", field)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !insecureOK && !loopback(u.Hostname()) {
			return walletd.Errorf(walletd.EInvalid, "%s must use https (http only for a loopback host).", field)
		}
	default:
		return walletd.Errorf(walletd.EInvalid, "%s must be an absolute http(s) URL.", field)
	}
	return walletd.CheckText(field, s, 2048, true)
}

func loopback(host string) bool {
	return host == "localhost" || strings.HasPrefix(host, "127.") || host == "::1"
}
