package sqlite_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/ledger/sqlite"
	"github.com/walletd/walletd/walletdtest"
)

// windowStore is the ledger's database as the writer sees it, counting
// what start-up reads to build the key filter and failing the test if it
// lists every key the ledger holds.
type windowStore struct {
	*sqlite.DB
	t    *testing.T
	mu   sync.Mutex
	rows int
}

func (s *windowStore) IdempotencyKeys(func(string)) error {
	s.t.Error("start-up listed every idempotency key of the ledger")
	return nil
}

func (s *windowStore) IdempotencyKeysSince(ctx context.Context, since time.Time, yield func(string)) (int, error) {
	n, err := s.DB.IdempotencyKeysSince(ctx, since, yield)
	s.mu.Lock()
	s.rows += n
	s.mu.Unlock()
	return n, err
}

// TestWriter_IdempotencyWindow checks that a key repeated inside the
// window answers the original request, a key repeated after it is a new
// request, and that a restart builds the key filter from the window's
// entries alone: the rows it reads do not grow with the entries before.
func TestWriter_IdempotencyWindow(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	const window = 24 * time.Hour
	l := walletdtest.MustOpenLedger(t, func(c *ledger.WriterConfig) {
		c.Now = clock
		c.IdempotencyWindow = window
	})
	ctx := context.Background()
	wal := l.MustWallet(t, "u1", "USD")
	credit := func(key, amount string) (*walletd.Result, error) {
		return l.Writer.Submit(ctx, key, &ledger.Post{WalletID: wal, Kind: walletd.KindCredit, Amount: amount, Type: "topup"})
	}
	const old = 2000 // entries before the window
	for i := range old {
		if _, err := credit(fmt.Sprintf("old-%d", i), "1.00"); err != nil {
			t.Fatal(err)
		}
	}
	advance(window - time.Hour) // old keys are 23 h old: inside the window
	res, err := credit("old-7", "1.00")
	if err != nil || !res.Replayed || res.Entries[0].Seq != 9 {
		t.Fatalf("inside the window: %+v, %v", res, err)
	}
	if _, err := credit("old-7", "2.00"); walletd.ErrorCode(err) != walletd.EIdempotencyConflict {
		t.Fatalf("inside the window, another request: %v", err)
	}
	advance(2 * time.Hour) // 25 h: outside
	for i := range 5 {
		if _, err := credit(fmt.Sprintf("new-%d", i), "1.00"); err != nil {
			t.Fatal(err)
		}
	}
	check := func(when string) {
		t.Helper()
		// Outside the window the key is free: a new request, with another
		// amount even, and then a repeat of that one replays it.
		key := "old-" + when
		res, err := credit(key, "3.00")
		if err != nil || res.Replayed || res.Entries[0].Amount != "3.00" {
			t.Fatalf("%s: outside the window: %+v, %v", when, res, err)
		}
		seq := res.Entries[0].Seq
		again, err := credit(key, "3.00")
		if err != nil || !again.Replayed || again.Entries[0].Seq != seq {
			t.Fatalf("%s: repeat of the new request: %+v, %v", when, again, err)
		}
		if _, err := credit(key, "1.00"); walletd.ErrorCode(err) != walletd.EIdempotencyConflict {
			t.Fatalf("%s: the old request's body under a reused key: %v", when, err)
		}
		res, err = credit("new-3", "1.00")
		if err != nil || !res.Replayed || res.Entries[0].Seq != old+2+3 {
			t.Fatalf("%s: inside the window: %+v, %v", when, res, err)
		}
	}
	check("10")

	// Restart: the filter holds the window's keys only, read from the
	// window's entries.
	l.Close()
	db, err := sqlite.Open(ctx, l.Dir+"/ledger.db")
	if err != nil {
		t.Fatal(err)
	}
	ws := &windowStore{DB: db, t: t}
	l.DB = db
	l.Config.Store = ws
	if l.Writer, err = ledger.NewWriter(ctx, l.Config); err != nil {
		t.Fatal(err)
	}
	l.Writer.Open()
	if ws.rows == 0 || ws.rows > 10 {
		t.Fatalf("start-up read %d entry rows for the key filter; the window holds 7 (the ledger %d)", ws.rows, old+8)
	}
	check("11")
	if rep := l.Verify(t); !rep.OK {
		t.Fatalf("verify: %+v", rep)
	}
}

// TestDB_FirstSeqSince checks the binary search over created_at.
func TestDB_FirstSeqSince(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	t0 := now
	l := walletdtest.MustOpenLedger(t, func(c *ledger.WriterConfig) {
		c.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	})
	ctx := context.Background()
	if seq, err := l.DB.FirstSeqSince(ctx, t0); err != nil || seq != 1 {
		t.Fatalf("empty ledger: %d, %v", seq, err)
	}
	wal := l.MustWallet(t, "u1", "USD") // seq 1 at t0
	for range 99 {                      // seqs 2..100, one a minute
		mu.Lock()
		now = now.Add(time.Minute)
		mu.Unlock()
		l.MustCredit(t, wal, "1.00")
	}
	for _, c := range []struct {
		since time.Time
		want  uint64
	}{
		{t0.Add(-time.Hour), 1}, {t0, 1}, {t0.Add(time.Second), 2}, {t0.Add(50 * time.Minute), 51},
		{t0.Add(99 * time.Minute), 100}, {t0.Add(100 * time.Minute), 101},
	} {
		if seq, err := l.DB.FirstSeqSince(ctx, c.since); err != nil || seq != c.want {
			t.Errorf("since %s: %d, %v; want %d", c.since.Sub(t0), seq, err, c.want)
		}
	}
}
