package financing_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/walletd/walletd"
	"github.com/walletd/walletd/financing"
	"github.com/walletd/walletd/walletdtest"
)

// browser returns a headless Chromium context.
func browser(t *testing.T) context.Context {
	t.Helper()
	return walletdtest.NewBrowser(t, "the fake provider's page").Ctx
}

// The customer's side in a real browser: the page at href, the Approve
// (or Reject) button, the provider's signed postback, walletd's return
// page; the order is paid (or failed).
func TestFlow_Checkout(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := browser(t)
	for _, c := range []struct {
		button, status, page string
	}{
		{"#approve", walletd.OrderProcessing, "financing application is complete"},
		{"#reject", walletd.OrderFailed, "was not approved"},
	} {
		t.Run(strings.TrimPrefix(c.button, "#"), func(t *testing.T) {
			id := e.order(t, "B"+c.button, "")
			d := e.mustDo(t, "POST", fmt.Sprintf("/v1/orders/%d/financing", id), "", 201)
			if err := chromedp.Do(ctx, chromedp.Navigate(d["href"].(string))); err != nil {
				t.Fatal(err)
			}
			amount, err := chromedp.Run(ctx, chromedp.Text("#amount"))
			if err != nil {
				t.Fatal(err)
			}
			if err := chromedp.Do(ctx, chromedp.Click(c.button), chromedp.WaitVisible("#title")); err != nil {
				t.Fatal(err)
			}
			title, err := chromedp.Run(ctx, chromedp.Text("#title"))
			if err != nil {
				t.Fatal(err)
			}
			if amount != "Amount: 499.00" || !strings.Contains(title, c.page) {
				t.Fatalf("page: %q, then %q", amount, title)
			}
			walletdtest.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
				if o := e.getOrder(t, id); o.Status != c.status {
					return fmt.Errorf("order %s", o.Status)
				}
				return nil
			})
		})
	}
	if ps, _ := e.svc.Postbacks(context.Background(), 10); len(ps) != 2 || ps[0].State != financing.StateApplied {
		t.Fatalf("log %+v", ps)
	}
}
