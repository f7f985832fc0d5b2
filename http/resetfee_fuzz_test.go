package http_test

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/walletd/walletd"

	whttp "github.com/walletd/walletd/http"
)

// FuzzParseResetFeeRequest: the reset-fee body parser never panics,
// refuses only with a 400 or 413 code and a bounded message, and what it
// accepts is valid UTF-8 JSON with no duplicate key whose fields
// re-encode to a body it accepts again with the same values.
func FuzzParseResetFeeRequest(f *testing.F) {
	f.Add([]byte(`{"billing_details":{"first_name":"John","last_name":"Smith","address_1":"123 Main Street","address_2":"Apt 4B","city":"New York","postcode":"10001","country":"US","email":"john@example.com","phone":"+1234567890"},"product_id":72238,"secret_key":"your_shared_secret_key","account_id":"12345"}`))
	f.Add([]byte(`{"product_id":"72238"}`))
	f.Add([]byte(`{"account_id":"1","account_id":"2"}`))
	f.Add([]byte(`{"billing_details":{"email":"a@b","email":"c@d"}}`))
	f.Add([]byte(`{"product_id":1e400}`))
	f.Add([]byte(`{"Product_ID":5}`))
	f.Add([]byte("{\"account_id\":\"\xff\"}"))
	f.Add([]byte(`{"account_id":"\ud800"}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := whttp.ParseResetFeeRequest(body)
		if err != nil {
			code := walletd.ErrorCode(err)
			if code != whttp.EInvalidJSON && code != walletd.EInvalid && code != whttp.EBodyTooLarge {
				t.Fatalf("code %q: %v", code, err)
			}
			if msg := walletd.ErrorMessage(err); msg == "" || len(msg) > 600 {
				t.Fatalf("message of %d bytes: %q", len(msg), msg)
			}
			return
		}
		if !utf8.Valid(body) || !json.Valid(body) {
			t.Fatalf("accepted %q", body)
		}
		again, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		req2, err := whttp.ParseResetFeeRequest(again)
		if err != nil {
			t.Fatalf("re-encoded %s refused: %v", again, err)
		}
		if a, b := mustMarshal(t, req), mustMarshal(t, req2); a != b {
			t.Fatalf("round trip %s → %s", a, b)
		}
	})
}

func mustMarshal(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// FuzzParsePaymentLink: the payment link parser never panics and accepts
// only a canonical order id with exactly pay_for_order=true and one
// key=wc_order_<32 base64url characters>, giving back that id and token.
func FuzzParsePaymentLink(f *testing.F) {
	tok := strings.Repeat("Ab9_-", 6) + "xy"
	f.Add("98765", "pay_for_order=true&key=wc_order_"+tok)
	f.Add("98765", "key=wc_order_"+tok+"&pay_for_order=true")
	f.Add("098765", "pay_for_order=true&key=wc_order_"+tok)
	f.Add("1", "pay_for_order=true&key=wc_order_"+tok+"&key=wc_order_"+tok)
	f.Add("1", "pay_for_order=true&key=wc_order_abc")
	f.Add("1", "pay_for_order=true;key=wc_order_"+tok)
	f.Add("9007199254740992", "pay_for_order=true&key=wc_order_"+tok)
	f.Add("1", "pay_for_order=true&key=wc_order_%41"+tok[1:])
	f.Add("", "")
	f.Fuzz(func(t *testing.T, orderID, query string) {
		id, token, err := whttp.ParsePaymentLink(orderID, query)
		if err != nil {
			if walletd.ErrorCode(err) != walletd.EInvalid {
				t.Fatalf("code %q", walletd.ErrorCode(err))
			}
			return
		}
		if n, ok := walletd.ParseOrderID(orderID); !ok || n != id {
			t.Fatalf("order id %q gave %d", orderID, id)
		}
		if len(token) != 32 || strings.Trim(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			t.Fatalf("token %q", token)
		}
		id2, token2, err := whttp.ParsePaymentLink(orderID, "pay_for_order=true&key=wc_order_"+token)
		if err != nil || id2 != id || token2 != token {
			t.Fatalf("canonical form of %q %q: %d %q %v", orderID, query, id2, token2, err)
		}
	})
}
