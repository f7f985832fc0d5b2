package http

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/walletd/walletd"
)

// FuzzDecodeJSON feeds request bodies to the decoder every endpoint uses:
// it must never panic, and must either fill the request or answer with an
// error code the API documents.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"amount":"25.00","type":"topup"}`, `{"amount":25}`, `{`, `[]`, `{} {}`,
		`{"metadata":{"a":"b"}}`, `{"metadata":{"a":1}}`, `{"unknown":1}`, "", `"str"`, `{"amount":"\u0000"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
		var req postRequest
		err := decodeJSON(httptest.NewRecorder(), r, &req)
		if err == nil {
			return
		}
		code := walletd.ErrorCode(err)
		if code != EInvalidJSON && code != EBodyTooLarge {
			t.Fatalf("body %q: code %q (%v)", body, code, err)
		}
		if st := ErrorStatus(code); st != http.StatusBadRequest && st != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d", st)
		}
	})
}
