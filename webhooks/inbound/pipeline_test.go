package inbound_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/walletdtest"
	"github.com/walletd/walletd/webhooks/inbound"
)

// TestPipeline_Dedupe: the same event 20 times at once, and again after a
// restart, has one effect; every copy answers the first outcome.
func TestPipeline_Dedupe(t *testing.T) {
	e := newEnv(t, nil)
	e.configure(t, "stripe", inbound.GatewayInput{Secret: stripeSecret})
	id := e.order(t, "12.50", "USD", false)
	body := paymentIntent("evt_dup", id, 1250, "usd")
	h := stripeHeader(body, stripeSecret, time.Now())
	var wg sync.WaitGroup
	replies := make([]string, 20)
	statuses := make([]int, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.deliver("stripe", h, body)
			b, _ := json.Marshal(r)
			replies[i], statuses[i] = string(b), r.Status
		}()
	}
	wg.Wait()
	for i := range 20 {
		if statuses[i] != http.StatusOK || replies[i] != replies[0] {
			t.Fatalf("copy %d: %d %s, first %s", i, statuses[i], replies[i], replies[0])
		}
	}
	o := e.orderStatus(t, id)
	if o.Status != walletd.OrderProcessing || len(o.Payments) != 1 {
		t.Fatalf("order %+v", o)
	}
	e.restart(t)
	r := e.deliver("stripe", stripeHeader(body, stripeSecret, time.Now()), body)
	if b, _ := json.Marshal(r); r.Status != http.StatusOK || string(b) != replies[0] {
		t.Fatalf("after restart: %d %s", r.Status, b)
	}
	if o := e.orderStatus(t, id); len(o.Payments) != 1 {
		t.Fatalf("payments %d", len(o.Payments))
	}
	logs, total, err := e.p.Logs(context.Background(), "stripe", "", 100)
	if err != nil || total != 21 {
		t.Fatalf("total %d %v", total, err)
	}
	dups := 0
	for _, l := range logs {
		if l.Outcome == inbound.OutDuplicate {
			dups++
		}
		if l.Status != inbound.LogSuccess || l.OrderID == nil || *l.OrderID != id || l.EventType != "payment_intent.succeeded" {
			t.Fatalf("log %+v", l)
		}
	}
	if dups != 20 {
		t.Fatalf("%d duplicates logged", dups)
	}
	e.l.Verify(t)
}

// TestPipeline_Mismatch: a payment whose amount or currency is not the
// order's is not applied; it goes to the dead-letter queue, from which it
// can be discarded (or redriven, and refused again).
func TestPipeline_Mismatch(t *testing.T) {
	e := newEnv(t, nil)
	e.configure(t, "stripe", inbound.GatewayInput{Secret: stripeSecret})
	id := e.order(t, "29.99", "USD", false)
	for _, c := range []struct {
		evt      string
		amount   int64
		currency string
	}{{"evt_m1", 2998, "usd"}, {"evt_m2", 299900, "usd"}, {"evt_m3", 2999, "eur"}} {
		body := paymentIntent(c.evt, id, c.amount, c.currency)
		r := e.deliver("stripe", stripeHeader(body, stripeSecret, time.Now()), body)
		if m := replyJSON(t, r); r.Status != http.StatusUnprocessableEntity || m["code"] != "payment_mismatch" {
			t.Fatalf("%s: %d %v", c.evt, r.Status, m)
		}
	}
	if o := e.orderStatus(t, id); o.Status != walletd.OrderPending {
		t.Fatalf("order %s", o.Status)
	}
	ctx := context.Background()
	dead, err := e.p.DeadLetters(ctx, "", 0, 10)
	if err != nil || len(dead) != 3 || dead[0].ProviderID != "evt_m3" || !strings.Contains(dead[0].DeadReason, "EUR") {
		t.Fatalf("dead letters %v %v", dead, err)
	}
	r, err := e.p.Redrive(ctx, dead[0].ID)
	if err != nil || r.State != inbound.StateDead {
		t.Fatalf("redrive: %+v %v", r, err)
	}
	if r, err = e.p.Discard(ctx, dead[0].ID); err != nil || r.State != inbound.StateDiscarded {
		t.Fatalf("discard: %+v %v", r, err)
	}
	if _, err := e.p.Discard(ctx, dead[0].ID); walletd.ErrorCode(err) != walletd.EConflict {
		t.Fatalf("discard twice: %v", err)
	}
	if _, err := e.p.Redrive(ctx, 999999); walletd.ErrorCode(err) != walletd.ENotFound {
		t.Fatalf("redrive unknown: %v", err)
	}
	if dead, _ = e.p.DeadLetters(ctx, "stripe", 0, 10); len(dead) != 2 {
		t.Fatalf("%d dead letters", len(dead))
	}
}

