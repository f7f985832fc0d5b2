package ledger_test

import (
	"strconv"
	"testing"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/walletdtest"
)

// pendingOrder creates newOrder(user, external) and returns its id.
func pendingOrder(tb testing.TB, l *walletdtest.Ledger, user, external string) int64 {
	tb.Helper()
	return shopOrder(tb, mustSubmit(tb, l, "", newOrder(user, external))).ID
}

func TestPayOrder(t *testing.T) {
	l := walletdtest.MustOpenLedger(t, nil)
	ann := l.MustWallet(t, "ann", "USD")
	annEUR := l.MustWallet(t, "ann", "EUR")
	l.MustCredit(t, ann, "30")
	l.MustCredit(t, annEUR, "30")

	t.Run("Wallet", func(t *testing.T) {
		id := pendingOrder(t, l, "ann", "p-1")
		res := mustSubmit(t, l, "", &ledger.PayOrder{ID: id, Method: walletd.PayWallet})
		o := shopOrder(t, res)
		if len(res.Entries) != 1 {
			t.Fatalf("%d entries, want the debit", len(res.Entries))
		}
		e := res.Entries[0]
		if e.Kind != walletd.KindDebit || e.Type != walletd.TypeOrderPayment || e.Amount != "25.50" || e.BalanceAfter != "4.50" || e.OrderID != "1" ||
			metaMap(t, e)["order_event"] != "order.updated" {
			t.Fatalf("debit %+v", e)
		}
		p := o.Payments[0]
		seq := strconv.FormatUint(e.Seq, 10)
		if o.Status != walletd.OrderProcessing || o.PaidAt.IsZero() || o.PaymentMethod != walletd.PayWallet || p.Reference != seq ||
			o.TransactionID != seq || p.WalletID != ann || p.Amount.String() != "25.50" || p.Status != walletd.PaymentPaid {
			t.Fatalf("order %+v (debit seq %d)", o, e.Seq)
		}
		wantMoney(t, l, ann, "4.5", "0")
		// Paid once: a second payment and a cancellation are refused.
		_, err := submit(l, "", &ledger.PayOrder{ID: id, Method: walletd.PayWallet})
		wantCode(t, err, walletd.EConflict)
		_, err = submit(l, "", &ledger.CancelOrder{ID: id})
		wantCode(t, err, walletd.EConflict)
		wantMoney(t, l, ann, "4.5", "0")
	})
	t.Run("InsufficientFunds", func(t *testing.T) {
		id := pendingOrder(t, l, "ann", "p-2")
		_, err := submit(l, "", &ledger.PayOrder{ID: id, Method: walletd.PayWallet})
		wantCode(t, err, walletd.EInsufficientFunds)
		o := shopOrder(t, mustSubmit(t, l, "", newOrder("ann", "p-2")))
		if o.Status != walletd.OrderPending {
			t.Fatalf("order %+v", o)
		}
	})
	t.Run("Limits", func(t *testing.T) {
		l.MustCredit(t, ann, "100")
		mustSubmit(t, l, "", &ledger.SetLimits{WalletID: ann, PerTransaction: str("20")})
		id := pendingOrder(t, l, "ann", "p-3")
		_, err := submit(l, "", &ledger.PayOrder{ID: id, Method: walletd.PayWallet})
		wantCode(t, err, walletd.ESpendingLimit)
		if n := len(entriesOfType(t, l, walletd.KindNote, walletd.TypeLimitBlocked)); n != 1 {
			t.Fatalf("%d refusals recorded, want 1", n)
		}
		mustSubmit(t, l, "", &ledger.SetLimits{WalletID: ann})
		mustSubmit(t, l, "", &ledger.SetKYCSettings{Currency: "USD", Threshold: "20"})
		_, err = submit(l, "", &ledger.PayOrder{ID: id, Method: walletd.PayWallet})
		wantCode(t, err, walletd.EKYCRequired)
		mustSubmit(t, l, "", &ledger.SetKYC{WalletID: ann, Status: walletd.KYCVerified})
		mustSubmit(t, l, "", &ledger.PayOrder{ID: id, Method: walletd.PayWallet})
	})
	t.Run("Provider", func(t *testing.T) {
		id := pendingOrder(t, l, "guest", "p-4")
		pay := &ledger.PayOrder{ID: id, Method: walletd.PayStripe, Amount: "25.50", Currency: "USD", Reference: "pi_123"}
		res := mustSubmit(t, l, "", pay)
		o := shopOrder(t, res)
		if o.Status != walletd.OrderProcessing || o.TransactionID != "pi_123" || o.Payments[0].Method != walletd.PayStripe ||
			res.Entries[0].Kind != walletd.KindConfig || res.Entries[0].Type != walletd.TypeOrderPaid {
			t.Fatalf("order %+v entries %+v", o, res.Entries)
		}
		// One provider payment pays one order once.
		other := pendingOrder(t, l, "guest", "p-5")
		_, err := submit(l, "", &ledger.PayOrder{ID: other, Method: walletd.PayPayPal, Amount: "25.50", Currency: "USD", Reference: "pi_123"})
		wantCode(t, err, walletd.EConflict)
	})
	t.Run("Refused", func(t *testing.T) {
		id := pendingOrder(t, l, "guest", "p-6")
		for name, tc := range map[string]struct {
			cmd  *ledger.PayOrder
			code string
		}{
			"UnknownOrder":  {&ledger.PayOrder{ID: 999, Method: walletd.PayWallet}, walletd.ENotFound},
			"Method":        {&ledger.PayOrder{ID: id, Method: "cash"}, walletd.EInvalid},
			"NoReference":   {&ledger.PayOrder{ID: id, Method: walletd.PayGeneric, Amount: "25.50", Currency: "USD"}, walletd.EInvalid},
			"WrongAmount":   {&ledger.PayOrder{ID: id, Method: walletd.PayGeneric, Amount: "25.49", Currency: "USD", Reference: "g1"}, walletd.EInvalidAmount},
			"BadAmount":     {&ledger.PayOrder{ID: id, Method: walletd.PayGeneric, Amount: "1e400", Currency: "USD", Reference: "g1"}, walletd.EInvalidAmount},
			"WrongCurrency": {&ledger.PayOrder{ID: id, Method: walletd.PayGeneric, Amount: "25.50", Currency: "EUR", Reference: "g1"}, walletd.ECurrencyMismatch},
			"NoCustomer":    {&ledger.PayOrder{ID: pendingOrder(t, l, "", "p-7"), Method: walletd.PayWallet}, walletd.EInvalid},
			"NoWallet":      {&ledger.PayOrder{ID: id, Method: walletd.PayWallet}, walletd.ENotFound},
			"OtherCurrency": {&ledger.PayOrder{ID: id, Method: walletd.PayWallet, WalletID: annEUR}, walletd.ECurrencyMismatch},
			"NotCustomers":  {&ledger.PayOrder{ID: id, Method: walletd.PayWallet, WalletID: ann}, walletd.EInvalid},
			"WalletRef":     {&ledger.PayOrder{ID: id, Method: walletd.PayWallet, Reference: "x"}, walletd.EInvalid},
		} {
			_, err := submit(l, "", tc.cmd)
			if walletd.ErrorCode(err) != tc.code {
				t.Errorf("%s: %v, want %s", name, err, tc.code)
			}
		}
	})
	verifies(t, l)
}

