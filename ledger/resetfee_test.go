package ledger_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/walletdtest"
)

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// TestResetFee_RestoredAfterRestart: the links, the account's order and
// the keys are writer objects restored at start-up: after a restart the
// page's session still pays, once, and a second request of the account
// still cancels the first order.
func TestResetFee_RestoredAfterRestart(t *testing.T) {
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
	w := l.MustWallet(t, "jane", "USD") // email jane@example.com
	l.MustCredit(t, w, "100.00")
	if _, err := submit(&ledger.CreateResetFeeKey{ID: "rfk_1", Prefix: "rfk_abc", Hash: sha("secret")}); err != nil {
		t.Fatal(err)
	}
	mk := func(token string) *walletd.ShopOrder {
		t.Helper()
		res, err := submit(&ledger.CreateResetFeeOrder{AccountID: "12345", VariationID: vid, TokenHash: sha(token), TTL: 10 * time.Minute,
			Billing: walletd.OrderAddress{Email: "JANE@example.com", Country: "US"}})
		if err != nil {
			t.Fatal(err)
		}
		return res.Object.(*walletd.ShopOrder)
	}
	o1 := mk("token-1")
	if o1.CustomerID != "jane" || o1.Status != walletd.OrderPending || o1.Source != walletd.SourceResetFee {
		t.Fatalf("order %+v", o1)
	}
	if _, err := submit(&ledger.SpendPaymentLink{OrderID: o1.ID, TokenHash: sha("token-1"), SessionHash: sha("session")}); err != nil {
		t.Fatal(err)
	}
	l.Reopen(t)

	// The key and the link survived.
	if _, err := submit(&ledger.CreateResetFeeKey{ID: "rfk_1", Prefix: "rfk_abc", Hash: sha("other")}); walletd.ErrorCode(err) != walletd.EConflict {
		t.Fatalf("key id reused: %v", err)
	}
	if _, err := submit(&ledger.SpendPaymentLink{OrderID: o1.ID, TokenHash: sha("token-1"), SessionHash: sha("s2")}); walletd.ErrorCode(err) != walletd.EConflict {
		t.Fatalf("spent twice: %v", err)
	}
	if _, err := submit(&ledger.PayLinkFromWallet{OrderID: o1.ID, SessionHash: sha("s2")}); walletd.ErrorCode(err) != walletd.ENotFound {
		t.Fatalf("other session paid: %v", err)
	}
	res, err = submit(&ledger.PayLinkFromWallet{OrderID: o1.ID, SessionHash: sha("session")})
	if err != nil {
		t.Fatal(err)
	}
	if o := res.Object.(*walletd.ShopOrder); o.Status != walletd.OrderCompleted || len(res.Entries) < 2 {
		t.Fatalf("paid %+v, %d entries", o, len(res.Entries))
	}
	if _, err := submit(&ledger.PayLinkFromWallet{OrderID: o1.ID, SessionHash: sha("session")}); walletd.ErrorCode(err) != walletd.EConflict {
		t.Fatalf("paid twice: %v", err)
	}

	// The account's order survived: a new request cancels the pending one.
	o2 := mk("token-2")
	l.Reopen(t)
	o3 := mk("token-3")
	got, err := l.DB.Object(ctx, walletd.ObjShopOrder, walletd.IntKey(o2.ID))
	if err != nil || got.(*walletd.ShopOrder).Status != walletd.OrderCancelled || !strings.Contains(got.(*walletd.ShopOrder).Reason, "replaced") {
		t.Fatalf("order 2 %+v %v", got, err)
	}
	if _, err := submit(&ledger.ExpirePaymentLink{OrderID: o3.ID}); walletd.ErrorCode(err) != walletd.EConflict {
		t.Fatalf("expired early: %v", err)
	}
	clk = clk.Add(10 * time.Minute)
	if _, err := submit(&ledger.ExpirePaymentLink{OrderID: o3.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := submit(&ledger.SpendPaymentLink{OrderID: o3.ID, TokenHash: sha("token-3"), SessionHash: sha("s")}); walletd.ErrorCode(err) != walletd.EConflict {
		t.Fatalf("expired link spent: %v", err)
	}
	// Bad commands change nothing.
	for _, c := range []walletd.Command{
		&ledger.CreateResetFeeOrder{AccountID: "", VariationID: vid, TokenHash: sha("x"), TTL: 5 * time.Minute},
		&ledger.CreateResetFeeOrder{AccountID: "a", VariationID: vid, TokenHash: "nothex", TTL: 5 * time.Minute},
		&ledger.CreateResetFeeOrder{AccountID: "a", VariationID: vid, TokenHash: sha("x"), TTL: time.Minute},
		&ledger.CreateResetFeeOrder{AccountID: "a", VariationID: 999, TokenHash: sha("x"), TTL: 5 * time.Minute},
		&ledger.CreateResetFeeKey{ID: "rfk_2", Prefix: "p", Hash: strings.ToUpper(sha("y"))},
		&ledger.RevokeResetFeeKey{ID: "rfk_nope"},
		&ledger.SpendPaymentLink{OrderID: 999, TokenHash: sha("x"), SessionHash: sha("s")},
		&ledger.ExpirePaymentLink{OrderID: 999},
	} {
		if _, err := submit(c); err == nil {
			t.Fatalf("%T %+v accepted", c, c)
		}
	}
	if rep := l.Verify(t); !rep.OK {
		t.Fatalf("verify: %+v", rep)
	}
}

// TestLinkExpirer_WriterClockBehind: an expiry that reaches the writer
// before the writer's clock passed the link's end is tried again until
// it cancels the order.
func TestLinkExpirer_WriterClockBehind(t *testing.T) {
	var mu sync.Mutex
	writerNow := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	l := walletdtest.MustOpenLedger(t, func(c *ledger.WriterConfig) {
		c.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return writerNow }
	})
	ctx := context.Background()
	res, err := l.Writer.Submit(ctx, "", &ledger.CreateProduct{Name: "Reset", Currency: "USD",
		Variations: []ledger.VariationInput{{ChallengeType: "1 Step", AccountSize: "$5,000", Price: "9.00"}}})
	if err != nil {
		t.Fatal(err)
	}
	res, err = l.Writer.Submit(ctx, "", &ledger.CreateResetFeeOrder{AccountID: "1", VariationID: res.Object.(*walletd.Product).VariationIDs[0],
		TokenHash: sha("t"), TTL: 5 * time.Minute, Billing: walletd.OrderAddress{Email: "a@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	o := res.Object.(*walletd.ShopOrder)
	// The expirer's clock is past the expiry; the writer's is not, yet.
	x := &ledger.LinkExpirer{Writer: l.Writer, Reader: l.DB, Now: func() time.Time { return o.CreatedAt.Add(time.Hour) }, Margin: time.Millisecond}
	if err := x.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	time.Sleep(200 * time.Millisecond)
	if v, _ := l.DB.Object(ctx, walletd.ObjShopOrder, walletd.IntKey(o.ID)); v.(*walletd.ShopOrder).Status != walletd.OrderPending {
		t.Fatal("cancelled before the writer's clock reached the expiry")
	}
	mu.Lock()
	writerNow = writerNow.Add(5 * time.Minute)
	mu.Unlock()
	walletdtest.CheckFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		v, _ := l.DB.Object(ctx, walletd.ObjShopOrder, walletd.IntKey(o.ID))
		if st := v.(*walletd.ShopOrder).Status; st != walletd.OrderCancelled {
			return fmt.Errorf("order is %s", st)
		}
		return nil
	})
}