// TestPipeline_Retries: a failure that may pass is retried with backoff;
// after MaxAttempts it is dead-lettered, and a redrive applies it once.
func TestPipeline_Retries(t *testing.T) {
	f := &flaky{}
	e := &env{l: walletdtest.MustOpenLedger(t, nil), dir: t.TempDir(), key: make([]byte, 32)}
	f.next = e.l.Writer
	e.writer = f
	e.modify = func(p *inbound.Pipeline) { p.Wait = 200 * time.Millisecond }
	e.open(t)
	t.Cleanup(e.close)
	e.configure(t, "stripe", inbound.GatewayInput{Secret: stripeSecret})

	t.Run("PassesOnRetry", func(t *testing.T) {
		id := e.order(t, "3.00", "USD", false)
		f.mu.Lock()
		f.fails = 1
		f.mu.Unlock()
		body := paymentIntent("evt_retry", id, 300, "usd")
		r := e.deliver("stripe", stripeHeader(body, stripeSecret, time.Now()), body)
		if m := replyJSON(t, r); r.Status != http.StatusInternalServerError || m["code"] != "processing_error" ||
			m["message"] != "Webhook processing failed" || strings.Contains(r.Message+r.Code, "busy") {
			t.Fatalf("first answer %d %v", r.Status, m)
		}
		walletdtest.CheckFor(t, 5*time.Second, 20*time.Millisecond, func() error {
			if o := e.orderStatus(t, id); o.Status != walletd.OrderProcessing {
				return errorf("order %s", o.Status)
			}
			return nil
		})
		// The sender's retry now gets the outcome.
		if r := e.deliver("stripe", stripeHeader(body, stripeSecret, time.Now()), body); r.Status != http.StatusOK {
			t.Fatalf("retry answer %d", r.Status)
		}
	})
	t.Run("DeadAfterMaxAttempts", func(t *testing.T) {
		id := e.order(t, "4.00", "USD", false)
		f.mu.Lock()
		f.fails = 3
		f.mu.Unlock()
		body := paymentIntent("evt_dead", id, 400, "usd")
		e.deliver("stripe", stripeHeader(body, stripeSecret, time.Now()), body)
		var dead []*inbound.Record
		walletdtest.CheckFor(t, 5*time.Second, 20*time.Millisecond, func() error {
			dead, _ = e.p.DeadLetters(context.Background(), "stripe", 0, 10)
			if len(dead) != 1 {
				return errorf("%d dead letters", len(dead))
			}
			return nil
		})
		if dead[0].Attempts != 3 || !strings.Contains(dead[0].DeadReason, "3 attempts") || dead[0].LastError == "" {
			t.Fatalf("dead letter %+v", dead[0])
		}
		if o := e.orderStatus(t, id); o.Status != walletd.OrderPending {
			t.Fatalf("order %s", o.Status)
		}
		r, err := e.p.Redrive(context.Background(), dead[0].ID)
		if err != nil || r.State != inbound.StateDone || r.Outcome.Status != http.StatusOK {
			t.Fatalf("redrive %+v %v", r, err)
		}
		if o := e.orderStatus(t, id); o.Status != walletd.OrderProcessing || len(o.Payments) != 1 {
			t.Fatalf("order %+v", o)
		}
	})
}

type errString string

func (e errString) Error() string { return string(e) }

func errorf(format string, args ...any) error {
	return errString(strings.TrimSpace(sprintf(format, args...)))
}

