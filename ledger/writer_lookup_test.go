package ledger_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/walletdtest"
)

// A key committed after the caller's own lookup (which therefore found
// nothing) must still be caught by the writer from its memory of recent
// commits: replayed when the request is the same, refused when not.
func TestWriter_LookupRace(t *testing.T) {
	var l *walletdtest.Ledger
	stale := map[string]bool{}
	l = walletdtest.MustOpenLedger(t, func(c *ledger.WriterConfig) {
		c.Lookup = func(ctx context.Context, key string) ([]*walletd.Entry, error) {
			if stale[key] {
				return nil, nil // as if read just before the other request committed
			}
			return l.DB.LookupIdempotencyKey(ctx, key)
		}
	})
	w := l.MustWallet(t, "u1", "USD")
	credit := &ledger.Post{WalletID: w, Kind: walletd.KindCredit, Amount: "5.00", Type: "topup"}
	first, err := l.Writer.Submit(context.Background(), "k", credit)
	if err != nil {
		t.Fatal(err)
	}
	stale["k"] = true

	t.Run("SameRequestReplays", func(t *testing.T) {
		again, err := l.Writer.Submit(context.Background(), "k", credit)
		if err != nil || !again.Replayed || again.Entries[0].ID != first.Entries[0].ID {
			t.Fatalf("got %+v, %v", again, err)
		}
	})
	t.Run("ErrOtherRequest", func(t *testing.T) {
		other := *credit
		other.Amount = "6.00"
		if _, err := l.Writer.Submit(context.Background(), "k", &other); walletd.ErrorCode(err) != walletd.EIdempotencyConflict {
			t.Fatalf("got %v", err)
		}
	})
	wal, err := l.DB.Wallet(context.Background(), w)
	if err != nil || wal.Balance.String() != "5" {
		t.Fatalf("balance %v (%v): the key was applied twice", wal.Balance, err)
	}
}

// The key filter spares the database lookup for keys the ledger has never
// held, and still finds every key it holds, also after a restart.
func TestWriter_KeyFilter(t *testing.T) {
	var l *walletdtest.Ledger
	var lookups atomic.Int64
	l = walletdtest.MustOpenLedger(t, func(c *ledger.WriterConfig) {
		c.Lookup = func(ctx context.Context, key string) ([]*walletd.Entry, error) {
			lookups.Add(1)
			return l.DB.LookupIdempotencyKey(ctx, key)
		}
	})
	w := l.MustWallet(t, "u1", "USD")
	credit := func(i int) *ledger.Post {
		return &ledger.Post{WalletID: w, Kind: walletd.KindCredit, Amount: fmt.Sprintf("%d.00", i+1), Type: "topup"}
	}
	for i := 0; i < 200; i++ {
		if _, err := l.Writer.Submit(context.Background(), fmt.Sprintf("new-%d", i), credit(i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := lookups.Load(); n > 5 {
		t.Fatalf("%d database lookups for 200 new keys", n)
	}
	for _, reopen := range []bool{false, true} {
		if reopen {
			l.Reopen(t)
		}
		for i := 0; i < 200; i += 37 {
			res, err := l.Writer.Submit(context.Background(), fmt.Sprintf("new-%d", i), credit(i))
			if err != nil || !res.Replayed {
				t.Fatalf("reopen=%v: key new-%d: %+v, %v", reopen, i, res, err)
			}
			_, err = l.Writer.Submit(context.Background(), fmt.Sprintf("new-%d", i), credit(i+1))
			if walletd.ErrorCode(err) != walletd.EIdempotencyConflict {
				t.Fatalf("reopen=%v: key new-%d with another body: %v", reopen, i, err)
			}
		}
	}
}
