package financing_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/financing"
)

// FuzzParsePostback: any body either parses into a postback whose fields
// are bounded text with a status and a reference, or is refused with
// EInvalid; never a panic.
func FuzzParsePostback(f *testing.F) {
	for _, s := range []string{
		`{"version":"1.9","request_token":"abc","merchant_transaction_id":"12","updates":{"status":"approved"}}`,
		`{"request_token":"abc","merchant_transaction_id":"top_2ab","status":"approved","approved_amount":"499.00","version":"1.9"}`,
		`{"request_token":"abc","updates":{"status":"refund","amount":10.5}}`,
		`{"request_token":"a","request_token":"b","status":"approved"}`,
		`{"request_token":null,"merchant_transaction_id":1,"status":"rejected"}`,
		``, `[]`, `{`, `{"updates":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := financing.ParsePostback(body)
		if err != nil {
			if walletd.ErrorCode(err) != walletd.EInvalid {
				t.Fatalf("error %v is not EInvalid", err)
			}
			return
		}
		if p.Status == "" || (p.RequestToken == "" && p.MerchantTransactionID == "") || len(p.EventID) != 64 ||
			len(p.RequestToken) > 255 || len(p.Amount) > 40 {
			t.Fatalf("parsed %+v", p)
		}
		d := financing.Decide(p)
		if d.OrderID != 0 && d.TopupID != "" {
			t.Fatalf("decision %+v names both", d)
		}
	})
}

// FuzzVerifySignature: headers from the outside never verify unless they
// are the signature of the body, and never panic.
func FuzzVerifySignature(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	body := []byte(`{"request_token":"abc","status":"approved"}`)
	f.Add(ts, financing.Sign(ts, "u", body, "p"), body)
	f.Add("", "", body)
	f.Add("1800000000000", "00", body)
	f.Add("-1", "zz", []byte{})
	f.Add(ts, "not hex at all, but 64 characters long...........................", body)
	f.Fuzz(func(t *testing.T, timestamp, signature string, body []byte) {
		h := http.Header{}
		h.Set(financing.HeaderTimestamp, timestamp)
		h.Set(financing.HeaderSignature, signature)
		err := financing.VerifySignature(h, body, "u", "p", now, financing.DefaultWindow)
		if err == nil {
			if _, perr := financing.ParseTimestamp(timestamp); perr != nil {
				t.Fatalf("verified with a bad timestamp %q", timestamp)
			}
			want := financing.Sign(timestamp, "u", body, "p")
			if len(signature) != 64 || !equalFold(signature, want) {
				t.Fatalf("verified signature %q, want %q", signature, want)
			}
		}
	})
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'F' {
			x += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// FuzzParseAnswer: the provider's answers (a created request in either
// shape, an error body) never panic; an accepted answer has a bounded
// token and an absolute http(s) href, and an error's message is one
// printable line of bounded length.
func FuzzParseAnswer(f *testing.F) {
	for _, s := range []string{
		`{"href":"https://app.wegetfinancing.com/checkout?token=abc123","request_token":"abc123def456"}`,
		`{"inv_id":12345,"href":"https://app.wegetfinancing.com/x","amount":"499.00"}`,
		`{"type":"error","error":"missing_parameters","code":400,"message":"Missing parameters: phone"}`,
		`{"href":"javascript:alert(1)","request_token":"a"}`, `<html>`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if a, err := financing.ParseAnswer(body); err == nil {
			if a.RequestToken == "" || len(a.RequestToken) > 255 || !(strings.HasPrefix(a.Href, "https://") || strings.HasPrefix(a.Href, "http://")) {
				t.Fatalf("accepted %+v", a)
			}
		}
		if pe, ok := financing.ParseProviderError(body); ok {
			for _, s := range []string{pe.Message, pe.Error} {
				if len(s) > 310 || strings.ContainsAny(s, "\n\r\x00") {
					t.Fatalf("error text %q", s)
				}
			}
		}
	})
}
