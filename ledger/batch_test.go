package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/ledger/sqlite"
	"github.com/walletd/walletd/walletdtest"
)

// TestWriter_CommitFailure checks that a failed commit leaves no trace:
// not in the database, not in the writer's memory (balances, seq, chain
// head, wallets by user, idempotency keys, checkpoint counter).
func TestWriter_CommitFailure(t *testing.T) {
	t.Run("StoreError", func(t *testing.T) {
		var fs *failingStore
		l := walletdtest.MustOpenLedger(t, func(c *ledger.WriterConfig) {
			fs = &failingStore{DB: c.Store.(*sqlite.DB)}
			c.Store = fs
			c.CheckpointEvery = 3
			c.Logger = quietLogger
		})
		a := l.MustWallet(t, "alice", "USD") // seq 1
		b := l.MustWallet(t, "bob", "USD")   // seq 2
		e2 := l.MustCredit(t, a, "10.00")    // seq 3, checkpoint
		fs.fail.Store(true)

		_, err := submit(l, "key-fail", credit(a, "5.00"))
		if err == nil || !errors.Is(err, errDiskFull) {
			t.Fatalf("Submit during a failing commit: %v", err)
		}
		wantCode(t, err, walletd.EInternal)
		if msg := walletd.ErrorMessage(err); strings.Contains(msg, "disk") {
			t.Fatalf("the internal error leaks: %q", msg)
		}
		// Several commands, possibly in one batch, all fail.
		var wg sync.WaitGroup
		for _, cmd := range []walletd.Command{
			&ledger.CreateWallet{UserID: "carol", Email: "carol@example.com", Currency: "USD"},
			transfer(a, b, "3.00"),
			&ledger.SetStatus{WalletID: a, Frozen: true},
			debit(a, "1.00"),
		} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := submit(l, "", cmd); err == nil {
					t.Errorf("%#v committed through a failing store", cmd)
				}
			}()
		}
		wg.Wait()
		fs.fail.Store(false)

		e3 := mustSubmit(t, l, "", credit(a, "7.00")).Entries[0]
		if e3.Seq != 4 || e3.PrevHash != e2.Hash || e3.BalanceAfter != "17.00" {
			t.Fatalf("the entry after the failure %+v; want seq 4 chained on seq 3 with balance 17.00", e3)
		}
		wantBalance(t, l, a, "17")
		if w := getWallet(t, l, a); w.Status != walletd.StatusActive || w.LastSeq != 4 {
			t.Fatalf("wallet %+v", w)
		}
		wantBalance(t, l, b, "0")
		// The failed wallet creation left no claim on carol's USD wallet.
		carol := mustSubmit(t, l, "", &ledger.CreateWallet{UserID: "carol", Email: "carol@example.com", Currency: "USD"}).Entries[0]
		if carol.Seq != 5 {
			t.Fatalf("carol's open entry has seq %d", carol.Seq)
		}
		// The failed request's key was never recorded.
		if res := mustSubmit(t, l, "key-fail", credit(a, "1.00")); res.Replayed || res.Entries[0].BalanceAfter != "18.00" {
			t.Fatalf("key-fail after the failure %+v", res)
		}
		// Debit, freeze and transfer work: a was not left frozen.
		mustSubmit(t, l, "", transfer(a, b, "3.00"))

		es := allEntries(t, l)
		for i, e := range es {
			if e.Seq != uint64(i+1) {
				t.Fatalf("entry %d has seq %d", i, e.Seq)
			}
		}
		cps, err := l.DB.Checkpoints(context.Background(), 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(cps) != 2 || cps[0].Seq != 3 || cps[1].Seq != 6 {
			t.Fatalf("checkpoints %v, want at seqs 3 and 6", checkpointSeqs(cps))
		}
		wantVerified(t, l)
		l.Reopen(t)
		wantBalance(t, l, a, "15")
		wantVerified(t, l)
	})
	t.Run("SQLiteAbort", func(t *testing.T) {
		// The real store fails half-way, after inserting the entry: the
		// transaction must roll back and the writer must forget the batch.
		l := walletdtest.MustOpenLedger(t, func(c *ledger.WriterConfig) { c.Logger = quietLogger })
		a := l.MustWallet(t, "alice", "USD")
		e2 := l.MustCredit(t, a, "10.00")
		raw := rawDB(t, filepath.Join(l.Dir, "ledger.db"))
		if _, err := raw.Exec(`CREATE TRIGGER fail_wallet BEFORE UPDATE ON wallets WHEN NEW.balance = '15'
			BEGIN SELECT RAISE(ABORT, 'injected failure'); END`); err != nil {
			t.Fatal(err)
		}
		_, err := submit(l, "", credit(a, "5.00"))
		if err == nil || !strings.Contains(err.Error(), "injected failure") {
			t.Fatalf("Submit: %v, want the injected failure", err)
		}
		if headSeq(t, l) != 2 {
			t.Fatalf("head %d after a rolled-back commit", headSeq(t, l))
		}
		wantBalance(t, l, a, "10")
		if _, err := raw.Exec(`DROP TRIGGER fail_wallet`); err != nil {
			t.Fatal(err)
		}
		e3 := mustSubmit(t, l, "", credit(a, "5.00")).Entries[0]
		if e3.Seq != 3 || e3.PrevHash != e2.Hash || e3.BalanceAfter != "15.00" {
			t.Fatalf("entry after the rollback %+v", e3)
		}
		wantBalance(t, l, a, "15")
		wantVerified(t, l)
	})
}

