package bus_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/events"
	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/walletdtest"
)

// The sixteen events of the WalletPro catalogue.
var walletProEvents = []string{
	events.WalletCredited, events.WalletDebited, events.TopupCompleted, events.TopupFailed,
	events.ReloadTriggered, events.TransferSent, events.TransferReceived, events.WithdrawalRequested,
	events.WithdrawalApproved, events.WithdrawalRejected, events.RedemptionCodeRedeemed, events.MilestoneAwarded,
	events.CashbackAwarded, events.ReferralRewarded, events.SpendingLimitBlocked, events.KYCRequired,
}

// TestCatalogue drives one scenario through the writer that produces every
// WalletPro event from a real operation, and reads them back from an
// embedded NATS server with a plain subscription.
func TestCatalogue(t *testing.T) {
	e := walletdtest.RunJetStream(t)
	l := walletdtest.MustOpenLedger(t, nil)
	sub, err := e.Conn.SubscribeSync("walletd.>")
	if err != nil {
		t.Fatal(err)
	}
	startRelay(t, e, l, nil)

	ctx := context.Background()
	must := func(cmd walletd.Command) *walletd.Result {
		t.Helper()
		res, err := l.Writer.Submit(ctx, "", cmd)
		if err != nil {
			t.Fatalf("%T: %v", cmd, err)
		}
		return res
	}
	refused := func(cmd walletd.Command, code string) {
		t.Helper()
		if _, err := l.Writer.Submit(ctx, "", cmd); walletd.ErrorCode(err) != code {
			t.Fatalf("%T: %v, want %s", cmd, err, code)
		}
	}
	alice := l.MustWallet(t, "alice", "USD")
	bob := l.MustWallet(t, "bob", "USD")

	top := must(&ledger.CreateTopup{WalletID: alice, Amount: "200.00", Method: "card", ExternalRef: "pi_123"}).Object.(*walletd.Topup)
	must(&ledger.CompleteTopup{TopupID: top.ID}) // credited + topup.completed
	failed := must(&ledger.CreateTopup{WalletID: alice, Amount: "5.00", Method: "card"}).Object.(*walletd.Topup)
	must(&ledger.FailTopup{TopupID: failed.ID, Reason: "card declined"})                         // topup.failed
	must(&ledger.Transfer{FromWalletID: alice, ToWalletID: bob, Amount: "10.00", Note: "lunch"}) // transfer.sent/received
	wd := must(&ledger.RequestWithdrawal{WalletID: alice, Amount: "20.00", Method: "bank"}).Object.(*walletd.Withdrawal)
	must(&ledger.ApproveWithdrawal{WithdrawalID: wd.ID}) // withdrawal.requested, debited + withdrawal.approved
	wd2 := must(&ledger.RequestWithdrawal{WalletID: alice, Amount: "5.00", Method: "bank"}).Object.(*walletd.Withdrawal)
	must(&ledger.RejectWithdrawal{WithdrawalID: wd2.ID, Reason: "name mismatch"})
	code := must(&ledger.CreateRedemptionCode{Code: "GIFT-2026", Amount: "15.00", Currency: "USD", MaxRedemptions: 5}).Object.(*walletd.RedemptionCode)
	must(&ledger.Redeem{WalletID: bob, Code: code.Code})
	must(&ledger.CreateCashbackRule{Percent: "5"})
	must(&ledger.CreateMilestone{Name: "First order", Metric: walletd.MetricOrderCount, Threshold: "1", Reward: "2.00"})
	must(&ledger.SetReferralSettings{ReferrerReward: "3.00", RefereeReward: "1.00"})
	must(&ledger.CreateReferral{ReferrerUserID: "alice", RefereeUserID: "bob"})
	must(&ledger.CompleteOrder{OrderID: "1204", UserID: "bob", Total: "40.00", Currency: "USD"})
	must(&ledger.SetLimits{WalletID: bob, PerTransaction: strp("5.00")})
	refused(&ledger.Post{WalletID: bob, Kind: walletd.KindDebit, Amount: "6.00", Type: "order_payment"}, walletd.ESpendingLimit)
	must(&ledger.SetKYCSettings{Threshold: "50.00"})
	refused(&ledger.Post{WalletID: alice, Kind: walletd.KindDebit, Amount: "60.00", Type: "order_payment"}, walletd.EKYCRequired)
	must(&ledger.SetAutoReload{WalletID: alice, Threshold: "160.00", Amount: "50.00", Method: "card"})
	must(&ledger.Post{WalletID: alice, Kind: walletd.KindDebit, Amount: "20.00", Type: "order_payment"}) // debited + reload.triggered

	seen := map[string]events.Envelope{}
	deadline := time.Now().Add(10 * time.Second)
	for len(missing(seen)) > 0 {
		m, err := sub.NextMsg(time.Until(deadline))
		if err != nil {
			t.Fatalf("missing %v: %v", missing(seen), err)
		}
		var env events.Envelope
		if err := json.Unmarshal(m.Data, &env); err != nil {
			t.Fatal(err)
		}
		if p, ok := events.ParseSubject("walletd", m.Subject); !ok || p.Key != env.Event || p.Legacy {
			t.Fatalf("%s on subject %s", env.Event, m.Subject)
		}
		if _, ok := seen[env.Event]; !ok {
			seen[env.Event] = env
		}
	}

	// Every data carries the seed's transaction fields; check a few flows'
	// own fields as well.
	for _, key := range walletProEvents {
		env := seen[key]
		var d map[string]any
		if err := json.Unmarshal(env.Data, &d); err != nil {
			t.Fatal(err)
		}
		if key == events.TransferSent || key == events.TransferReceived {
			for _, f := range []string{"transfer_id", "sender_id", "sender_email", "recipient_id", "recipient_email", "amount", "currency", "note"} {
				if _, ok := d[f]; !ok {
					t.Errorf("%s: no %s in %s", key, f, env.Data)
				}
			}
			continue
		}
		for _, f := range []string{"transaction_id", "user_id", "user_email", "amount", "currency", "balance_after", "type", "reason", "order_id", "ledger_hash"} {
			if _, ok := d[f]; !ok {
				t.Errorf("%s: no %s in %s", key, f, env.Data)
			}
		}
		if d["ledger_hash"] == "" || d["user_email"] == "" {
			t.Errorf("%s: empty ledger_hash or user_email in %s", key, env.Data)
		}
	}
	field := func(key, name string) any {
		var d map[string]any
		json.Unmarshal(seen[key].Data, &d)
		return d[name]
	}
	checks := []struct {
		key, field string
		want       any
	}{
		{events.TopupCompleted, "topup_id", top.ID},
		{events.TopupCompleted, "external_ref", "pi_123"},
		{events.TopupFailed, "failure_reason", "card declined"},
		{events.WithdrawalRequested, "withdrawal_id", wd.ID},
		{events.WithdrawalRequested, "held_after", "20.00"},
		{events.WithdrawalApproved, "withdrawal_id", wd.ID},
		{events.WithdrawalRejected, "failure_reason", "name mismatch"},
		{events.RedemptionCodeRedeemed, "code_id", code.ID},
		{events.RedemptionCodeRedeemed, "code_hint", "…2026"},
		{events.CashbackAwarded, "order_id", float64(1204)}, // an integer, as in the seed
		{events.CashbackAwarded, "amount", "2.00"},
		{events.MilestoneAwarded, "milestone_name", "First order"},
		{events.ReferralRewarded, "referrer_user_id", "alice"},
		{events.SpendingLimitBlocked, "limit_kind", "per_transaction"},
		{events.SpendingLimitBlocked, "attempted_amount", "6.00"},
		{events.KYCRequired, "kyc_threshold", "50.00"},
		{events.ReloadTriggered, "reload_amount", "50.00"},
	}
	for _, c := range checks {
		if got := field(c.key, c.field); got != c.want {
			t.Errorf("%s.%s = %v, want %v", c.key, c.field, got, c.want)
		}
	}
	if rep := l.Verify(t); !rep.OK {
		t.Fatalf("ledger does not verify: %+v", rep)
	}
	walletdtest.CheckFor(t, 5*time.Second, 20*time.Millisecond, func() error { return checkExactlyOnce(t, e, l) })
}

func missing(seen map[string]events.Envelope) []string {
	var out []string
	for _, k := range walletProEvents {
		if _, ok := seen[k]; !ok {
			out = append(out, k)
		}
	}
	return out
}

func strp(s string) *string { return &s }
