package main_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/walletd/walletd/walletdtest"
)

// resetFeeShop sets up a running walletd for the reset-fee flow: the
// seed's product with two variations, a secret key, and customers
// user0…userN-1 (emails userI@example.com) whose USD wallets hold funds.
type resetFeeShop struct {
	p          *proc
	secret     string
	productID  int64
	variations []int64
	wallets    []string
}

func mustResetFeeShop(t *testing.T, p *proc, customers int, funds string) *resetFeeShop {
	t.Helper()
	var prod struct {
		ID         int64
		Variations []struct{ ID int64 }
	}
	if _, err := p.call("POST", "/v1/products", `{"name":"Account Reset Fee","currency":"USD","variations":[`+
		`{"challenge_type":"1 Step","account_size":"$100,000","price":"49.00"},{"challenge_type":"2 Step","account_size":"$200,000","price":"59.00"}]}`, "", &prod); err != nil {
		t.Fatal(err)
	}
	var k struct {
		SecretKey string `json:"secret_key"`
	}
	if _, err := p.call("POST", "/v1/reset-fee/keys", `{"name":"backend"}`, "", &k); err != nil {
		t.Fatal(err)
	}
	s := &resetFeeShop{p: p, secret: k.SecretKey, productID: prod.ID}
	for _, v := range prod.Variations {
		s.variations = append(s.variations, v.ID)
	}
	for i := 0; i < customers; i++ {
		var w struct{ ID string }
		if _, err := p.call("POST", "/v1/wallets", fmt.Sprintf(`{"user_id":"user%d","email":"user%d@example.com","currency":"USD"}`, i, i), "", &w); err != nil {
			t.Fatal(err)
		}
		if _, err := p.call("POST", "/v1/wallets/"+w.ID+"/credit", `{"amount":"`+funds+`"}`, "", nil); err != nil {
			t.Fatal(err)
		}
		s.wallets = append(s.wallets, w.ID)
	}
	return s
}

