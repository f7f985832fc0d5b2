package ledger_test

import (
	"testing"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/walletdtest"
)

func TestOrders(t *testing.T) {
	l := walletdtest.MustOpenLedger(t, nil)
	alice := l.MustWallet(t, "alice", "USD")
	bob := l.MustWallet(t, "bob", "USD")
	mustSubmit(t, l, "", &ledger.CreateCashbackRule{Percent: "5", MaxAmount: "10"})
	mustSubmit(t, l, "", &ledger.CreateCashbackRule{Percent: "2", MinOrderTotal: "1000"})
	mustSubmit(t, l, "", &ledger.CreateMilestone{Name: "Second order", Metric: walletd.MetricOrderCount, Threshold: "2", Reward: "3"})
	mustSubmit(t, l, "", &ledger.CreateMilestone{Name: "Big spender", Metric: walletd.MetricLifetimeSpend, Threshold: "150", Reward: "7.50"})
	mustSubmit(t, l, "", &ledger.SetReferralSettings{ReferrerReward: "4", RefereeReward: "2", MinOrderTotal: "50"})
	mustSubmit(t, l, "", &ledger.CreateReferral{ReferrerUserID: "alice", RefereeUserID: "bob"})
	_, err := submit(l, "", &ledger.CreateReferral{ReferrerUserID: "carol", RefereeUserID: "bob"})
	wantCode(t, err, walletd.EConflict)
	_, err = submit(l, "", &ledger.CreateReferral{ReferrerUserID: "bob", RefereeUserID: "bob"})
	wantCode(t, err, walletd.EInvalid)
	for _, bad := range []walletd.Command{
		&ledger.CreateCashbackRule{Percent: "0"},
		&ledger.CreateCashbackRule{Percent: "100.5"},
		&ledger.CreateCashbackRule{Percent: "1e2"},
		&ledger.CreateMilestone{Name: "x", Metric: walletd.MetricOrderCount, Threshold: "1.5", Reward: "1"},
		&ledger.CreateMilestone{Name: "x", Metric: "visits", Threshold: "1", Reward: "1"},
		&ledger.CreateMilestone{Name: "x", Metric: walletd.MetricLifetimeSpend, Threshold: "10", Reward: "0.001"},
		&ledger.SetReferralSettings{ReferrerReward: "0", RefereeReward: "0"},
		&ledger.CompleteOrder{OrderID: "o", UserID: "alice", Total: "NaN", Currency: "USD"},
		&ledger.CompleteOrder{OrderID: "o", UserID: "alice", Total: "10", Currency: "XXX"},
		&ledger.CompleteOrder{OrderID: "o", UserID: "alice", Total: "10", Currency: "USD", Items: []byte(`[{"sku":`)},
	} {
		if _, err := submit(l, "", bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	_, err = submit(l, "", &ledger.CompleteOrder{OrderID: "o-0", UserID: "nobody", Total: "10", Currency: "USD"})
	wantCode(t, err, walletd.ENotFound)

	// Bob's first order: 5% cashback capped at 10 → 4.00 of 80; referral
	// pays bob 2 and alice 4.
	o1 := mustSubmit(t, l, "", &ledger.CompleteOrder{OrderID: "1001", UserID: "bob", Total: "80.00", Currency: "USD"})
	order := o1.Object.(*walletd.Order)
	if len(order.Awards) != 3 || order.Awards[0].Amount.String() != "4.00" || order.Awards[1].Kind != walletd.AwardReferee || order.Awards[2].Kind != walletd.AwardReferrer {
		t.Fatalf("awards %+v", order.Awards)
	}
	wantMoney(t, l, bob, "6", "0")
	wantMoney(t, l, alice, "4", "0")

	// The same order again: the original result, nothing new. Other terms: 409.
	again := mustSubmit(t, l, "", &ledger.CompleteOrder{OrderID: "1001", UserID: "bob", Total: "80", Currency: "USD"})
	if !again.Replayed || len(again.Entries) != 0 || again.Object.(*walletd.Order).Awards[0].TransactionID != order.Awards[0].TransactionID {
		t.Fatalf("repeat %+v", again)
	}
	_, err = submit(l, "", &ledger.CompleteOrder{OrderID: "1001", UserID: "bob", Total: "81", Currency: "USD"})
	wantCode(t, err, walletd.EConflict)

	// Second order: cashback 10 (capped), milestone "Second order" 3 and,
	// at 80+400 ≥ 150, "Big spender" 7.50; no more referral.
	mustSubmit(t, l, "", &ledger.CompleteOrder{OrderID: "1002", UserID: "bob", Total: "400", Currency: "USD"})
	wantMoney(t, l, bob, "26.5", "0")
	wantMoney(t, l, alice, "4", "0")
	// Third: 2% of 1000 = 20 beats 5% capped at 10; milestones are once.
	mustSubmit(t, l, "", &ledger.CompleteOrder{OrderID: "1003", UserID: "bob", Total: "1000", Currency: "USD"})
	wantMoney(t, l, bob, "46.5", "0")

	// Twenty completions of one new order at once: one award.
	ok, codes := race(t, l, 20, func(int) walletd.Command {
		return &ledger.CompleteOrder{OrderID: "1004", UserID: "alice", Total: "20", Currency: "USD"}
	})
	if ok != 20 || len(codes) != 0 {
		t.Fatalf("%d answered, errors %v", ok, codes)
	}
	wantMoney(t, l, alice, "5", "0") // 4 + 5% of 20
	if n := len(entriesOfType(t, l, walletd.KindNote, walletd.TypeOrderCompleted)); n != 4 {
		t.Fatalf("%d order_completed entries, want 4", n)
	}

	// Refund reverses the cashback, once.
	mustSubmit(t, l, "", debit(alice, "4.50")) // alice spends most of it
	ref := mustSubmit(t, l, "", &ledger.RefundOrder{OrderID: "1004", Reason: "returned"}).Object.(*walletd.Order)
	if ref.Status != walletd.StatusRefunded || ref.Awards[len(ref.Awards)-1].Kind != walletd.AwardCashbackReversal || ref.Awards[len(ref.Awards)-1].Amount.String() != "0.50" {
		t.Fatalf("refund %+v", ref)
	}
	wantMoney(t, l, alice, "0", "0")
	_, err = submit(l, "", &ledger.RefundOrder{OrderID: "1004"})
	wantCode(t, err, walletd.EConflict)
	_, err = submit(l, "", &ledger.RefundOrder{OrderID: "9999"})
	wantCode(t, err, walletd.ENotFound)
	mustSubmit(t, l, "", &ledger.RefundOrder{OrderID: "1001"})
	wantMoney(t, l, bob, "42.5", "0")

	// After a restart an order is still done once.
	l.Reopen(t)
	again = mustSubmit(t, l, "", &ledger.CompleteOrder{OrderID: "1002", UserID: "bob", Total: "400.00", Currency: "USD"})
	if !again.Replayed {
		t.Fatal("order completed twice across a restart")
	}
	wantMoney(t, l, bob, "42.5", "0")
	verifies(t, l)
}
