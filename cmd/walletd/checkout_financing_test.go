package main_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/walletd/walletd/financing/financingtest"
	"github.com/walletd/walletd/walletdtest"
)

// TestServe_FinancingCheckoutBrowser: the real program, a reset-fee
// payment link opened in headless Chromium: the payment page offers "Pay
// over time" (the order is in the configured range), its button sends
// the order's financing request to the (fake) provider and lands on the
// provider's application page; Approve there sends the signed postback;
// the order is paid (and completed: a reset fee is virtual), the browser
// is back on the order's styled return page showing it paid, and the
// shop's endpoint receives order.updated. Screenshots go to the test's temp dir
// (and $WALLETD_TEST_SHOTS).
func TestServe_FinancingCheckoutBrowser(t *testing.T) {
	b := walletdtest.NewBrowser(t, "pay over time")
	fake := (&financingtest.Fake{MerchantID: "m-42", Username: "shop-user", Password: "s3cret-pass"}).Start()
	defer fake.Close()
	var mu sync.Mutex
	var orderEvents []string
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var env struct {
			Event string
			Data  struct {
				ID     int64
				Status string
			}
		}
		json.Unmarshal(body, &env)
		mu.Lock()
		orderEvents = append(orderEvents, fmt.Sprintf("%s:%d:%s", env.Event, env.Data.ID, env.Data.Status))
		mu.Unlock()
	}))
	defer recv.Close()

	dir := filepath.Join(t.TempDir(), "data")
	p := financingServe(t, dir, freeAddr(t))
	if _, err := p.call("POST", "/v1/webhook-endpoints", `{"name":"shop","url":"`+recv.URL+`/hook","events":["order.updated"]}`, "", nil); err != nil {
		t.Fatal(err)
	}
	if st, err := p.call("PUT", "/v1/financing/settings", `{"api_url":"`+fake.URL()+`","merchant_id":"m-42","username":"shop-user",`+
		`"password":"s3cret-pass","min_amount":"20","max_amount":"5000"}`, "", nil); err != nil || st != 200 {
		t.Fatalf("settings: %d %v", st, err)
	}
	shop := mustResetFeeShop(t, p, 1, "10.00") // the wallet cannot pay 49.00
	id, link, err := shop.request(0, shop.variations[0], "acc-1")
	if err != nil {
		t.Fatal(err)
	}

	ctx, shot := b.Ctx, b.Shot
	step := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("browser: %s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}

	step("open the link", chromedp.EmulateViewport(390, 844), chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS("#method-wegetfinancing button")))
	offer := text("#method-wegetfinancing")
	shot("financing-1-payment-page")
	step("pay over time", chromedp.Click(chromedp.CSS("#method-wegetfinancing button")), chromedp.WaitVisible(chromedp.CSS("#approve")))
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	amount := text("#amount")
	shot("financing-2-provider-page")
	step("approve", chromedp.Click(chromedp.CSS("#approve")), chromedp.WaitReady(chromedp.CSS("body")))
	// The provider sends the customer back to the order's return page,
	// which shows the order paid once the postback is applied (it reloads
	// itself while the order is pending).
	var back string
	walletdtest.CheckFor(t, 20*time.Second, 100*time.Millisecond, func() error {
		at, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil || !strings.Contains(at, fmt.Sprintf("/checkout/order-received/%d/?key=wc_order_", id)) {
			return fmt.Errorf("browser at %s (%w)", at, err)
		}
		if back, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body"))); err != nil || !strings.Contains(back, "Payment received") {
			return fmt.Errorf("return page %q (%w)", back, err)
		}
		return nil
	})
	shot("financing-3-back-at-the-shop")

	if !strings.Contains(offer, "Pay over time") || !strings.HasPrefix(loc, fake.URL()+"/checkout?token=") || !strings.Contains(amount, "49.00") {
		t.Fatalf("offer %q, provider page %s %q", offer, loc, amount)
	}
	if !strings.Contains(back, "WeGetFinancing") {
		t.Errorf("back at the shop: %q", back)
	}
	var o struct {
		Status   string
		Payments []struct{ Method string }
	}
	walletdtest.CheckFor(t, 15*time.Second, 100*time.Millisecond, func() error {
		if _, err := p.call("GET", fmt.Sprintf("/v1/orders/%d", id), "", "", &o); err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		want := fmt.Sprintf("order.updated:%d:completed", id)
		if o.Status != "completed" || !strings.Contains(strings.Join(orderEvents, " "), want) {
			return fmt.Errorf("order %s, webhooks %v", o.Status, orderEvents)
		}
		return nil
	})
	if len(o.Payments) != 1 || o.Payments[0].Method != "wegetfinancing" {
		t.Fatalf("payments %+v", o.Payments)
	}
}

// TestServe_StripeKeyFile: --stripe-secret-key-file must hold a Stripe
// secret key (serve refuses to start otherwise); with one, the payment
// page offers "Pay by card", whose button reaches the Stripe API at
// --stripe-api-url with that key.
func TestServe_StripeKeyFile(t *testing.T) {
	for name, content := range map[string]string{"publishable key": "pk_test_abc\n", "two words": "sk_test_a sk_test_b", "missing": ""} {
		dir := filepath.Join(t.TempDir(), "data")
		key := filepath.Join(t.TempDir(), "stripe-key")
		if content != "" {
			os.WriteFile(key, []byte(content), 0o600)
		}
		out, err := exec.Command(binary, "serve", "--data-dir", dir, "--http-addr", "127.0.0.1:0", "--nats-addr", "127.0.0.1:0",
			"--stripe-secret-key-file", key).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "--stripe-secret-key-file") || strings.Contains(string(out), "sk_test_a") {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
	}

	var mu sync.Mutex
	var auth []string
	stripe := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auth = append(auth, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"cs_test_1","object":"checkout.session","url":"https://checkout.stripe.com/c/pay/cs_test_1","expires_at":%d}`, time.Now().Add(time.Hour).Unix())
	}))
	defer stripe.Close()
	key := filepath.Join(t.TempDir(), "stripe-key")
	os.WriteFile(key, []byte("sk_test_serve_key\n"), 0o600)
	dir := filepath.Join(t.TempDir(), "data")
	addr := freeAddr(t)
	p := startServe(t, dir, "--http-addr", addr, "--public-url", "http://"+addr, "--stripe-secret-key-file", key, "--stripe-api-url", stripe.URL)
	shop := mustResetFeeShop(t, p, 1, "100.00")
	_, link, err := shop.request(0, shop.variations[0], "acc-1")
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindSubmatch(page)
	if resp.StatusCode != 200 || !strings.Contains(string(page), `id="method-stripe"`) || m == nil ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "form-action 'self' https://checkout.stripe.com;") {
		t.Fatalf("page: %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Security-Policy"), page)
	}
	resp, err = c.PostForm(link, url.Values{"method": {"stripe"}, "csrf_token": {string(m[1])}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "https://checkout.stripe.com/c/pay/cs_test_1" {
		t.Fatalf("pay by card: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(auth) != 1 || auth[0] != "POST /v1/checkout/sessions Bearer sk_test_serve_key" {
		t.Fatalf("Stripe saw %v", auth)
	}
}
