package http_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/walletd/walletd"

	whttp "github.com/walletd/walletd/http"
)

// FuzzParseReturnLink: the return page's URL parser never panics and
// accepts only a canonical order id with exactly one
// key=wc_order_<32 base64url characters>, giving back that id and token.
func FuzzParseReturnLink(f *testing.F) {
	tok := strings.Repeat("Ab9_-", 6) + "xy"
	f.Add("98765", "key=wc_order_"+tok)
	f.Add("98765", "key=wc_order_"+tok+"&pay_for_order=true")
	f.Add("98765", "key=wc_order_"+tok+"%26x%3D1")
	f.Add("1", "key=wc_order_"+tok+"&key=wc_order_"+tok)
	f.Add("1", "key=wc_order_abc")
	f.Add("-1", "key=wc_order_"+tok)
	f.Add("", "")
	f.Fuzz(func(t *testing.T, orderID, query string) {
		id, token, err := whttp.ParseReturnLink(orderID, query)
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
		if q, _ := url.ParseQuery(query); len(q) != 1 {
			t.Fatalf("query %q accepted", query)
		}
		u := whttp.ReturnURL("https://w.example", id, token)
		if id2, token2, err := whttp.ParseReturnLink(orderID, u[strings.Index(u, "?")+1:]); err != nil || id2 != id || token2 != token {
			t.Fatalf("canonical form of %q %q: %d %q %v", orderID, query, id2, token2, err)
		}
	})
}