// TestPayOrder_Concurrent pays one order from twenty goroutines: one
// debit, nineteen conflicts.
func TestPayOrder_Concurrent(t *testing.T) {
	l := walletdtest.MustOpenLedger(t, nil)
	ann := l.MustWallet(t, "ann", "USD")
	l.MustCredit(t, ann, "1000")
	id := pendingOrder(t, l, "ann", "c-1")
	ok, codes := race(t, l, 20, func(int) walletd.Command { return &ledger.PayOrder{ID: id, Method: walletd.PayWallet} })
	if ok != 1 || codes[walletd.EConflict] != 19 {
		t.Fatalf("%d paid, errors %v; want 1 and 19 conflicts", ok, codes)
	}
	if n := len(entriesOfType(t, l, walletd.KindDebit, walletd.TypeOrderPayment)); n != 1 {
		t.Fatalf("%d debits", n)
	}
	wantMoney(t, l, ann, "974.5", "0")

	// Payment against cancellation, many times over: one of the two wins,
	// and a cancelled order took no money.
	for i := 0; i < 20; i++ {
		id := pendingOrder(t, l, "ann", "race-"+string(rune('a'+i)))
		ok, codes := race(t, l, 2, func(j int) walletd.Command {
			if j == 0 {
				return &ledger.PayOrder{ID: id, Method: walletd.PayWallet}
			}
			return &ledger.CancelOrder{ID: id, Reason: "expired"}
		})
		if ok != 1 || codes[walletd.EConflict] != 1 {
			t.Fatalf("pay vs cancel: %d won, errors %v", ok, codes)
		}
	}
	paid := len(entriesOfType(t, l, walletd.KindDebit, walletd.TypeOrderPayment))
	cancelled := len(entriesOfType(t, l, walletd.KindNote, walletd.TypeOrderCancelled))
	if paid-1+cancelled != 20 {
		t.Fatalf("%d payments and %d cancellations for 20 orders", paid-1, cancelled)
	}
	verifies(t, l)
}

