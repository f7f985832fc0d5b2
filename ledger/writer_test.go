package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walletd/walletd"

	"github.com/shopspring/decimal"
	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/ledger/sqlite"
	"github.com/walletd/walletd/walletdtest"
)

func TestWriter_Submit(t *testing.T) {
	t.Run("ErrContextCanceled", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		a := l.MustWallet(t, "alice", "USD")
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := l.Writer.Submit(ctx, "", credit(a, "1.00")); !errors.Is(err, context.Canceled) {
			t.Fatalf("Submit with a cancelled context: %v", err)
		}
		// Whatever got queued was dropped: the next command lands right after the open.
		if e := l.MustCredit(t, a, "2.00"); e.Seq != 2 || e.BalanceAfter != "2.00" {
			t.Fatalf("next credit %+v", e)
		}
	})
}

func TestWriter_Reopen(t *testing.T) {
	l := walletdtest.MustOpenLedger(t, nil)
	a := l.MustWallet(t, "alice", "USD")
	b := l.MustWallet(t, "bob", "USD")
	l.MustCredit(t, a, "100.00")
	mustSubmit(t, l, "", transfer(a, b, "25.50"))
	mustSubmit(t, l, "", &ledger.SetStatus{WalletID: b, Frozen: true})
	es := allEntries(t, l)
	head := es[len(es)-1]
	before := snapshot(t, l)

	l.Reopen(t)
	wantUnchanged(t, l, before)
	if seq, h := l.Writer.Head(); seq != head.Seq || h != head.Hash {
		t.Fatalf("restored head %d %s, want %d %s", seq, h, head.Seq, head.Hash)
	}
	if l.Writer.LedgerID() != l.DB.LedgerID() || !strings.HasPrefix(l.Writer.LedgerID(), "ldg_") {
		t.Fatalf("ledger id %q, db %q", l.Writer.LedgerID(), l.DB.LedgerID())
	}
	e := l.MustCredit(t, a, "1.00")
	if e.Seq != head.Seq+1 || e.PrevHash != head.Hash || e.BalanceAfter != "75.50" {
		t.Fatalf("first entry after restart %+v", e)
	}
	// Statuses and the one-wallet-per-user rule come back too.
	_, err := submit(l, "", debit(b, "1.00"))
	wantCode(t, err, walletd.EWalletFrozen)
	_, err = submit(l, "", &ledger.CreateWallet{UserID: "alice", Email: "alice@example.com", Currency: "USD"})
	wantCode(t, err, walletd.EWalletExists)
	_, err = submit(l, "", debit(a, "75.51"))
	wantCode(t, err, walletd.EInsufficientFunds)
	wantVerified(t, l)

	t.Run("EmptyLedger", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		id := l.DB.LedgerID()
		l.Reopen(t)
		if seq, _ := l.Writer.Head(); seq != 0 || l.DB.LedgerID() != id {
			t.Fatalf("head %d, ledger id %q (was %q)", seq, l.DB.LedgerID(), id)
		}
		if e := l.MustCredit(t, l.MustWallet(t, "alice", "USD"), "1.00"); e.Seq != 2 {
			t.Fatalf("seq %d", e.Seq)
		}
	})
}

func TestNewWriter(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper string
	}{
		{"ErrTamperedHeadAmount", `UPDATE entries SET amount = '999.00' WHERE seq = (SELECT MAX(seq) FROM entries)`},
		{"ErrTamperedHeadBalance", `UPDATE entries SET balance_after = '999.00' WHERE seq = (SELECT MAX(seq) FROM entries)`},
		{"ErrTamperedHeadHash", `UPDATE entries SET hash = zeroblob(32) WHERE seq = (SELECT MAX(seq) FROM entries)`},
		{"ErrTamperedHeadPrevHash", `UPDATE entries SET prev_hash = zeroblob(32) WHERE seq = (SELECT MAX(seq) FROM entries)`},
		{"ErrTamperedHeadKeyID", `UPDATE entries SET key_id = 'k9' WHERE seq = (SELECT MAX(seq) FROM entries)`},
		{"ErrWalletAfterHead", `UPDATE wallets SET last_seq = 99`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := walletdtest.MustOpenLedger(t, nil)
			a := l.MustWallet(t, "alice", "USD")
			l.MustCredit(t, a, "10.00")
			l.MustCredit(t, a, "5.00")
			l.Close()
			raw := rawDB(t, filepath.Join(l.Dir, "ledger.db"))
			if _, err := raw.Exec(tc.tamper); err != nil {
				t.Fatal(err)
			}
			raw.Close()
			db := reopenDB(t, l)
			defer db.Close()
			cfg := l.Config
			cfg.Store = db
			if w, err := ledger.NewWriter(context.Background(), cfg); err == nil {
				w.Open()
				w.Close()
				t.Fatal("NewWriter started on a tampered ledger")
			}
		})
	}
	t.Run("ErrNoActiveKey", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		cfg := l.Config
		cfg.Keyring = &ledger.Keyring{Active: "k1"}
		if _, err := ledger.NewWriter(context.Background(), cfg); err == nil {
			t.Fatal("NewWriter started without its active key")
		}
	})
}

