package inbound_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/webhooks/inbound"
)

// stripeFake is a local fake of Stripe's POST /v1/checkout/sessions,
// speaking its documented form-encoded request and JSON answer.
type stripeFake struct {
	mu    sync.Mutex
	forms []map[string]string
	keys  []string
	srv   *httptest.Server
}

func newStripeFake(t *testing.T) *stripeFake {
	f := &stripeFake{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method != http.MethodPost || r.URL.Path != "/v1/checkout/sessions" || r.Header.Get("Authorization") != "Bearer sk_test_fake" {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error": {"type": "invalid_request_error", "message": "Invalid API Key provided", "code": "api_key_invalid"}}`))
			return
		}
		r.ParseForm()
		form := map[string]string{}
		for k, v := range r.PostForm {
			form[k] = v[0]
		}
		f.mu.Lock()
		f.forms = append(f.forms, form)
		f.keys = append(f.keys, r.Header.Get("Idempotency-Key"))
		f.mu.Unlock()
		if form["line_items[0][price_data][currency]"] == "xts" {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error": {"type": "invalid_request_error", "message": "Invalid currency: xts.", "code": "parameter_invalid", "param": "line_items[0][price_data][currency]"}}`))
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"id": "cs_test_a1", "object": "checkout.session", "mode": "payment",
			"client_reference_id": form["client_reference_id"], "url": "https://checkout.stripe.com/c/pay/cs_test_a1",
			"expires_at": time.Now().Add(24 * time.Hour).Unix(), "payment_status": "unpaid", "status": "open"})
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func TestCheckout_CreateSession(t *testing.T) {
	f := newStripeFake(t)
	e := newEnv(t, nil)
	e.configure(t, "stripe", inbound.GatewayInput{Secret: stripeSecret})
	id := e.order(t, "49.00", "USD", false)
	o := e.orderStatus(t, id)
	co := &inbound.Checkout{SecretKey: "sk_test_fake", APIBase: f.srv.URL}
	ctx := context.Background()
	s, err := co.CreateSession(ctx, o, "https://shop.example.com/paid", "https://shop.example.com/cancel", "checkout-"+itoa(id))
	if err != nil {
		t.Fatal(err)
	}
	if s.ID != "cs_test_a1" || s.URL != "https://checkout.stripe.com/c/pay/cs_test_a1" || s.ExpiresAt.IsZero() {
		t.Fatalf("session %+v", s)
	}
	form := f.forms[0]
	for k, want := range map[string]string{
		"mode": "payment", "client_reference_id": itoa(id), "line_items[0][quantity]": "1",
		"line_items[0][price_data][currency]": "usd", "line_items[0][price_data][unit_amount]": "4900",
		"metadata[order_id]": itoa(id), "payment_intent_data[metadata][order_id]": itoa(id),
		"success_url": "https://shop.example.com/paid", "cancel_url": "https://shop.example.com/cancel",
	} {
		if form[k] != want {
			t.Errorf("%s = %q, want %q", k, form[k], want)
		}
	}
	if f.keys[0] != "checkout-"+itoa(id) {
		t.Errorf("idempotency key %q", f.keys[0])
	}

	// Stripe then reports the payment: the order is paid.
	body := stripeEvent("evt_cs_paid", "checkout.session.completed", map[string]any{"id": s.ID, "object": "checkout.session",
		"payment_status": "paid", "status": "complete", "amount_total": 4900, "currency": "usd", "client_reference_id": form["client_reference_id"],
		"payment_intent": "pi_cs_a1", "metadata": map[string]any{"order_id": itoa(id)}})
	if r := e.deliver("stripe", stripeHeader(body, stripeSecret, time.Now()), body); r.Status != http.StatusOK {
		t.Fatalf("%d %+v", r.Status, r)
	}
	if o := e.orderStatus(t, id); o.Status != walletd.OrderProcessing || o.TransactionID != "pi_cs_a1" {
		t.Fatalf("order %+v", o)
	}

	t.Run("Refused", func(t *testing.T) {
		paid := e.orderStatus(t, id)
		if _, err := co.CreateSession(ctx, paid, "https://a", "https://b", ""); walletd.ErrorCode(err) != walletd.EInvalid {
			t.Fatalf("paid order: %v", err)
		}
		pending := e.orderStatus(t, e.order(t, "1.00", "USD", false))
		if _, err := co.CreateSession(ctx, pending, "javascript:alert(1)", "https://b", ""); walletd.ErrorCode(err) != walletd.EInvalid {
			t.Fatalf("bad url: %v", err)
		}
		bad := &inbound.Checkout{SecretKey: "sk_test_wrong", APIBase: f.srv.URL}
		_, err := bad.CreateSession(ctx, pending, "https://a", "https://b", "")
		if walletd.ErrorCode(err) != walletd.EUnavailable || strings.Contains(err.Error(), "sk_test_wrong") {
			t.Fatalf("wrong key: %v", err)
		}
		down := &inbound.Checkout{SecretKey: "sk_test_fake", APIBase: "http://127.0.0.1:1"}
		if _, err := down.CreateSession(ctx, pending, "https://a", "https://b", ""); walletd.ErrorCode(err) != walletd.EUnavailable {
			t.Fatalf("unreachable: %v", err)
		}
		if _, err := (&inbound.Checkout{}).CreateSession(ctx, pending, "https://a", "https://b", ""); walletd.ErrorCode(err) != walletd.EUnavailable {
			t.Fatalf("no key: %v", err)
		}
	})
}
