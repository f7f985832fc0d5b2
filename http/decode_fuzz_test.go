package http

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/walletdtest"
)

// FuzzDecodeJSON feeds request bodies to the decoder every endpoint uses:
// it must never panic, must either fill the request or answer with an
// error code the API documents in a message of bounded length, and what it
// accepts must be valid UTF-8 with no key twice in an object and top-level
// keys that are exactly the request's field names.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"amount":"25.00","type":"topup"}`, `{"amount":25}`, `{`, `[]`, `{} {}`,
		`{"metadata":{"a":"b"}}`, `{"metadata":{"a":1}}`, `{"unknown":1}`, "", `"str"`, `{"amount":"\u0000"}`,
		`{"amount":"1.00","amount":"2.00"}`, `{"amount":"1.00","AMOUNT":"2.00"}`, `{"Amount":"1.00"}`,
		`{"amount":"1.00","\u0061mount":"2.00"}`, "{\"reason\":\"a\xffb\"}", `{"reason":"\ud800"}`,
		`{"metadata":{"a":"1","a":"2"}}`, `{"lines":[{"sku":"x"},{"SKU":"y"}],"ptr":{"qty":1}}`,
		`{"max_redemptions":99999999999999999999999}`, `{"count":256}`, `{"note":"n","NOTE":"m"}`, `{"items":[{"k":1,"K":2}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req postRequest
		check(t, body, &req, []string{"amount", "type", "reason", "order_id", "metadata"})
		var target decodeTarget
		check(t, body, &target, []string{"amount", "max_redemptions", "count", "ratio", "items", "metadata", "lines",
			"ByName", "ptr", "threshold", "any", "note"})
	})
}

// check decodes body into v, whose JSON field names are fields, and holds
// the outcome to the rules of FuzzDecodeJSON.
func check(t *testing.T, body []byte, v any, fields []string) {
	r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
	err := decodeJSON(httptest.NewRecorder(), r, v)
	if err == nil {
		if !utf8.Valid(body) {
			t.Fatalf("%T: body %q accepted, not UTF-8", v, body)
		}
		if k, dup := walletdtest.DuplicateKey(body); dup {
			t.Fatalf("%T: body %q accepted with the key %q twice", v, body, k)
		}
		for _, k := range topKeys(body) {
			if !slices.Contains(fields, k) {
				t.Fatalf("%T: body %q accepted with the key %q", v, body, k)
			}
		}
		return
	}
	code := walletd.ErrorCode(err)
	if code != EInvalidJSON && code != EBodyTooLarge {
		t.Fatalf("body %q: code %q (%v)", body, code, err)
	}
	if st := ErrorStatus(code); st != http.StatusBadRequest && st != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d", st)
	}
	if m := walletd.ErrorMessage(err); len(m) > 300 {
		t.Fatalf("body %q: a %d-byte message %q", body, len(m), m)
	}
}

// topKeys returns the keys of the object body holds, read with
// encoding/json's tokenizer.
func topKeys(body []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		panic("accepted a body that is not an object: " + string(body))
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			panic(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			panic(err)
		}
	}
	return keys
}
