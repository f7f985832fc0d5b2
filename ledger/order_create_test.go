package ledger_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/walletdtest"
)

// shopOrder returns the order a result reports.
func shopOrder(tb testing.TB, res *walletd.Result) *walletd.ShopOrder {
	tb.Helper()
	o, ok := res.Object.(*walletd.ShopOrder)
	if !ok || o == nil {
		tb.Fatalf("result object %T, want *walletd.ShopOrder", res.Object)
	}
	return o
}

// freeLine is a line of n × price of a product outside the catalogue.
func freeLine(name, price string, n int64) ledger.OrderLineInput {
	return ledger.OrderLineInput{Name: name, Price: price, Quantity: n}
}

// newOrder is a pending order of customer user: two free lines, 2 × 10
// and 1 × 5.50, total 25.50 USD.
func newOrder(user, external string) *ledger.CreateOrder {
	c := &ledger.CreateOrder{Source: "shop", ExternalID: external, Currency: "USD", CustomerID: user,
		Billing:  walletd.OrderAddress{FirstName: "Ann", Country: "US"},
		Lines:    []ledger.OrderLineInput{freeLine("T-shirt", "10", 2), freeLine("Socks", "5.5", 1)},
		MetaData: []ledger.OrderMetaInput{{Key: "account_id", Value: json.RawMessage(`"MT5-1"`)}}}
	if user != "" {
		c.Billing.Email = user + "@example.com"
	}
	return c
}

