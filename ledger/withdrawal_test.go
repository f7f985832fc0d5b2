package ledger_test

import (
	"testing"

	"github.com/walletd/walletd"

	"github.com/shopspring/decimal"
	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/walletdtest"
)

func TestWithdrawal(t *testing.T) {
	l := walletdtest.MustOpenLedger(t, nil)
	w := l.MustWallet(t, "u1", "USD")
	l.MustCredit(t, w, "100.00")

	d := mustSubmit(t, l, "", &ledger.RequestWithdrawal{WalletID: w, Amount: "30.00", Method: "bank", Destination: "DE89…"}).Object.(*walletd.Withdrawal)
	wantMoney(t, l, w, "100", "30")
	if got := wallet(t, l, w).Available().String(); got != "70" {
		t.Fatalf("available %s", got)
	}
	// The hold counts against what else may leave.
	_, err := submit(l, "", debit(w, "70.01"))
	wantCode(t, err, walletd.EInsufficientFunds)
	_, err = submit(l, "", &ledger.RequestWithdrawal{WalletID: w, Amount: "70.01", Method: "bank"})
	wantCode(t, err, walletd.EInsufficientFunds)

	// A pending withdrawal and its hold survive a restart.
	l.Reopen(t)
	wantMoney(t, l, w, "100", "30")
	_, err = submit(l, "", debit(w, "70.01"))
	wantCode(t, err, walletd.EInsufficientFunds)
	mustSubmit(t, l, "", &ledger.ApproveWithdrawal{WithdrawalID: d.ID})
	wantMoney(t, l, w, "70", "0")
	_, err = submit(l, "", &ledger.ApproveWithdrawal{WithdrawalID: d.ID})
	wantCode(t, err, walletd.EConflict)
	_, err = submit(l, "", &ledger.RejectWithdrawal{WithdrawalID: d.ID})
	wantCode(t, err, walletd.EConflict)

	d2 := mustSubmit(t, l, "", &ledger.RequestWithdrawal{WalletID: w, Amount: "20", Method: "bank"}).Object.(*walletd.Withdrawal)
	rej := mustSubmit(t, l, "", &ledger.RejectWithdrawal{WithdrawalID: d2.ID, Reason: "name mismatch"}).Object.(*walletd.Withdrawal)
	if rej.Status != walletd.StatusRejected || rej.RejectReason != "name mismatch" {
		t.Fatalf("rejected %+v", rej)
	}
	wantMoney(t, l, w, "70", "0")

	// Approve against reject, many at once: exactly one wins and the
	// money adds up either way.
	for round := 0; round < 5; round++ {
		d3 := mustSubmit(t, l, "", &ledger.RequestWithdrawal{WalletID: w, Amount: "1", Method: "bank"}).Object.(*walletd.Withdrawal)
		before := wallet(t, l, w).Balance
		ok, codes := race(t, l, 20, func(i int) walletd.Command {
			if i%2 == 0 {
				return &ledger.ApproveWithdrawal{WithdrawalID: d3.ID}
			}
			return &ledger.RejectWithdrawal{WithdrawalID: d3.ID}
		})
		if ok != 1 || codes[walletd.EConflict] != 19 {
			t.Fatalf("%d won, others %v", ok, codes)
		}
		after := wallet(t, l, w)
		approved := after.Balance.Equal(before.Sub(decimal.NewFromInt(1)))
		if !after.Held.IsZero() || !approved && !after.Balance.Equal(before) {
			t.Fatalf("after the race: balance %s held %s (before %s)", after.Balance, after.Held, before)
		}
	}
	verifies(t, l)
}