func TestOrder_Transitions(t *testing.T) {
	l := walletdtest.MustOpenLedger(t, nil)
	ann := l.MustWallet(t, "ann", "USD")
	l.MustCredit(t, ann, "200")
	mustSubmit(t, l, "", &ledger.CreateCashbackRule{Percent: "10"})
	mustSubmit(t, l, "", &ledger.CreateMilestone{Name: "First", Metric: walletd.MetricOrderCount, Threshold: "1", Reward: "1"})

	cancelled := pendingOrder(t, l, "ann", "t-1")
	o := shopOrder(t, mustSubmit(t, l, "", &ledger.CancelOrder{ID: cancelled, Reason: "link expired"}))
	if o.Status != walletd.OrderCancelled || o.Reason != "link expired" {
		t.Fatalf("cancelled %+v", o)
	}
	failed := pendingOrder(t, l, "ann", "t-2")
	mustSubmit(t, l, "", &ledger.FailOrder{ID: failed, Reason: "card declined"})
	for name, cmd := range map[string]walletd.Command{
		"CancelTwice":      &ledger.CancelOrder{ID: cancelled},
		"FailCancelled":    &ledger.FailOrder{ID: cancelled},
		"PayCancelled":     &ledger.PayOrder{ID: cancelled, Method: walletd.PayWallet},
		"PayFailed":        &ledger.PayOrder{ID: failed, Method: walletd.PayWallet},
		"CompletePending":  &ledger.CompleteOrder{ID: pendingOrder(t, l, "ann", "t-3")},
		"RefundPending":    &ledger.RefundOrder{ID: pendingOrder(t, l, "ann", "t-4")},
		"RefundCancelled":  &ledger.RefundOrder{ID: cancelled},
		"CompleteFailed":   &ledger.CompleteOrder{ID: failed},
		"CompleteUnknown":  &ledger.CompleteOrder{ID: 999},
		"CompleteBothForm": &ledger.CompleteOrder{ID: cancelled, OrderID: "x"},
	} {
		_, err := submit(l, "", cmd)
		want := walletd.EConflict
		switch name {
		case "CompleteUnknown":
			want = walletd.ENotFound
		case "CompleteBothForm":
			want = walletd.EInvalid
		}
		if walletd.ErrorCode(err) != want {
			t.Errorf("%s: %v, want %s", name, err, want)
		}
	}

	// Pay, complete (rewards once), refund (money back, cashback taken).
	id := pendingOrder(t, l, "ann", "t-5")
	mustSubmit(t, l, "", &ledger.PayOrder{ID: id, Method: walletd.PayWallet})
	wantMoney(t, l, ann, "174.5", "0")
	ok, codes := race(t, l, 10, func(int) walletd.Command { return &ledger.CompleteOrder{ID: id} })
	if ok != 1 || codes[walletd.EConflict] != 9 {
		t.Fatalf("%d completed, errors %v", ok, codes)
	}
	wantMoney(t, l, ann, "178.05", "0") // + 2.55 cashback + 1 milestone
	res := mustSubmit(t, l, "", &ledger.RefundOrder{ID: id, Reason: "returned"})
	o = shopOrder(t, res)
	if o.Status != walletd.OrderRefunded || o.Payments[0].Status != walletd.PaymentRefunded || len(o.Refunds) != 1 || o.Refunds[0].Total.String() != "25.50" ||
		len(res.Entries) != 2 || res.Entries[0].Type != walletd.TypeOrderRefund || res.Entries[0].Kind != walletd.KindCredit ||
		res.Entries[1].Type != walletd.TypeCashbackReversal || o.Awards[len(o.Awards)-1].Kind != walletd.AwardCashbackReversal {
		t.Fatalf("refund %+v entries %+v", o, res.Entries)
	}
	wantMoney(t, l, ann, "201", "0") // the payment back, the cashback taken; the milestone stands
	_, err := submit(l, "", &ledger.RefundOrder{ID: id})
	wantCode(t, err, walletd.EConflict)
	// The old refund form finds orders by id and by source api's external id.
	api := shopOrder(t, mustSubmit(t, l, "", &ledger.CreateOrder{ExternalID: "wc-9", Currency: "USD", CustomerID: "ann", Total: "5", Status: walletd.OrderCompleted}))
	mustSubmit(t, l, "", &ledger.RefundOrder{OrderID: "wc-9"})
	if o := shopOrder(t, mustSubmit(t, l, "", &ledger.CreateOrder{ExternalID: "wc-9", Currency: "USD", CustomerID: "ann", Total: "5", Status: walletd.OrderCompleted})); o.ID != api.ID || o.Status != walletd.OrderRefunded {
		t.Fatalf("order %+v", o)
	}

	// A provider payment is refunded without moving money.
	guest := pendingOrder(t, l, "guest", "t-6")
	mustSubmit(t, l, "", &ledger.PayOrder{ID: guest, Method: walletd.PayPayPal, Amount: "25.50", Currency: "USD", Reference: "PAY-1"})
	mustSubmit(t, l, "", &ledger.CompleteOrder{ID: guest})
	o = shopOrder(t, mustSubmit(t, l, "", &ledger.RefundOrder{ID: guest}))
	if o.Payments[0].Status != walletd.PaymentRefunded || len(o.Awards) != 0 {
		t.Fatalf("provider refund %+v", o)
	}
	verifies(t, l)
}

