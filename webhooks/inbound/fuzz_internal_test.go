package inbound

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/walletd/walletd"
)

// FuzzStripeSignature: any Stripe-Signature header and body is refused
// with ErrSignature unless one of its v1 values is the HMAC of
// "{t}.{body}" with the secret and t is within the tolerance.
func FuzzStripeSignature(f *testing.F) {
	const secret = "whsec_fuzz_0123456789abcdef"
	now := time.Unix(1700000000, 0)
	sign := func(t int64, body string) string {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(strconv.FormatInt(t, 10) + "." + body))
		return hex.EncodeToString(m.Sum(nil))
	}
	f.Add("t=1700000000,v1="+sign(1700000000, `{}`), `{}`)
	f.Add("t=1700000000,v1=00,v1="+sign(1700000000, `{"a":1}`)+",v0=ff", `{"a":1}`)
	f.Add("t=1699999000,v1="+sign(1699999000, `{}`), `{}`)
	f.Add("t=,v1=", "")
	f.Add("v1=zz,t=1700000000", "x")
	f.Add("t=1700000000=1,v1=ab", "x")
	f.Add(strings.Repeat("v1=00,", 1000), "x")
	a := &stripeAdapter{currencies: walletd.DefaultCurrencies()}
	g := &Gateway{Name: "stripe", Secret: secret}
	f.Fuzz(func(t *testing.T, header, body string) {
		if time.Since(now) < 0 {
			t.Skip()
		}
		// stripe-go checks age against the real clock: sign relative to it.
		h := http.Header{"Stripe-Signature": {header}}
		err := a.Verify(context.Background(), g, h, []byte(body), time.Now())
		if err != nil {
			if !errors.Is(err, ErrSignature) {
				t.Fatalf("error %v does not wrap ErrSignature", err)
			}
			return
		}
		ts, terr := stripeTimestamp(header)
		if terr != nil || time.Since(ts) > StripeTolerance || time.Until(ts) > StripeTolerance {
			t.Fatalf("accepted %q with timestamp %v (%v)", header, ts, terr)
		}
		want := sign(ts.Unix(), body)
		if !slices.ContainsFunc(strings.Split(header, ","), func(p string) bool { return strings.EqualFold(p, "v1="+want) }) {
			t.Fatalf("accepted %q without the right v1", header)
		}
	})
}

// FuzzStripeEvent: the Stripe body parser never panics; it refuses with
// ErrPayload or maps to an event whose amount is exact at its currency's
// scale and not negative.
func FuzzStripeEvent(f *testing.F) {
	f.Add(`{"id":"evt_1","type":"payment_intent.succeeded","data":{"object":{"id":"pi_1","amount":2999,"currency":"usd","metadata":{"order_id":"789"}}}}`)
	f.Add(`{"id":"evt_2","type":"checkout.session.completed","data":{"object":{"id":"cs_1","payment_status":"paid","amount_total":100,"currency":"jpy","client_reference_id":"order_7","payment_intent":{"id":"pi_9"}}}}`)
	f.Add(`{"id":"evt_3","type":"charge.refunded","data":{"object":{"id":"ch_1","amount_refunded":1234,"currency":"kwd","payment_intent":null}}}`)
	f.Add(`{"id":"evt_4","type":"invoice.payment_succeeded","data":{"object":{"amount_paid":-1,"currency":"usd"}}}`)
	f.Add(`{"id":"evt_5","type":"payment_intent.succeeded","data":{"object":{"amount":1e400}}}`)
	f.Add(`{"id":"evt_6","type":"customer.created","data":{"object":{}}}`)
	f.Add(`[]`)
	a := &stripeAdapter{currencies: walletd.DefaultCurrencies()}
	f.Fuzz(func(t *testing.T, body string) {
		ev, err := a.Parse(&Gateway{Name: "stripe"}, []byte(body))
		if err != nil {
			if !errors.Is(err, ErrPayload) {
				t.Fatalf("error %v does not wrap ErrPayload", err)
			}
			return
		}
		checkEvent(t, ev)
		if !strings.HasPrefix(ev.ProviderID, "evt_") {
			t.Fatalf("provider id %q", ev.ProviderID)
		}
	})
}

