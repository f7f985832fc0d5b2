package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/walletd/walletd"
	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/walletdtest"
)

// IdempotencyKeysIn counts the rows the key filter's build reads.
func (s *countingStore) IdempotencyKeysIn(ctx context.Context, from, to uint64, yield func(string)) (int, error) {
	n, err := s.DB.IdempotencyKeysIn(ctx, from, to, yield)
	s.count("IdempotencyKeysIn", n)
	return n, err
}

// buildStore is the counting store whose background reads of keys wait
// for a gate, or fail, on demand.
type buildStore struct {
	*countingStore
	mu      sync.Mutex
	gate    chan struct{} // IdempotencyKeysIn waits for it to close
	entered chan struct{} // closed when a read waits at the gate
	fails   int           // IdempotencyKeysIn fails this many more times
}

func (s *buildStore) hold() (gate, entered chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gate, s.entered = make(chan struct{}), make(chan struct{})
	return s.gate, s.entered
}

func (s *buildStore) IdempotencyKeysIn(ctx context.Context, from, to uint64, yield func(string)) (int, error) {
	s.mu.Lock()
	gate, entered := s.gate, s.entered
	s.entered = nil
	fail := s.fails > 0
	if fail {
		s.fails--
	}
	s.mu.Unlock()
	if entered != nil {
		close(entered)
	}
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	if fail {
		return 0, errors.New("buildStore: disk error")
	}
	return s.countingStore.IdempotencyKeysIn(ctx, from, to, yield)
}

