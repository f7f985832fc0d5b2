package http_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestCheckout_Browser drives a real headless Chromium through the
// payment link: the summary, the payment from the wallet, the result
// page, and the error page when the link is opened again. Screenshots of
// each page are kept in the test's temp dir (and copied to
// $WALLETD_TEST_SHOTS when set).
func TestCheckout_Browser(t *testing.T) {
	c := newChrome(t)
	s := mustResetFee(t, mustServer(t))
	f := s.mustLink(t, s.Variations[0], "12345")
	shot, text, step := c.shot, c.text, c.step
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
