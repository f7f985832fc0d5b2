package http_test

import (
	"strings"
	"testing"
)

// TestStrictJSON sends over HTTP the bodies that encoding/json accepts
// and walletd must not (issue 15 item 3, issue 18 items 2 and 3): each is
// a 400 that names the key or says what is wrong, and moves no money.
func TestStrictJSON(t *testing.T) {
	s := mustServer(t)
	w := s.mustWallet(t, "u1", "USD")
	s.mustCredit(t, w.ID, "10.00")
	credit := "/v1/wallets/" + w.ID + "/credit"
	for _, tc := range []struct{ name, path, body, message string }{
		{"DuplicateKey", credit, `{"amount":"1.00","amount":"2.00"}`,
			`The request body holds the key "amount" twice in one object.`},
		{"CaseVariantKey", credit, `{"amount":"1.00","AMOUNT":"2.00"}`,
			`Unknown field "AMOUNT": field names are case-sensitive (did you mean "amount"?).`},
		{"CaseOnlyKey", credit, `{"Amount":"1.00"}`,
			`Unknown field "Amount": field names are case-sensitive (did you mean "amount"?).`},
		{"DuplicateMetadataKey", credit, `{"amount":"1.00","metadata":{"k":"a","k":"b"}}`,
			`The request body holds the key "k" twice in one object.`},
		{"InvalidUTF8", credit, "{\"amount\":\"1.00\",\"reason\":\"a\xffb\"}", "The request body is not valid UTF-8 (byte 28)."},
		{"OrderItemsInvalidUTF8", "/v1/orders/1204/complete",
			"{\"user_id\":\"u1\",\"total\":\"5.00\",\"currency\":\"USD\",\"items\":[\"a\xffb\"]}",
			"The request body is not valid UTF-8 (byte 59)."},
		{"OrderItemsLoneSurrogate", "/v1/orders/1204/complete",
			`{"user_id":"u1","total":"5.00","currency":"USD","items":["\ud800"]}`,
			`The request body holds an unpaired UTF-16 surrogate escape \ud800 (byte 58): it encodes no character.`},
		{"OrderItemsDuplicateKey", "/v1/orders/1204/complete",
			`{"user_id":"u1","total":"5.00","currency":"USD","items":[{"sku":"a","sku":"b"}]}`,
			`The request body holds the key "sku" twice in one object.`},
		{"HugeInteger", "/v1/redemption-codes", `{"amount":"1.00","currency":"USD","max_redemptions":` + strings.Repeat("9", 10000) + `}`,
			`Field "max_redemptions" must be a whole number from -9223372036854775808 to 9223372036854775807.`},
	} {
		t.Run("Err"+tc.name, func(t *testing.T) {
			r := s.do(t, "POST", tc.path, tc.body)
			r.expect(t, 400, "invalid_json")
			if r.Message != tc.message {
				t.Fatalf("message %q, want %q", r.Message, tc.message)
			}
		})
	}
	if got := s.wallet(t, w.ID); got.Balance != "10.00" {
		t.Fatalf("balance %s after refused credits, want 10.00", got.Balance)
	}
	t.Run("ErrLongPath", func(t *testing.T) {
		r := s.do(t, "GET", "/v1/"+strings.Repeat("x", 5000), "")
		r.expect(t, 404, "not_found")
		if len(r.Raw) > 400 {
			t.Fatalf("a %d-byte answer to a long path: %.200s", len(r.Raw), r.Raw)
		}
	})
}