// request asks for a payment link for customer i; it returns the order
// id and the link, on the server's own address.
func (s *resetFeeShop) request(customer int, variation int64, account string) (int64, string, error) {
	body := fmt.Sprintf(`{"billing_details":{"first_name":"John","last_name":"Smith","address_1":"123 Main Street","address_2":"Apt 4B",`+
		`"city":"New York","postcode":"10001","country":"US","email":"user%d@example.com","phone":"+1234567890"},`+
		`"product_id":%d,"secret_key":%q,"account_id":%q}`, customer, variation, s.secret, account)
	resp, err := http.Post(s.p.URL+"/wp-json/walletd/v1/reset-fee", "application/json", strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var out struct {
		Success    bool   `json:"success"`
		OrderID    int64  `json:"order_id"`
		PaymentURL string `json:"payment_url"`
		Message    string `json:"message"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		return 0, "", fmt.Errorf("reset-fee: %d %+v %w", resp.StatusCode, out, err)
	}
	u, err := url.Parse(out.PaymentURL)
	if err != nil {
		return 0, "", err
	}
	return out.OrderID, s.p.URL + u.RequestURI(), nil
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// pay opens link in a fresh browser and pays from the wallet; it returns
// the result page's status.
func pay(link string) (int, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := c.Get(link)
	if err != nil {
		return 0, err
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfRE.FindSubmatch(page)
	if resp.StatusCode != 200 || m == nil {
		return resp.StatusCode, fmt.Errorf("payment page: %d", resp.StatusCode)
	}
	resp, err = c.PostForm(link, url.Values{"method": {"wallet"}, "csrf_token": {string(m[1])}, "pay": {"wallet"}})
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// TestServe_ResetFeeWebhook runs the reset-fee flow against walletd serve:
// a request, the payment from the wallet through the page, and the
// WooCommerce order.updated webhooks a backend receives, checked against
// WooCommerce's REST order fields and signature.
func TestServe_ResetFeeWebhook(t *testing.T) {
	type delivery struct {
		header http.Header
		body   []byte
	}
	var mu sync.Mutex
	var got []delivery
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, delivery{r.Header.Clone(), b})
		mu.Unlock()
	}))
	defer recv.Close()

	dir := filepath.Join(t.TempDir(), "data")
	p := startServe(t, dir, "--webhook-allow-cidrs", "127.0.0.0/8", "--public-url", "http://shop.example", "--payment-link-ttl", "5m")
	const secret = "wc-backend-secret-0123456789"
	if _, err := p.call("POST", "/v1/webhook-endpoints", `{"url":"`+recv.URL+`/wc","format":"woocommerce","events":["order.updated"],"secret":"`+secret+`"}`, "", nil); err != nil {
		t.Fatal(err)
	}
	s := mustResetFeeShop(t, p, 1, "100.00")
	id, link, err := s.request(0, s.variations[0], "12345")
	if err != nil {
		t.Fatal(err)
	}
	if st, err := pay(link); err != nil || st != 200 {
		t.Fatalf("pay: %d %v", st, err)
	}

	// order.updated for processing (paid) and completed.
	var orders []map[string]any
	walletdtest.CheckFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		mu.Lock()
		defer mu.Unlock()
		orders = orders[:0]
		for _, d := range got {
			if d.header.Get("X-WC-Webhook-Topic") != "order.updated" {
				continue
			}
			mac := hmac.New(sha256.New, []byte(secret))
			mac.Write(d.body)
			if want := base64.StdEncoding.EncodeToString(mac.Sum(nil)); d.header.Get("X-WC-Webhook-Signature") != want {
				return fmt.Errorf("signature %q, want %q", d.header.Get("X-WC-Webhook-Signature"), want)
			}
			for h, v := range map[string]string{"X-WC-Webhook-Resource": "order", "X-WC-Webhook-Event": "updated", "Content-Type": "application/json"} {
				if !strings.HasPrefix(d.header.Get(h), v) {
					return fmt.Errorf("%s: %q", h, d.header.Get(h))
				}
			}
			if !strings.HasSuffix(d.header.Get("X-WC-Webhook-Source"), "/") || d.header.Get("X-WC-Webhook-ID") == "" || d.header.Get("X-WC-Webhook-Delivery-ID") == "" {
				return fmt.Errorf("headers %v", d.header)
			}
			var o map[string]any
			if err := json.Unmarshal(d.body, &o); err != nil {
				return err
			}
			orders = append(orders, o)
		}
		if len(orders) < 2 {
			return fmt.Errorf("%d order.updated deliveries", len(orders))
		}
		return nil
	})
	// One delivery per transition; an endpoint takes up to 4 at once, so
	// they may arrive in either order (date_modified orders them).
	byStatus := map[string]map[string]any{}
	for _, o := range orders {
		byStatus[o["status"].(string)] = o
	}
	if len(orders) != 2 || byStatus["processing"] == nil || byStatus["completed"] == nil {
		t.Fatalf("deliveries %v", orders)
	}
	o := byStatus["completed"]
	for _, f := range strings.Fields(`id parent_id number order_key created_via version status currency date_created date_created_gmt
		date_modified date_modified_gmt date_paid date_paid_gmt date_completed date_completed_gmt discount_total discount_tax
		shipping_total shipping_tax cart_tax total total_tax prices_include_tax customer_id customer_ip_address customer_user_agent
		customer_note billing shipping payment_method payment_method_title transaction_id cart_hash meta_data line_items tax_lines
		shipping_lines fee_lines coupon_lines refunds payment_url needs_payment needs_processing`) {
		if _, ok := o[f]; !ok {
			t.Errorf("order body lacks %s", f)
		}
	}
	date := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$`)
	for _, f := range []string{"date_created", "date_created_gmt", "date_modified", "date_paid", "date_paid_gmt", "date_completed"} {
		if v, _ := o[f].(string); !date.MatchString(v) {
			t.Errorf("%s = %v", f, o[f])
		}
	}
	if o["id"] != float64(id) || o["status"] != "completed" || o["currency"] != "USD" || o["total"] != "49.00" ||
		o["payment_method"] != "wallet" || o["transaction_id"] == "" || o["total_tax"] != "0.00" {
		t.Errorf("order %v", o)
	}
	if b := o["billing"].(map[string]any); b["email"] != "user0@example.com" || b["country"] != "US" || b["address_2"] != "Apt 4B" {
		t.Errorf("billing %v", b)
	}
	items := o["line_items"].([]any)
	if len(items) != 1 {
		t.Fatalf("line_items %v", items)
	}
	li := items[0].(map[string]any)
	if li["product_id"] != float64(s.productID) || li["variation_id"] != float64(s.variations[0]) || li["total"] != "49.00" || li["quantity"] != float64(1) {
		t.Errorf("line item %v", li)
	}
	found := false
	for _, m := range o["meta_data"].([]any) {
		if mm := m.(map[string]any); mm["key"] == "account_id" && mm["value"] == "12345" {
			found = true
		}
	}
	if !found {
		t.Errorf("meta_data %v lacks account_id", o["meta_data"])
	}
	if t.Failed() {
		t.Logf("body: %s", got[len(got)-1].body)
	}
}

// TestServe_CrashDuringResetFeePayments kills walletd with SIGKILL while
// customers request links and pay from their wallets. After a restart no
// order is paid twice or paid without its debit, every acknowledged
// payment is there, and walletd verify passes.
func TestServe_CrashDuringResetFeePayments(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	p := startServe(t, dir)
	const customers = 6
	s := mustResetFeeShop(t, p, customers, "100000.00")
	var mu sync.Mutex
	acked := map[int64]bool{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < customers; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id, link, err := s.request(g, s.variations[i%2], fmt.Sprintf("acc-%d-%d", g, i%3))
				if err != nil {
					continue
				}
				if st, err := pay(link); err == nil && st == 200 {
					mu.Lock()
					acked[id] = true
					mu.Unlock()
				}
			}
		}(g)
	}
	walletdtest.CheckFor(t, 60*time.Second, 10*time.Millisecond, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(acked) < 60 {
			return fmt.Errorf("only %d payments acknowledged", len(acked))
		}
		return nil
	})
	p.cmd.Process.Kill() // SIGKILL, mid-load
	<-p.done
	close(stop)
	wg.Wait()

	p2 := startServe(t, dir)
	type ent struct {
		Kind    string `json:"kind"`
		Type    string `json:"type"`
		OrderID string `json:"order_id"`
	}
	debits := map[string]int{}
	for _, e := range ledgerEntries[ent](t, p2) {
		if e.Type == "order_payment" {
			debits[e.OrderID]++
		}
	}
	var orders []struct {
		ID       int64
		Status   string
		Payments []struct{ Reference string }
	}
	after := ""
	for {
		var page struct {
			Items []struct {
				ID       int64
				Status   string
				Payments []struct{ Reference string }
			}
			NextCursor string `json:"next_cursor"`
		}
		if _, err := p2.call("GET", "/v1/orders?limit=200&cursor="+after, "", "", &page); err != nil {
			t.Fatal(err)
		}
		orders = append(orders, page.Items...)
		if after = page.NextCursor; after == "" {
			break
		}
	}
	paid := 0
	for _, o := range orders {
		n := debits[fmt.Sprint(o.ID)]
		switch o.Status {
		case "processing", "completed":
			paid++
			if n != 1 || len(o.Payments) != 1 {
				t.Fatalf("order %d is %s with %d debits and %d payments", o.ID, o.Status, n, len(o.Payments))
			}
		default:
			if n != 0 || len(o.Payments) != 0 {
				t.Fatalf("order %d is %s with %d debits", o.ID, o.Status, n)
			}
		}
		if o.Status == "completed" || o.Status == "processing" {
			delete(acked, o.ID)
		}
	}
	for id := range acked {
		t.Fatalf("acknowledged payment of order %d is not in the ledger", id)
	}
	if err := p2.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(binary, "verify", "--data-dir", dir).CombinedOutput(); err != nil {
		t.Fatalf("walletd verify after crash: %v\n%s", err, out)
	}
	t.Logf("%d orders, %d paid, SIGKILL mid-payment", len(orders), paid)
}

