package http_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// findBrowser returns the path of a Chromium or Chrome, or "".
func findBrowser() string {
	if p := os.Getenv("WALLETD_TEST_BROWSER"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// TestCheckout_Browser drives a real headless Chromium through the
// payment link: the summary, the payment from the wallet, the result
// page, and the error page when the link is opened again. Screenshots of
// each page are kept in the test's temp dir (and copied to
// $WALLETD_TEST_SHOTS when set).
func TestCheckout_Browser(t *testing.T) {
	browser := findBrowser()
	if browser == "" {
		t.Skip("SKIPPED: NO BROWSER FOUND (install Debian's chromium: apt-get install -y chromium); the payment page was not tested in a browser")
	}
	s := mustResetFee(t, mustServer(t))
	f := s.mustLink(t, s.Variations[0], "12345")

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(browser),
		chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun, chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	defer cancel()

	dir := t.TempDir()
	shot := func(name string) {
		t.Helper()
		buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		path := filepath.Join(dir, name+".png")
		if err := os.WriteFile(path, buf, 0o600); err != nil {
			t.Fatal(err)
		}
		if d := os.Getenv("WALLETD_TEST_SHOTS"); d != "" {
			os.WriteFile(filepath.Join(d, name+".png"), buf, 0o600)
		}
		t.Logf("screenshot %s", path)
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	step := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("browser: %s: %v", what, err)
		}
	}
	step("open the link", chromedp.EmulateViewport(390, 844), // a phone
		chromedp.Navigate(f.PaymentURL), chromedp.WaitVisible(chromedp.CSS("#order-summary")))
	summary, button := text("#order-summary"), text("#method-wallet button")
	shot("1-payment-page")
	step("pay from the wallet", chromedp.Click(chromedp.CSS("#method-wallet button")), chromedp.WaitVisible(chromedp.CSS("#result-message")))
	result := text("main")
	shot("2-result-page")
	step("open the link again", chromedp.Navigate(f.PaymentURL), chromedp.WaitVisible(chromedp.CSS("#error-message")))
	errText := text("#error-message")
	shot("3-link-again")
	for _, w := range []string{"Account Reset Fee", "1 Step", "$100,000", "49.00 USD"} {
		if !strings.Contains(summary, w) {
			t.Errorf("summary %q lacks %q", summary, w)
		}
	}
	if !strings.Contains(button, "wallet") {
		t.Errorf("button %q", button)
	}
	if !strings.Contains(result, "is paid") || !strings.Contains(result, "completed") {
		t.Errorf("result page %q", result)
	}
	if !strings.Contains(errText, "no longer valid") && !strings.Contains(errText, "used already") {
		t.Errorf("error page %q", errText)
	}
	if o := s.order(t, f.OrderID); o.Status != "completed" {
		t.Errorf("order %s", o.Status)
	}
	s.wantMoney(t, s.WalletID, "51.00/0.00/51.00")
}