func TestWriter_Close(t *testing.T) {
	t.Run("FinishesQueuedWork", func(t *testing.T) {
		var gs *gatedStore
		l := walletdtest.MustOpenLedger(t, func(c *ledger.WriterConfig) {
			gs = &gatedStore{DB: c.Store.(*sqlite.DB)}
			c.Store = gs
		})
		a := l.MustWallet(t, "alice", "USD")
		w := l.Writer
		gate, entered := gs.arm()
		first := make(chan error, 1)
		go func() {
			_, err := w.Submit(context.Background(), "", credit(a, "100.00"))
			first <- err
		}()
		<-entered // the writer is inside Commit with the first credit

		const n = 20
		results := make(chan error, n)
		for i := 0; i < n; i++ {
			go func() {
				_, err := w.Submit(context.Background(), "", credit(a, "1.00"))
				results <- err
			}()
		}
		closed := make(chan struct{})
		go func() {
			w.Close()
			close(closed)
		}()
		close(gate)
		select {
		case <-closed:
		case <-time.After(20 * time.Second):
			t.Fatal("Close did not return")
		}
		if err := <-first; err != nil {
			t.Fatalf("the command in flight during Close: %v", err)
		}
		done := 0
		for i := 0; i < n; i++ {
			switch err := <-results; {
			case err == nil:
				done++
			case walletd.ErrorCode(err) == walletd.EUnavailable:
			default:
				t.Fatalf("a command racing Close: %v", err)
			}
		}
		t.Logf("%d of %d commands racing Close were committed", done, n)
		// Every command answered with success is committed, and no other.
		wantBalance(t, l, a, fmt.Sprintf("%d", 100+done))
		if got := headSeq(t, l); got != uint64(2+done) {
			t.Fatalf("head %d, want %d", got, 2+done)
		}

		_, err := w.Submit(context.Background(), "", credit(a, "1.00"))
		wantCode(t, err, walletd.EUnavailable)
		if !errors.Is(err, ledger.ErrClosed) {
			t.Fatalf("Submit after Close: %v, want ErrClosed", err)
		}
		if err := w.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		wantVerified(t, l)
	})
	t.Run("ErrUnavailable", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		a := l.MustWallet(t, "alice", "USD")
		w := l.Writer
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		for _, cmd := range []walletd.Command{credit(a, "1.00"), &ledger.CreateWallet{UserID: "bob", Email: "bob@example.com", Currency: "USD"}} {
			_, err := w.Submit(context.Background(), "key", cmd)
			wantCode(t, err, walletd.EUnavailable)
		}
		if headSeq(t, l) != 1 {
			t.Fatal("a command was written after Close")
		}
	})
}

