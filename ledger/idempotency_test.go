package ledger_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/walletdtest"
)

func TestWriter_Idempotency(t *testing.T) {
	t.Run("Replayed", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		a := l.MustWallet(t, "alice", "USD")
		cmd := &ledger.Post{WalletID: a, Kind: walletd.KindCredit, Amount: "10.00", Type: "topup", Metadata: map[string]string{"x": "1"}}
		first := mustSubmit(t, l, "key-1", cmd)
		if first.Replayed || first.Entries[0].IdempotencyKey != "key-1" || first.Entries[0].RequestHash != ledger.Fingerprint(cmd) {
			t.Fatalf("first %+v", first.Entries[0])
		}
		before := snapshot(t, l)
		// An equal command, built anew (map order is irrelevant).
		again := mustSubmit(t, l, "key-1", &ledger.Post{WalletID: a, Kind: walletd.KindCredit, Amount: "10.00", Type: "topup", Metadata: map[string]string{"x": "1"}})
		if !again.Replayed {
			t.Fatal("the repeat was not marked Replayed")
		}
		sameEntries(t, first.Entries, again.Entries)
		wantUnchanged(t, l, before)
		wantBalance(t, l, a, "10")
	})
	t.Run("ReplayedTransfer", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		a := l.MustWallet(t, "alice", "USD")
		b := l.MustWallet(t, "bob", "USD")
		l.MustCredit(t, a, "10.00")
		first := mustSubmit(t, l, "tr-1", transfer(a, b, "4.00"))
		before := snapshot(t, l)
		again := mustSubmit(t, l, "tr-1", transfer(a, b, "4.00"))
		if !again.Replayed || len(again.Entries) != 2 {
			t.Fatalf("replay %+v", again)
		}
		sameEntries(t, first.Entries, again.Entries)
		wantUnchanged(t, l, before)
	})
	t.Run("ErrIdempotencyConflict", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		a := l.MustWallet(t, "alice", "USD")
		b := l.MustWallet(t, "bob", "USD")
		mustSubmit(t, l, "key-1", credit(a, "10.00"))
		before := snapshot(t, l)
		for _, cmd := range []walletd.Command{
			credit(a, "11.00"),
			credit(b, "10.00"),
			debit(a, "10.00"),
			&ledger.Post{WalletID: a, Kind: walletd.KindCredit, Amount: "10.00", Type: "topup", Reason: "other"},
			transfer(a, b, "10.00"),
			&ledger.SetStatus{WalletID: a, Frozen: true},
			&ledger.CreateWallet{UserID: "carol", Email: "carol@example.com", Currency: "USD"},
		} {
			_, err := submit(l, "key-1", cmd)
			wantCode(t, err, walletd.EIdempotencyConflict)
		}
		wantUnchanged(t, l, before)
	})
	t.Run("ConcurrentSameKey", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		a := l.MustWallet(t, "alice", "USD")
		const n = 50
		results := make(chan *walletd.Result, n)
		errs := make(chan error, n)
		var start sync.WaitGroup
		start.Add(1)
		for i := 0; i < n; i++ {
			go func() {
				start.Wait()
				res, err := submit(l, "same-key", credit(a, "10.00"))
				results <- res
				errs <- err
			}()
		}
		start.Done()
		var fresh int
		var first *walletd.Result
		for i := 0; i < n; i++ {
			res, err := <-results, <-errs
			if err != nil {
				t.Fatal(err)
			}
			if !res.Replayed {
				fresh++
			}
			if first == nil {
				first = res
			}
			sameEntries(t, first.Entries, res.Entries)
		}
		if fresh != 1 {
			t.Fatalf("%d submissions appended, want 1", fresh)
		}
		if headSeq(t, l) != 2 {
			t.Fatalf("head %d, want 2", headSeq(t, l))
		}
		wantBalance(t, l, a, "10")
	})
	t.Run("ConcurrentSameKeyConflicting", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		a := l.MustWallet(t, "alice", "USD")
		const n = 40
		type outcome struct {
			amount string
			res    *walletd.Result
			err    error
		}
		out := make(chan outcome, n)
		for i := 0; i < n; i++ {
			amount := []string{"1.00", "2.00"}[i%2]
			go func() {
				res, err := submit(l, "contested", credit(a, amount))
				out <- outcome{amount, res, err}
			}()
		}
		var winner string
		var outcomes []outcome
		for i := 0; i < n; i++ {
			o := <-out
			outcomes = append(outcomes, o)
			if o.err == nil && !o.res.Replayed {
				if winner != "" {
					t.Fatal("two submissions with one key both appended")
				}
				winner = o.amount
			}
		}
		if winner == "" {
			t.Fatal("no submission appended")
		}
		for _, o := range outcomes {
			if o.amount == winner && o.err != nil {
				t.Fatalf("a repeat of the winning command failed: %v", o.err)
			} else if o.amount != winner && walletd.ErrorCode(o.err) != walletd.EIdempotencyConflict {
				t.Fatalf("a different command with the same key: %v, want %s", o.err, walletd.EIdempotencyConflict)
			}
		}
		if headSeq(t, l) != 2 {
			t.Fatalf("head %d, want 2", headSeq(t, l))
		}
		wantBalance(t, l, a, winner)
	})
	t.Run("ReplayAfterReopen", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		a := l.MustWallet(t, "alice", "USD")
		b := l.MustWallet(t, "bob", "USD")
		l.MustCredit(t, a, "10.00")
		first := mustSubmit(t, l, "tr-1", transfer(a, b, "4.00"))
		l.Reopen(t)
		before := snapshot(t, l)
		again := mustSubmit(t, l, "tr-1", transfer(a, b, "4.00"))
		if !again.Replayed {
			t.Fatal("not replayed after a restart")
		}
		sameEntries(t, first.Entries, again.Entries)
		_, err := submit(l, "tr-1", transfer(a, b, "5.00"))
		wantCode(t, err, walletd.EIdempotencyConflict)
		wantUnchanged(t, l, before)
	})
	t.Run("RetryAfterRefusal", func(t *testing.T) {
		// A refused request records nothing, so the client may retry it
		// with the same key once the refusal no longer applies.
		l := walletdtest.MustOpenLedger(t, nil)
		a := l.MustWallet(t, "alice", "USD")
		_, err := submit(l, "pay-1", debit(a, "5.00"))
		wantCode(t, err, walletd.EInsufficientFunds)
		l.MustCredit(t, a, "10.00")
		res := mustSubmit(t, l, "pay-1", debit(a, "5.00"))
		if res.Replayed || res.Entries[0].BalanceAfter != "5.00" {
			t.Fatalf("retry %+v", res)
		}
	})
	t.Run("DistinctKeys", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		a := l.MustWallet(t, "alice", "USD")
		mustSubmit(t, l, "key-a", credit(a, "1.00"))
		if res := mustSubmit(t, l, "key-b", credit(a, "1.00")); res.Replayed {
			t.Fatal("another key was replayed")
		}
		mustSubmit(t, l, "", credit(a, "1.00"))
		if res := mustSubmit(t, l, "", credit(a, "1.00")); res.Replayed {
			t.Fatal("no key was replayed")
		}
		wantBalance(t, l, a, "4")
	})
	t.Run("ErrInvalidKey", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		a := l.MustWallet(t, "alice", "USD")
		before := snapshot(t, l)
		for _, key := range []string{"has space", strings.Repeat("k", walletd.MaxIdempotencyLen+1), "ü", "tab\t", "nl\n", "\x7f"} {
			_, err := submit(l, key, credit(a, "1.00"))
			wantCode(t, err, walletd.EInvalid)
		}
		wantUnchanged(t, l, before)
		mustSubmit(t, l, strings.Repeat("k", walletd.MaxIdempotencyLen), credit(a, "1.00"))
	})
}

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