func TestWriter_Checkpoints(t *testing.T) {
	ctx := context.Background()
	checkpoints := func(tb testing.TB, l *walletdtest.Ledger) []*walletd.Checkpoint {
		tb.Helper()
		cps, err := l.DB.Checkpoints(ctx, 0, 0)
		if err != nil {
			tb.Fatal(err)
		}
		return cps
	}
	checkSigned := func(tb testing.TB, l *walletdtest.Ledger, cps []*walletd.Checkpoint) {
		tb.Helper()
		es := allEntries(tb, l)
		for _, cp := range cps {
			e := es[cp.Seq-1]
			if !cp.Verify(l.Pub) || cp.HeadHash != e.Hash || cp.LedgerID != l.DB.LedgerID() || cp.CreatedAt.Before(e.CreatedAt) {
				tb.Fatalf("checkpoint %+v does not sign entry %d (%s)", cp, e.Seq, e.Hash)
			}
		}
	}

	t.Run("Every", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, func(c *ledger.WriterConfig) { c.CheckpointEvery = 100 })
		a := l.MustWallet(t, "alice", "USD")
		for i := 0; i < 249; i++ { // seqs 2..250, one entry per batch
			l.MustCredit(t, a, "1.00")
		}
		cps := checkpoints(t, l)
		if got := fmt.Sprint(checkpointSeqs(cps)); got != "[100 200]" {
			t.Fatalf("checkpoints at %s, want [100 200]", got)
		}
		checkSigned(t, l, cps)

		// The count carries on across a restart from the last checkpoint.
		l.Reopen(t)
		for i := 0; i < 50; i++ {
			l.MustCredit(t, a, "1.00")
		}
		cps = checkpoints(t, l)
		if got := fmt.Sprint(checkpointSeqs(cps)); got != "[100 200 300]" {
			t.Fatalf("checkpoints at %s, want [100 200 300]", got)
		}
		checkSigned(t, l, cps)
		if rep := wantVerified(t, l); rep.Checkpoints != 3 {
			t.Fatalf("verify saw %d checkpoints", rep.Checkpoints)
		}
	})
	t.Run("EveryWithTransfers", func(t *testing.T) {
		// A batch that crosses the mark is checkpointed at its end.
		l := walletdtest.MustOpenLedger(t, func(c *ledger.WriterConfig) { c.CheckpointEvery = 4 })
		a := l.MustWallet(t, "alice", "USD") // 1
		b := l.MustWallet(t, "bob", "USD")   // 2
		l.MustCredit(t, a, "10.00")          // 3
		mustSubmit(t, l, "", transfer(a, b, "1.00"))
		mustSubmit(t, l, "", transfer(a, b, "1.00"))
		mustSubmit(t, l, "", transfer(a, b, "1.00"))
		cps := checkpoints(t, l)
		if got := fmt.Sprint(checkpointSeqs(cps)); got != "[5 9]" {
			t.Fatalf("checkpoints at %s, want [5 9]", got)
		}
		checkSigned(t, l, cps)
		wantVerified(t, l)
	})
	t.Run("Interval", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, func(c *ledger.WriterConfig) {
			c.CheckpointEvery = 0
			c.CheckpointInterval = 50 * time.Millisecond
		})
		a := l.MustWallet(t, "alice", "USD")
		l.MustCredit(t, a, "1.00")
		waitCheckpoint := func(seq uint64) {
			walletdtest.CheckFor(t, 5*time.Second, 10*time.Millisecond, func() error {
				cps := checkpoints(t, l)
				if len(cps) == 0 || cps[len(cps)-1].Seq != seq {
					return walletdtest.Errorf("checkpoints at %v, want the last at %d", checkpointSeqs(cps), seq)
				}
				return nil
			})
		}
		waitCheckpoint(2)
		l.MustCredit(t, a, "1.00")
		waitCheckpoint(3)
		cps := checkpoints(t, l)
		if got := fmt.Sprint(checkpointSeqs(cps)); got != "[2 3]" {
			t.Fatalf("checkpoints at %s, want [2 3]", got)
		}
		checkSigned(t, l, cps)
		l.Close() // stop the ticker before verifying a still database
		l.DB = reopenDB(t, l)
		wantVerified(t, l)
	})
	t.Run("NoKey", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, func(c *ledger.WriterConfig) {
			c.CheckpointKey = nil
			c.CheckpointEvery = 2
			c.CheckpointInterval = time.Millisecond
		})
		a := l.MustWallet(t, "alice", "USD")
		for i := 0; i < 5; i++ {
			l.MustCredit(t, a, "1.00")
		}
		if cps := checkpoints(t, l); len(cps) != 0 {
			t.Fatalf("checkpoints without a key: %v", checkpointSeqs(cps))
		}
		wantVerified(t, l)
	})
}

