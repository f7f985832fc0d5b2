package ledger_test

import (
	"strings"
	"testing"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/walletdtest"
)

func TestTransfer(t *testing.T) {
	t.Run("Transfer", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		a := l.MustWallet(t, "alice", "USD")
		b := l.MustWallet(t, "bob", "USD")
		c := l.MustCredit(t, a, "100.00")
		cmd := &ledger.Transfer{FromWalletID: a, ToWalletID: b, Amount: "30", Note: "rent", Metadata: map[string]string{"month": "may"}}
		res := mustSubmit(t, l, "tr-1", cmd)
		if len(res.Entries) != 2 || res.Replayed {
			t.Fatalf("result %+v", res)
		}
		out, in := res.Entries[0], res.Entries[1]
		if out.Seq != c.Seq+1 || out.Kind != walletd.KindDebit || out.Type != walletd.TypeTransferOut || out.WalletID != a ||
			out.Counterparty != b || out.Amount != "30.00" || out.BalanceAfter != "70.00" || out.PrevHash != c.Hash {
			t.Fatalf("out leg %+v", out)
		}
		if in.Seq != out.Seq+1 || in.Kind != walletd.KindCredit || in.Type != walletd.TypeTransferIn || in.WalletID != b ||
			in.Counterparty != a || in.Amount != "30.00" || in.BalanceAfter != "30.00" || in.PrevHash != out.Hash || in.UserID != "bob" {
			t.Fatalf("in leg %+v", in)
		}
		if !strings.HasPrefix(out.TransferID, "tfr_") || in.TransferID != out.TransferID {
			t.Fatalf("transfer ids %q %q", out.TransferID, in.TransferID)
		}
		for _, e := range res.Entries {
			if e.Reason != "rent" || e.Metadata != `{"month":"may"}` || e.IdempotencyKey != "tr-1" ||
				e.RequestHash != ledger.Fingerprint(cmd) || !e.CreatedAt.Equal(out.CreatedAt) {
				t.Fatalf("leg %+v", e)
			}
		}
		wantBalance(t, l, a, "70")
		wantBalance(t, l, b, "30")
		if getWallet(t, l, a).LastSeq != out.Seq || getWallet(t, l, b).LastSeq != in.Seq {
			t.Fatal("last_seq not moved")
		}
		wantVerified(t, l)
	})
	t.Run("ErrCurrencyMismatch", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		a := l.MustWallet(t, "alice", "USD")
		e := l.MustWallet(t, "alice", "EUR")
		l.MustCredit(t, a, "10.00")
		l.MustCredit(t, e, "10.00")
		before := snapshot(t, l)
		_, err := submit(l, "", transfer(a, e, "1.00"))
		wantCode(t, err, walletd.ECurrencyMismatch)
		_, err = submit(l, "", transfer(e, a, "1.00"))
		wantCode(t, err, walletd.ECurrencyMismatch)
		wantUnchanged(t, l, before)
	})
	t.Run("ErrSameWallet", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		a := l.MustWallet(t, "alice", "USD")
		l.MustCredit(t, a, "10.00")
		before := snapshot(t, l)
		_, err := submit(l, "", transfer(a, a, "1.00"))
		wantCode(t, err, walletd.EInvalid)
		wantUnchanged(t, l, before)
	})
}
