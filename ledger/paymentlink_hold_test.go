package ledger_test

import (
	"context"
	"testing"
	"time"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/walletdtest"
)

// TestHoldPaymentLink: a provider checkout started on the page defers
// the cancellation of the link's order to the end of its hold (a
// provider payment arriving then still pays it), survives a restart, and
// is refused for another session, an expired link, a paid order or a
// hold out of bounds; the page itself still closes at the link's expiry.
func TestHoldPaymentLink(t *testing.T) {
	clk := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	l := walletdtest.MustOpenLedger(t, func(c *ledger.WriterConfig) { c.Now = func() time.Time { return clk } })
	ctx := context.Background()
	submit := func(c walletd.Command) (*walletd.Result, error) { return l.Writer.Submit(ctx, "", c) }
	res, err := submit(&ledger.CreateProduct{Name: "Account Reset Fee", Currency: "USD",
		Variations: []ledger.VariationInput{{ChallengeType: "1 Step", AccountSize: "$100,000", Price: "49.00"}}})
	if err != nil {
		t.Fatal(err)
	}
	vid := res.Object.(*walletd.Product).VariationIDs[0]
	mk := func(account, token string) int64 {
		t.Helper()
		res, err := submit(&ledger.CreateResetFeeOrder{AccountID: account, VariationID: vid, TokenHash: sha(token), TTL: 10 * time.Minute,
			Billing: walletd.OrderAddress{Email: "jane@example.com"}})
		if err != nil {
			t.Fatal(err)
		}
		id := res.Object.(*walletd.ShopOrder).ID
		if _, err := submit(&ledger.SpendPaymentLink{OrderID: id, TokenHash: sha(token), SessionHash: sha("session-" + token)}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	status := func(id int64) string {
		t.Helper()
		v, err := l.DB.Object(ctx, walletd.ObjShopOrder, walletd.IntKey(id))
		if err != nil {
			t.Fatal(err)
		}
		return v.(*walletd.ShopOrder).Status
	}
	a := mk("1", "token-a")
	hold := func(id int64, session string, until time.Time) error {
		_, err := submit(&ledger.HoldPaymentLink{OrderID: id, SessionHash: sha(session), Provider: "stripe", Until: until})
		return err
	}
	for name, c := range map[string]struct {
		session string
		until   time.Time
		code    string
	}{
		"other session": {"session-other", clk.Add(time.Hour), walletd.ENotFound},
		"in the past":   {"session-token-a", clk.Add(-time.Second), walletd.EInvalid},
		"too long":      {"session-token-a", clk.Add(walletd.MaxLinkHold + time.Minute), walletd.EInvalid},
	} {
		if err := hold(a, c.session, c.until); walletd.ErrorCode(err) != c.code {
			t.Errorf("%s: %v, want %s", name, err, c.code)
		}
	}
	if err := hold(a, "session-token-a", clk.Add(40*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := hold(a, "session-token-a", clk.Add(20*time.Minute)); err != nil { // shorter: keeps the longer hold
		t.Fatal(err)
	}
	l.Reopen(t)

	clk = clk.Add(11 * time.Minute) // the link expired, the hold has not
	if _, err := submit(&ledger.ExpirePaymentLink{OrderID: a}); walletd.ErrorCode(err) != walletd.EConflict {
		t.Fatalf("expired during the hold: %v", err)
	}
	if _, err := submit(&ledger.PayLinkFromWallet{OrderID: a, SessionHash: sha("session-token-a")}); walletd.ErrorCode(err) != walletd.EConflict {
		t.Fatalf("the page paid after the link's expiry: %v", err)
	}
	if err := hold(a, "session-token-a", clk.Add(time.Hour)); walletd.ErrorCode(err) != walletd.EConflict {
		t.Fatalf("held after the link's expiry: %v", err)
	}
	if st := status(a); st != walletd.OrderPending {
		t.Fatalf("order %s during the hold", st)
	}
	clk = clk.Add(29*time.Minute + time.Second) // the hold ended: cancelled
	if _, err := submit(&ledger.ExpirePaymentLink{OrderID: a}); err != nil {
		t.Fatal(err)
	}
	if st := status(a); st != walletd.OrderCancelled {
		t.Fatalf("order %s after the hold", st)
	}

	// The provider's payment arriving during the hold pays the order.
	b := mk("2", "token-b")
	if err := hold(b, "session-token-b", clk.Add(30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	clk = clk.Add(15 * time.Minute)
	if _, err := submit(&ledger.PayOrder{ID: b, Method: walletd.PayStripe, Amount: "49.00", Currency: "USD", Reference: "pi_b"}); err != nil {
		t.Fatal(err)
	}
	if _, err := submit(&ledger.ExpirePaymentLink{OrderID: b}); walletd.ErrorCode(err) != walletd.EConflict {
		t.Fatalf("expired a paid order: %v", err)
	}
	if err := hold(b, "session-token-b", clk.Add(time.Minute)); walletd.ErrorCode(err) == "" {
		t.Fatal("held a paid order")
	}
	if st := status(b); st != walletd.OrderProcessing {
		t.Fatalf("order %s", st)
	}
}