// TestGeneric_PHPSignature: a body signed with PHP's hash_hmac, the seed's
// rule, pays an order; the wrong secret, a raw secret and bad amounts are
// refused.
func TestGeneric_PHPSignature(t *testing.T) {
	if _, err := exec.LookPath("php"); err != nil {
		t.Skip("php-cli is not installed")
	}
	e := newEnv(t, nil)
	e.configure(t, "generic", inbound.GatewayInput{Secret: genericSecret})
	id := e.order(t, "29.99", "USD", false)
	phpSign := func(body, secret string) string {
		out, err := exec.Command("php", "-r", `echo hash_hmac('sha256', $argv[1], $argv[2]);`, body, secret).Output()
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	send := func(body, sig string) *inbound.Reply {
		return e.deliver("generic", http.Header{"X-Webhook-Secret": {sig}}, []byte(body))
	}
	bad := func(amount string) string {
		return `{"event": "payment.completed", "order_reference": "` + itoa(id) + `", "amount": ` + amount + `, "currency": "USD"}`
	}
	for _, c := range []struct {
		name, body, sig string
		status          int
	}{
		{"WrongSecret", bad(`"29.99"`), phpSign(bad(`"29.99"`), "not-the-secret-at-all"), 401},
		{"RawSecret", bad(`"29.99"`), genericSecret, 401},
		{"Empty", bad(`"29.99"`), "", 401},
		{"Exponent", bad(`"1e400"`), phpSign(bad(`"1e400"`), genericSecret), 400},
		{"NegativeZero", bad(`"-0"`), phpSign(bad(`"-0"`), genericSecret), 400},
		{"TooPrecise", bad(`"0.001"`), phpSign(bad(`"0.001"`), genericSecret), 400},
		{"NaN", bad(`"NaN"`), phpSign(bad(`"NaN"`), genericSecret), 400},
		{"Object", bad(`{}`), phpSign(bad(`{}`), genericSecret), 400},
		{"NoEvent", `{"order_reference": "1"}`, phpSign(`{"order_reference": "1"}`, genericSecret), 400},
		{"Malformed", `{"event": `, phpSign(`{"event": `, genericSecret), 400},
		{"TwoDocuments", `{"event":"x"} {}`, phpSign(`{"event":"x"} {}`, genericSecret), 400},
	} {
		t.Run(c.name, func(t *testing.T) {
			if r := send(c.body, c.sig); r.Status != c.status {
				t.Fatalf("%d %+v", r.Status, r)
			}
			if o := e.orderStatus(t, id); o.Status != walletd.OrderPending {
				t.Fatalf("order %s", o.Status)
			}
		})
	}
	t.Run("Topup", func(t *testing.T) {
		e.configure(t, "generic", inbound.GatewayInput{Secret: genericSecret, Mapping: &inbound.Mapping{TopupReference: "topup"}})
		defer e.configure(t, "generic", inbound.GatewayInput{Secret: genericSecret})
		_, top := e.topup(t, "gina", "EUR", "7.50")
		body := `{"event": "payment.succeeded", "topup": "` + top + `", "amount": "7.5", "currency": "EUR"}`
		if r := send(body, phpSign(body, genericSecret)); r.Status != http.StatusOK {
			t.Fatalf("%d %+v", r.Status, r)
		}
		if tp := e.topupStatus(t, top); tp.Status != walletd.StatusCompleted {
			t.Fatalf("top-up %+v", tp)
		}
	})
	body := `{"event": "payment.completed", "order_reference": "` + itoa(id) + `", "amount": "29.99", "currency": "USD"}`
	r := send(body, phpSign(body, genericSecret))
	if r.Status != http.StatusOK {
		t.Fatalf("%d %+v", r.Status, r)
	}
	o := e.orderStatus(t, id)
	if o.Status != walletd.OrderProcessing || o.PaymentMethod != walletd.PayGeneric {
		t.Fatalf("order %+v", o)
	}
	// The same body again (no id field: deduplicated on its hash).
	if r := send(body, phpSign(body, genericSecret)); r.Status != http.StatusOK {
		t.Fatalf("again %d", r.Status)
	}
	if o := e.orderStatus(t, id); len(o.Payments) != 1 {
		t.Fatalf("payments %d", len(o.Payments))
	}
}

// TestGeneric_Mapping: configured fields, nested, with an id field.
func TestGeneric_Mapping(t *testing.T) {
	e := newEnv(t, nil)
	e.configure(t, "generic", inbound.GatewayInput{Secret: genericSecret, Mapping: &inbound.Mapping{
		Event: "type", ID: "meta.delivery", OrderReference: "data.order.number", Amount: "data.total.value", Currency: "data.total.currency",
		Events: map[string]string{"charge.ok": inbound.KindSucceeded}}})
	id := e.order(t, "100", "JPY", false)
	body := []byte(`{"type": "charge.ok", "meta": {"delivery": 77}, "data": {"order": {"number": ` + itoa(id) + `}, "total": {"value": 100, "currency": "jpy"}}}`)
	h, _ := genericSign(body)
	if r := e.deliver("generic", h, body); r.Status != http.StatusOK {
		t.Fatalf("%d %+v", r.Status, r)
	}
	if o := e.orderStatus(t, id); o.Status != walletd.OrderProcessing {
		t.Fatalf("order %s", o.Status)
	}
	logs, _, _ := e.p.Logs(context.Background(), "generic", "success", 5)
	if len(logs) != 1 || logs[0].ProviderID != "77" {
		t.Fatalf("logs %+v", logs)
	}
}

// TestRegisterAdapter: a gateway is one adapter registered by name; a
// name registered twice panics.
func TestRegisterAdapter(t *testing.T) {
	if got := strings.Join(inbound.Gateways(), ","); got != "generic,paypal,stripe" {
		t.Fatalf("gateways %s", got)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("a second stripe adapter was accepted")
		}
	}()
	inbound.RegisterAdapter("stripe", func(inbound.AdapterOptions) inbound.Adapter { return nil })
}
