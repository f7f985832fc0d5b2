package webhooks_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/walletd/walletd"
	"github.com/walletd/walletd/events"
	"github.com/walletd/walletd/events/bus"
	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/ledger/sqlite"
	"github.com/walletd/walletd/walletdtest"
	"github.com/walletd/walletd/webhooks"
)

// TestDispatcher_RecoversFromTheLedger: the stream drops events a stopped
// dispatcher had not recorded; at its restart it reads them from the
// ledger and delivers each one once, byte for byte the envelope the relay
// published, and counts the recovery.
func TestDispatcher_RecoversFromTheLedger(t *testing.T) {
	ctx := context.Background()
	n := mustNATS(t)
	// A checkpoint every 3 entries: checkpoint records in the ranges too.
	l := walletdtest.MustOpenLedger(t, func(c *ledger.WriterConfig) { c.CheckpointEvery = 3 })
	startRelay(t, n, l)
	e := mustService(t)
	rc := newReceiver(t)
	e.create(t, walletd.WebhookEndpointInput{Name: "ERP", URL: rc.URL + "/webhooks/walletpro"})
	rc.waitFor(t, "ping", 1)
	recoveries := bus.NewRecoveryMetrics(prometheus.NewRegistry()).WithLabelValues("webhooks")
	withLedger := func(d *webhooks.Dispatcher) {
		d.Ledger, d.Recoveries = sqlite.NewOutbox(l.DB, siteURL), recoveries
	}
	d := startDispatcher(t, e.Svc, n, withLedger)
	a := l.MustWallet(t, "103", "USD")
	l.MustCredit(t, a, "1.00")
	l.MustCredit(t, a, "2.00")
	rc.waitFor(t, events.WalletCredited, 2)
	waitIdle(t, e, n)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	for i := 3; i <= 9; i++ {
		l.MustCredit(t, a, fmt.Sprintf("%d.00", i))
	}
	outbox := sqlite.NewOutbox(l.DB, siteURL)
	all, err := outbox.After(ctx, 0, -1, 1000)
	if err != nil {
		t.Fatal(err)
	}
	walletdtest.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		if st := streamState(t, n); st.LastSeq != uint64(len(all)) {
			return fmt.Errorf("the stream has %d messages, the ledger %d events", st.LastSeq, len(all))
		}
		return nil
	})
	if _, err := bus.EnsureStream(ctx, n.js, bus.StreamConfig{MaxMsgs: 2, Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	if st := streamState(t, n); st.Msgs != 2 {
		t.Fatalf("the stream holds %d messages, want 2", st.Msgs)
	}
	startDispatcher(t, e.Svc, n, withLedger)
	rc.waitFor(t, events.WalletCredited, 9)
	want := slices.DeleteFunc(all, func(r events.Record) bool { return r.Key() != events.WalletCredited })
	time.Sleep(200 * time.Millisecond) // room for a duplicate to arrive
	got := rc.byEvent(t, events.WalletCredited)
	if len(got) != len(want) {
		t.Fatalf("%d wallet.credited deliveries, want %d (one per event)", len(got), len(want))
	}
	byID := map[string]string{}
	for _, r := range got {
		byID[r.env(t).ID] = string(r.Body)
	}
	for _, rec := range want {
		if body := byID[rec.Envelope.ID]; body != string(rec.Body()) {
			t.Fatalf("event %s (seq %d) delivered as\n%s\nwant the ledger's envelope\n%s", rec.Envelope.ID, rec.Seq, body, rec.Body())
		}
	}
	var m dto.Metric
	recoveries.Write(&m)
	if got := m.GetCounter().GetValue(); got != 1 {
		t.Errorf("recoveries = %v, want 1", got)
	}
}

func streamState(tb testing.TB, n *natsEnv) (st struct{ FirstSeq, LastSeq, Msgs uint64 }) {
	tb.Helper()
	s, err := n.js.Stream(context.Background(), "WALLETD")
	if err != nil {
		tb.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	st.FirstSeq, st.LastSeq, st.Msgs = info.State.FirstSeq, info.State.LastSeq, info.State.Msgs
	return st
}
