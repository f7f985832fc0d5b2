package http_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82/webhook"
	"github.com/walletd/walletd"

	whttp "github.com/walletd/walletd/http"
	"github.com/walletd/walletd/walletdtest"
	"github.com/walletd/walletd/webhooks"
	"github.com/walletd/walletd/webhooks/inbound"
)

const inboundStripeSecret = "whsec_http_test_0123456789abcdef"

// mustInboundServer is a server with an inbound pipeline on a real
// webhooks.db (secrets sealed).
func mustInboundServer(tb testing.TB) (*testServer, *inbound.Pipeline) {
	tb.Helper()
	return mustInboundCheckoutServer(tb, nil)
}

// mustInboundCheckoutServer is mustInboundServer whose payment pages are
// co.
func mustInboundCheckoutServer(tb testing.TB, co *whttp.Checkout) (*testServer, *inbound.Pipeline) {
	tb.Helper()
	l := walletdtest.MustOpenLedger(tb, nil)
	k, token, err := walletd.NewAPIKey("admin", []string{walletd.ScopeAdmin}, time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	if err := l.DB.CreateAPIKey(context.Background(), k); err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	key, err := webhooks.LoadOrCreateKey(filepath.Join(dir, "webhooks.key"))
	if err != nil {
		tb.Fatal(err)
	}
	seal, _ := webhooks.NewSealer(key)
	db, err := inbound.OpenDB(context.Background(), filepath.Join(dir, "webhooks.db"), seal)
	if err != nil {
		tb.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	p := &inbound.Pipeline{DB: db, Writer: l.Writer, Ledger: l.DB, Logger: logger, PollInterval: 20 * time.Millisecond,
		PublicURL: "https://shop.example.com"}
	if err := p.Open(); err != nil {
		tb.Fatal(err)
	}
	s := &whttp.Server{Addr: "127.0.0.1:0", Writer: l.Writer, Ledger: l.DB, APIKeys: l.DB, Logger: logger, Inbound: p, Checkout: co}
	if err := s.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close(); p.Close(); db.Close() })
	return &testServer{Server: s, L: l, Admin: token, URL: s.URL()}, p
}

func stripeBody(evt string, orderID int64, amount int64, currency string) string {
	b, _ := json.Marshal(map[string]any{"id": evt, "object": "event", "type": "payment_intent.succeeded", "api_version": "2025-07-30.basil",
		"data": map[string]any{"object": map[string]any{"id": "pi_" + evt, "object": "payment_intent", "amount": amount, "amount_received": amount,
			"currency": currency, "status": "succeeded", "metadata": map[string]any{"order_id": strconv.FormatInt(orderID, 10)}}}})
	return string(b)
}

func stripeSig(body string) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(body), Secret: inboundStripeSecret}).Header
}