// checkEvent checks what every mapped event promises.
func checkEvent(t *testing.T, ev *Event) {
	t.Helper()
	if ev.ProviderID == "" || ev.Type == "" {
		t.Fatalf("event without id or type: %+v", ev)
	}
	if ev.Kind != "" && !slices.Contains(Kinds, ev.Kind) {
		t.Fatalf("kind %q", ev.Kind)
	}
	if (ev.Amount == "") != (ev.Currency == "") {
		t.Fatalf("amount %q currency %q", ev.Amount, ev.Currency)
	}
	if ev.Amount != "" {
		scale, err := walletd.DefaultCurrencies().Scale(ev.Currency)
		if err != nil || ev.Currency != strings.ToUpper(ev.Currency) {
			t.Fatalf("currency %q", ev.Currency)
		}
		d, err := decimal.NewFromString(ev.Amount)
		if err != nil || d.IsNegative() || d.StringFixed(scale) != ev.Amount {
			t.Fatalf("amount %q at scale %d", ev.Amount, scale)
		}
	}
	if len(ev.Target.Ref) > 255 || len(ev.PaymentRef) > walletd.MaxReferenceLen {
		t.Fatalf("references too long")
	}
}

// FuzzPayPalHeaders: accepted transmission headers have an id without
// "|", an RFC 3339 time, a base64 signature, the SHA256withRSA algorithm
// and an https certificate URL on an allowed host.
func FuzzPayPalHeaders(f *testing.F) {
	f.Add("b2384410", "2026-01-15T14:30:25Z", "c2lnbmF0dXJl", "https://api.paypal.com/v1/notifications/certs/CERT-1", "SHA256withRSA")
	f.Add("a|b", "2026-01-15T14:30:25Z", "c2ln", "https://api.paypal.com/c", "SHA256withRSA")
	f.Add("id", "yesterday", "c2ln", "https://api.paypal.com/c", "SHA256withRSA")
	f.Add("id", "2026-01-15T14:30:25Z", "c2ln", "https://api.paypal.com.evil.example/c", "SHA256withRSA")
	f.Add("id", "2026-01-15T14:30:25Z", "c2ln", "https://user@api.paypal.com/c", "SHA256withRSA")
	f.Add("id", "2026-01-15T14:30:25Z", "c2ln", "http://api.paypal.com/c", "SHA256withRSA")
	f.Add("id", "2026-01-15T14:30:25Z", "!!", "https://api.paypal.com/c", "SHA1withRSA")
	f.Fuzz(func(t *testing.T, id, at, sig, certURL, algo string) {
		h := http.Header{}
		h.Set("PAYPAL-TRANSMISSION-ID", id)
		h.Set("PAYPAL-TRANSMISSION-TIME", at)
		h.Set("PAYPAL-TRANSMISSION-SIG", sig)
		h.Set("PAYPAL-CERT-URL", certURL)
		h.Set("PAYPAL-AUTH-ALGO", algo)
		p, err := parsePayPalHeaders(h, DefaultPayPalCertHosts)
		if err != nil {
			if !errors.Is(err, ErrSignature) {
				t.Fatalf("error %v does not wrap ErrSignature", err)
			}
			return
		}
		if strings.Contains(p.id, "|") || strings.Contains(p.timeText, "|") || p.id == "" || len(p.sig) == 0 || algo != "SHA256withRSA" {
			t.Fatalf("accepted %+v", p)
		}
		if p.certURL.Scheme != "https" || p.certURL.User != nil || !slices.Contains(DefaultPayPalCertHosts, strings.ToLower(p.certURL.Hostname())) {
			t.Fatalf("accepted cert URL %q", certURL)
		}
	})
}