// keyedLedger writes n credits with keys k-0 … k-(n-1) inside the window,
// from 8 goroutines, and returns the wallet and the seq of each key's
// entry.
func keyedLedger(t *testing.T, n int, modify func(*ledger.WriterConfig)) (*walletdtest.Ledger, string, []uint64) {
	t.Helper()
	l := walletdtest.MustOpenLedger(t, modify)
	wal := l.MustWallet(t, "u1", "USD")
	seqs := make([]uint64, n)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < n; i += 8 {
				res, err := submit(l, fmt.Sprintf("k-%d", i), credit(wal, "1.00"))
				if err != nil {
					t.Error(err)
					return
				}
				seqs[i] = res.Entries[0].Seq
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return l, wal, seqs
}

// TestWriter_KeyFilterBuildsInBackground restarts a ledger whose
// idempotency window holds far more entries than start-up may read: the
// start-up reads a bounded number of rows (no key rows at all), the
// filter is built after Open, and replays inside the window answer the
// original request before, during and after the build, with the window
// of the default kind and with keys kept forever.
func TestWriter_KeyFilterBuildsInBackground(t *testing.T) {
	for _, window := range []time.Duration{24 * time.Hour, 0} {
		t.Run(fmt.Sprintf("window=%s", window), func(t *testing.T) {
			const every, keys = 50, 2400
			l, wal, seqs := keyedLedger(t, keys, func(c *ledger.WriterConfig) {
				c.CheckpointEvery = every
				c.IdempotencyWindow = window
				c.IdempotencyFilterStartupRows = 100
				c.Logger = quietLogger
			})
			l.Close()
			bs := &buildStore{countingStore: newCountingStore(t, reopenDB(t, l))}
			defer bs.Close()
			var lookups atomic.Int64
			cfg := l.Config
			cfg.Store = bs
			cfg.Lookup = func(ctx context.Context, key string) ([]*walletd.Entry, error) {
				lookups.Add(1)
				return bs.LookupIdempotencyKey(ctx, key)
			}
			w, err := ledger.NewWriter(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			// The bound of TestWriter_RestartReadsNoScan, though every
			// one of the 2,401 entries is inside the window now.
			n, by := bs.total()
			if bound := 3 + 2*every + 1; n > bound || by["IdempotencyKeysIn"]+by["IdempotencyKeysSince"] != 0 {
				t.Fatalf("start-up read %d rows (%v), more than %d or key rows, of %d entries", n, by, bound, keys+1)
			}
			reg := prometheus.NewRegistry()
			ledger.RegisterKeyFilterMetrics(reg, w)
			gauge := func(name string) float64 {
				t.Helper()
				mfs, err := reg.Gather()
				if err != nil {
					t.Fatal(err)
				}
				for _, mf := range mfs {
					if mf.GetName() == name {
						return mf.GetMetric()[0].GetGauge().GetValue()
					}
				}
				t.Fatalf("no metric %s", name)
				return 0
			}
			if b := gauge("walletd_writer_idempotency_filter_bytes"); b != 2<<20 {
				t.Fatalf("filter of %v bytes for %d keys, want 2 MiB", b, keys)
			}
			gate, entered := bs.hold()
			w.Open()
			<-entered // the build waits at the gate: the filter is not built
			sub := func(key, amount string) (*walletd.Result, error) {
				return w.Submit(context.Background(), key, credit(wal, amount))
			}
			replays := func(when string) {
				t.Helper()
				for _, i := range []int{0, 7, keys / 2, keys - 1} {
					key := fmt.Sprintf("k-%d", i)
					res, err := sub(key, "1.00")
					if err != nil || !res.Replayed || res.Entries[0].Seq != seqs[i] {
						t.Fatalf("%s: replay of %s: %+v, %v; want entry %d", when, key, res, err, seqs[i])
					}
					if _, err := sub(key, "2.00"); walletd.ErrorCode(err) != walletd.EIdempotencyConflict {
						t.Fatalf("%s: %s with another body: %v", when, key, err)
					}
				}
			}
			replays("during the build")
			select {
			case <-w.KeyFilterBuilt():
				t.Fatal("the filter is built while its build waits")
			default:
			}
			if g := gauge("walletd_writer_idempotency_filter_built"); g != 0 {
				t.Fatalf("built gauge %v during the build", g)
			}
			// A key committed during the build replays during and after it.
			during, err := sub("during", "5.00")
			if err != nil || during.Replayed {
				t.Fatalf("new key during the build: %+v, %v", during, err)
			}
			if again, err := sub("during", "5.00"); err != nil || !again.Replayed || again.Entries[0].Seq != during.Entries[0].Seq {
				t.Fatalf("replay of a key of the build's time: %+v, %v", again, err)
			}
			close(gate)
			select {
			case <-w.KeyFilterBuilt():
			case <-time.After(30 * time.Second):
				t.Fatal("the filter was not built")
			}
			if _, by := bs.total(); by["IdempotencyKeysIn"] != keys+1 {
				t.Fatalf("the build read %d rows, want the %d entries up to the start-up head", by["IdempotencyKeysIn"], keys+1)
			}
			if g := gauge("walletd_writer_idempotency_filter_built"); g != 1 {
				t.Fatalf("built gauge %v after the build", g)
			}
			replays("after the build")
			if again, err := sub("during", "5.00"); err != nil || !again.Replayed || again.Entries[0].Seq != during.Entries[0].Seq {
				t.Fatalf("replay of a key of the build's time, after it: %+v, %v", again, err)
			}
			// Now the filter answers for new keys: (almost) none is looked up.
			before := lookups.Load()
			const fresh = 50
			for i := range fresh {
				if res, err := sub(fmt.Sprintf("fresh-%d", i), "1.00"); err != nil || res.Replayed {
					t.Fatalf("fresh key: %+v, %v", res, err)
				}
			}
			if n := lookups.Load() - before; n > 3 {
				t.Fatalf("%d of %d new keys were looked up with the filter built", n, fresh)
			}
			// Each request made exactly one entry: the balance counts them.
			res, err := w.Submit(context.Background(), "", credit(wal, "1.00"))
			if want := fmt.Sprintf("%d.00", keys+5+fresh+1); err != nil || res.Wallets[0].Balance.String() != want {
				t.Fatalf("balance %+v, %v; want %s (one entry per request)", res, err, want)
			}
		})
	}
}

// TestWriter_KeyFilterBuildRetries: a background read that fails is
// retried, replays are answered meanwhile, and Close ends a build that
// waits.
func TestWriter_KeyFilterBuildRetries(t *testing.T) {
	const keys = 300
	l, wal, seqs := keyedLedger(t, keys, func(c *ledger.WriterConfig) {
		c.IdempotencyWindow = time.Hour
		c.IdempotencyFilterStartupRows = 10
		c.Logger = quietLogger
	})
	l.Close()
	restart := func(fails int) (*ledger.Writer, *buildStore) {
		bs := &buildStore{countingStore: newCountingStore(t, reopenDB(t, l)), fails: fails}
		t.Cleanup(func() { bs.Close() })
		cfg := l.Config
		cfg.Store = bs
		cfg.Lookup = bs.LookupIdempotencyKey
		w, err := ledger.NewWriter(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		return w, bs
	}
	w, _ := restart(2)
	w.Open()
	if res, err := w.Submit(context.Background(), "k-3", credit(wal, "1.00")); err != nil || !res.Replayed || res.Entries[0].Seq != seqs[3] {
		t.Fatalf("replay while the build fails: %+v, %v", res, err)
	}
	select {
	case <-w.KeyFilterBuilt():
	case <-time.After(30 * time.Second):
		t.Fatal("the filter was not built after two failed reads")
	}
	if res, err := w.Submit(context.Background(), "k-4", credit(wal, "1.00")); err != nil || !res.Replayed || res.Entries[0].Seq != seqs[4] {
		t.Fatalf("replay after the retried build: %+v, %v", res, err)
	}
	w.Close()

	// Close while the build waits: it ends, and a writer never opened
	// closes too.
	w, bs := restart(0)
	_, entered := bs.hold()
	w.Open()
	<-entered
	done := make(chan struct{})
	go func() { w.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not end the build")
	}
	w, _ = restart(0)
	w.Close()
}
