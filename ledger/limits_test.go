package ledger_test

import (
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
