package inbound_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82/webhook"
	"github.com/walletd/walletd"
	"github.com/walletd/walletd/webhooks/inbound"
)

func TestStripe_PaymentIntentSucceeded(t *testing.T) {
	e := newEnv(t, nil)
	e.configure(t, "stripe", inbound.GatewayInput{Secret: stripeSecret})
	t.Run("Processing", func(t *testing.T) {
		id := e.order(t, "29.99", "USD", false)
		body := paymentIntent("evt_1ABC123", id, 2999, "usd")
		r := e.deliver("stripe", stripeHeader(body, stripeSecret, time.Now()), body)
		if r.Status != http.StatusOK {
			t.Fatalf("status %d %+v", r.Status, r)
		}
		m := replyJSON(t, r)
		data := m["data"].(map[string]any)
		if m["success"] != true || m["message"] != "Webhook processed successfully" || data["event_id"] != "evt_1ABC123" ||
			data["order_id"] != float64(id) || data["rules_triggered"] != float64(1) {
			t.Fatalf("reply %v", m)
		}
		if acts := data["actions_executed"].([]any); len(acts) != 1 || acts[0] != "complete_order" {
			t.Fatalf("actions %v", acts)
		}
		o := e.orderStatus(t, id)
		if o.Status != walletd.OrderProcessing || o.PaymentMethod != walletd.PayStripe || o.TransactionID != "pi_evt_1ABC123" {
			t.Fatalf("order %+v", o)
		}
	})
	t.Run("VirtualCompleted", func(t *testing.T) {
		id := e.order(t, "1000", "JPY", true)
		body := paymentIntent("evt_jpy", id, 1000, "jpy")
		if r := e.deliver("stripe", stripeHeader(body, stripeSecret, time.Now()), body); r.Status != http.StatusOK {
			t.Fatalf("status %d %+v", r.Status, r)
		}
		if o := e.orderStatus(t, id); o.Status != walletd.OrderCompleted {
			t.Fatalf("status %s", o.Status)
		}
	})
	t.Run("ThreeDecimals", func(t *testing.T) {
		id := e.order(t, "1.234", "KWD", false)
		body := paymentIntent("evt_kwd", id, 1234, "kwd")
		if r := e.deliver("stripe", stripeHeader(body, stripeSecret, time.Now()), body); r.Status != http.StatusOK {
			t.Fatalf("status %d %+v", r.Status, r)
		}
		if o := e.orderStatus(t, id); o.Status != walletd.OrderProcessing {
			t.Fatalf("status %s", o.Status)
		}
	})
	t.Run("CheckoutSessionThenPaymentIntent", func(t *testing.T) {
		id := e.order(t, "10.00", "EUR", false)
		cs := stripeEvent("evt_cs1", "checkout.session.completed", map[string]any{"id": "cs_1", "object": "checkout.session",
			"payment_status": "paid", "status": "complete", "amount_total": 1000, "currency": "eur", "client_reference_id": "order_" + itoa(id),
			"payment_intent": "pi_cs1", "customer_details": map[string]any{"email": "a@example.com"}, "metadata": map[string]any{}})
		r := e.deliver("stripe", stripeHeader(cs, stripeSecret, time.Now()), cs)
		if r.Status != http.StatusOK {
			t.Fatalf("status %d %+v", r.Status, r)
		}
		// The payment intent of the same payment: recorded already, nothing more.
		pi := stripeEvent("evt_cs1_pi", "payment_intent.succeeded", map[string]any{"id": "pi_cs1", "object": "payment_intent",
			"amount": 1000, "amount_received": 1000, "currency": "eur", "status": "succeeded", "metadata": map[string]any{"order_id": itoa(id)}})
		r = e.deliver("stripe", stripeHeader(pi, stripeSecret, time.Now()), pi)
		if r.Status != http.StatusOK || len(replyJSON(t, r)["data"].(map[string]any)["actions_executed"].([]any)) != 0 {
			t.Fatalf("second event %d %+v", r.Status, replyJSON(t, r))
		}
		if o := e.orderStatus(t, id); o.Status != walletd.OrderProcessing || len(o.Payments) != 1 || o.TransactionID != "pi_cs1" {
			t.Fatalf("order %+v", o)
		}
	})
	t.Run("Refunded", func(t *testing.T) {
		id := e.order(t, "5.00", "USD", false)
		body := paymentIntent("evt_r1", id, 500, "usd")
		e.deliver("stripe", stripeHeader(body, stripeSecret, time.Now()), body)
		ref := stripeEvent("evt_r2", "charge.refunded", map[string]any{"id": "ch_1", "object": "charge", "amount": 500, "amount_refunded": 500,
			"currency": "usd", "refunded": true, "payment_intent": "pi_evt_r1", "metadata": map[string]any{"order_id": itoa(id)}})
		if r := e.deliver("stripe", stripeHeader(ref, stripeSecret, time.Now()), ref); r.Status != http.StatusOK {
			t.Fatalf("status %d %+v", r.Status, r)
		}
		if o := e.orderStatus(t, id); o.Status != walletd.OrderRefunded {
			t.Fatalf("status %s", o.Status)
		}
	})
	t.Run("TopupCompleted", func(t *testing.T) {
		w, top := e.topup(t, "tina", "USD", "25.00")
		body := stripeEvent("evt_top", "payment_intent.succeeded", map[string]any{"id": "pi_top", "object": "payment_intent",
			"amount": 2500, "amount_received": 2500, "currency": "usd", "status": "succeeded", "metadata": map[string]any{"topup_id": top}})
		if r := e.deliver("stripe", stripeHeader(body, stripeSecret, time.Now()), body); r.Status != http.StatusOK {
			t.Fatalf("status %d %+v", r.Status, r)
		}
		if tp := e.topupStatus(t, top); tp.Status != walletd.StatusCompleted {
			t.Fatalf("top-up %+v", tp)
		}
		wl, _ := e.l.DB.Wallet(context.Background(), w)
		if wl.Balance.String() != "25" {
			t.Fatalf("balance %s", wl.Balance)
		}
	})
	t.Run("TopupFailed", func(t *testing.T) {
		_, top := e.topup(t, "fay", "USD", "9.00")
		body := stripeEvent("evt_topf", "payment_intent.payment_failed", map[string]any{"id": "pi_topf", "object": "payment_intent",
			"amount": 900, "currency": "usd", "status": "requires_payment_method", "metadata": map[string]any{"topup_id": top}})
		if r := e.deliver("stripe", stripeHeader(body, stripeSecret, time.Now()), body); r.Status != http.StatusOK {
			t.Fatalf("status %d %+v", r.Status, r)
		}
		if tp := e.topupStatus(t, top); tp.Status != walletd.StatusFailed {
			t.Fatalf("top-up %+v", tp)
		}
	})
	t.Run("InvoicePaid", func(t *testing.T) {
		id := e.order(t, "15.00", "GBP", false)
		body := stripeEvent("evt_inv", "invoice.payment_succeeded", map[string]any{"id": "in_1", "object": "invoice", "amount_paid": 1500,
			"currency": "gbp", "status": "paid", "customer": "cus_1", "metadata": map[string]any{"order_id": itoa(id)}})
		if r := e.deliver("stripe", stripeHeader(body, stripeSecret, time.Now()), body); r.Status != http.StatusOK {
			t.Fatalf("status %d %+v", r.Status, r)
		}
		if o := e.orderStatus(t, id); o.Status != walletd.OrderProcessing || o.TransactionID != "in_1" {
			t.Fatalf("order %+v", o)
		}
	})
	t.Run("CheckoutUnpaidThenAsyncPaid", func(t *testing.T) {
		id := e.order(t, "20.00", "EUR", false)
		obj := map[string]any{"id": "cs_async", "object": "checkout.session", "payment_status": "unpaid", "status": "complete",
			"amount_total": 2000, "currency": "eur", "client_reference_id": itoa(id), "payment_intent": "pi_async"}
		body := stripeEvent("evt_async1", "checkout.session.completed", obj)
		if r := e.deliver("stripe", stripeHeader(body, stripeSecret, time.Now()), body); r.Status != http.StatusOK {
			t.Fatalf("status %d %+v", r.Status, r)
		}
		if o := e.orderStatus(t, id); o.Status != walletd.OrderPending {
			t.Fatalf("unpaid session paid the order: %s", o.Status)
		}
		obj["payment_status"] = "paid"
		body = stripeEvent("evt_async2", "checkout.session.async_payment_succeeded", obj)
		if r := e.deliver("stripe", stripeHeader(body, stripeSecret, time.Now()), body); r.Status != http.StatusOK {
			t.Fatalf("status %d %+v", r.Status, r)
		}
		if o := e.orderStatus(t, id); o.Status != walletd.OrderProcessing {
			t.Fatalf("order %s", o.Status)
		}
	})
	t.Run("OrderPaymentFailed", func(t *testing.T) {
		id := e.order(t, "6.00", "USD", false)
		body := stripeEvent("evt_of", "payment_intent.payment_failed", map[string]any{"id": "pi_of", "object": "payment_intent",
			"amount": 600, "currency": "usd", "status": "requires_payment_method", "metadata": map[string]any{"order_id": itoa(id)}})
		if r := e.deliver("stripe", stripeHeader(body, stripeSecret, time.Now()), body); r.Status != http.StatusOK {
			t.Fatalf("status %d %+v", r.Status, r)
		}
		if o := e.orderStatus(t, id); o.Status != walletd.OrderFailed {
			t.Fatalf("order %s", o.Status)
		}
	})
	t.Run("PartialRefundReviewed", func(t *testing.T) {
		id := e.order(t, "9.00", "USD", false)
		body := paymentIntent("evt_pr1", id, 900, "usd")
		e.deliver("stripe", stripeHeader(body, stripeSecret, time.Now()), body)
		ref := stripeEvent("evt_pr2", "charge.refunded", map[string]any{"id": "ch_pr", "object": "charge", "amount": 900, "amount_refunded": 300,
			"currency": "usd", "payment_intent": "pi_evt_pr1", "metadata": map[string]any{"order_id": itoa(id)}})
		if r := e.deliver("stripe", stripeHeader(ref, stripeSecret, time.Now()), ref); r.Status != http.StatusUnprocessableEntity || r.Code != "payment_mismatch" {
			t.Fatalf("status %d %+v", r.Status, r)
		}
		if o := e.orderStatus(t, id); o.Status != walletd.OrderProcessing {
			t.Fatalf("order %s", o.Status)
		}
	})
	t.Run("UnrelatedEvent", func(t *testing.T) {
		body := stripeEvent("evt_cust", "customer.created", map[string]any{"id": "cus_1", "object": "customer"})
		r := e.deliver("stripe", stripeHeader(body, stripeSecret, time.Now()), body)
		if r.Status != http.StatusOK || replyJSON(t, r)["data"].(map[string]any)["rules_triggered"] != float64(0) {
			t.Fatalf("%d %+v", r.Status, replyJSON(t, r))
		}
	})
	t.Run("OrderNotFound", func(t *testing.T) {
		body := paymentIntent("evt_nf", 987654, 100, "usd")
		r := e.deliver("stripe", stripeHeader(body, stripeSecret, time.Now()), body)
		m := replyJSON(t, r)
		if r.Status != http.StatusNotFound || m["code"] != "order_not_found" || m["message"] != "Order reference not found" ||
			m["data"].(map[string]any)["order_reference"] != "987654" || m["success"] != false {
			t.Fatalf("%d %v", r.Status, m)
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestStripe_Refused: forged, stale, replayed and malformed deliveries
// are refused and change nothing.
func TestStripe_Refused(t *testing.T) {
	e := newEnv(t, func(p *inbound.Pipeline) { p.BlockAfter = -1 })
	e.configure(t, "stripe", inbound.GatewayInput{Secret: stripeSecret})
	id := e.order(t, "29.99", "USD", false)
	good := paymentIntent("evt_good", id, 2999, "usd")
	now := time.Now()
	sig := func(body []byte, secret string, at time.Time) http.Header { return stripeHeader(body, secret, at) }
	cases := []struct {
		name   string
		h      http.Header
		body   []byte
		status int
		code   string
	}{
		{"WrongSecret", sig(good, "whsec_other_secret_000000000", now), good, 401, "invalid_signature"},
		{"NoHeader", http.Header{}, good, 401, "invalid_signature"},
		{"Stale", sig(good, stripeSecret, now.Add(-301*time.Second)), good, 401, "invalid_signature"},
		{"Future", sig(good, stripeSecret, now.Add(10*time.Minute)), good, 401, "invalid_signature"},
		{"TamperedBody", sig(good, stripeSecret, now), []byte(strings.Replace(string(good), "2999", "2998", 2)), 401, "invalid_signature"},
		{"OnlyV0", func() http.Header {
			sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: good, Secret: stripeSecret, Scheme: "v0"})
			return http.Header{"Stripe-Signature": {sp.Header}}
		}(), good, 401, "invalid_signature"},
		{"GarbageHeader", http.Header{"Stripe-Signature": {"t=abc,v1=zz"}}, good, 401, "invalid_signature"},
		{"MalformedJSON", sig([]byte(`{"id": "evt_x", `), stripeSecret, now), []byte(`{"id": "evt_x", `), 400, "invalid_payload"},
		{"FloatAmount", sig([]byte(`{"id":"evt_f","type":"payment_intent.succeeded","data":{"object":{"id":"pi","amount":1e400,"currency":"usd","metadata":{"order_id":"`+itoa(id)+`"}}}}`), stripeSecret, now),
			[]byte(`{"id":"evt_f","type":"payment_intent.succeeded","data":{"object":{"id":"pi","amount":1e400,"currency":"usd","metadata":{"order_id":"` + itoa(id) + `"}}}}`), 400, "invalid_payload"},
		{"NegativeAmount", sig(paymentIntent("evt_neg", id, -2999, "usd"), stripeSecret, now), paymentIntent("evt_neg", id, -2999, "usd"), 400, "invalid_payload"},
		{"UnknownCurrency", sig(paymentIntent("evt_cur", id, 2999, "zzz"), stripeSecret, now), paymentIntent("evt_cur", id, 2999, "zzz"), 400, "invalid_payload"},
		{"NotAnEventID", sig(paymentIntent("pi_123", id, 2999, "usd"), stripeSecret, now), paymentIntent("pi_123", id, 2999, "usd"), 400, "invalid_payload"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.deliver("stripe", c.h, c.body)
			m := replyJSON(t, r)
			if r.Status != c.status || m["code"] != c.code || m["success"] != false {
				t.Fatalf("%d %v", r.Status, m)
			}
			if c.status == 401 && m["message"] != "Webhook signature verification failed" {
				t.Fatalf("message %v", m["message"])
			}
			if o := e.orderStatus(t, id); o.Status != walletd.OrderPending {
				t.Fatalf("order changed: %s", o.Status)
			}
		})
	}
	t.Run("SecretRoll", func(t *testing.T) {
		// During a roll Stripe signs with the old and the new secret.
		old := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: good, Secret: "whsec_old_secret_0000000000", Timestamp: now})
		cur := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: good, Secret: stripeSecret, Timestamp: now})
		h := http.Header{"Stripe-Signature": {old.Header + ",v1=" + strings.SplitN(cur.Header, "v1=", 2)[1] + ",v0=deadbeef"}}
		if r := e.deliver("stripe", h, good); r.Status != http.StatusOK {
			t.Fatalf("%d %v", r.Status, replyJSON(t, r))
		}
		if o := e.orderStatus(t, id); o.Status != walletd.OrderProcessing {
			t.Fatalf("order %s", o.Status)
		}
	})
	t.Run("LoggedWithoutSecrets", func(t *testing.T) {
		logs, total, err := e.p.Logs(context.Background(), "stripe", "error", 100)
		if err != nil || total != int64(len(cases)) || len(logs) != len(cases) {
			t.Fatalf("%d logs, total %d, %v", len(logs), total, err)
		}
		for _, l := range logs {
			if strings.Contains(l.ErrorMessage, stripeSecret) || l.HTTPStatus < 400 {
				t.Fatalf("log %+v", l)
			}
		}
	})
}