func TestInbound_HTTP(t *testing.T) {
	s, _ := mustInboundServer(t)
	// Not configured yet: the gateway's endpoint answers 404.
	s.do(t, "POST", "/v1/inbound/stripe", `{}`, "Authorization", "").expect(t, 404, "gateway_not_configured")
	t.Run("PutGatewayRefused", func(t *testing.T) {
		for _, c := range []struct{ path, body, code string }{
			{"/v1/inbound/gateways/stripe", `{}`, "invalid_request"},
			{"/v1/inbound/gateways/stripe", `{"secret": "short"}`, "invalid_request"},
			{"/v1/inbound/gateways/stripe", `{"secret": 12}`, "invalid_json"},
			{"/v1/inbound/gateways/stripe", `{"secret": "` + inboundStripeSecret + `", "allow_cidrs": ["300.1.1.1/8"]}`, "invalid_request"},
			{"/v1/inbound/gateways/stripe", `{"secret": "` + inboundStripeSecret + `", "rate_per_minute": -1}`, "invalid_request"},
			{"/v1/inbound/gateways/stripe", `{"secret": "` + inboundStripeSecret + `", "rules": [{"trigger": "payment.succeeded", "actions": ["drop_tables"]}]}`, "invalid_request"},
			{"/v1/inbound/gateways/stripe", `{"secret": "` + inboundStripeSecret + `", "unknown": 1}`, "invalid_json"},
			{"/v1/inbound/gateways/paypal", `{"secret": "abcdefghijklmnopqrstu"}`, "invalid_request"},
			{"/v1/inbound/gateways/paypal", `{}`, "invalid_request"},
			{"/v1/inbound/gateways/nosuch", `{"secret": "` + inboundStripeSecret + `"}`, "not_found"},
			{"/v1/inbound/gateways/generic", `{"secret": "abcdefghijklmnopqrstu", "mapping": {"events": {"x": "payment.exploded"}}}`, "invalid_request"},
		} {
			status := 400
			if c.code == "not_found" {
				status = 404
			}
			s.do(t, "PUT", c.path, c.body).expect(t, status, c.code)
		}
	})
	r := s.do(t, "PUT", "/v1/inbound/gateways/stripe", `{"secret": "`+inboundStripeSecret+`"}`)
	r.expect(t, 200, "")
	if strings.Contains(string(r.Raw), inboundStripeSecret) || !strings.Contains(string(r.Raw), `"secret_set":true`) ||
		!strings.Contains(string(r.Raw), `"rate_per_minute":100`) || !strings.Contains(string(r.Raw), `"burst":10`) {
		t.Fatalf("put answer %s", r.Raw)
	}
	r = s.do(t, "POST", "/v1/orders", `{"currency": "USD", "total": "29.99"}`)
	r.expect(t, 201, "")
	var order struct {
		ID int64 `json:"id"`
	}
	r.data(t, &order)

	t.Run("SeedPath", func(t *testing.T) {
		body := stripeBody("evt_http_1", order.ID, 2999, "usd")
		r := s.do(t, "POST", "/wp-json/odcm/v1/webhooks/stripe", body, "Authorization", "", "Stripe-Signature", stripeSig(body))
		r.expect(t, 200, "")
		want := `{"success":true,"message":"Webhook processed successfully","data":{"actions_executed":["complete_order"],"event_id":"evt_http_1","order_id":` +
			strconv.FormatInt(order.ID, 10) + `,"rules_triggered":1}}` + "\n"
		if string(r.Raw) != want {
			t.Fatalf("answer %s\nwant   %s", r.Raw, want)
		}
		g := s.do(t, "GET", "/v1/orders/"+strconv.FormatInt(order.ID, 10), "")
		var o struct {
			Status string `json:"status"`
		}
		g.data(t, &o)
		if o.Status != "processing" {
			t.Fatalf("order %s", g.Raw)
		}
		// The same event on the native path: the first outcome.
		r2 := s.do(t, "POST", "/v1/inbound/stripe", body, "Authorization", "", "Stripe-Signature", stripeSig(body))
		if r2.Status != 200 || string(r2.Raw) != want {
			t.Fatalf("again %d %s", r2.Status, r2.Raw)
		}
	})
	t.Run("Refused", func(t *testing.T) {
		body := stripeBody("evt_http_2", order.ID, 2999, "usd")
		r := s.do(t, "POST", "/v1/inbound/stripe", body, "Authorization", "", "Stripe-Signature", "t=1,v1=00")
		if r.Status != 401 || string(r.Raw) != `{"success":false,"message":"Webhook signature verification failed","code":"invalid_signature"}`+"\n" {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
		big := strings.Repeat("x", whttp.MaxBodyBytes+1)
		s.do(t, "POST", "/v1/inbound/stripe", big, "Authorization", "").expect(t, 413, "payload_too_large")
		nf := stripeBody("evt_http_nf", 424242, 100, "usd")
		r = s.do(t, "POST", "/v1/inbound/stripe", nf, "Authorization", "", "Stripe-Signature", stripeSig(nf))
		if r.Status != 404 || string(r.Raw) != `{"success":false,"message":"Order reference not found","code":"order_not_found","data":{"order_reference":"424242"}}`+"\n" {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
		s.do(t, "POST", "/v1/inbound/nosuch", `{}`, "Authorization", "").expect(t, 404, "gateway_not_found")
	})
	t.Run("RateLimited", func(t *testing.T) {
		s.do(t, "PUT", "/v1/inbound/gateways/generic", `{"secret": "abcdefghijklmnopqrstu", "burst": 2}`).expect(t, 200, "")
		var last *response
		for range 3 {
			last = s.do(t, "POST", "/v1/inbound/generic", `{"event": "noop"}`, "Authorization", "", "X-Webhook-Secret", "00")
		}
		last.expect(t, 429, "rate_limited")
		if ra, err := strconv.Atoi(last.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 10 {
			t.Fatalf("Retry-After %q", last.Header.Get("Retry-After"))
		}
	})
	t.Run("Management", func(t *testing.T) {
		// The seed's list.
		r := s.do(t, "GET", "/wp-json/odcm/v1/webhooks/", "")
		r.expect(t, 200, "")
		var list struct {
			Endpoints []map[string]any `json:"endpoints"`
		}
		r.data(t, &list)
		if len(list.Endpoints) != 3 || strings.Contains(string(r.Raw), inboundStripeSecret) {
			t.Fatalf("list %s", r.Raw)
		}
		byName := map[string]map[string]any{}
		for _, e := range list.Endpoints {
			byName[e["gateway"].(string)] = e
		}
		st := byName["stripe"]
		if st["url"] != "https://shop.example.com/wp-json/odcm/v1/webhooks/stripe" || st["status"] != "active" || st["last_received"] == nil ||
			st["success_rate"] == nil || byName["paypal"]["status"] != "not_configured" || byName["paypal"]["success_rate"] != nil {
			t.Fatalf("list %s", r.Raw)
		}
		// Logs, with the seed's fields and total.
		r = s.do(t, "GET", "/wp-json/odcm/v1/webhooks/logs/stripe?limit=2", "")
		r.expect(t, 200, "")
		var logs struct {
			Logs  []map[string]any `json:"logs"`
			Total int              `json:"total"`
		}
		r.data(t, &logs)
		if len(logs.Logs) != 2 || logs.Total < 5 {
			t.Fatalf("logs %s", r.Raw)
		}
		for _, f := range []string{"id", "timestamp", "gateway", "event_type", "status", "processing_time_ms", "rules_triggered"} {
			if _, ok := logs.Logs[0][f]; !ok {
				t.Fatalf("log lacks %s: %s", f, r.Raw)
			}
		}
		r = s.do(t, "GET", "/wp-json/odcm/v1/webhooks/logs/stripe?status=success", "")
		r.data(t, &logs)
		if logs.Total != 2 || logs.Logs[0]["order_id"] != float64(order.ID) || !strings.HasPrefix(logs.Logs[0]["id"].(string), "log_") {
			t.Fatalf("success logs %s", r.Raw)
		}
		s.do(t, "GET", "/wp-json/odcm/v1/webhooks/logs/stripe?status=bogus", "").expect(t, 400, "invalid_request")
		s.do(t, "GET", "/wp-json/odcm/v1/webhooks/logs/stripe?limit=0", "").expect(t, 400, "invalid_request")
		s.do(t, "GET", "/wp-json/odcm/v1/webhooks/logs/nosuch", "").expect(t, 404, "not_found")
		s.do(t, "GET", "/wp-json/odcm/v1/webhooks/", "", "Authorization", "").expect(t, 401, "unauthorized")
	})
	t.Run("TestEndpoint", func(t *testing.T) {
		r := s.do(t, "POST", "/v1/orders", `{"currency": "USD", "total": "5.00"}`)
		var o2 struct {
			ID int64 `json:"id"`
		}
		r.data(t, &o2)
		r = s.do(t, "POST", "/wp-json/odcm/v1/webhooks/test/stripe", `{"order_id": `+strconv.FormatInt(o2.ID, 10)+`}`)
		r.expect(t, 200, "")
		var res struct {
			TestEventSent   bool           `json:"test_event_sent"`
			GatewayResponse map[string]any `json:"gateway_response"`
			AuditEntryID    int64          `json:"audit_entry_id"`
		}
		r.data(t, &res)
		if !res.TestEventSent || res.GatewayResponse["processed"] != true || res.GatewayResponse["rules_evaluated"] != float64(5) ||
			res.AuditEntryID == 0 || res.GatewayResponse["actions_executed"].([]any)[0] != "complete_order" {
			t.Fatalf("test %s", r.Raw)
		}
		s.do(t, "POST", "/wp-json/odcm/v1/webhooks/test/stripe", `{"order_id": 999999}`).expect(t, 404, "not_found")
		s.do(t, "POST", "/wp-json/odcm/v1/webhooks/test/stripe", `{}`).expect(t, 400, "invalid_request")
		s.do(t, "POST", "/wp-json/odcm/v1/webhooks/test/paypal", `{"order_id": 1}`).expect(t, 404, "not_found")
	})
	t.Run("DeadLetters", func(t *testing.T) {
		r := s.do(t, "POST", "/v1/orders", `{"currency": "USD", "total": "8.00"}`)
		var o3 struct {
			ID int64 `json:"id"`
		}
		r.data(t, &o3)
		body := stripeBody("evt_http_mis", o3.ID, 799, "usd")
		s.do(t, "POST", "/v1/inbound/stripe", body, "Authorization", "", "Stripe-Signature", stripeSig(body)).expect(t, 422, "payment_mismatch")
		r = s.do(t, "GET", "/v1/inbound/dead-letters", "")
		r.expect(t, 200, "")
		var dl struct {
			DeadLetters []struct {
				ID         int64  `json:"id"`
				ProviderID string `json:"provider_event_id"`
				DeadReason string `json:"dead_reason"`
			} `json:"dead_letters"`
		}
		r.data(t, &dl)
		if len(dl.DeadLetters) != 1 || dl.DeadLetters[0].ProviderID != "evt_http_mis" {
			t.Fatalf("dead letters %s", r.Raw)
		}
		id := strconv.FormatInt(dl.DeadLetters[0].ID, 10)
		r = s.do(t, "GET", "/v1/inbound/dead-letters/"+id, "")
		if r.Status != 200 || !strings.Contains(string(r.Raw), `evt_http_mis`) || !strings.Contains(string(r.Raw), `"body":`) {
			t.Fatalf("show %s", r.Raw)
		}
		s.do(t, "POST", "/v1/inbound/dead-letters/"+id+"/redrive", "").expect(t, 200, "")
		s.do(t, "POST", "/v1/inbound/dead-letters/"+id+"/discard", "").expect(t, 200, "")
		s.do(t, "POST", "/v1/inbound/dead-letters/"+id+"/discard", "").expect(t, 409, "conflict")
		s.do(t, "GET", "/v1/inbound/dead-letters/abc", "").expect(t, 404, "not_found")
		s.do(t, "GET", "/v1/inbound/dead-letters?before=x", "").expect(t, 400, "invalid_request")
	})
}
