package ledger_test

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/walletdtest"
)

func TestSpendingLimits(t *testing.T) {
	clk := &clock{t: time.Date(2026, 3, 31, 22, 0, 0, 0, time.UTC)}
	// The limits count in UTC+3: 22:00 UTC on 31 March is already 1 April there.
	zone := time.FixedZone("UTC+3", 3*3600)
	l := walletdtest.MustOpenLedger(t, func(c *ledger.WriterConfig) { c.Now = clk.Now; c.LimitLocation = zone })
	w := l.MustWallet(t, "u1", "USD")
	other := l.MustWallet(t, "u2", "USD")
	l.MustCredit(t, w, "1000.00")

	_, err := submit(l, "", &ledger.SetLimits{WalletID: w, PerTransaction: str("100.001")})
	wantCode(t, err, walletd.EInvalidAmount)
	mustSubmit(t, l, "", &ledger.SetLimits{WalletID: w, PerTransaction: str("100"), Daily: str("150"), Monthly: str("300")})
	if got := wallet(t, l, w).Features.Limits; got.PerTransaction.String() != "100.00" || got.Daily.String() != "150.00" || got.Monthly.String() != "300.00" {
		t.Fatalf("limits %+v", got)
	}

	// Per transaction, over each outgoing operation.
	for _, cmd := range []walletd.Command{
		debit(w, "100.01"),
		transfer(w, other, "100.01"),
		&ledger.RequestWithdrawal{WalletID: w, Amount: "100.01", Method: "bank"},
	} {
		_, err := submit(l, "", cmd)
		wantCode(t, err, walletd.ESpendingLimit)
	}
	wantMoney(t, l, w, "1000", "0")
	if n := len(entriesOfType(t, l, walletd.KindNote, walletd.TypeLimitBlocked)); n != 3 {
		t.Fatalf("%d blocked entries, want 3", n)
	}

	// Daily: 100 + 50 pass, the next cent does not.
	mustSubmit(t, l, "", debit(w, "100"))
	mustSubmit(t, l, "", transfer(w, other, "50"))
	_, err = submit(l, "", debit(w, "0.01"))
	wantCode(t, err, walletd.ESpendingLimit)

	// A refused request replayed with its key is refused again, from the
	// ledger, without a second record.
	before := len(allEntries(t, l))
	for i := 0; i < 2; i++ {
		_, err = submit(l, "k-blocked", debit(w, "1"))
		wantCode(t, err, walletd.ESpendingLimit)
	}
	if after := len(allEntries(t, l)); after != before+1 {
		t.Fatalf("%d entries after two tries, want %d", after, before+1)
	}

	// The next day in the limits' zone: the daily counter starts again,
	// the monthly one does not.
	clk.Set(clk.Now().Add(24 * time.Hour))
	mustSubmit(t, l, "", debit(w, "100"))
	mustSubmit(t, l, "", debit(w, "50"))
	clk.Set(clk.Now().Add(24 * time.Hour))
	_, err = submit(l, "", debit(w, "0.01")) // 300 this month
	wantCode(t, err, walletd.ESpendingLimit)
	blocked := entriesOfType(t, l, walletd.KindNote, walletd.TypeLimitBlocked)
	if m := metaMap(t, blocked[len(blocked)-1]); m["limit_kind"] != "monthly" || m["limit"] != "300.00" || m["spent"] != "300.00" {
		t.Fatalf("last refusal %v", m)
	}

	// A rejected withdrawal gives its amount back to the periods.
	clk.Set(time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC))
	d := mustSubmit(t, l, "", &ledger.RequestWithdrawal{WalletID: w, Amount: "100", Method: "bank"}).Object.(*walletd.Withdrawal)
	mustSubmit(t, l, "", debit(w, "50"))
	_, err = submit(l, "", debit(w, "1"))
	wantCode(t, err, walletd.ESpendingLimit)
	mustSubmit(t, l, "", &ledger.RejectWithdrawal{WithdrawalID: d.ID})
	mustSubmit(t, l, "", debit(w, "100"))

	// Removing the limits lifts them; they survive a restart.
	mustSubmit(t, l, "", &ledger.SetLimits{WalletID: w, Daily: str("10")})
	l.Reopen(t)
	_, err = submit(l, "", debit(w, "10.01"))
	wantCode(t, err, walletd.ESpendingLimit)
	mustSubmit(t, l, "", &ledger.SetLimits{WalletID: w})
	mustSubmit(t, l, "", debit(w, "200"))
	verifies(t, l)
}

// wantNoOp checks that res is the answer of a command that found wallet id
// already as it asked: no entry, no seq used, nothing stored changed, and
// the wallet as it is in Result.Unchanged.
func wantNoOp(tb testing.TB, l *walletdtest.Ledger, res *walletd.Result, id string, before state) {
	tb.Helper()
	if res.Unchanged == nil || res.Unchanged.ID != id || len(res.Entries) != 0 || len(res.Wallets) != 0 || res.Replayed {
		tb.Fatalf("result %+v, want Unchanged wallet %s and no entries", res, id)
	}
	stored := wallet(tb, l, id)
	got, _ := json.Marshal(res.Unchanged.Features)
	want, _ := json.Marshal(stored.Features)
	if res.Unchanged.LastSeq != stored.LastSeq || string(got) != string(want) {
		tb.Fatalf("unchanged wallet %+v, stored %+v", res.Unchanged, stored)
	}
	wantUnchanged(tb, l, before)
}

