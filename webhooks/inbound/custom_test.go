package inbound_test

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/webhooks/inbound"
)

// acmeAdapter is a gateway written the way a new one is: verify, parse,
// sample, and its own answer body. It authenticates with a bearer secret
// (enough for the test) and posts {"ref", "order", "status", "amount",
// "currency"}.
type acmeAdapter struct{}

func (acmeAdapter) Name() string     { return "acme" }
func (acmeAdapter) Events() []string { return []string{"approved", "rejected"} }

func (acmeAdapter) Verify(_ context.Context, g *inbound.Gateway, h http.Header, _ []byte, _ time.Time) error {
	if subtle.ConstantTimeCompare([]byte(h.Get("X-Acme-Key")), []byte(g.Secret)) != 1 {
		return fmt.Errorf("%w: bad key", inbound.ErrSignature)
	}
	return nil
}

func (acmeAdapter) Parse(_ *inbound.Gateway, body []byte) (*inbound.Event, error) {
	var b struct{ Ref, Order, Status, Amount, Currency string }
	if err := json.Unmarshal(body, &b); err != nil || b.Ref == "" {
		return nil, fmt.Errorf("%w: bad body", inbound.ErrPayload)
	}
	ev := &inbound.Event{ProviderID: b.Ref + ":" + b.Status, Type: b.Status, Amount: b.Amount, Currency: b.Currency, PaymentRef: b.Ref,
		Target: inbound.Target{Type: inbound.TargetOrder, Ref: b.Order}}
	switch b.Status {
	case "approved":
		ev.Kind = inbound.KindSucceeded
	case "rejected":
		ev.Kind = inbound.KindFailed
	}
	return ev, nil
}

func (acmeAdapter) Sample(_ *inbound.Gateway, t inbound.Target, amount, currency, id string, _ time.Time) ([]byte, error) {
	return json.Marshal(map[string]string{"ref": "test-" + id, "order": t.Ref, "status": "approved", "amount": amount, "currency": currency})
}

func (acmeAdapter) Answer(rep *inbound.Reply) (string, []byte) {
	if rep.Status == http.StatusOK {
		return "text/plain", []byte("OK")
	}
	return "text/plain", []byte("ERROR")
}

// TestPipeline_CustomAdapter: a new gateway gets the pipeline's
// recording, deduplication, rules, actions, log and answer rendering
// without any other change.
func TestPipeline_CustomAdapter(t *testing.T) {
	e := newEnv(t, func(p *inbound.Pipeline) { p.Adapters["acme"] = acmeAdapter{} })
	ctx := context.Background()
	if _, err := e.p.PutGateway(ctx, "acme", &inbound.GatewayInput{Secret: "acme-key-0123456789", RatePerMinute: 1000, Burst: 1000}); err != nil {
		t.Fatal(err)
	}
	id := e.order(t, "100.00", "USD", false)
	body := []byte(`{"ref": "ACME-1", "order": "` + itoa(id) + `", "status": "approved", "amount": "100.00", "currency": "USD"}`)
	for range 3 {
		r := e.deliver("acme", http.Header{"X-Acme-Key": {"acme-key-0123456789"}}, body)
		if ct, b := e.p.Render("acme", r); r.Status != http.StatusOK || ct != "text/plain" || string(b) != "OK" {
			t.Fatalf("%d %s %s", r.Status, ct, b)
		}
	}
	if r := e.deliver("acme", http.Header{"X-Acme-Key": {"wrong"}}, body); r.Status != http.StatusUnauthorized {
		t.Fatalf("%d", r.Status)
	}
	o := e.orderStatus(t, id)
	if o.Status != walletd.OrderProcessing || len(o.Payments) != 1 || o.PaymentMethod != walletd.PayGeneric || o.TransactionID != "ACME-1" {
		t.Fatalf("order %+v", o)
	}
	if _, total, _ := e.p.Logs(ctx, "acme", "", 10); total != 4 {
		t.Fatalf("%d log rows", total)
	}
	if ct, _ := e.p.Render("stripe", &inbound.Reply{Status: 200}); ct != "" {
		t.Fatalf("stripe renders %q", ct)
	}
}
