package ledger_test

import (
	"testing"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/walletdtest"
)

// wantBalances checks a result's wallets: wallet id → "balance/held/available".
func wantBalances(tb testing.TB, res *walletd.Result, want map[string]string, order ...string) {
	tb.Helper()
	if len(res.Wallets) != len(want) {
		tb.Fatalf("%d wallets in the result, want %d: %+v", len(res.Wallets), len(want), res.Wallets)
	}
	for i, id := range order {
		if res.Wallets[i].WalletID != id {
			tb.Fatalf("wallet %d is %s, want %s", i, res.Wallets[i].WalletID, id)
		}
	}
	for id, w := range want {
		b := res.Wallet(id)
		if b == nil {
			tb.Fatalf("no wallet %s in the result", id)
		}
		if got := b.Balance.String() + "/" + b.Held.String() + "/" + b.Available().String(); got != w {
			tb.Fatalf("wallet %s after the command: %s, want %s", id, got, w)
		}
	}
}

func TestWriter_Result(t *testing.T) {
	t.Run("Wallets", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		a := l.MustWallet(t, "alice", "USD")
		b := l.MustWallet(t, "bob", "USD")
		l.MustCredit(t, a, "100")
		res := mustSubmit(t, l, "tr-1", transfer(a, b, "30.5"))
		wantBalances(t, res, map[string]string{a: "69.50/0.00/69.50", b: "30.50/0.00/30.50"}, a, b)
		if res.Wallets[0].Seq != res.Entries[0].Seq || res.Wallets[1].Seq != res.Entries[1].Seq || res.Wallets[0].Currency != "USD" {
			t.Fatalf("wallets %+v", res.Wallets)
		}
		if res.Object != nil || res.ObjectKind != "" || res.ObjectID != "" {
			t.Fatalf("a transfer reported an object: %+v", res)
		}
		// A replay reports the wallets as the original left them, not as
		// they are now.
		mustSubmit(t, l, "", debit(a, "10"))
		again := mustSubmit(t, l, "tr-1", transfer(a, b, "30.5"))
		if !again.Replayed {
			t.Fatal("not replayed")
		}
		wantBalances(t, again, map[string]string{a: "69.50/0.00/69.50", b: "30.50/0.00/30.50"}, a, b)

		jpy := l.MustWallet(t, "alice", "JPY")
		res = mustSubmit(t, l, "", credit(jpy, "1500"))
		wantBalances(t, res, map[string]string{jpy: "1500/0/1500"})
		// A wallet's open entry reports it, empty.
		res = mustSubmit(t, l, "", &ledger.CreateWallet{UserID: "carol", Email: "carol@example.com", Currency: "KWD"})
		wantBalances(t, res, map[string]string{res.Entries[0].WalletID: "0.000/0.000/0.000"})
	})
	t.Run("Withdrawal", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		w := l.MustWallet(t, "u1", "USD")
		l.MustCredit(t, w, "100")
		res := mustSubmit(t, l, "wd-1", &ledger.RequestWithdrawal{WalletID: w, Amount: "30", Method: "bank"})
		d := res.Object.(*walletd.Withdrawal)
		if res.ObjectKind != walletd.ObjWithdrawal || res.ObjectID != d.ID {
			t.Fatalf("object %s %s, withdrawal %s", res.ObjectKind, res.ObjectID, d.ID)
		}
		wantBalances(t, res, map[string]string{w: "100.00/30.00/70.00"})
		l.Reopen(t)
		again := mustSubmit(t, l, "wd-1", &ledger.RequestWithdrawal{WalletID: w, Amount: "30", Method: "bank"})
		if !again.Replayed || again.ObjectKind != walletd.ObjWithdrawal || again.ObjectID != d.ID || again.Object.(*walletd.Withdrawal).ID != d.ID {
			t.Fatalf("replay after a restart %+v", again)
		}
		wantBalances(t, again, map[string]string{w: "100.00/30.00/70.00"})
		res = mustSubmit(t, l, "", &ledger.ApproveWithdrawal{WithdrawalID: d.ID})
		wantBalances(t, res, map[string]string{w: "70.00/0.00/70.00"})
	})
	t.Run("Objects", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		w := l.MustWallet(t, "bob", "USD")
		for _, tc := range []struct {
			cmd  walletd.Command
			kind string
			id   func(any) string
		}{
			{&ledger.CreateTopup{WalletID: w, Amount: "5", Method: "card"}, walletd.ObjTopup, func(v any) string { return v.(*walletd.Topup).ID }},
			{&ledger.CreateRedemptionCode{Code: "GIFT-1234", Amount: "5", Currency: "USD", MaxRedemptions: 1}, walletd.ObjCode, func(v any) string { return v.(*walletd.RedemptionCode).ID }},
			{&ledger.CreateCashbackRule{Percent: "5"}, walletd.ObjCashbackRule, func(v any) string { return v.(*walletd.CashbackRule).ID }},
			{&ledger.CreateMilestone{Name: "m", Metric: walletd.MetricOrderCount, Threshold: "3", Reward: "1"}, walletd.ObjMilestone, func(v any) string { return v.(*walletd.Milestone).ID }},
			{&ledger.SetKYCSettings{Threshold: "100"}, walletd.ObjKYCSettings, func(v any) string { return v.(*walletd.KYCSettings).Currency }},
			{&ledger.SetReferralSettings{ReferrerReward: "1"}, walletd.ObjReferralSettings, func(v any) string { return v.(*walletd.ReferralSettings).Currency }},
			{&ledger.CreateReferral{ReferrerUserID: "alice", RefereeUserID: "bob"}, walletd.ObjReferral, func(v any) string { return v.(*walletd.Referral).RefereeUserID }},
			{&ledger.CompleteOrder{OrderID: "o-1", UserID: "bob", Total: "10", Currency: "USD"}, walletd.ObjOrder, func(v any) string { return v.(*walletd.Order).ID }},
		} {
			key := "k-" + tc.kind
			res := mustSubmit(t, l, key, tc.cmd)
			if res.ObjectKind != tc.kind || res.ObjectID == "" || res.ObjectID != tc.id(res.Object) {
				t.Fatalf("%s: object %s %q, %+v", tc.cmd.Op(), res.ObjectKind, res.ObjectID, res.Object)
			}
			again := mustSubmit(t, l, key, tc.cmd)
			if !again.Replayed || again.ObjectKind != res.ObjectKind || again.ObjectID != res.ObjectID || tc.id(again.Object) != res.ObjectID {
				t.Fatalf("%s replayed: object %s %q, %+v", tc.cmd.Op(), again.ObjectKind, again.ObjectID, again.Object)
			}
		}
	})
	t.Run("ConcurrentReplays", func(t *testing.T) {
		// Replays in the writer's batch, from its memory or from the
		// database all report what the original reported.
		l := walletdtest.MustOpenLedger(t, nil)
		a := l.MustWallet(t, "alice", "USD")
		const n = 30
		results := make(chan *walletd.Result, n)
		for i := 0; i < n; i++ {
			go func() {
				res, err := submit(l, "same", credit(a, "10"))
				if err != nil {
					t.Error(err)
				}
				results <- res
			}()
		}
		for i := 0; i < n; i++ {
			if res := <-results; res != nil {
				wantBalances(t, res, map[string]string{a: "10.00/0.00/10.00"})
			}
		}
	})
}
