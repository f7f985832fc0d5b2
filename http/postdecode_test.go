package http

import (
	"bytes"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/walletd/walletd"
)

// postBodies are credit and debit bodies: the fast path's form and what
// it leaves to the generic decoder.
var postBodies = []string{
	`{"amount":"25.00"}`, `{"amount":"25.00","type":"topup","reason":"Order #12","order_id":1204}`,
	` { "amount" : "1.00" , "order_id" : "wc-1204" , "metadata" : { "a" : "b" , "n" : 7 } } `,
	`{"metadata":{}}`, `{}`, "{\"reason\":\"caf\u00e9 \u2028 \x7f\"}", `{"order_id":0}`,
	// Left to the generic decoder (each is accepted or refused by it):
	`{"amount":"1e400"}`, `{"amount":"-0"}`, `{"amount":"0.001"}`, `{"amount":"NaN"}`, `{"amount":1}`,
	`{"amount":"1.00","amount":"2.00"}`, `{"amount":"1.00","AMOUNT":"2.00"}`, `{"Amount":"1.00"}`,
	`{"amount":"1.00","\u0061mount":"2.00"}`, "{\"reason\":\"a\xffb\"}", `{"reason":"\ud800"}`,
	`{"reason":"a\"b\\c\n"}`, `{"metadata":{"a":"1","a":"2"}}`, `{"metadata":{"a":1.5}}`, `{"metadata":null}`,
	`{"order_id":-1}`, `{"order_id":01}`, `{"order_id":1.0}`, `{"order_id":""}`, `{"order_id":" x"}`,
	`{"order_id":99999999999999999999}`, `{"order_id":null}`, `{"amount":null}`, `{"unknown":1}`,
	`{"amount":"1.00"} {}`, `{"amount":"1.00"}x`, `{`, `[]`, ``, `"s"`, `{"amount":"1.00",}`, `{,}`,
	`{"amount" "1.00"}`, `{"order_id":12a}`, `{"order_id":12`, "\ufeff{}", `{"metadata":{"k":true}}`,
	`{"type":"topup","type":"topup"}`, `{"metadata":{"k":"v"},"metadata":{"k":"v"}}`, `{"amount":"` + "\x01" + `"}`,
}

// TestDecodePost_SameAsGeneric: every body gets from decodePostBody what
// it gets from the generic decoder (value, or error code and message),
// and the common bodies take the fast path.
func TestDecodePost_SameAsGeneric(t *testing.T) {
	for _, body := range postBodies {
		checkSameDecode(t, []byte(body))
	}
	for _, body := range postBodies[:7] {
		var req postRequest
		if !parsePost([]byte(body), &req) {
			t.Errorf("%s: not on the fast path", body)
		}
	}
	// The messages a caller reads, from either decoder.
	for body, want := range map[string]string{
		`{"amount":"1.00","amount":"2.00"}`: `The request body holds the key "amount" twice in one object.`,
		`{"Amount":"1.00"}`:                 `Unknown field "Amount": field names are case-sensitive (did you mean "amount"?).`,
		`{"amount":"1.00","x":1}`:           `Unknown field "x".`,
		"{\"reason\":\"a\xffb\"}":           `The request body is not valid UTF-8`,
		`{"amount":1}`:                      `Field "amount" must be a string, not a JSON number.`,
		`{"order_id":-1}`:                   `order_id`,
	} {
		var req postRequest
		err := decodePostBody([]byte(body), &req)
		if walletd.ErrorCode(err) != EInvalidJSON && walletd.ErrorCode(err) != walletd.EInvalid {
			t.Errorf("%s: %v", body, err)
		} else if !strings.Contains(walletd.ErrorMessage(err), want) {
			t.Errorf("%s: %q, want %q", body, walletd.ErrorMessage(err), want)
		}
	}
}

// TestDecodePost_BodyTooLarge: a body over MaxBodyBytes is refused before
// it is parsed, as decodeJSON refuses it.
func TestDecodePost_BodyTooLarge(t *testing.T) {
	big := `{"reason":"` + strings.Repeat("a", MaxBodyBytes) + `"}`
	for _, known := range []bool{true, false} {
		r := httptest.NewRequest("POST", "/v1/wallets/w/credit", strings.NewReader(big))
		if !known {
			r.ContentLength = -1
		}
		var req postRequest
		if err := decodePost(httptest.NewRecorder(), r, &req); walletd.ErrorCode(err) != EBodyTooLarge {
			t.Errorf("content length known %v: %v", known, err)
		}
	}
}

// checkSameDecode fails when decodePostBody and decodeBody disagree on
// body, or when the fast path accepts what the generic decoder refuses.
func checkSameDecode(t *testing.T, body []byte) {
	t.Helper()
	var generic, hand, fast postRequest
	errG := decodeBody(bytes.Clone(body), &generic)
	errH := decodePostBody(bytes.Clone(body), &hand)
	switch {
	case (errG == nil) != (errH == nil):
		t.Fatalf("%q: generic %v, hand-written %v", body, errG, errH)
	case errG != nil:
		if walletd.ErrorCode(errG) != walletd.ErrorCode(errH) || walletd.ErrorMessage(errG) != walletd.ErrorMessage(errH) {
			t.Fatalf("%q: generic %v, hand-written %v", body, errG, errH)
		}
	case !reflect.DeepEqual(generic, hand):
		t.Fatalf("%q: generic %#v, hand-written %#v", body, generic, hand)
	}
	if parsePost(body, &fast) && (errG != nil || !reflect.DeepEqual(generic, fast)) {
		t.Fatalf("%q: the fast path took %#v, the generic decoder %#v, %v", body, fast, generic, errG)
	}
}

// FuzzDecodePost compares the hand-written decoder of the credit and
// debit body with the generic strict decoder on any input: the same
// value, or the same error code and message; and the fast path never
// accepts a body the generic decoder refuses or reads otherwise.
func FuzzDecodePost(f *testing.F) {
	for _, s := range postBodies {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkSameDecode(t, body)
	})
}

// BenchmarkDecodePost: the credit body of bench/credit.lua and one with an
// order id and metadata, through both decoders.
func BenchmarkDecodePost(b *testing.B) {
	for name, body := range map[string][]byte{
		"credit":   []byte(`{"amount":"1.00"}`),
		"metadata": []byte(`{"amount":"25.00","type":"topup","reason":"Order 1204","order_id":1204,"metadata":{"channel":"web","customer":5531}}`),
	} {
		b.Run(name+"/generic", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var req postRequest
				if err := decodeBody(body, &req); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/hand", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var req postRequest
				if err := decodePostBody(body, &req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
