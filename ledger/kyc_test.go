package ledger_test

import (
	"testing"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/walletdtest"
)

func TestKYC(t *testing.T) {
	l := walletdtest.MustOpenLedger(t, nil)
	w := l.MustWallet(t, "u1", "USD")
	other := l.MustWallet(t, "u2", "USD")
	l.MustCredit(t, w, "1000")

	// No settings: no gate.
	mustSubmit(t, l, "", debit(w, "500"))
	mustSubmit(t, l, "", &ledger.SetKYCSettings{Threshold: "100", CumulativeThreshold: "700"})

	for _, cmd := range []walletd.Command{
		debit(w, "100.01"),
		transfer(w, other, "150"),
		&ledger.RequestWithdrawal{WalletID: w, Amount: "101", Method: "bank"},
	} {
		_, err := submit(l, "", cmd)
		wantCode(t, err, walletd.EKYCRequired)
	}
	mustSubmit(t, l, "", debit(w, "100")) // at the threshold is allowed: 600 out so far
	// Cumulative: 600 + 100.01 > 700.
	mustSubmit(t, l, "", debit(w, "100"))
	_, err := submit(l, "", debit(w, "0.01"))
	wantCode(t, err, walletd.EKYCRequired)
	reqs := entriesOfType(t, l, walletd.KindNote, walletd.TypeKYCRequired)
	if len(reqs) != 4 {
		t.Fatalf("%d kyc_required entries, want 4", len(reqs))
	}
	wantMoney(t, l, w, "300", "0")

	// Pending is not verified; verified passes.
	mustSubmit(t, l, "", &ledger.SetKYC{WalletID: w, Status: walletd.KYCPending})
	_, err = submit(l, "", debit(w, "150"))
	wantCode(t, err, walletd.EKYCRequired)
	_, err = submit(l, "", &ledger.SetKYC{WalletID: w, Status: "approved"})
	wantCode(t, err, walletd.EInvalid)
	mustSubmit(t, l, "", &ledger.SetKYC{WalletID: w, Status: walletd.KYCVerified})
	mustSubmit(t, l, "", debit(w, "150"))
	if got := wallet(t, l, w).Features.KYC(); got != walletd.KYCVerified {
		t.Fatalf("kyc %s", got)
	}
	// Settings of another currency do not apply.
	j := l.MustWallet(t, "u1", "JPY")
	l.MustCredit(t, j, "100000")
	mustSubmit(t, l, "", debit(j, "50000"))
	verifies(t, l)
}

func TestSetKYC_Unchanged(t *testing.T) {
	l := walletdtest.MustOpenLedger(t, nil)
	w := l.MustWallet(t, "u1", "USD")

	t.Run("NeverSet", func(t *testing.T) {
		// A wallet whose status was never set is "none".
		before := snapshot(t, l)
		res := mustSubmit(t, l, "", &ledger.SetKYC{WalletID: w, Status: walletd.KYCNone})
		wantNoOp(t, l, res, w, before)
		if res.Unchanged.Features.KYC() != walletd.KYCNone {
			t.Fatalf("kyc %q", res.Unchanged.Features.KYCStatus)
		}
	})
	mustSubmit(t, l, "", &ledger.SetKYC{WalletID: w, Status: walletd.KYCVerified})
	t.Run("SameStatus", func(t *testing.T) {
		before := snapshot(t, l)
		for i := 0; i < 2; i++ {
			res := mustSubmit(t, l, "k-same-kyc", &ledger.SetKYC{WalletID: w, Status: walletd.KYCVerified})
			wantNoOp(t, l, res, w, before)
			if res.Unchanged.Features.KYC() != walletd.KYCVerified {
				t.Fatalf("kyc %q", res.Unchanged.Features.KYCStatus)
			}
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		_, err := submit(l, "", &ledger.SetKYC{WalletID: w, Status: "approved"})
		wantCode(t, err, walletd.EInvalid)
	})
	t.Run("Changed", func(t *testing.T) {
		res := mustSubmit(t, l, "", &ledger.SetKYC{WalletID: w, Status: walletd.KYCPending})
		if len(res.Entries) != 1 || res.Unchanged != nil {
			t.Fatalf("change: %+v", res)
		}
	})
	verifies(t, l)
}
