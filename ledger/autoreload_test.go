package ledger_test

import (
	"context"
	"testing"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/walletdtest"
)

func TestAutoReload(t *testing.T) {
	l := walletdtest.MustOpenLedger(t, nil)
	w := l.MustWallet(t, "u1", "USD")
	l.MustCredit(t, w, "100")
	_, err := submit(l, "", &ledger.SetAutoReload{WalletID: w, Threshold: "20"})
	wantCode(t, err, walletd.EInvalidAmount)
	mustSubmit(t, l, "", &ledger.SetAutoReload{WalletID: w, Threshold: "20", Amount: "50", Method: "card"})

	mustSubmit(t, l, "", debit(w, "80")) // 20: not below
	if wallet(t, l, w).Features.ReloadTopupID != "" {
		t.Fatal("reload at the threshold")
	}
	res := mustSubmit(t, l, "", debit(w, "5")) // 15: below
	if len(res.Entries) != 2 || res.Entries[1].Type != walletd.TypeReloadTriggered {
		t.Fatalf("debit below the threshold wrote %d entries", len(res.Entries))
	}
	pending := wallet(t, l, w).Features.ReloadTopupID
	top, err := l.DB.Object(context.Background(), walletd.ObjTopup, pending)
	if err != nil {
		t.Fatal(err)
	}
	if tp := top.(*walletd.Topup); tp.Status != walletd.StatusPending || tp.Amount.String() != "50.00" || tp.Origin != "auto_reload" || tp.Method != "card" {
		t.Fatalf("reload topup %+v", tp)
	}
	// No second trigger while it is pending.
	res = mustSubmit(t, l, "", debit(w, "5"))
	if len(res.Entries) != 1 {
		t.Fatal("second trigger while a reload is pending")
	}
	mustSubmit(t, l, "", &ledger.CompleteTopup{TopupID: pending})
	wantMoney(t, l, w, "60", "0")
	if wallet(t, l, w).Features.ReloadTopupID != "" {
		t.Fatal("reload still pending after completion")
	}
	// Transfers out trigger too.
	other := l.MustWallet(t, "u2", "USD")
	res = mustSubmit(t, l, "", transfer(w, other, "45"))
	if len(res.Entries) != 3 || res.Entries[2].Type != walletd.TypeReloadTriggered {
		t.Fatalf("transfer below the threshold wrote %d entries", len(res.Entries))
	}
	// Removed: nothing fires.
	mustSubmit(t, l, "", &ledger.FailTopup{TopupID: wallet(t, l, w).Features.ReloadTopupID, Reason: "declined"})
	mustSubmit(t, l, "", &ledger.SetAutoReload{WalletID: w, Remove: true})
	_, err = submit(l, "", &ledger.SetAutoReload{WalletID: w, Remove: true})
	wantCode(t, err, walletd.ENotFound)
	if res = mustSubmit(t, l, "", debit(w, "1")); len(res.Entries) != 1 {
		t.Fatal("reload fired after removal")
	}
	verifies(t, l)
}

func TestSetAutoReload_Unchanged(t *testing.T) {
	l := walletdtest.MustOpenLedger(t, nil)
	w := l.MustWallet(t, "u1", "USD")
	l.MustCredit(t, w, "100")
	mustSubmit(t, l, "", &ledger.SetAutoReload{WalletID: w, Threshold: "20", Amount: "50", Method: "card"})

	t.Run("SameAutoReload", func(t *testing.T) {
		before := snapshot(t, l)
		for i := 0; i < 2; i++ {
			res := mustSubmit(t, l, "k-same-reload", &ledger.SetAutoReload{WalletID: w, Threshold: "20.00", Amount: "50", Method: "card"})
			wantNoOp(t, l, res, w, before)
			if ar := res.Unchanged.Features.AutoReload; ar.Threshold.String() != "20.00" || ar.Amount.String() != "50.00" || ar.Method != "card" {
				t.Fatalf("auto-reload %+v", ar)
			}
		}
	})
	t.Run("WhileReloadPending", func(t *testing.T) {
		// A pending reload top-up is no part of the setting.
		mustSubmit(t, l, "", debit(w, "85"))
		if wallet(t, l, w).Features.ReloadTopupID == "" {
			t.Fatal("no reload")
		}
		before := snapshot(t, l)
		wantNoOp(t, l, mustSubmit(t, l, "", &ledger.SetAutoReload{WalletID: w, Threshold: "20", Amount: "50", Method: "card"}), w, before)
	})
	t.Run("Changed", func(t *testing.T) {
		// Another method is another auto-reload.
		for _, cmd := range []*ledger.SetAutoReload{
			{WalletID: w, Threshold: "20", Amount: "50"},
			{WalletID: w, Threshold: "20", Amount: "60"},
			{WalletID: w, Threshold: "25", Amount: "60"},
		} {
			if res := mustSubmit(t, l, "", cmd); len(res.Entries) != 1 || res.Unchanged != nil {
				t.Fatalf("%+v: %+v", cmd, res)
			}
		}
	})
	t.Run("ErrRemoveNone", func(t *testing.T) {
		// Removing is not setting: with nothing to remove it is not found.
		mustSubmit(t, l, "", &ledger.SetAutoReload{WalletID: w, Remove: true})
		_, err := submit(l, "", &ledger.SetAutoReload{WalletID: w, Remove: true})
		wantCode(t, err, walletd.ENotFound)
	})
	verifies(t, l)
}