// A command that fails part-way leaves nothing of itself in the batch.
func TestFailedCommandLeavesNoTrace(t *testing.T) {
	l := walletdtest.MustOpenLedger(t, nil)
	w := l.MustWallet(t, "u1", "USD")
	l.MustCredit(t, w, "999999999999995.00") // near the largest balance
	mustSubmit(t, l, "", &ledger.CreateCashbackRule{Percent: "100"})
	before := len(allEntries(t, l))
	// The cashback would overflow the balance after the order entry and
	// user totals were written in the batch: all of it is taken back.
	_, err := submit(l, "", &ledger.CompleteOrder{OrderID: "x", UserID: "u1", Total: "10", Currency: "USD"})
	wantCode(t, err, walletd.EInvalidAmount)
	if after := len(allEntries(t, l)); after != before {
		t.Fatalf("%d entries after a failed order, want %d", after, before)
	}
	if _, err := l.DB.Object(context.Background(), walletd.ObjOrder, "x"); walletd.ErrorCode(err) != walletd.ENotFound {
		t.Fatalf("order object after failure: %v", err)
	}
	if _, err := l.DB.Object(context.Background(), walletd.ObjUserStats, "u1/USD"); walletd.ErrorCode(err) != walletd.ENotFound {
		t.Fatalf("user totals after failure: %v", err)
	}
	if got := wallet(t, l, w).LastSeq; got != uint64(before-1) {
		t.Fatalf("wallet last_seq %d", got)
	}
	verifies(t, l)
}
