package ledger_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/walletdtest"
)

// gate is a Sync that a test can hold: while held, Sync waits.
type gate struct {
	hold  sync.RWMutex
	calls atomic.Int64
	fail  atomic.Pointer[error]
}

func (g *gate) sync() error {
	g.hold.RLock()
	defer g.hold.RUnlock()
	g.calls.Add(1)
	if err := g.fail.Load(); err != nil {
		return *err
	}
	return nil
}

// submitAsync submits cmd in a goroutine and returns where its answer
// comes.
func submitAsync(l *walletdtest.Ledger, key string, cmd walletd.Command) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := l.Writer.Submit(context.Background(), key, cmd)
		done <- err
	}()
	return done
}

func committedEntries(t *testing.T, l *walletdtest.Ledger) int {
	t.Helper()
	es, err := l.DB.Entries(context.Background(), 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

func TestWriter_PipelinedCommitAnswersOnlyDurableBatches(t *testing.T) {
	g := &gate{}
	var mu sync.Mutex
	var handed []uint64 // seqs handed on by OnDurable, in order
	l := walletdtest.MustOpenLedger(t, func(c *ledger.WriterConfig) {
		c.Sync = g.sync
		c.CheckpointEvery = 0
		c.OnDurable = func(es []*walletd.Entry, _ *walletd.Checkpoint) {
			mu.Lock()
			defer mu.Unlock()
			for _, e := range es {
				handed = append(handed, e.Seq)
			}
		}
	})
	a := l.MustWallet(t, "alice", "USD")
	handedSeqs := func() []uint64 {
		mu.Lock()
		defer mu.Unlock()
		return append([]uint64(nil), handed...)
	}

	g.hold.Lock() // the disk is slow: no Sync returns
	first := submitAsync(l, "k-1", credit(a, "1.00"))
	walletdtest.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		if committedEntries(t, l) < 2 {
			return errors.New("first credit not committed yet")
		}
		return nil
	})
	// Batch N+1 is written while batch N's Sync runs.
	second := submitAsync(l, "", credit(a, "2.00"))
	walletdtest.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		if committedEntries(t, l) < 3 {
			return errors.New("second credit not committed yet")
		}
		return nil
	})
	// A replay that reads the committed entry waits for its Sync too.
	replay := submitAsync(l, "k-1", credit(a, "1.00"))
	walletdtest.CheckHolds(t, 300*time.Millisecond, 10*time.Millisecond, func() error {
		select {
		case err := <-first:
			return errors.New("first credit answered before its batch was durable: " + errString(err))
		case err := <-second:
			return errors.New("second credit answered before its batch was durable: " + errString(err))
		case err := <-replay:
			return errors.New("replay answered before the original was durable: " + errString(err))
		default:
		}
		if got := handedSeqs(); len(got) != 1 {
			return errors.New("entries handed on before they were durable")
		}
		return nil
	})

	g.hold.Unlock()
	for _, ch := range []<-chan error{first, second, replay} {
		select {
		case err := <-ch:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no answer after the Sync")
		}
	}
	if got := handedSeqs(); len(got) != 3 || got[0] != 1 || got[1] != 2 || got[2] != 3 {
		t.Fatalf("handed on %v, want [1 2 3] in order", got)
	}
	if g.calls.Load() < 2 {
		t.Fatalf("%d syncs", g.calls.Load())
	}
}

func errString(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

func TestWriter_SyncFailureStopsTheWriter(t *testing.T) {
	g := &gate{}
	var handed atomic.Int64
	l := walletdtest.MustOpenLedger(t, func(c *ledger.WriterConfig) {
		c.Sync = g.sync
		c.OnDurable = func(es []*walletd.Entry, _ *walletd.Checkpoint) { handed.Add(int64(len(es))) }
	})
	a := l.MustWallet(t, "alice", "USD")
	failure := errors.New("EIO")
	g.fail.Store(&failure)
	_, err := l.Writer.Submit(context.Background(), "k-2", credit(a, "5.00"))
	var we *walletd.Error
	if !errors.As(err, &we) || we.Code != walletd.EUnavailable {
		t.Fatalf("credit whose Sync failed: %v, want %s", err, walletd.EUnavailable)
	}
	if handed.Load() != 1 {
		t.Fatalf("%d entries handed on, want only the wallet's", handed.Load())
	}
	// The writer stopped: nothing more is taken.
	if _, err := l.Writer.Submit(context.Background(), "", credit(a, "1.00")); !errors.As(err, &we) || we.Code != walletd.EUnavailable {
		t.Fatalf("credit after a failed Sync: %v", err)
	}
}
