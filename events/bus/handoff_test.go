package bus_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/events/bus"
	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/ledger/sqlite"
	"github.com/walletd/walletd/walletdtest"
)

// TestRelay_UnsyncedBatchIsNeverPublished runs the writer with a Sync that
// the test holds, and a gated relay fed by OnDurable: a batch committed
// to the database (readers see it) but not synced is never published,
// and once synced it is published exactly once, in order.
func TestRelay_UnsyncedBatchIsNeverPublished(t *testing.T) {
	e := walletdtest.RunJetStream(t)
	ctx := context.Background()
	if _, err := bus.EnsureStream(ctx, e.JS, bus.StreamConfig{}); err != nil {
		t.Fatal(err)
	}
	var hold sync.RWMutex
	var relay atomic.Pointer[bus.Relay]
	l := walletdtest.MustOpenLedger(t, func(c *ledger.WriterConfig) {
		c.Sync = func() error {
			hold.RLock() // waits while the test holds the disk
			defer hold.RUnlock()
			return nil
		}
		c.OnDurable = func(es []*walletd.Entry, cp *walletd.Checkpoint) { relay.Load().Offer(es, cp) }
		c.CheckpointEvery = 3
	})
	r := &bus.Relay{JS: e.JS, Stream: "WALLETD", Prefix: "walletd", Source: sqlite.NewOutbox(l.DB, "https://shop.example"),
		Logger: quiet, Idle: 10 * time.Millisecond, Gated: true}
	relay.Store(r)
	if err := r.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })

	a := l.MustWallet(t, "alice", "USD")
	l.MustCredit(t, a, "1.00")
	wantMsgs := func(n int) {
		t.Helper()
		walletdtest.CheckFor(t, 5*time.Second, 10*time.Millisecond, func() error {
			if got := len(streamRecords(t, e)); got != n {
				return fmt.Errorf("%d messages in the stream, want %d", got, n)
			}
			return nil
		})
	}
	wantMsgs(2)

	hold.Lock()
	done := make(chan error, 1)
	go func() {
		_, err := l.Writer.Submit(ctx, "", &ledger.Post{WalletID: a, Kind: walletd.KindCredit, Amount: "2.00", Type: "topup"})
		done <- err
	}()
	walletdtest.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		if es, err := l.DB.Entries(ctx, 0, 100); err != nil || len(es) < 3 {
			return errors.New("credit not committed yet")
		}
		return nil
	})
	r.Notify()
	walletdtest.CheckHolds(t, 300*time.Millisecond, 10*time.Millisecond, func() error {
		if n := len(streamRecords(t, e)); n != 2 {
			return fmt.Errorf("%d messages in the stream while the batch is not durable", n)
		}
		select {
		case <-done:
			return errors.New("credit answered before its batch was durable")
		default:
		}
		return nil
	})
	hold.Unlock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// The credit and the checkpoint at seq 3.
	wantMsgs(4)
	want := expectedRecords(t, l)
	got := streamRecords(t, e)
	if len(got) != len(want) {
		t.Fatalf("%d messages, want %d", len(got), len(want))
	}
	for i := range want {
		if id := got[i].Header.Get("Nats-Msg-Id"); id != want[i].Envelope.ID || string(got[i].Data) != string(want[i].Body()) {
			t.Fatalf("message %d: id %s, want %s (%s)", i, id, want[i].Envelope.ID, want[i].Key())
		}
	}
}

// TestRelay_HandoffMatchesOutbox publishes a run of batches through the
// hand-off, with a relay that must also read the outbox for what came
// before it: the stream equals the outbox, record for record.
func TestRelay_HandoffMatchesOutbox(t *testing.T) {
	e := walletdtest.RunJetStream(t)
	ctx := context.Background()
	if _, err := bus.EnsureStream(ctx, e.JS, bus.StreamConfig{}); err != nil {
		t.Fatal(err)
	}
	var relay atomic.Pointer[bus.Relay]
	l := walletdtest.MustOpenLedger(t, func(c *ledger.WriterConfig) {
		c.Sync = func() error { return nil }
		c.OnDurable = func(es []*walletd.Entry, cp *walletd.Checkpoint) {
			if r := relay.Load(); r != nil {
				r.Offer(es, cp)
			}
		}
		c.CheckpointEvery = 7
		c.CheckpointInterval = 5 * time.Millisecond // checkpoint-only batches too
	})
	a := l.MustWallet(t, "alice", "USD")
	b := l.MustWallet(t, "bob", "USD")
	l.MustCredit(t, a, "100.00") // before the relay: read from the outbox
	r := &bus.Relay{JS: e.JS, Stream: "WALLETD", Prefix: "walletd", Source: sqlite.NewOutbox(l.DB, "https://shop.example"),
		Logger: quiet, Idle: 10 * time.Millisecond, Gated: true, MaxHandoff: 40}
	relay.Store(r)
	if err := r.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 25 {
				var cmd walletd.Command = &ledger.Post{WalletID: b, Kind: walletd.KindCredit, Amount: "1.00", Type: "topup"}
				if j%5 == 0 {
					cmd = &ledger.Transfer{FromWalletID: a, ToWalletID: b, Amount: "0.01"}
				}
				if _, err := l.Writer.Submit(ctx, fmt.Sprintf("k-%d-%d", i, j), cmd); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	time.Sleep(50 * time.Millisecond) // a last checkpoint-only batch
	want := expectedRecords(t, l)
	walletdtest.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		if n := len(streamRecords(t, e)); n != len(want) {
			return fmt.Errorf("%d messages, want %d", n, len(want))
		}
		return nil
	})
	got := streamRecords(t, e)
	for i := range want {
		if id := got[i].Header.Get("Nats-Msg-Id"); id != want[i].Envelope.ID || string(got[i].Data) != string(want[i].Body()) {
			t.Fatalf("message %d: id %s, want %s (%s)", i, id, want[i].Envelope.ID, want[i].Key())
		}
	}
}
