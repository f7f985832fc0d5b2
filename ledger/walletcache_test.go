package ledger_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/walletd/walletd"
	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/ledger/sqlite"
	"github.com/walletd/walletd/walletdtest"
)

// countingStore is the real SQLite store that counts the rows each
// start-up read and each wallet load returns, and fails the test if
// anything lists every idempotency key.
type countingStore struct {
	*sqlite.DB
	t     testing.TB
	mu    sync.Mutex
	rows  map[string]int // method → rows it returned
	loads map[string]int // wallet id or user/currency → loads
}

func newCountingStore(t testing.TB, db *sqlite.DB) *countingStore {
	return &countingStore{DB: db, t: t, rows: make(map[string]int), loads: make(map[string]int)}
}

func (s *countingStore) count(method string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rows[method] += n
}

func (s *countingStore) loaded(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loads[key]
}

func (s *countingStore) total() (int, map[string]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, out := 0, make(map[string]int)
	for k, v := range s.rows {
		n += v
		out[k] = v
	}
	return n, out
}

func (s *countingStore) LoadState(ctx context.Context) (*walletd.LedgerState, error) {
	st, err := s.DB.LoadState(ctx)
	if err == nil {
		n := len(st.Objects) + 1 // the head
		if st.LastCheckpoint != nil {
			n++
		}
		s.count("LoadState", n)
	}
	return st, err
}

func (s *countingStore) Entries(ctx context.Context, after uint64, limit int) ([]*walletd.Entry, error) {
	es, err := s.DB.Entries(ctx, after, limit)
	s.count("Entries", len(es))
	return es, err
}

func (s *countingStore) CheckWalletStateSince(ctx context.Context, seq uint64) (int, error) {
	n, err := s.DB.CheckWalletStateSince(ctx, seq)
	s.count("CheckWalletStateSince", n)
	return n, err
}

func (s *countingStore) WalletCurrencies(ctx context.Context) ([]string, error) {
	cs, err := s.DB.WalletCurrencies(ctx)
	s.count("WalletCurrencies", len(cs))
	return cs, err
}

func (s *countingStore) IdempotencyKeysSince(ctx context.Context, since time.Time, yield func(string)) (int, error) {
	n, err := s.DB.IdempotencyKeysSince(ctx, since, yield)
	s.count("IdempotencyKeysSince", n)
	return n, err
}

func (s *countingStore) IdempotencyKeys(func(string)) error {
	s.t.Errorf("IdempotencyKeys lists every key of the ledger")
	return fmt.Errorf("countingStore: IdempotencyKeys")
}

func (s *countingStore) LoadWallet(ctx context.Context, id string) (*walletd.Wallet, error) {
	s.mu.Lock()
	s.loads[id]++
	s.mu.Unlock()
	s.count("LoadWallet", 1)
	return s.DB.LoadWallet(ctx, id)
}

func (s *countingStore) LoadWalletOf(ctx context.Context, user, currency string) (*walletd.Wallet, error) {
	s.mu.Lock()
	s.loads[user+"/"+currency]++
	s.mu.Unlock()
	s.count("LoadWalletOf", 1)
	return s.DB.LoadWalletOf(ctx, user, currency)
}

// deterministic makes the writer's ids and clock repeatable, so that two
// ledgers given the same commands in the same order write the same chain.
func deterministic(shared *walletdtest.Ledger) func(*ledger.WriterConfig) {
	return func(c *ledger.WriterConfig) {
		var n atomic.Int64
		c.NewID = func(prefix string) string { return fmt.Sprintf("%s_%08d", prefix, n.Add(1)) }
		base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		var tick atomic.Int64
		c.Now = func() time.Time { return base.Add(time.Duration(tick.Add(1)) * time.Millisecond) }
		if shared != nil {
			c.Keyring, c.CheckpointKey = shared.Keyring, shared.Priv
		}
		c.CheckpointEvery = 0
	}
}