func TestSetLimits_Unchanged(t *testing.T) {
	l := walletdtest.MustOpenLedger(t, nil)
	w := l.MustWallet(t, "u1", "USD")
	l.MustCredit(t, w, "500")
	mustSubmit(t, l, "", &ledger.SetLimits{WalletID: w, PerTransaction: str("100"), Daily: str("150.00")})

	t.Run("SameLimits", func(t *testing.T) {
		before := snapshot(t, l)
		// The same amounts written otherwise, and "" for null, are the
		// same limits.
		res := mustSubmit(t, l, "", &ledger.SetLimits{WalletID: w, PerTransaction: str("100.00"), Daily: str("150"), Monthly: str("")})
		wantNoOp(t, l, res, w, before)
		if got := res.Unchanged.Features.Limits; got.PerTransaction.String() != "100.00" || got.Daily.String() != "150.00" || got.Monthly.IsSet() {
			t.Fatalf("unchanged limits %+v", got)
		}
	})
	t.Run("Idempotent", func(t *testing.T) {
		// A key whose request changed nothing answers the same again.
		before := snapshot(t, l)
		for i := 0; i < 2; i++ {
			wantNoOp(t, l, mustSubmit(t, l, "k-same-limits", &ledger.SetLimits{WalletID: w, PerTransaction: str("100"), Daily: str("150")}), w, before)
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		// Many at once, in one batch or several, with one key or none.
		before := snapshot(t, l)
		var wg sync.WaitGroup
		results := make(chan *walletd.Result, 20)
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				key := ""
				if i%2 == 0 {
					key = "k-concurrent"
				}
				res, err := submit(l, key, &ledger.SetLimits{WalletID: w, PerTransaction: str("100"), Daily: str("150")})
				if err != nil {
					t.Error(err)
					return
				}
				results <- res
			}(i)
		}
		wg.Wait()
		close(results)
		for res := range results {
			wantNoOp(t, l, res, w, before)
		}
	})
	t.Run("NeverSet", func(t *testing.T) {
		other := l.MustWallet(t, "u2", "USD")
		before := snapshot(t, l)
		wantNoOp(t, l, mustSubmit(t, l, "", &ledger.SetLimits{WalletID: other}), other, before)
	})
	t.Run("ErrInvalidAmount", func(t *testing.T) {
		// A request is checked before it is compared.
		_, err := submit(l, "", &ledger.SetLimits{WalletID: w, PerTransaction: str("100.001"), Daily: str("150")})
		wantCode(t, err, walletd.EInvalidAmount)
		_, err = submit(l, "", &ledger.SetLimits{WalletID: "wal_nope"})
		wantCode(t, err, walletd.ENotFound)
	})
	t.Run("Changed", func(t *testing.T) {
		// Other limits are a change, recorded once; their replay is a
		// replay, not a no-op.
		res := mustSubmit(t, l, "k-change", &ledger.SetLimits{WalletID: w, PerTransaction: str("100")})
		if len(res.Entries) != 1 || res.Unchanged != nil {
			t.Fatalf("change: %+v", res)
		}
		again := mustSubmit(t, l, "k-change", &ledger.SetLimits{WalletID: w, PerTransaction: str("100")})
		if !again.Replayed || again.Unchanged != nil || len(again.Entries) != 1 || again.Entries[0].Seq != res.Entries[0].Seq {
			t.Fatalf("replay of a change: %+v", again)
		}
		before := snapshot(t, l)
		wantNoOp(t, l, mustSubmit(t, l, "", &ledger.SetLimits{WalletID: w, PerTransaction: str("100")}), w, before)
	})
	t.Run("KeyBindsNothing", func(t *testing.T) {
		// A no-op leaves no record to bind its key to: once the limits
		// have changed, the same key and request change them back.
		before := snapshot(t, l)
		cmd := &ledger.SetLimits{WalletID: w, PerTransaction: str("100")}
		wantNoOp(t, l, mustSubmit(t, l, "k-bind", cmd), w, before)
		mustSubmit(t, l, "", &ledger.SetLimits{WalletID: w, PerTransaction: str("50")})
		if res := mustSubmit(t, l, "k-bind", cmd); len(res.Entries) != 1 || res.Replayed {
			t.Fatalf("the key of a no-op, after a change: %+v", res)
		}
	})
	l.Reopen(t)
	if got := wallet(t, l, w).Features.Limits.PerTransaction.String(); got != "100.00" {
		t.Fatalf("limits after reopen: %s", got)
	}
	verifies(t, l)
}
