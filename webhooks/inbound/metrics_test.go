package inbound_test

import (
	"context"
	"database/sql"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/walletd/walletd/sqlitedb"
	"github.com/walletd/walletd/webhooks/inbound"
)

// TestPipeline_Metrics: receptions by gateway and outcome, results,
// processing time, the success ratio and the dead-letter depth; an
// unknown gateway adds no series.
func TestPipeline_Metrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := newEnv(t, func(p *inbound.Pipeline) { p.Metrics = inbound.NewMetrics(reg) })
	e.configure(t, "stripe", inbound.GatewayInput{Secret: stripeSecret})
	id := e.order(t, "2.00", "USD", false)
	ok := paymentIntent("evt_met_ok", id, 200, "usd")
	e.deliver("stripe", stripeHeader(ok, stripeSecret, time.Now()), ok)
	e.deliver("stripe", stripeHeader(ok, stripeSecret, time.Now()), ok)
	e.deliver("stripe", http.Header{}, ok)
	bad := paymentIntent("evt_met_bad", e.order(t, "3.00", "USD", false), 1, "usd")
	e.deliver("stripe", stripeHeader(bad, stripeSecret, time.Now()), bad)
	for i := range 50 {
		e.deliver("made-up-"+string(rune('a'+i%26)), http.Header{}, ok)
	}
	want := `
# HELP walletd_inbound_dead_letters Inbound events in the dead-letter queue.
# TYPE walletd_inbound_dead_letters gauge
walletd_inbound_dead_letters 1
# HELP walletd_inbound_processed_total Attempts at inbound events by gateway and result (success, error, retry, dead).
# TYPE walletd_inbound_processed_total counter
walletd_inbound_processed_total{gateway="stripe",result="dead"} 1
walletd_inbound_processed_total{gateway="stripe",result="success"} 1
# HELP walletd_inbound_receptions_total Inbound gateway webhook deliveries by gateway and outcome (accepted, duplicate, invalid_signature, rate_limited …).
# TYPE walletd_inbound_receptions_total counter
walletd_inbound_receptions_total{gateway="stripe",outcome="accepted"} 2
walletd_inbound_receptions_total{gateway="stripe",outcome="duplicate"} 1
walletd_inbound_receptions_total{gateway="stripe",outcome="invalid_signature"} 1
# HELP walletd_inbound_success_ratio Share of settled inbound events that succeeded since start, by gateway (0 to 1).
# TYPE walletd_inbound_success_ratio gauge
walletd_inbound_success_ratio{gateway="stripe"} 0.5
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "walletd_inbound_dead_letters", "walletd_inbound_processed_total",
		"walletd_inbound_receptions_total", "walletd_inbound_success_ratio"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(reg, "walletd_inbound_processing_seconds"); n != 1 {
		t.Fatalf("%d processing time series", n)
	}
}

// TestDB_SecretSealed: a gateway's secret is sealed at rest and opens
// again after a restart.
func TestDB_SecretSealed(t *testing.T) {
	e := newEnv(t, nil)
	e.configure(t, "stripe", inbound.GatewayInput{Secret: stripeSecret})
	db, err := sqlitedb.OpenReadOnly(filepath.Join(e.dir, "webhooks.db"), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var cfg, secret string
	if err := db.QueryRow(`SELECT config, secret FROM inbound_gateways WHERE gateway = 'stripe'`).Scan(&cfg, &secret); err != nil && err != sql.ErrNoRows {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, "v1:") || strings.Contains(secret+cfg, stripeSecret) {
		t.Fatalf("stored %q %q", secret, cfg)
	}
	e.restart(t)
	g, err := e.db.Gateway(context.Background(), "stripe")
	if err != nil || g.Secret != stripeSecret {
		t.Fatalf("%v %v", g, err)
	}
}
