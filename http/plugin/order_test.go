package plugin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/events"
	"github.com/walletd/walletd/ledger"
)

func TestProcessOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t, generous)
	ctx := context.Background()

	tok, _ := e.tokens(t)
	r := e.post(t, "/api/plugin/order/process/", process(tok, order(12345))).expect(t, 201, "")
	id := int64(r.Body["order_id"].(float64))
	if r.str("message") == "" || !strings.HasPrefix(r.str("webhook_id"), "wph_") || r.str("total") != "99.00" || r.Body["shop_order_id"] != float64(12345) {
		t.Fatalf("%s", r.Raw)
	}
	// The walletd order: source, external id, completed, the customer's
	// wallet opened (create_user), the options in meta_data.
	obj, err := e.L.DB.Object(ctx, walletd.ObjShopOrder, walletd.IntKey(id))
	if err != nil {
		t.Fatal(err)
	}
	o := obj.(*walletd.ShopOrder)
	if o.Source != "plugin_your_plugin_name" || o.ExternalID != "12345@shop.example.com" || o.Status != walletd.OrderCompleted ||
		o.CustomerID != "test@example.com" || o.WalletID == "" || o.Total.String() != "99.00" || len(o.Lines) != 1 || o.Billing.Country != "US" {
		t.Fatalf("order %+v", o)
	}
	meta := map[string]string{}
	for _, m := range o.MetaData {
		meta[m.Key] = string(m.Value)
	}
	if meta["processing_options"] != `{"create_mt5_account":true,"send_email":true,"create_user":true}` || meta["product_1"] == "" || meta["site_url"] != `"`+testSite+`"` {
		t.Fatalf("meta %v", meta)
	}
	// The event: plugin.order.processed with webhook_id as its id.
	es, err := e.L.DB.Entries(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var found *events.Record
	for _, en := range es {
		for _, rec := range ledger.EntryEvents(en, ledger.Party{}, ledger.Party{}, "") {
			if rec.Envelope.Event == events.PluginOrderProcessed {
				found = &rec
			}
		}
	}
	if found == nil || found.Envelope.ID != r.str("webhook_id") {
		t.Fatalf("event %+v", found)
	}
	var d events.PluginOrderData
	if err := json.Unmarshal(found.Envelope.Data, &d); err != nil || d.OrderID != id || !d.ProcessingOptions.SendEmail ||
		!d.ProcessingOptions.CreateMT5Account || d.Products[0].AccountSize != "10000" || d.Customer.Email != "test@example.com" || d.WalletID != o.WalletID {
		t.Fatalf("data %s %v", found.Envelope.Data, err)
	}

	t.Run("TokenUsedOnce", func(t *testing.T) {
		e.post(t, "/api/plugin/order/process/", process(tok, order(777))).expect(t, 401, "Invalid, expired, or already used JWT token")
	})
	t.Run("AlreadyProcessed", func(t *testing.T) {
		tok2, _ := e.tokens(t)
		od := order("12345") // the same shop order, as a string, other terms
		od["total"] = "10.00"
		od["products"] = nil
		r := e.post(t, "/plugin/order/process", process(tok2, od)).expect(t, 200, "")
		if r.str("message") != "Order already processed" || r.Body["order_id"] != float64(id) {
			t.Fatalf("%s", r.Raw)
		}
	})
	t.Run("OtherSite", func(t *testing.T) {
		r := e.post(t, "/plugin/generate-token/", map[string]any{"plugin_name": testPlugin, "plugin_key": e.Key, "plugin_version": "1", "site_url": "https://other.example.com/shop/"}).expect(t, 200, "")
		r2 := e.post(t, "/plugin/order/process/", process(r.str("jwt_token"), order(12345))).expect(t, 201, "")
		if r2.Body["order_id"] == float64(id) {
			t.Fatal("two sites' order 12345 are one order")
		}
	})
	t.Run("EDD", func(t *testing.T) {
		tok, _ := e.tokens(t)
		od := map[string]any{"order_id": 88, "total": 149.5, "currency": "usd",
			"customer": map[string]any{"email": "Buyer@Example.com", "first_name": "Ann", "last_name": "Lee"},
			"products": []any{map[string]any{"name": "Challenge $25,000", "price": 149.5, "account_size": "25000"}}}
		r := e.post(t, "/plugin/order/process/", process(tok, od)).expect(t, 201, "")
		if r.str("total") != "149.50" || r.str("currency") != "USD" {
			t.Fatalf("%s", r.Raw)
		}
	})
	t.Run("LinesAndCharges", func(t *testing.T) {
		tok, _ := e.tokens(t)
		od := order(501)
		od["total"] = "120.00"
		od["products"] = []any{
			map[string]any{"name": "A", "quantity": 2, "price": "60.00"},   // 30.00 each
			map[string]any{"name": "B", "quantity": "3", "price": "10.00"}, // not divisible: one line of 10.00
		}
		r := e.post(t, "/plugin/order/process/", process(tok, od)).expect(t, 201, "")
		obj, _ := e.L.DB.Object(ctx, walletd.ObjShopOrder, walletd.IntKey(int64(r.Body["order_id"].(float64))))
		o := obj.(*walletd.ShopOrder)
		if len(o.Lines) != 3 || o.Lines[0].Price.String() != "30.00" || o.Lines[0].Quantity != 2 || o.Lines[1].Name != "B × 3" ||
			o.Lines[2].Total.String() != "50.00" || o.Total.String() != "120.00" {
			t.Fatalf("lines %+v total %s", o.Lines, o.Total)
		}
		tok, _ = e.tokens(t)
		od["order_id"], od["total"] = 502, "50.00" // a discount
		r = e.post(t, "/plugin/order/process/", process(tok, od)).expect(t, 201, "")
		obj, _ = e.L.DB.Object(ctx, walletd.ObjShopOrder, walletd.IntKey(int64(r.Body["order_id"].(float64))))
		if o := obj.(*walletd.ShopOrder); o.DiscountTotal.String() != "20.00" || o.Total.String() != "50.00" {
			t.Fatalf("discount %+v", o)
		}
	})
	t.Run("NoWalletWithoutCreateUser", func(t *testing.T) {
		tok, _ := e.tokens(t)
		od := order(601)
		od["customer"] = map[string]any{"email": "nowallet@example.com"}
		b := process(tok, od)
		b["processing_options"] = map[string]any{"create_user": false}
		e.post(t, "/plugin/order/process/", b).expect(t, 404, "")
		e.post(t, "/plugin/order/process/", b).expect(t, 401, "Invalid, expired, or already used JWT token") // spent
	})
	t.Run("Expired", func(t *testing.T) {
		r := e.post(t, "/plugin/generate-token/", map[string]any{"plugin_name": testPlugin, "plugin_key": e.Key, "plugin_version": "1", "site_url": testSite, "token_duration_hours": 1}).expect(t, 200, "")
		e.Clock.Add(time.Hour + time.Second)
		defer e.Clock.Add(-time.Hour - time.Second)
		e.post(t, "/plugin/order/process/", process(r.str("jwt_token"), order(701))).expect(t, 401, "Invalid, expired, or already used JWT token")
	})
	t.Run("WrongPlugin", func(t *testing.T) {
		tok, _ := e.tokens(t)
		b := process(tok, order(801))
		b["plugin_name"] = "Other"
		e.post(t, "/plugin/order/process/", b).expect(t, 401, "Invalid, expired, or already used JWT token")
		e.post(t, "/plugin/order/process/", process(tok, order(801))).expect(t, 201, "") // not spent by the refusal
	})
	t.Run("RevokedKey", func(t *testing.T) {
		id, key := e.newKey(t, "Short Lived")
		r := e.post(t, "/plugin/generate-token/", map[string]any{"plugin_name": "Short Lived", "plugin_key": key, "plugin_version": "1", "site_url": testSite}).expect(t, 200, "")
		if err := e.L.DB.RevokePluginKey(ctx, id, time.Now()); err != nil {
			t.Fatal(err)
		}
		b := process(r.str("jwt_token"), order(901))
		b["plugin_name"] = "Short Lived"
		e.post(t, "/plugin/order/process/", b).expect(t, 401, "Invalid, expired, or already used JWT token")
	})
	t.Run("Missing", func(t *testing.T) {
		e.post(t, "/plugin/order/process/", map[string]any{"plugin_name": testPlugin, "order_data": order(1)}).expect(t, 400, "Missing required fields")
		e.post(t, "/plugin/order/process/", map[string]any{"jwt_token": tok, "plugin_name": testPlugin}).expect(t, 400, "Missing required fields")
		e.post(t, "/plugin/order/process/", map[string]any{"jwt_token": 12, "plugin_name": testPlugin, "order_data": order(1)}).expect(t, 400, "")
	})
}