// FuzzPayPalEvent: the PayPal body parser never panics and maps only to
// exact amounts.
func FuzzPayPalEvent(f *testing.F) {
	f.Add(`{"id":"WH-1","event_type":"PAYMENT.SALE.COMPLETED","resource":{"id":"PAY-1","custom":"order_789","amount":{"total":"29.99","currency":"USD"}}}`)
	f.Add(`{"id":"WH-2","event_type":"CHECKOUT.ORDER.APPROVED","resource":{"id":"5O1","purchase_units":[{"custom_id":"order_1","amount":{"currency_code":"EUR","value":"7.50"}}]}}`)
	f.Add(`{"id":"WH-3","event_type":"PAYMENT.SALE.REFUNDED","resource":{"sale_id":"S1","amount":{"total":"-0.01","currency":"USD"}}}`)
	f.Add(`{"id":"WH-4","event_type":"PAYMENT.CAPTURE.COMPLETED","resource":{"custom_id":"topup_top_1","amount":{"value":"1e400","currency_code":"USD"}}}`)
	f.Add(`{"id":"WH-5","event_type":"PAYMENT.SALE.COMPLETED","resource":{"amount":{"total":"0.001","currency":"USD"}}}`)
	f.Add(`{"id":"","resource":null}`)
	a := &paypalAdapter{currencies: walletd.DefaultCurrencies()}
	f.Fuzz(func(t *testing.T, body string) {
		ev, err := a.Parse(&Gateway{Name: "paypal"}, []byte(body))
		if err != nil {
			if !errors.Is(err, ErrPayload) {
				t.Fatalf("error %v does not wrap ErrPayload", err)
			}
			return
		}
		checkEvent(t, ev)
	})
}

// FuzzGenericEvent: the generic mapping never panics, refuses bad amounts
// ("1e400", "-0", "0.001" in USD, "NaN") with ErrPayload, and maps only to
// exact amounts; the default mapping and a nested one.
func FuzzGenericEvent(f *testing.F) {
	f.Add(`{"event":"payment.completed","order_reference":"789","amount":"29.99","currency":"USD"}`, false)
	f.Add(`{"event":"payment.completed","order_reference":789,"amount":29.99,"currency":"usd"}`, false)
	f.Add(`{"event":"payment.completed","order_reference":"1","amount":"1e400","currency":"USD"}`, false)
	f.Add(`{"event":"payment.completed","order_reference":"1","amount":"-0","currency":"USD"}`, false)
	f.Add(`{"event":"payment.completed","order_reference":"1","amount":"0.001","currency":"USD"}`, false)
	f.Add(`{"event":"payment.completed","order_reference":"1","amount":"NaN","currency":"USD"}`, false)
	f.Add(`{"type":"ok","meta":{"id":5},"data":{"ref":"top_1","total":{"v":"5","c":"JPY"}}}`, true)
	f.Add(`{"type":"ok","meta":[1]}`, true)
	a := &genericAdapter{currencies: walletd.DefaultCurrencies()}
	nested := &Gateway{Name: "generic", Mapping: &Mapping{Event: "type", ID: "meta.id", TopupReference: "data.ref", OrderReference: "data.order",
		Amount: "data.total.v", Currency: "data.total.c", Events: map[string]string{"ok": KindSucceeded}}}
	f.Fuzz(func(t *testing.T, body string, useNested bool) {
		g := &Gateway{Name: "generic"}
		if useNested {
			g = nested
		}
		ev, err := a.Parse(g, []byte(body))
		if err != nil {
			if !errors.Is(err, ErrPayload) {
				t.Fatalf("error %v does not wrap ErrPayload", err)
			}
			return
		}
		checkEvent(t, ev)
		if ev.Amount != "" {
			if d, _ := decimal.NewFromString(ev.Amount); !d.IsPositive() {
				t.Fatalf("amount %q accepted", ev.Amount)
			}
		}
	})
}