func TestCreateOrder(t *testing.T) {
	l := walletdtest.MustOpenLedger(t, nil)
	ann := l.MustWallet(t, "ann", "USD")

	t.Run("Pending", func(t *testing.T) {
		res := mustSubmit(t, l, "", newOrder("ann", "wc-1"))
		o := shopOrder(t, res)
		if o.ID != 1 || o.Status != walletd.OrderPending || o.Total.String() != "25.50" || o.Subtotal.String() != "25.50" ||
			o.Lines[0].Total.String() != "20.00" || o.Lines[1].Price.String() != "5.50" || o.WalletID != ann || o.Source != "shop" ||
			len(o.MetaData) != 1 || string(o.MetaData[0].Value) != `"MT5-1"` || o.MetaData[0].ID != 1 || len(o.Payments) != 0 {
			t.Fatalf("order %+v", o)
		}
		// One note of the customer's wallet, carrying the order.
		if len(res.Entries) != 1 {
			t.Fatalf("%d entries", len(res.Entries))
		}
		e := res.Entries[0]
		m := metaMap(t, e)
		if e.Kind != walletd.KindNote || e.Type != walletd.TypeOrderCreated || e.WalletID != ann || e.OrderID != "1" || e.Amount != "25.50" ||
			m["order_event"] != "order.created" || !strings.Contains(m["order"], `"status":"pending"`) {
			t.Fatalf("entry %+v", e)
		}
	})
	t.Run("WithoutWallet", func(t *testing.T) {
		res := mustSubmit(t, l, "", newOrder("guest", "wc-2"))
		o := shopOrder(t, res)
		e := res.Entries[0]
		if o.ID != 2 || o.WalletID != "" || e.Kind != walletd.KindConfig || e.WalletID != "" || e.Amount != "" || e.Currency != "USD" || e.OrderID != "2" {
			t.Fatalf("order %+v entry %+v", o, e)
		}
	})
	t.Run("Repeat", func(t *testing.T) {
		res := mustSubmit(t, l, "", newOrder("ann", "wc-1"))
		if o := shopOrder(t, res); !res.Replayed || len(res.Entries) != 0 || o.ID != 1 {
			t.Fatalf("repeat %+v", res)
		}
		// The same reference with other terms is another order: refused.
		other := newOrder("ann", "wc-1")
		other.Lines[0].Quantity = 3
		_, err := submit(l, "", other)
		wantCode(t, err, walletd.EConflict)
		// The same external id of another source is another order.
		again := newOrder("ann", "wc-1")
		again.Source = "edd"
		if o := shopOrder(t, mustSubmit(t, l, "", again)); o.ID != 3 {
			t.Fatalf("order %+v", o)
		}
	})
	t.Run("Totals", func(t *testing.T) {
		c := newOrder("ann", "wc-4")
		c.DiscountTotal, c.ShippingTotal, c.TotalTax, c.Total = "2.5", "4", "1.25", "28.25"
		o := shopOrder(t, mustSubmit(t, l, "", c))
		if o.Total.String() != "28.25" || o.DiscountTotal.String() != "2.50" || o.ShippingTotal.String() != "4.00" || o.TotalTax.String() != "1.25" {
			t.Fatalf("order %+v", o)
		}
	})
	t.Run("Refused", func(t *testing.T) {
		before := headSeq(t, l)
		for name, tc := range map[string]struct {
			edit func(c *ledger.CreateOrder)
			code string
		}{
			"TotalDoesNotAddUp": {func(c *ledger.CreateOrder) { c.Total = "25.49" }, walletd.EInvalidAmount},
			"LineTotalWrong":    {func(c *ledger.CreateOrder) { c.Lines[0].Total = "19.00" }, walletd.EInvalidAmount},
			"Exponent":          {func(c *ledger.CreateOrder) { c.Lines[0].Price = "1e400" }, walletd.EInvalidAmount},
			"MinusZero":         {func(c *ledger.CreateOrder) { c.Total = "-0" }, walletd.EInvalidAmount},
			"TooPrecise":        {func(c *ledger.CreateOrder) { c.Lines[0].Price = "0.001" }, walletd.EInvalidAmount},
			"NaN":               {func(c *ledger.CreateOrder) { c.ShippingTotal = "NaN" }, walletd.EInvalidAmount},
			"ZeroTotal":         {func(c *ledger.CreateOrder) { c.Lines = []ledger.OrderLineInput{freeLine("Free", "0", 1)} }, walletd.EInvalidAmount},
			"NoLinesNoTotal":    {func(c *ledger.CreateOrder) { c.Lines = nil }, walletd.EInvalidAmount},
			"NoLinesDiscount":   {func(c *ledger.CreateOrder) { c.Lines, c.Total, c.DiscountTotal = nil, "5", "1" }, walletd.EInvalid},
			"Quantity":          {func(c *ledger.CreateOrder) { c.Lines[0].Quantity = -1 }, walletd.EInvalid},
			"LineName":          {func(c *ledger.CreateOrder) { c.Lines[0].Name = "" }, walletd.EInvalid},
			"Currency":          {func(c *ledger.CreateOrder) { c.Currency = "XXX" }, walletd.EInvalidCurrency},
			"Source":            {func(c *ledger.CreateOrder) { c.Source = "Shop!" }, walletd.EInvalid},
			"Status":            {func(c *ledger.CreateOrder) { c.Status = "processing" }, walletd.EInvalid},
			"Email":             {func(c *ledger.CreateOrder) { c.Billing.Email = "not-an-email" }, walletd.EInvalid},
			"Country":           {func(c *ledger.CreateOrder) { c.Billing.Country = "usa" }, walletd.EInvalid},
			"MetaTwice":         {func(c *ledger.CreateOrder) { c.MetaData = append(c.MetaData, c.MetaData[0]) }, walletd.EInvalid},
			"MetaBadJSON":       {func(c *ledger.CreateOrder) { c.MetaData[0].Value = json.RawMessage(`{"a":1,"a":2}`) }, walletd.EInvalid},
			"UnknownVariation":  {func(c *ledger.CreateOrder) { c.Lines[0] = ledger.OrderLineInput{VariationID: 999} }, walletd.ENotFound},
			"CompletedNoUser":   {func(c *ledger.CreateOrder) { c.Status, c.CustomerID = walletd.OrderCompleted, "" }, walletd.EInvalid},
			"CompletedNoWallet": {func(c *ledger.CreateOrder) { c.Status, c.CustomerID = walletd.OrderCompleted, "guest" }, walletd.ENotFound},
			"TooManyLines": {func(c *ledger.CreateOrder) {
				for len(c.Lines) <= walletd.MaxOrderLines {
					c.Lines = append(c.Lines, freeLine("x", "1", 1))
				}
			}, walletd.EInvalid},
		} {
			c := newOrder("ann", "bad-"+name)
			tc.edit(c)
			_, err := submit(l, "", c)
			if walletd.ErrorCode(err) != tc.code {
				t.Errorf("%s: %v, want %s", name, err, tc.code)
			}
		}
		if headSeq(t, l) != before {
			t.Fatal("a refused order wrote entries")
		}
	})
	verifies(t, l)
}

