package inbound_test

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/walletdtest"
	"github.com/walletd/walletd/webhooks/inbound"
)

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	for _, c := range []struct {
		remote string
		xff    []string
		want   string
	}{
		{"192.0.2.1:1234", nil, "192.0.2.1"},
		{"192.0.2.1:1234", []string{"203.0.113.9"}, "192.0.2.1"},                // not from a trusted proxy: ignored
		{"10.0.0.5:1234", []string{"203.0.113.9"}, "203.0.113.9"},               // from a trusted proxy
		{"10.0.0.5:1234", []string{"198.51.100.1, 203.0.113.9"}, "203.0.113.9"}, // the last untrusted hop
		{"10.0.0.5:1234", []string{"203.0.113.9, 10.1.1.1"}, "203.0.113.9"},
		{"10.0.0.5:1234", []string{"garbage"}, "10.0.0.5"},
		{"[::ffff:192.0.2.7]:80", nil, "192.0.2.7"},
	} {
		if got := inbound.ClientIP(c.remote, c.xff, trusted); got.String() != c.want {
			t.Errorf("%s %v: %s, want %s", c.remote, c.xff, got, c.want)
		}
	}
}

func TestPipeline_NetworkRules(t *testing.T) {
	var mu sync.Mutex
	clock := time.Now()
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
	e := newEnv(t, func(p *inbound.Pipeline) {
		p.Now = now
		p.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
		p.BlockAfter, p.BlockFor = 3, time.Minute
	})
	ctx := context.Background()
	send := func(gateway, remote, xff string, h http.Header, body []byte) *inbound.Reply {
		if xff != "" {
			h = h.Clone()
			h.Set("X-Forwarded-For", xff)
		}
		return e.p.Receive(ctx, &inbound.Request{Gateway: gateway, Header: h, Body: body, RemoteAddr: remote})
	}
	t.Run("NotConfigured", func(t *testing.T) {
		if r := send("stripe", "192.0.2.1:1", "", http.Header{}, []byte(`{}`)); r.Status != http.StatusNotFound || r.Code != "gateway_not_configured" {
			t.Fatalf("%d %+v", r.Status, r)
		}
		if r := send("nosuch", "192.0.2.1:1", "", http.Header{}, []byte(`{}`)); r.Status != http.StatusNotFound {
			t.Fatalf("%d %+v", r.Status, r)
		}
	})
	e.configure(t, "stripe", inbound.GatewayInput{Secret: stripeSecret, AllowCIDRs: []string{"54.187.174.169", "203.0.113.0/24"}})
	id := e.order(t, "1.00", "USD", false)
	body := paymentIntent("evt_net", id, 100, "usd")
	h := stripeHeader(body, stripeSecret, now())
	t.Run("AllowList", func(t *testing.T) {
		for _, c := range []struct{ remote, xff string }{{"192.0.2.1:1", ""}, {"192.0.2.1:1", "203.0.113.9"}, {"10.0.0.1:1", "192.0.2.50"}} {
			if r := send("stripe", c.remote, c.xff, h, body); r.Status != http.StatusForbidden || r.Code != "ip_not_allowed" {
				t.Fatalf("%v: %d %+v", c, r.Status, r)
			}
		}
		if o := e.orderStatus(t, id); o.Status != walletd.OrderPending {
			t.Fatalf("order %s", o.Status)
		}
		if r := send("stripe", "10.0.0.1:1", "203.0.113.9", h, body); r.Status != http.StatusOK {
			t.Fatalf("via proxy: %d %+v", r.Status, r)
		}
	})
	t.Run("BlockAfterSignatureFailures", func(t *testing.T) {
		forged := stripeHeader(body, "whsec_forged_forged_forged_00", now())
		for range 3 {
			if r := send("stripe", "54.187.174.169:1", "", forged, body); r.Status != http.StatusUnauthorized {
				t.Fatalf("%d", r.Status)
			}
		}
		r := send("stripe", "54.187.174.169:1", "", h, body)
		if r.Status != http.StatusForbidden || r.Code != "ip_blocked" || r.RetryAfter <= 0 {
			t.Fatalf("%d %+v", r.Status, r)
		}
		advance(61 * time.Second)
		h = stripeHeader(body, stripeSecret, now())
		if r := send("stripe", "54.187.174.169:1", "", h, body); r.Status != http.StatusOK {
			t.Fatalf("after the block: %d %+v", r.Status, r)
		}
	})
	t.Run("RateLimit", func(t *testing.T) {
		e.configure(t, "generic", inbound.GatewayInput{Secret: genericSecret, RatePerMinute: 15, Burst: 10, BurstWindowSeconds: 10})
		b := []byte(`{"event": "noop"}`)
		gh, _ := genericSign(b)
		for i := range 10 {
			if r := send("generic", "192.0.2.1:1", "", gh, b); r.Status != http.StatusOK {
				t.Fatalf("request %d: %d %+v", i, r.Status, r)
			}
		}
		r := send("generic", "192.0.2.1:1", "", gh, b)
		if r.Status != http.StatusTooManyRequests || r.Code != "rate_limited" || r.RetryAfter <= 0 || r.RetryAfter > 10*time.Second {
			t.Fatalf("11th in 10 s: %d %+v", r.Status, r)
		}
		// The minute's limit: 15 here; 10 s later 5 more pass.
		advance(10 * time.Second)
		for i := range 5 {
			if r := send("generic", "192.0.2.1:1", "", gh, b); r.Status != http.StatusOK {
				t.Fatalf("request %d: %d %+v", i, r.Status, r)
			}
		}
		r = send("generic", "192.0.2.1:1", "", gh, b)
		if r.Status != http.StatusTooManyRequests || r.RetryAfter < 45*time.Second || r.RetryAfter > 50*time.Second {
			t.Fatalf("16th in a minute: %d %+v", r.Status, r)
		}
		// Over the limit, a valid payment changes nothing.
		oid := e.order(t, "4.00", "USD", false)
		pay := []byte(`{"event": "payment.completed", "order_reference": "` + strconv.FormatInt(oid, 10) + `", "amount": "4.00", "currency": "USD"}`)
		ph, _ := genericSign(pay)
		if r := send("generic", "192.0.2.1:1", "", ph, pay); r.Status != http.StatusTooManyRequests {
			t.Fatalf("%d %+v", r.Status, r)
		}
		if o := e.orderStatus(t, oid); o.Status != walletd.OrderPending {
			t.Fatalf("order %s", o.Status)
		}
		logs, total, _ := e.p.Logs(ctx, "generic", "error", 5)
		if total != 3 || logs[0].Outcome != inbound.OutRateLimited || logs[0].HTTPStatus != http.StatusTooManyRequests {
			t.Fatalf("logs %d %+v", total, logs)
		}
	})
}

// TestPipeline_LogBounded: a flood of refused requests keeps at most
// MaxLogRows log rows.
func TestPipeline_LogBounded(t *testing.T) {
	e := newEnv(t, func(p *inbound.Pipeline) { p.MaxLogRows, p.BlockAfter = 5, -1 })
	e.configure(t, "stripe", inbound.GatewayInput{Secret: stripeSecret})
	for range 20 {
		e.deliver("stripe", http.Header{}, []byte(`{}`))
	}
	walletdtest.CheckFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		_, total, err := e.p.Logs(context.Background(), "stripe", "", 100)
		if err != nil || total != 5 {
			return fmt.Errorf("%d rows, %w", total, err)
		}
		return nil
	})
}