// TestWriter_Concurrent runs 100 goroutines of 100 random transfers each
// among 10 wallets and checks that money is conserved, no balance goes
// negative, the wallets table agrees with the entries, and the chain verifies.
func TestWriter_Concurrent(t *testing.T) {
	const (
		nWallets = 10
		workers  = 100
		perWork  = 100
		initial  = "1000.00"
	)
	ctx := context.Background()
	l := walletdtest.MustOpenLedger(t, nil)
	ids := make([]string, nWallets)
	for i := range ids {
		ids[i] = l.MustWallet(t, fmt.Sprintf("user%d", i), "USD")
		l.MustCredit(t, ids[i], initial)
	}
	w := l.Writer
	var ok, refused atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for g := 0; g < workers; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 0x5eed))
			for i := 0; i < perWork; i++ {
				from := rng.IntN(nWallets)
				to := (from + 1 + rng.IntN(nWallets-1)) % nWallets
				amount := decimal.New(int64(1+rng.IntN(30000)), -2).StringFixed(2) // 0.01 … 300.00
				res, err := w.Submit(ctx, "", transfer(ids[from], ids[to], amount))
				switch walletd.ErrorCode(err) {
				case "":
					if len(res.Entries) != 2 {
						errs <- fmt.Errorf("transfer returned %d entries", len(res.Entries))
						return
					}
					ok.Add(1)
				case walletd.EInsufficientFunds:
					refused.Add(1)
				default:
					errs <- err
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("%d transfers, %d refused for insufficient funds", ok.Load(), refused.Load())
	if ok.Load()+refused.Load() != workers*perWork || ok.Load() == 0 {
		t.Fatalf("%d ok + %d refused", ok.Load(), refused.Load())
	}

	ws, err := l.DB.Wallets(ctx, "", "", 100)
	if err != nil {
		t.Fatal(err)
	}
	total := decimal.Zero
	for _, w := range ws {
		if w.Balance.IsNegative() {
			t.Errorf("wallet %s is negative: %s", w.ID, w.Balance)
		}
		total = total.Add(w.Balance)
	}
	if want := decimal.RequireFromString(initial).Mul(decimal.NewFromInt(nWallets)); !total.Equal(want) {
		t.Fatalf("sum of balances %s, want %s", total, want)
	}

	// Replay the entries: every balance_after follows from the one before,
	// and each wallet row equals its last entry.
	es := allEntries(t, l)
	if uint64(len(es)) != uint64(2*nWallets)+2*uint64(ok.Load()) {
		t.Fatalf("%d entries, want %d", len(es), 2*nWallets+2*ok.Load())
	}
	running := map[string]decimal.Decimal{}
	last := map[string]*walletd.Entry{}
	legs := map[string][]*walletd.Entry{}
	for _, e := range es {
		amt := decimal.RequireFromString(e.Amount)
		switch e.Kind {
		case walletd.KindCredit:
			running[e.WalletID] = running[e.WalletID].Add(amt)
		case walletd.KindDebit:
			running[e.WalletID] = running[e.WalletID].Sub(amt)
		}
		if !running[e.WalletID].Equal(decimal.RequireFromString(e.BalanceAfter)) {
			t.Fatalf("seq %d: balance_after %s, replay gives %s", e.Seq, e.BalanceAfter, running[e.WalletID])
		}
		if running[e.WalletID].IsNegative() {
			t.Fatalf("seq %d takes wallet %s negative", e.Seq, e.WalletID)
		}
		last[e.WalletID] = e
		if e.TransferID != "" {
			legs[e.TransferID] = append(legs[e.TransferID], e)
		}
	}
	for _, w := range ws {
		e := last[w.ID]
		if !w.Balance.Equal(decimal.RequireFromString(e.BalanceAfter)) || w.LastSeq != e.Seq {
			t.Fatalf("wallet %s: balance %s last_seq %d, its last entry says %s at seq %d", w.ID, w.Balance, w.LastSeq, e.BalanceAfter, e.Seq)
		}
	}
	if len(legs) != int(ok.Load()) {
		t.Fatalf("%d transfer ids, want %d", len(legs), ok.Load())
	}
	for id, ls := range legs {
		if len(ls) != 2 || ls[1].Seq != ls[0].Seq+1 || ls[0].Type != walletd.TypeTransferOut || ls[1].Type != walletd.TypeTransferIn ||
			ls[0].Amount != ls[1].Amount || ls[0].Counterparty != ls[1].WalletID || ls[1].Counterparty != ls[0].WalletID {
			t.Fatalf("transfer %s legs %+v", id, ls)
		}
	}
	rep := wantVerified(t, l)
	if rep.Checkpoints == 0 {
		t.Fatal("no checkpoints were written")
	}
}
