package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
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
// the order is paid (and completed: a reset fee is virtual) and the shop's
// endpoint receives order.updated. Screenshots go to the test's temp dir
// (and $WALLETD_TEST_SHOTS).
func TestServe_FinancingCheckoutBrowser(t *testing.T) {
	bin := os.Getenv("WALLETD_TEST_BROWSER")
	if bin == "" {
		for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
			if p, err := exec.LookPath(name); err == nil {
				bin = p
				break
			}
		}
	}
	if bin == "" {
		t.Skip("SKIPPED: NO BROWSER FOUND (install Debian's chromium: apt-get install -y chromium); pay over time was not tested in a browser")
	}
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

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	shots := t.TempDir()
	shot := func(name string) {
		t.Helper()
		buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		os.WriteFile(filepath.Join(shots, name+".png"), buf, 0o600)
		if d := os.Getenv("WALLETD_TEST_SHOTS"); d != "" {
			os.WriteFile(filepath.Join(d, name+".png"), buf, 0o600)
		}
	}
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
	walletdtest.CheckFor(t, 10*time.Second, 100*time.Millisecond, func() error {
		back, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil || !strings.Contains(back, "/financing/return/success") {
			return fmt.Errorf("browser at %s (%w)", back, err)
		}
		return nil
	})
	back := text("body")
	shot("financing-3-back-at-the-shop")

	if !strings.Contains(offer, "Pay over time") || !strings.HasPrefix(loc, fake.URL()+"/checkout?token=") || !strings.Contains(amount, "49.00") {
		t.Fatalf("offer %q, provider page %s %q", offer, loc, amount)
	}
	if !strings.Contains(back, "confirmed") {
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