// TestCreateOrder_SourceAPI checks the ids of source api: a whole-number
// external id is the order's id, the sequence steps over it, and an id
// never names two orders.
func TestCreateOrder_SourceAPI(t *testing.T) {
	l := walletdtest.MustOpenLedger(t, nil)
	l.MustWallet(t, "ann", "USD")
	api := func(external string) *ledger.CreateOrder {
		return &ledger.CreateOrder{ExternalID: external, Currency: "USD", CustomerID: "ann", Total: "10"}
	}
	if o := shopOrder(t, mustSubmit(t, l, "", api("2"))); o.ID != 2 || o.Source != walletd.SourceAPI {
		t.Fatalf("order %+v", o)
	}
	if o := shopOrder(t, mustSubmit(t, l, "", api("wc-7"))); o.ID != 1 {
		t.Fatalf("order %+v, want id 1", o)
	}
	if o := shopOrder(t, mustSubmit(t, l, "", newOrder("ann", "x"))); o.ID != 3 {
		t.Fatalf("order %+v, want id 3: the sequence skips 2", o)
	}
	// Order 3 exists: source api cannot take id 3 for another order.
	_, err := submit(l, "", api("3"))
	wantCode(t, err, walletd.EConflict)
	// "007" is not a whole number's text: an external id like any other.
	if o := shopOrder(t, mustSubmit(t, l, "", api("007"))); o.ID != 4 {
		t.Fatalf("order %+v", o)
	}
	// An old route's completion holds its id too.
	mustSubmit(t, l, "", &ledger.CompleteOrder{OrderID: "5", UserID: "ann", Total: "1", Currency: "USD"})
	if o := shopOrder(t, mustSubmit(t, l, "", newOrder("ann", "y"))); o.ID != 6 {
		t.Fatalf("order %+v, want id 6: 5 is an old completion's", o)
	}
	// ... and the old form cannot record a completion of an order's id.
	_, err = submit(l, "", &ledger.CompleteOrder{OrderID: "6", UserID: "ann", Total: "1", Currency: "USD"})
	wantCode(t, err, walletd.EConflict)
	_, err = submit(l, "", &ledger.CompleteOrder{OrderID: "wc-7", UserID: "ann", Total: "1", Currency: "USD"})
	wantCode(t, err, walletd.EConflict)

	// Recording completion 5 again through CreateOrder is a repeat of it;
	// other terms conflict.
	rec := &ledger.CreateOrder{ExternalID: "5", Status: walletd.OrderCompleted, Currency: "USD", CustomerID: "ann", Total: "1.00"}
	res := mustSubmit(t, l, "", rec)
	if old, ok := res.Object.(*walletd.Order); !ok || !res.Replayed || old.ID != "5" {
		t.Fatalf("repeat of an old completion: %+v", res)
	}
	rec.Total = "2"
	_, err = submit(l, "", rec)
	wantCode(t, err, walletd.EConflict)
	verifies(t, l)
}

// TestCreateOrder_Completed records an order the storefront was paid for:
// one order_completed note, then its rewards, once.
func TestCreateOrder_Completed(t *testing.T) {
	l := walletdtest.MustOpenLedger(t, nil)
	ann := l.MustWallet(t, "ann", "USD")
	bob := l.MustWallet(t, "bob", "USD")
	mustSubmit(t, l, "", &ledger.CreateCashbackRule{Percent: "5"})
	mustSubmit(t, l, "", &ledger.SetReferralSettings{ReferrerReward: "3", RefereeReward: "1"})
	mustSubmit(t, l, "", &ledger.CreateReferral{ReferrerUserID: "bob", RefereeUserID: "ann"})
	rec := &ledger.CreateOrder{ExternalID: "1204", Status: walletd.OrderCompleted, Currency: "USD", CustomerID: "ann", Total: "40",
		Items: json.RawMessage(`[ {"sku": "A"} ]`)}
	ok, codes := race(t, l, 10, func(int) walletd.Command { return rec })
	if ok != 10 || len(codes) != 0 {
		t.Fatalf("%d answered, errors %v", ok, codes)
	}
	res := mustSubmit(t, l, "", rec)
	o := shopOrder(t, res)
	if o.ID != 1204 || o.Status != walletd.OrderCompleted || string(o.Items) != `[{"sku":"A"}]` || len(o.Awards) != 3 || o.PaidAt.IsZero() || o.CompletedAt.IsZero() {
		t.Fatalf("order %+v", o)
	}
	wantMoney(t, l, ann, "3", "0") // 5% of 40 + 1
	wantMoney(t, l, bob, "3", "0")
	es := entriesOfType(t, l, walletd.KindNote, walletd.TypeOrderCompleted)
	if len(es) != 1 || metaMap(t, es[0])["order_event"] != "order.created" {
		t.Fatalf("completion entries %+v", es)
	}
	verifies(t, l)
}
