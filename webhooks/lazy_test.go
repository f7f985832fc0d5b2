package webhooks_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/events"
	"github.com/walletd/walletd/walletdtest"
	"github.com/walletd/walletd/webhooks"
)

// storedSeq is the stream position webhooks.db holds.
func storedSeq(tb testing.TB, e *svcEnv) uint64 {
	tb.Helper()
	var seq uint64
	rawDB(tb, e).QueryRow(`SELECT COALESCE((SELECT value FROM meta WHERE key = 'dispatch_stream_seq'), '0')`).Scan(&seq)
	return seq
}

func wantStored(tb testing.TB, e *svcEnv, seq uint64) {
	tb.Helper()
	walletdtest.CheckFor(tb, 10*time.Second, 10*time.Millisecond, func() error {
		if got := storedSeq(tb, e); got != seq {
			return fmt.Errorf("stored stream seq %d, want %d", got, seq)
		}
		return nil
	})
}

// TestDispatcher_LazyPosition: batches that make no delivery store no
// position; the next batch with deliveries (or the idle check) stores it;
// a dispatcher that stops with its position unstored replays those batches
// at its next start, and they again make no delivery.
func TestDispatcher_LazyPosition(t *testing.T) {
	t.Parallel()
	n := mustNATS(t)
	e := mustService(t)
	lazy := func(d *webhooks.Dispatcher) { d.Idle, d.PositionEvery = time.Hour, time.Hour }
	d := startDispatcher(t, e.Svc, n, lazy)

	n.publish(t, events.WalletDebited, `{}`) // the first batch stores its position
	wantStored(t, e, 1)
	for range 3 {
		n.publish(t, events.WalletDebited, `{}`)
	}
	walletdtest.CheckHolds(t, 300*time.Millisecond, 20*time.Millisecond, func() error {
		if got := storedSeq(t, e); got != 1 {
			return fmt.Errorf("stored stream seq %d: a batch without deliveries wrote its position", got)
		}
		return nil
	})

	rc := newReceiver(t)
	e.create(t, walletd.WebhookEndpointInput{URL: rc.URL, Events: []string{events.WalletCredited}})
	n.publish(t, events.WalletCredited, `{"n":5}`)
	rc.waitFor(t, events.WalletCredited, 1)
	wantStored(t, e, 5) // with the delivery

	// Two events no endpoint wants, then a stop before any is stored.
	n.publish(t, events.WalletDebited, `{}`)
	n.publish(t, events.WalletDebited, `{}`)
	time.Sleep(200 * time.Millisecond)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if got := storedSeq(t, e); got != 5 {
		t.Fatalf("stored stream seq %d after the stop, want 5", got)
	}
	// The next start replays 6 and 7 (nothing to deliver) and, idle, stores
	// its position.
	startDispatcher(t, e.Svc, n, func(d *webhooks.Dispatcher) { d.Idle = 50 * time.Millisecond })
	wantStored(t, e, 7)
	n.publish(t, events.WalletCredited, `{"n":8}`)
	rc.waitFor(t, events.WalletCredited, 2)
	waitIdle(t, e, n)
	var n5, n8 int
	for _, r := range rc.byEvent(t, events.WalletCredited) {
		var data struct{ N int }
		env := r.env(t)
		if err := json.Unmarshal(env.Data, &data); err != nil {
			t.Fatal(err)
		}
		switch data.N {
		case 5:
			n5++
		case 8:
			n8++
		}
	}
	if n5 != 1 || n8 != 1 {
		t.Fatalf("deliveries: event 5 ×%d, event 8 ×%d; want one each", n5, n8)
	}
}
