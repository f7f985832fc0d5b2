package ledger_test

import (
	"testing"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/walletdtest"
)

func TestTopup(t *testing.T) {
	l := walletdtest.MustOpenLedger(t, nil)
	w := l.MustWallet(t, "u1", "USD")

	res := mustSubmit(t, l, "", &ledger.CreateTopup{WalletID: w, Amount: "25.00", Method: "card", ExternalRef: "pi_1"})
	top := res.Object.(*walletd.Topup)
	if top.Status != walletd.StatusPending || top.Amount.String() != "25.00" || top.ID == "" {
		t.Fatalf("topup %+v", top)
	}
	wantMoney(t, l, w, "0", "0")

	done := mustSubmit(t, l, "", &ledger.CompleteTopup{TopupID: top.ID}).Object.(*walletd.Topup)
	if done.Status != walletd.StatusCompleted || done.TransactionID == "" {
		t.Fatalf("completed topup %+v", done)
	}
	wantMoney(t, l, w, "25", "0")
	_, err := submit(l, "", &ledger.CompleteTopup{TopupID: top.ID})
	wantCode(t, err, walletd.EConflict)
	_, err = submit(l, "", &ledger.FailTopup{TopupID: top.ID, Reason: "late"})
	wantCode(t, err, walletd.EConflict)
	wantMoney(t, l, w, "25", "0")

	_, err = submit(l, "", &ledger.CompleteTopup{TopupID: "top_nope"})
	wantCode(t, err, walletd.ENotFound)
	for _, bad := range []*ledger.CreateTopup{
		{WalletID: w, Amount: "0.001", Method: "card"},
		{WalletID: w, Amount: "1e400", Method: "card"},
		{WalletID: w, Amount: "-0", Method: "card"},
		{WalletID: w, Amount: "NaN", Method: "card"},
		{WalletID: w, Amount: "5", Method: ""},
		{WalletID: w, Amount: "5", Method: "Card!"},
	} {
		if _, err := submit(l, "", bad); walletd.ErrorCode(err) != walletd.EInvalidAmount && walletd.ErrorCode(err) != walletd.EInvalid {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	_, err = submit(l, "", &ledger.CreateTopup{WalletID: "wal_nope", Amount: "5", Method: "card"})
	wantCode(t, err, walletd.ENotFound)

	// Fail is final too.
	t2 := mustSubmit(t, l, "", &ledger.CreateTopup{WalletID: w, Amount: "5", Method: "card"}).Object.(*walletd.Topup)
	failed := mustSubmit(t, l, "", &ledger.FailTopup{TopupID: t2.ID, Reason: "card declined"}).Object.(*walletd.Topup)
	if failed.Status != walletd.StatusFailed || failed.FailureReason != "card declined" {
		t.Fatalf("failed topup %+v", failed)
	}
	_, err = submit(l, "", &ledger.CompleteTopup{TopupID: t2.ID})
	wantCode(t, err, walletd.EConflict)

	// Many completes and fails at once: exactly one wins.
	t3 := mustSubmit(t, l, "", &ledger.CreateTopup{WalletID: w, Amount: "10", Method: "card"}).Object.(*walletd.Topup)
	ok, codes := race(t, l, 40, func(i int) walletd.Command {
		if i%2 == 0 {
			return &ledger.CompleteTopup{TopupID: t3.ID}
		}
		return &ledger.FailTopup{TopupID: t3.ID}
	})
	if ok != 1 || codes[walletd.EConflict] != 39 {
		t.Fatalf("%d won, others %v", ok, codes)
	}
	after := wallet(t, l, w).Balance.String()
	if after != "25" && after != "35" {
		t.Fatalf("balance %s", after)
	}

	// An idempotent replay of the creation answers with the same top-up.
	r1 := mustSubmit(t, l, "k-top", &ledger.CreateTopup{WalletID: w, Amount: "7", Method: "card"})
	r2 := mustSubmit(t, l, "k-top", &ledger.CreateTopup{WalletID: w, Amount: "7", Method: "card"})
	if !r2.Replayed || r2.Object.(*walletd.Topup).ID != r1.Object.(*walletd.Topup).ID {
		t.Fatalf("replay %+v, original %+v", r2.Object, r1.Object)
	}
	verifies(t, l)
}