// TestOrder_Restart checks orders, their references, the sequences and
// the catalogue come back from the database without replay.
func TestOrder_Restart(t *testing.T) {
	l := walletdtest.MustOpenLedger(t, nil)
	ann := l.MustWallet(t, "ann", "USD")
	l.MustCredit(t, ann, "100")
	v := mustProduct(t, l).variations[0]
	c := newOrder("ann", "r-1")
	c.Lines = append(c.Lines, ledger.OrderLineInput{VariationID: v})
	id := shopOrder(t, mustSubmit(t, l, "", c)).ID
	paid := pendingOrder(t, l, "ann", "r-2")
	mustSubmit(t, l, "", &ledger.PayOrder{ID: paid, Method: walletd.PayWallet})
	guest := pendingOrder(t, l, "guest", "r-3")
	mustSubmit(t, l, "", &ledger.PayOrder{ID: guest, Method: walletd.PayStripe, Amount: "25.50", Currency: "USD", Reference: "pi_r"})

	l.Reopen(t)
	if res := mustSubmit(t, l, "", c); !res.Replayed || shopOrder(t, res).ID != id {
		t.Fatalf("the order's reference was not restored: %+v", res)
	}
	_, err := submit(l, "", &ledger.PayOrder{ID: paid, Method: walletd.PayWallet})
	wantCode(t, err, walletd.EConflict)
	_, err = submit(l, "", &ledger.PayOrder{ID: pendingOrder(t, l, "guest", "r-4"), Method: walletd.PayStripe, Amount: "25.50", Currency: "USD", Reference: "pi_r"})
	wantCode(t, err, walletd.EConflict)
	if next := pendingOrder(t, l, "ann", "r-5"); next != 5 {
		t.Fatalf("order id %d after a restart, want 5", next)
	}
	_, err = submit(l, "", &ledger.DeleteVariation{ID: v})
	wantCode(t, err, walletd.EConflict)
	mustSubmit(t, l, "", &ledger.CompleteOrder{ID: paid})
	mustSubmit(t, l, "", &ledger.PayOrder{ID: id, Method: walletd.PayWallet})
	wantMoney(t, l, ann, "0", "0")
	verifies(t, l)
}