// TestProcessOrder_BadOrderData: every bad field is a 400 naming it, the
// token is spent, and nothing is written to the ledger.
func TestProcessOrder_BadOrderData(t *testing.T) {
	t.Parallel()
	e := newEnv(t, generous)
	set := func(path string, v any) map[string]any {
		od := order(4242)
		parts := strings.Split(path, ".")
		var m any = od
		for i, p := range parts {
			mm := m.(map[string]any)
			if i == len(parts)-1 {
				if v == "DELETE" {
					delete(mm, p)
				} else {
					mm[p] = v
				}
				break
			}
			if p == "products" {
				m = mm[p].([]any)[0]
				continue
			}
			m = mm[p]
		}
		return od
	}
	cases := []struct {
		field string
		v     any
		want  string // field named
	}{
		{"order_id", "DELETE", "order_data.order_id"}, {"order_id", -1, "order_data.order_id"}, {"order_id", 1.5, "order_data.order_id"},
		{"order_id", "", "order_data.order_id"}, {"order_id", true, "order_data.order_id"}, {"order_id", strings.Repeat("9", 200), "order_data.order_id"},
		{"total", "DELETE", "order_data.total"}, {"total", "1e400", "order_data.total"}, {"total", "-0", "order_data.total"},
		{"total", "0.001", "order_data.total"}, {"total", "NaN", "order_data.total"}, {"total", "0", "order_data.total"},
		{"total", -5, "order_data.total"}, {"total", "99,00", "order_data.total"}, {"total", []int{1}, "order_data.total"},
		{"currency", "DELETE", "order_data.currency"}, {"currency", "XXX", "order_data.currency"}, {"currency", 840, "order_data.currency"},
		{"status", "refunded", "order_data.status"}, {"status", 1, "order_data.status"},
		{"customer", "DELETE", "order_data.customer"}, {"customer", "x", "order_data.customer"},
		{"customer.email", "DELETE", "order_data.customer.email"}, {"customer.email", "not-an-email", "order_data.customer.email"},
		{"customer.country", "USA", "order_data.customer.country"}, {"customer.first_name", strings.Repeat("a", 201), "order_data.customer.first_name"},
		{"customer.phone", "\u202e123", "order_data.customer.phone"},
		{"products", "x", "order_data.products"},
		{"products.name", "DELETE", "order_data.products[0].name"}, {"products.price", "DELETE", "order_data.products[0].price"},
		{"products.price", "-1", "order_data.products[0].price"}, {"products.quantity", 0, "order_data.products[0].quantity"},
		{"products.quantity", 10001, "order_data.products[0].quantity"}, {"products.quantity", 1.5, "order_data.products[0].quantity"},
		{"products.challenge_type", 5, "order_data.products[0].challenge_type"},
	}
	for _, c := range cases {
		tok, _ := e.tokens(t)
		r := e.post(t, "/plugin/order/process/", process(tok, set(c.field, c.v)))
		if r.Status != 400 || r.str("field") != c.want {
			t.Errorf("%s = %v: %d %s", c.field, c.v, r.Status, r.Raw)
		}
		e.post(t, "/plugin/order/process/", process(tok, order(4242))).expect(t, 401, "Invalid, expired, or already used JWT token")
	}
	tok, _ := e.tokens(t)
	many := order(4243)
	var ps []any
	for i := 0; i < 41; i++ {
		ps = append(ps, map[string]any{"name": fmt.Sprint("p", i), "price": "1.00"})
	}
	many["products"] = ps
	e.post(t, "/plugin/order/process/", process(tok, many)).expect(t, 400, "")
	tok, _ = e.tokens(t)
	b := process(tok, order(4244))
	b["processing_options"] = map[string]any{"send_email": "yes"}
	e.post(t, "/plugin/order/process/", b).expect(t, 400, "")
	tok, _ = e.tokens(t)
	e.post(t, "/plugin/order/process/", process(tok, "not an object")).expect(t, 400, "")
	// No order was written by any of them.
	if objs, err := e.L.DB.Objects(context.Background(), walletd.ObjShopOrder, "", 10); err != nil || len(objs) != 0 {
		t.Fatalf("orders %v %v", objs, err)
	}
}

// TestProcessOrder_Race: 100 concurrent requests with one token; exactly
// one gets past the token check (and processes the order).
func TestProcessOrder_Race(t *testing.T) {
	t.Parallel()
	e := newEnv(t, generous)
	tok, _ := e.tokens(t)
	const n = 100
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = e.post(t, "/plugin/order/process/", process(tok, order(fmt.Sprint("race-", i)))).Status
		}()
	}
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	if count[201] != 1 || count[401] != n-1 {
		t.Fatalf("statuses %v", count)
	}
	// And the spend survives a restart of the database.
	e.L.Reopen(t)
	if err := e.L.DB.SpendTokenID(context.Background(), "jti_fresh", e.KeyID, time.Now(), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := e.L.DB.SpendTokenID(context.Background(), "jti_fresh", e.KeyID, time.Now(), time.Now().Add(time.Hour)); walletd.ErrorCode(err) != walletd.EConflict {
		t.Fatalf("a spent id spent again: %v", err)
	}
}