// A writer holding two wallets at most, given the same commands over many
// wallets as one that holds them all, answers the same and writes the
// same chain and wallet rows, before and after a restart.
func TestWriter_WalletCacheOfTwoMatchesUnbounded(t *testing.T) {
	full := walletdtest.MustOpenLedger(t, deterministic(nil))
	small := walletdtest.MustOpenLedger(t, func(c *ledger.WriterConfig) {
		deterministic(full)(c)
		c.WalletCache = 2
	})
	small.Keyring, small.Pub = full.Keyring, full.Pub // the keys deterministic shares
	const users = 40
	var ids []string
	for i := range users {
		a := full.MustWallet(t, fmt.Sprintf("u%02d", i), "USD")
		if b := small.MustWallet(t, fmt.Sprintf("u%02d", i), "USD"); a != b {
			t.Fatalf("wallet ids %s and %s", a, b)
		}
		ids = append(ids, a)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	cmd := func() walletd.Command {
		a, b := ids[rng.IntN(len(ids))], ids[rng.IntN(len(ids))]
		amt := fmt.Sprintf("%d.%02d", rng.IntN(20), rng.IntN(100))
		switch rng.IntN(7) {
		case 0, 1:
			return credit(a, amt)
		case 2:
			return debit(a, amt)
		case 3:
			return transfer(a, b, amt)
		case 4:
			return &ledger.SetStatus{WalletID: a, Frozen: rng.IntN(2) == 0}
		case 5:
			return &ledger.CreateWallet{UserID: fmt.Sprintf("u%02d", rng.IntN(users+5)), Email: "x@example.com", Currency: "USD"}
		default:
			return credit(fmt.Sprintf("wal_missing%d", rng.IntN(3)), "1.00")
		}
	}
	same := func(round int) {
		for i := range 300 {
			c := cmd()
			r1, err1 := submit(full, "", c)
			r2, err2 := submit(small, "", c)
			if walletd.ErrorCode(err1) != walletd.ErrorCode(err2) {
				t.Fatalf("round %d command %d %#v: %v and %v", round, i, c, err1, err2)
			}
			if err1 == nil && fmt.Sprint(r1.Wallets) != fmt.Sprint(r2.Wallets) {
				t.Fatalf("round %d command %d: wallets %v and %v", round, i, r1.Wallets, r2.Wallets)
			}
			if _, ok := c.(*ledger.CreateWallet); ok && err1 == nil {
				ids = append(ids, r1.Entries[0].WalletID)
			}
		}
		e1, err := full.DB.Entries(context.Background(), 0, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		e2, err := small.DB.Entries(context.Background(), 0, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if len(e1) != len(e2) || e1[len(e1)-1].Hash != e2[len(e2)-1].Hash {
			t.Fatalf("round %d: chains of %d and %d entries differ", round, len(e1), len(e2))
		}
		w1, _ := full.DB.Wallets(context.Background(), "", "", 1000)
		w2, _ := small.DB.Wallets(context.Background(), "", "", 1000)
		if len(w1) != len(w2) {
			t.Fatalf("round %d: %d and %d wallet rows", round, len(w1), len(w2))
		}
		for i := range w1 {
			if fmt.Sprintf("%+v", *w1[i]) != fmt.Sprintf("%+v", *w2[i]) {
				t.Fatalf("round %d: wallet rows differ:\n%+v\n%+v", round, *w1[i], *w2[i])
			}
		}
		if len(w1) < 40 {
			t.Fatalf("round %d: wallet rows differ", round)
		}
		if rep := small.Verify(t); !rep.OK {
			t.Fatalf("round %d: the small cache's ledger does not verify: %+v (full: %+v)", round, rep, full.Verify(t))
		}
	}
	same(1)
	st := small.Writer.WalletCacheStats()
	if st.Misses == 0 || st.Evictions == 0 || st.Size > 2 {
		t.Fatalf("cache of 2: %+v", st)
	}
	full.Reopen(t)
	small.Reopen(t)
	same(2)
}

// Concurrent credits over many wallets through a cache of two, with the
// pipelined commit, leave every wallet with what it was credited.
func TestWriter_WalletCacheConcurrentCredits(t *testing.T) {
	g := &gate{}
	l := walletdtest.MustOpenLedger(t, func(c *ledger.WriterConfig) {
		c.Sync = g.sync
		c.WalletCache = 2
	})
	const wallets, workers, each = 60, 6, 100
	ids := make([]string, wallets)
	for i := range ids {
		ids[i] = l.MustWallet(t, fmt.Sprintf("c%02d", i), "USD")
	}
	var want [wallets]atomic.Int64 // cents
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for range each {
				i, cents := rng.IntN(wallets), 1+rng.IntN(500)
				if _, err := submit(l, "", credit(ids[i], fmt.Sprintf("%d.%02d", cents/100, cents%100))); err != nil {
					t.Error(err)
					return
				}
				want[i].Add(int64(cents))
			}
		}()
	}
	wg.Wait()
	// One more credit per wallet: its answer is the writer's own balance.
	for i, id := range ids {
		res := mustSubmit(t, l, "", credit(id, "0.01"))
		if got, w := res.Wallets[0].Balance.String(), walletd.NewMoney(decimalCents(want[i].Load()+1), 2).String(); got != w {
			t.Fatalf("wallet %d: balance %s, want %s", i, got, w)
		}
	}
	if rep := l.Verify(t); !rep.OK {
		t.Fatalf("verify: %+v", rep)
	}
	if st := l.Writer.WalletCacheStats(); st.Evictions == 0 {
		t.Fatalf("no eviction: %+v", st)
	}
}

// A wallet a batch changed stays in the cache until that batch is
// durable, however small the cache: the next batch finds it there and
// never reads it again from the store.
func TestWriter_WalletCacheKeepsPendingChanges(t *testing.T) {
	g := &gate{}
	var cs *countingStore
	l := walletdtest.MustOpenLedger(t, func(c *ledger.WriterConfig) {
		cs = newCountingStore(t, c.Store.(*sqlite.DB))
		c.Store = cs
		c.Sync = g.sync
		c.WalletCache = 1
		c.IdempotencyWindow = time.Hour
		c.CheckpointEvery = 0
	})
	a := l.MustWallet(t, "pa", "USD")
	b := l.MustWallet(t, "pb", "USD")
	l.MustCredit(t, a, "10.00")
	before := cs.loaded(a)
	// Hold the Sync: the transfer commits, its batch waits to be durable,
	// and the writer evicts down to one wallet meanwhile.
	g.hold.Lock()
	done := submitAsync(l, "", transfer(a, b, "4.00"))
	walletdtest.CheckFor(t, 5*time.Second, time.Millisecond, func() error {
		if committedEntries(t, l) < 5 {
			return fmt.Errorf("the transfer is not committed yet")
		}
		return nil
	})
	next := submitAsync(l, "", credit(a, "1.00"))
	walletdtest.CheckFor(t, 5*time.Second, time.Millisecond, func() error {
		if committedEntries(t, l) < 6 {
			return fmt.Errorf("the credit is not committed yet")
		}
		return nil
	})
	if n := cs.loaded(a); n != before {
		t.Errorf("wallet a was read again while its change was not durable: %d loads, %d before", n, before)
	}
	if n := cs.loaded(b); n > 1 {
		t.Errorf("wallet b was read %d times", n)
	}
	g.hold.Unlock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := <-next; err != nil {
		t.Fatal(err)
	}
	res := mustSubmit(t, l, "", credit(a, "0.01"))
	if got := res.Wallets[0].Balance.String(); got != "7.01" {
		t.Fatalf("wallet a: %s, want 7.01", got)
	}
	res = mustSubmit(t, l, "", credit(b, "0.01"))
	if got := res.Wallets[0].Balance.String(); got != "4.01" {
		t.Fatalf("wallet b: %s, want 4.01", got)
	}
	if st := l.Writer.WalletCacheStats(); st.Size > 1 {
		t.Fatalf("cache of 1 holds %+v", st)
	}
}

// A wallet row edited in the database, changed before the last checkpoint,
// is not read at start-up; the writer refuses it when a command loads it,
// and serves the other wallets.
func TestWriter_WalletCacheRefusesTamperedRowOnLoad(t *testing.T) {
	l := walletdtest.MustOpenLedger(t, func(c *ledger.WriterConfig) {
		c.CheckpointEvery = 5
		c.Logger = quietLogger
	})
	a := l.MustWallet(t, "ta", "USD")
	b := l.MustWallet(t, "tb", "USD")
	l.MustCredit(t, a, "10.00")
	l.MustCredit(t, b, "10.00")
	for range 6 {
		l.MustCredit(t, b, "1.00")
	}
	l.Close()
	raw := rawDB(t, filepath.Join(l.Dir, "ledger.db"))
	if _, err := raw.Exec(`UPDATE wallets SET balance = '1000' WHERE id = ?`, a); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	l.Reopen(t)
	_, err := submit(l, "", debit(a, "500.00"))
	wantCode(t, err, walletd.EInternal)
	// By user: the row is found through the user index and refused too.
	_, err = submit(l, "", &ledger.CreateWallet{UserID: "ta", Email: "ta@example.com", Currency: "USD"})
	wantCode(t, err, walletd.EInternal)
	if res := mustSubmit(t, l, "", credit(b, "1.00")); res.Wallets[0].Balance.String() != "17.00" {
		t.Fatalf("wallet b: %v", res.Wallets)
	}
	w, err := l.DB.Wallet(context.Background(), a)
	if err != nil || w.Balance.String() != "1000" {
		t.Fatalf("the refused row was changed: %+v %v", w, err)
	}

	// A row changed after the last checkpoint is checked at start-up.
	l.Close()
	raw = rawDB(t, filepath.Join(l.Dir, "ledger.db"))
	if _, err := raw.Exec(`UPDATE wallets SET balance = '99' WHERE id = ?`, b); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	db := reopenDB(t, l)
	defer db.Close()
	cfg := l.Config
	cfg.Store = db
	if _, err := ledger.NewWriter(context.Background(), cfg); err == nil {
		t.Fatal("NewWriter started on a wallet row edited after the last checkpoint")
	}
}

// Restarting a ledger of many wallets and entries reads a bounded number
// of rows: the chain from the last checkpoint, the wallet rows changed
// since, the objects - not every wallet, entry or key.
func TestWriter_RestartReadsNoScan(t *testing.T) {
	const every = 50
	l := walletdtest.MustOpenLedger(t, func(c *ledger.WriterConfig) {
		c.CheckpointEvery = every
		c.IdempotencyWindow = time.Millisecond
		c.WalletCache = 10
	})
	const wallets = 600
	ids := make([]string, wallets)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < wallets; i += 4 {
				res, err := submit(l, fmt.Sprintf("open-%d", i), &ledger.CreateWallet{UserID: fmt.Sprintf("r%04d", i), Email: "r@example.com", Currency: "USD"})
				if err != nil {
					t.Error(err)
					return
				}
				ids[i] = res.Entries[0].WalletID
				for j := range 3 {
					if _, err := submit(l, fmt.Sprintf("credit-%d-%d", i, j), credit(ids[i], "1.00")); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	time.Sleep(5 * time.Millisecond) // every key is now outside the window
	l.Close()
	cs := newCountingStore(t, reopenDB(t, l))
	defer cs.Close()
	cfg := l.Config
	cfg.Store = cs
	w, err := ledger.NewWriter(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	n, by := cs.total()
	// At most: the head, a checkpoint, the entries from it to the head and
	// the wallets they changed, one currency.
	if bound := 3 + 2*every + 1; n > bound {
		t.Fatalf("start-up read %d rows (%v), more than %d, of %d entries and %d wallets", n, by, bound, 4*wallets, wallets)
	}
	w.Open()
	defer w.Close()
	res, err := w.Submit(context.Background(), "", credit(ids[7], "1.00"))
	if err != nil || res.Wallets[0].Balance.String() != "4.00" {
		t.Fatalf("credit after the restart: %+v %v", res, err)
	}
	if cs.loaded(ids[7]) != 1 {
		t.Fatalf("wallet read %d times", cs.loaded(ids[7]))
	}
}

func decimalCents(c int64) decimal.Decimal { return decimal.New(c, -2) }
