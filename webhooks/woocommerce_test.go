package webhooks_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/events"
	"github.com/walletd/walletd/webhooks"
)

// ---- a WooCommerce receiver, typed from NOTES.md -------------------------

// The REST order object's fields as NOTES.md lists them.
var (
	wcOrderFields = []string{"id", "parent_id", "number", "order_key", "created_via", "version", "status", "currency",
		"date_created", "date_created_gmt", "date_modified", "date_modified_gmt", "date_paid", "date_paid_gmt",
		"date_completed", "date_completed_gmt", "discount_total", "discount_tax", "shipping_total", "shipping_tax",
		"cart_tax", "total", "total_tax", "prices_include_tax", "customer_id", "customer_ip_address",
		"customer_user_agent", "customer_note", "billing", "shipping", "payment_method", "payment_method_title",
		"transaction_id", "cart_hash", "meta_data", "line_items", "tax_lines", "shipping_lines", "fee_lines",
		"coupon_lines", "refunds", "payment_url", "needs_payment", "needs_processing"}
	wcAddressFields  = []string{"first_name", "last_name", "company", "address_1", "address_2", "city", "state", "postcode", "country"}
	wcLineFields     = []string{"id", "name", "product_id", "variation_id", "quantity", "subtotal", "total", "sku", "price", "meta_data"}
	wcMetaFields     = []string{"id", "key", "value"}
	wcIntegerFields  = []string{"id", "parent_id", "customer_id"}
	wcDecimalFields  = []string{"discount_total", "discount_tax", "shipping_total", "shipping_tax", "cart_tax", "total", "total_tax"}
	wcDateFields     = []string{"date_created", "date_created_gmt", "date_modified", "date_modified_gmt", "date_paid", "date_paid_gmt", "date_completed", "date_completed_gmt"}
	wcStatuses       = []string{"pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed"}
	wcDate           = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$`)
	wcDecimal        = regexp.MustCompile(`^-?\d+(\.\d+)?$`)
	wcIntegerPattern = regexp.MustCompile(`^\d+$`)
)

// checkWooOrder decodes body as WooCommerce's REST order object and checks
// every field of NOTES.md's list and its type. It returns the object.
func checkWooOrder(tb testing.TB, body []byte) map[string]any {
	tb.Helper()
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var o map[string]any
	if err := d.Decode(&o); err != nil {
		tb.Fatalf("body %s: %v", body, err)
	}
	has := func(where string, m map[string]any, keys []string) {
		tb.Helper()
		for _, k := range keys {
			if _, ok := m[k]; !ok {
				tb.Errorf("%s lacks %q", where, k)
			}
		}
	}
	integer := func(where string, v any) {
		tb.Helper()
		if n, ok := v.(json.Number); !ok || !wcIntegerPattern.MatchString(n.String()) {
			tb.Errorf("%s = %#v, want an integer", where, v)
		}
	}
	has("order", o, wcOrderFields)
	for _, k := range wcIntegerFields {
		integer(k, o[k])
	}
	for _, k := range wcDecimalFields {
		if s, ok := o[k].(string); !ok || !wcDecimal.MatchString(s) {
			tb.Errorf("%s = %#v, want a decimal string", k, o[k])
		}
	}
	for _, k := range wcDateFields {
		if s, ok := o[k].(string); o[k] != nil && (!ok || !wcDate.MatchString(s)) {
			tb.Errorf("%s = %#v, want 2006-01-02T15:04:05 or null", k, o[k])
		}
	}
	if o["date_created"] == nil || o["date_modified"] == nil {
		tb.Errorf("date_created %v, date_modified %v", o["date_created"], o["date_modified"])
	}
	if s, _ := o["status"].(string); !slices.Contains(wcStatuses, s) {
		tb.Errorf("status %#v", o["status"])
	}
	for _, k := range []string{"prices_include_tax", "needs_payment", "needs_processing"} {
		if _, ok := o[k].(bool); !ok {
			tb.Errorf("%s = %#v, want a boolean", k, o[k])
		}
	}
	for _, k := range []string{"number", "order_key", "created_via", "version", "currency", "customer_ip_address",
		"customer_user_agent", "customer_note", "payment_method", "payment_method_title", "transaction_id", "cart_hash", "payment_url"} {
		if _, ok := o[k].(string); !ok {
			tb.Errorf("%s = %#v, want a string", k, o[k])
		}
	}
	billing, _ := o["billing"].(map[string]any)
	has("billing", billing, append(slices.Clone(wcAddressFields), "email", "phone"))
	shipping, _ := o["shipping"].(map[string]any)
	has("shipping", shipping, wcAddressFields)
	for _, k := range []string{"meta_data", "line_items", "tax_lines", "shipping_lines", "fee_lines", "coupon_lines", "refunds"} {
		if _, ok := o[k].([]any); !ok {
			tb.Errorf("%s = %#v, want an array", k, o[k])
		}
	}
	metas := func(where string, v any) {
		tb.Helper()
		list, _ := v.([]any)
		for i, m := range list {
			mm, _ := m.(map[string]any)
			has(where+"["+strconv.Itoa(i)+"]", mm, wcMetaFields)
			integer(where+".id", mm["id"])
		}
	}
	metas("meta_data", o["meta_data"])
	lines, _ := o["line_items"].([]any)
	for i, l := range lines {
		lm, _ := l.(map[string]any)
		where := "line_items[" + strconv.Itoa(i) + "]"
		has(where, lm, wcLineFields)
		for _, k := range []string{"id", "product_id", "variation_id", "quantity"} {
			integer(where+"."+k, lm[k])
		}
		for _, k := range []string{"subtotal", "total"} {
			if s, ok := lm[k].(string); !ok || !wcDecimal.MatchString(s) {
				tb.Errorf("%s.%s = %#v, want a decimal string", where, k, lm[k])
			}
		}
		if _, ok := lm["price"].(json.Number); !ok {
			tb.Errorf("%s.price = %#v, want a number", where, lm["price"])
		}
		metas(where+".meta_data", lm["meta_data"])
	}
	return o
}

// verifyWooCommerce checks X-WC-Webhook-Signature as a WooCommerce
// receiver does: base64 of the raw HMAC-SHA256 of the raw body, keyed with
// the secret, compared in constant time.
func verifyWooCommerce(secret string, rawBody []byte, header string) bool {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(rawBody)
	return hmac.Equal([]byte(base64.StdEncoding.EncodeToString(mac.Sum(nil))), []byte(header))
}

// ---- the mapper -----------------------------------------------------------

func fullOrder() webhooks.OrderInput {
	at := time.Date(2026, 6, 20, 14, 32, 7, 0, time.UTC)
	yes := true
	return webhooks.OrderInput{
		ID: 1204, OrderKey: "wc_order_a1B2c3D4e5F6g", Status: "wc-on-hold", Currency: "USD", Total: "107.50",
		TotalTax: "7.50", ShippingTotal: "5.00", DiscountTotal: "10.00", CustomerID: "103",
		Billing:  webhooks.OrderAddress{FirstName: "Jane", LastName: "Doe", Email: "jane@example.com", Country: "US"},
		Shipping: webhooks.OrderAddress{FirstName: "Jane", LastName: "Doe", City: "Springfield", Country: "US"},
		Lines: []webhooks.OrderLine{
			{ID: 1, ProductID: 77, VariationID: 781, Name: "Challenge 50K", SKU: "CH-50K", Quantity: 2, Price: "50.00",
				MetaData: []webhooks.OrderMeta{{ID: 9, Key: "size", Value: json.RawMessage(`"50K"`)}}},
			{ProductID: 80, Name: "Add-on", Total: "5.00"},
		},
		MetaData:      []webhooks.OrderMeta{{ID: 1, Key: "account_id", Value: json.RawMessage(`"MT5-100234"`)}, {ID: 2, Key: "opts", Value: json.RawMessage(`{"send_email":true}`)}},
		PaymentMethod: "stripe", PaymentMethodTitle: "Card", TransactionID: "pi_3Nabc",
		Refunds:         []webhooks.OrderRefund{{ID: 31, Reason: "goodwill", Total: "2.50"}},
		NeedsProcessing: &yes, PaymentURL: "https://shop.example/checkout/order-pay/1204/?pay_for_order=true&key=wc_order_a1B2c3D4e5F6g",
		CreatedAt: at, UpdatedAt: at.Add(time.Minute),
	}
}

func TestWooCommerceOrder(t *testing.T) {
	t.Parallel()
	t.Run("Full", func(t *testing.T) {
		in := fullOrder()
		b, err := webhooks.WooCommerceOrder(&in)
		if err != nil {
			t.Fatal(err)
		}
		o := checkWooOrder(t, b)
		want := map[string]any{
			"id": json.Number("1204"), "number": "1204", "status": "on-hold", "currency": "USD", "total": "107.50",
			"total_tax": "7.50", "shipping_total": "5.00", "discount_total": "10.00", "discount_tax": "0.00", "cart_tax": "0.00",
			"customer_id": json.Number("103"), "order_key": "wc_order_a1B2c3D4e5F6g", "created_via": "walletd",
			"payment_method": "stripe", "transaction_id": "pi_3Nabc", "date_created": "2026-06-20T14:32:07",
			"date_created_gmt": "2026-06-20T14:32:07", "date_modified": "2026-06-20T14:33:07", "date_paid": nil,
			"date_completed": nil, "needs_payment": false, "needs_processing": true, "payment_url": in.PaymentURL,
		}
		for k, v := range want {
			if o[k] != v {
				t.Errorf("%s = %#v, want %#v", k, o[k], v)
			}
		}
		lines := o["line_items"].([]any)
		l0, l1 := lines[0].(map[string]any), lines[1].(map[string]any)
		if l0["total"] != "100.00" || l0["subtotal"] != "100.00" || l0["price"] != json.Number("50") || l0["quantity"] != json.Number("2") ||
			l0["variation_id"] != json.Number("781") || l0["sku"] != "CH-50K" {
			t.Errorf("line 0 %v", l0)
		}
		if l1["total"] != "5.00" || l1["quantity"] != json.Number("1") || l1["price"] != json.Number("5") || l1["variation_id"] != json.Number("0") {
			t.Errorf("line 1 %v", l1)
		}
		if r := o["refunds"].([]any)[0].(map[string]any); r["total"] != "-2.50" || r["id"] != json.Number("31") {
			t.Errorf("refund %v", r)
		}
		if m := o["meta_data"].([]any)[1].(map[string]any); m["key"] != "opts" || m["value"].(map[string]any)["send_email"] != true {
			t.Errorf("meta_data %v", m)
		}
	})
	t.Run("NeedsPayment", func(t *testing.T) {
		for status, want := range map[string]bool{"pending": true, "failed": true, "processing": false, "completed": false} {
			in := webhooks.OrderInput{ID: 7, Status: status, Currency: "JPY", Total: "500", CreatedAt: time.Now()}
			b, _ := webhooks.WooCommerceOrder(&in)
			o := checkWooOrder(t, b)
			if o["needs_payment"] != want || o["total_tax"] != "0" || o["needs_processing"] != false {
				t.Errorf("%s: needs_payment %v, total_tax %v, needs_processing %v", status, o["needs_payment"], o["total_tax"], o["needs_processing"])
			}
		}
	})
	t.Run("ItemsWithoutLines", func(t *testing.T) {
		in := webhooks.OrderInput{ID: 9, Status: "completed", Currency: "EUR", Total: "6.00", CreatedAt: time.Now(),
			Items: json.RawMessage(`[{"product_id":5,"quantity":2,"price":"3.00","name":"Mug"}]`)}
		b, _ := webhooks.WooCommerceOrder(&in)
		o := checkWooOrder(t, b)
		l := o["line_items"].([]any)
		if len(l) != 1 || l[0].(map[string]any)["total"] != "6.00" || l[0].(map[string]any)["quantity"] != json.Number("2") || o["needs_processing"] != true {
			t.Fatalf("lines from items: %s", b)
		}
		// Amounts in exponent form are not read: 1e999999999 would be a
		// billion digits.
		in.Items = json.RawMessage(`[{"product_id":6,"price":1e999999999,"total":"2E+9"}]`)
		b, _ = webhooks.WooCommerceOrder(&in)
		l = checkWooOrder(t, b)["line_items"].([]any)
		if len(b) > 4096 || l[0].(map[string]any)["total"] != "0.00" {
			t.Fatalf("exponent amounts: %s", b)
		}
	})
	t.Run("FromOrder", func(t *testing.T) {
		total, _ := walletd.ParseMoney("49.00", 2)
		at := time.Date(2026, 6, 20, 14, 32, 7, 0, time.UTC)
		o := &walletd.Order{ID: "1204", UserID: "103", WalletID: "wal_x", Total: total, Currency: "USD",
			Items:  json.RawMessage(`[{"product_id":"77","variation_id":781,"name":"Reset 50K","sku":"R-50K","quantity":1,"price":49}]`),
			Status: walletd.StatusRefunded, CompletedAt: at, RefundedAt: at.Add(time.Hour)}
		in := webhooks.FromOrder(o)
		b, err := webhooks.WooCommerceOrder(&in)
		if err != nil {
			t.Fatal(err)
		}
		w := checkWooOrder(t, b)
		want := map[string]any{"id": json.Number("1204"), "number": "1204", "status": "refunded", "total": "49.00",
			"customer_id": json.Number("103"), "date_paid": "2026-06-20T14:32:07", "date_completed": "2026-06-20T14:32:07",
			"date_modified": "2026-06-20T15:32:07", "needs_payment": false}
		for k, v := range want {
			if w[k] != v {
				t.Errorf("%s = %#v, want %#v", k, w[k], v)
			}
		}
		l := w["line_items"].([]any)[0].(map[string]any)
		if l["product_id"] != json.Number("77") || l["variation_id"] != json.Number("781") || l["name"] != "Reset 50K" || l["total"] != "49.00" {
			t.Errorf("line %v", l)
		}
		if r := w["refunds"].([]any); len(r) != 1 || r[0].(map[string]any)["total"] != "-49.00" {
			t.Errorf("refunds %v", r)
		}
		// A storefront id that is not an integer: id 0, the number keeps it.
		o.ID, o.UserID, o.Items = "ORD-77", "jane", json.RawMessage(`{"free":"form"}`)
		in = webhooks.FromOrder(o)
		b, _ = webhooks.WooCommerceOrder(&in)
		w = checkWooOrder(t, b)
		if w["id"] != json.Number("0") || w["number"] != "ORD-77" || w["customer_id"] != json.Number("0") || len(w["line_items"].([]any)) != 0 {
			t.Errorf("non-integer ids: %s", b)
		}
	})
}

// ---- a real dispatch ------------------------------------------------------

// TestDispatcher_WooCommerceOrder delivers a synthetic order.updated event
// to a woocommerce endpoint and reads it as a WooCommerce receiver does.
func TestDispatcher_WooCommerceOrder(t *testing.T) {
	t.Parallel()
	n := mustNATS(t)
	e := mustService(t)
	rc := newReceiver(t)
	ep, secret := e.create(t, walletd.WebhookEndpointInput{URL: rc.URL + "/wc", Format: webhooks.FormatWooCommerce})
	ping := rc.waitFor(t, "", 1)[0]
	if want := "webhook_id=" + strconv.FormatInt(ep.NumericID, 10); string(ping.Body) != want || ping.Header.Get("X-WC-Webhook-Signature") != "" {
		t.Fatalf("ping %q %v, want %q unsigned", ping.Body, ping.Header, want)
	}
	startDispatcher(t, e.Svc, n)

	in := fullOrder()
	data, _ := json.Marshal(in)
	n.publish(t, events.WalletCredited, `{"amount":"1.00"}`) // not in the default filter
	id, _ := n.publish(t, webhooks.OrderUpdated, string(data))
	got := rc.waitFor(t, "", 2)[1]
	waitIdle(t, e, n)
	if len(rc.requests()) != 2 {
		t.Fatalf("%d requests: wallet events reach a woocommerce endpoint only when listed", len(rc.requests()))
	}
	h := got.Header
	if !verifyWooCommerce(secret, got.Body, h.Get("X-WC-Webhook-Signature")) {
		t.Fatalf("X-WC-Webhook-Signature %q does not verify", h.Get("X-WC-Webhook-Signature"))
	}
	ds := e.deliveries(t, ep.ID, webhooks.StateSucceeded)
	want := map[string]string{"X-WC-Webhook-Topic": "order.updated", "X-WC-Webhook-Resource": "order", "X-WC-Webhook-Event": "updated",
		"X-WC-Webhook-Source": siteURL + "/", "X-WC-Webhook-ID": strconv.FormatInt(ep.NumericID, 10),
		"X-WC-Webhook-Delivery-ID": ds[len(ds)-1].ID, "Content-Type": "application/json"}
	for k, v := range want {
		if h.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, h.Get(k), v)
		}
	}
	o := checkWooOrder(t, got.Body)
	if o["id"] != json.Number("1204") || o["status"] != "on-hold" || o["total"] != "107.50" || len(o["line_items"].([]any)) != 2 {
		t.Fatalf("order body %s", got.Body)
	}
	wantBody, _ := webhooks.WooCommerceOrder(&in)
	if !bytes.Equal(got.Body, wantBody) {
		t.Fatalf("body\n%s\nwant\n%s", got.Body, wantBody)
	}
	if d := ds[len(ds)-1]; d.EventID != id || d.Event != webhooks.OrderUpdated {
		t.Fatalf("delivery %+v", d)
	}

	// A receiver in PHP, as WooCommerce integrations are written: the
	// signature, the (int) casts of the ids.
	php, err := exec.LookPath("php")
	if err != nil {
		t.Log("php not installed: the PHP receiver check is skipped")
		return
	}
	dir := t.TempDir()
	bodyFile := filepath.Join(dir, "body.json")
	os.WriteFile(bodyFile, got.Body, 0o600)
	script := `<?php
$payload = file_get_contents($argv[1]);
$expected = base64_encode(hash_hmac('sha256', $payload, $argv[2], true));
if (!hash_equals($expected, $argv[3])) { fwrite(STDERR, "signature\n"); exit(1); }
$webhook_id = (int) $argv[4];
$order = json_decode($payload, true);
if ($webhook_id < 1 || (string) $webhook_id !== $argv[4]) { fwrite(STDERR, "webhook id\n"); exit(1); }
if (!is_int($order['id']) || !is_int($order['customer_id']) || !is_int($order['line_items'][0]['product_id'])) { fwrite(STDERR, "ids\n"); exit(1); }
if (!is_string($order['total']) || $order['status'] !== 'on-hold') { fwrite(STDERR, "total or status\n"); exit(1); }
echo $webhook_id, ' ', $order['id'];
`
	out, err := exec.Command(php, "-r", strings.TrimPrefix(script, "<?php\n"), "--", bodyFile, secret,
		h.Get("X-WC-Webhook-Signature"), h.Get("X-WC-Webhook-ID")).CombinedOutput()
	if err != nil || string(out) != strconv.FormatInt(ep.NumericID, 10)+" 1204" {
		t.Fatalf("PHP receiver: %v: %s", err, out)
	}
}

// TestDocs_WooCommerceOrder checks the example of docs/webhooks.md: the
// woocommerce body shown is what the mapper makes of the order event shown.
func TestDocs_WooCommerceOrder(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../docs/webhooks.md")
	if err != nil {
		t.Fatal(err)
	}
	block := func(marker string) []byte {
		t.Helper()
		_, after, ok := bytes.Cut(doc, []byte("<!-- "+marker+" -->"))
		if !ok {
			t.Fatalf("docs/webhooks.md lacks the marker %q", marker)
		}
		_, after, _ = bytes.Cut(after, []byte("```json\n"))
		code, _, ok := bytes.Cut(after, []byte("```"))
		if !ok {
			t.Fatalf("no json block after %q", marker)
		}
		return code
	}
	var env events.Envelope
	if err := json.Unmarshal(block("woocommerce-order-event"), &env); err != nil {
		t.Fatal(err)
	}
	var in webhooks.OrderInput
	if err := json.Unmarshal(env.Data, &in); err != nil || env.Event != webhooks.OrderUpdated || in.ID == 0 || len(in.Lines) == 0 {
		t.Fatalf("the event's data is not an order: %v", err)
	}
	got, err := webhooks.WooCommerceOrder(&in)
	if err != nil {
		t.Fatal(err)
	}
	shown := block("woocommerce-order-body")
	checkWooOrder(t, shown)
	var a, b any
	json.Unmarshal(got, &a)
	json.Unmarshal(shown, &b)
	if !jsonEqual(a, b) {
		var pretty bytes.Buffer
		json.Indent(&pretty, got, "", "  ")
		t.Fatalf("the docs show\n%s\nthe mapper makes\n%s", shown, pretty.String())
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}