// TestServe_PaymentLinkTTL: serve refuses a link lifetime outside 5 to 10
// minutes, before it opens anything.
func TestServe_PaymentLinkTTL(t *testing.T) {
	for _, ttl := range []string{"4m59s", "10m1s", "0s", "-5m"} {
		dir := filepath.Join(t.TempDir(), "data")
		out, err := exec.Command(binary, "serve", "--data-dir", dir, "--http-addr", "127.0.0.1:0", "--nats-addr", "127.0.0.1:0",
			"--payment-link-ttl", ttl).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "--payment-link-ttl") || !strings.Contains(string(out), "5m0s to 10m0s") {
			t.Fatalf("--payment-link-ttl %s: %v\n%s", ttl, err, out)
		}
	}
}

// TestCLI_ResetFeeKey: walletd reset-fee-key create, list and revoke
// against a running server; the secret is printed once and works.
func TestCLI_ResetFeeKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	p := startServe(t, dir)
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(binary, append([]string{"reset-fee-key"}, append(args, "--url", p.URL, "--data-dir", dir)...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("reset-fee-key %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	out := run("create", "--name", "backend")
	m := regexp.MustCompile(`id:\s+(rfk_\S+)\nsecret_key: (rfk_\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("create printed %q", out)
	}
	id, secret := m[1], m[2]
	list := run("list")
	if !strings.Contains(list, id) || !strings.Contains(list, "backend") || !strings.Contains(list, "active") || strings.Contains(list, secret) {
		t.Fatalf("list %q", list)
	}
	s := &resetFeeShop{p: p, secret: secret}
	shop := mustResetFeeShop(t, p, 1, "10.00")
	s.variations = shop.variations
	if _, _, err := s.request(0, s.variations[0], "1"); err != nil {
		t.Fatalf("the CLI's key: %v", err)
	}
	if out := run("revoke", id); !strings.Contains(out, "revoked "+id) {
		t.Fatalf("revoke %q", out)
	}
	if _, _, err := s.request(0, s.variations[0], "1"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("revoked key: %v", err)
	}
	if out := run("list", "--json"); !strings.Contains(out, `"status": "revoked"`) {
		t.Fatalf("list --json %q", out)
	}
	if out, err := exec.Command(binary, "reset-fee-key", "revoke", "rfk_nope", "--url", p.URL, "--data-dir", dir).CombinedOutput(); err == nil || !strings.Contains(string(out), "404") {
		t.Fatalf("revoke unknown: %v %s", err, out)
	}
}
