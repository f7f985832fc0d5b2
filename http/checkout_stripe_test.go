package http_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/walletd/walletd"

	whttp "github.com/walletd/walletd/http"
	"github.com/walletd/walletd/walletdtest"
	"github.com/walletd/walletd/webhooks/inbound"
)

// chrome is walletdtest's browser with the page tests' helpers.
type chrome struct {
	*walletdtest.Browser
	t   *testing.T
	ctx context.Context
}

func newChrome(t *testing.T) *chrome {
	t.Helper()
	b := walletdtest.NewBrowser(t, "the payment page")
	return &chrome{Browser: b, t: t, ctx: b.Ctx}
}

func (c *chrome) shot(name string) { c.t.Helper(); c.Shot(name) }

func (c *chrome) text(sel string) string {
	c.t.Helper()
	s, err := chromedp.Run(c.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		c.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func (c *chrome) step(what string, steps ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	if err := chromedp.Do(c.ctx, steps...); err != nil {
		c.t.Fatalf("browser: %s: %v", what, err)
	}
}

// waitText waits until the text of sel contains want.
func (c *chrome) waitText(sel, want string, within time.Duration) string {
	c.t.Helper()
	var got string
	walletdtest.CheckFor(c.t, within, 100*time.Millisecond, func() error {
		s, err := chromedp.Run(c.ctx, chromedp.Text(chromedp.CSS(sel)))
		if got = s; err != nil || !strings.Contains(s, want) {
			return fmt.Errorf("%s is %q (%w), want %q", sel, s, err, want)
		}
		return nil
	})
	return got
}

// stripeCheckoutSetup is a reset-fee setup on a server with the inbound
// pipeline (Stripe configured) and the card method on the payment page,
// against a local fake of Stripe.
func stripeCheckoutSetup(t *testing.T) (*resetFeeSetup, *stripeFake, *recordingExpirer) {
	t.Helper()
	f := newStripeFake(t)
	x := &recordingExpirer{}
	co := &whttp.Checkout{Expirer: x, Methods: []whttp.PaymentMethod{
		&whttp.StripeMethod{Checkout: &inbound.Checkout{SecretKey: stripeFakeKey, APIBase: f.srv.URL}, PageOrigins: []string{f.srv.URL}}}}
	ts, _ := mustInboundCheckoutServer(t, co)
	ts.do(t, "PUT", "/v1/inbound/gateways/stripe", `{"secret":"`+inboundStripeSecret+`"}`).expect(t, 200, "")
	return mustResetFee(t, ts), f, x
}

// TestCheckout_BrowserStripe drives Chromium through a card payment: the
// payment page offers "Pay by card"; its button lands on the (fake)
// Stripe page of a Checkout Session made for the order, which holds the
// order for the session; paying there brings the browser back to the
// return page, which waits; Stripe's signed checkout.session.completed
// arrives through the inbound pipeline and pays (and, a reset fee being
// virtual, completes) the order, which the return page then shows.
func TestCheckout_BrowserStripe(t *testing.T) {
	c := newChrome(t)
	s, fake, x := stripeCheckoutSetup(t)
	f := s.mustLink(t, s.Variations[0], "12345")

	c.step("open the link", chromedp.EmulateViewport(390, 844),
		chromedp.Navigate(f.PaymentURL), chromedp.WaitVisible(chromedp.CSS("#method-stripe button")))
	card := c.text("#method-stripe")
	c.shot("stripe-1-payment-page")
	c.step("pay by card", chromedp.Click(chromedp.CSS("#method-stripe button")), chromedp.WaitVisible(chromedp.CSS("#stripe-pay")))
	loc, err := chromedp.Run(c.ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	amount := c.text("#stripe-amount")
	c.shot("stripe-2-stripe-page")
	if !strings.HasPrefix(loc, fake.srv.URL+"/c/pay/cs_test_") {
		t.Fatalf("browser at %s, not the fake Stripe's page", loc)
	}
	id := strings.TrimPrefix(loc, fake.srv.URL+"/c/pay/")
	form := fake.session(id)
	ret := whttp.ReturnURL(s.URL, f.OrderID, strings.TrimPrefix(f.PaymentURL[strings.Index(f.PaymentURL, "key=")+4:], "wc_order_"))
	for k, want := range map[string]string{"client_reference_id": fmt.Sprint(f.OrderID), "metadata[order_id]": fmt.Sprint(f.OrderID),
		"line_items[0][price_data][unit_amount]": "4900", "line_items[0][price_data][currency]": "usd", "mode": "payment",
		"success_url": ret, "cancel_url": ret, "customer_email": "jane@example.com"} {
		if form[k] != want {
			t.Errorf("session %s = %q, want %q", k, form[k], want)
		}
	}
	// The order is held for the session's lifetime and a grace after it.
	link := s.link(t, f.OrderID)
	if link.HeldBy != "stripe" || link.HeldUntil.Before(link.ExpiresAt.Add(whttp.DefaultStripeSessionTTL+whttp.DefaultProviderGrace)) ||
		x.last(f.OrderID) != link.HeldUntil {
		t.Fatalf("link %+v, expiry scheduled at %s", link, x.last(f.OrderID))
	}

	c.step("pay at Stripe", chromedp.Click(chromedp.CSS("#stripe-pay")), chromedp.WaitVisible(chromedp.CSS("#return-message")))
	waiting := c.text("#return-message")
	c.shot("stripe-3-return-waiting")
	if o := s.order(t, f.OrderID); o.Status != "pending" {
		t.Fatalf("order %s before Stripe's webhook", o.Status)
	}

	// Stripe's webhook, signed as Stripe signs.
	body := fake.completed("evt_cs_1", id)
	r := s.do(t, "POST", "/v1/inbound/stripe", body, "Authorization", "", "Stripe-Signature", stripeSig(body))
	r.expect(t, 200, "")
	result := c.waitText("#return-message", "is paid", 10*time.Second)
	status := c.text("#order-status")
	c.shot("stripe-4-return-paid")

	if !strings.Contains(card, "Pay by card") || !strings.Contains(amount, "4900 USD") || !strings.Contains(waiting, "Waiting") {
		t.Errorf("card %q, Stripe page %q, waiting %q", card, amount, waiting)
	}
	if !strings.Contains(result, "Stripe") || status != "completed" {
		t.Errorf("return page %q, status %q", result, status)
	}
	o := s.order(t, f.OrderID)
	if o.Status != "completed" || len(o.Payments) != 1 || o.Payments[0].Method != "stripe" || o.Payments[0].Reference != "pi_"+id {
		t.Fatalf("order %+v", o)
	}
	s.wantMoney(t, s.WalletID, "100.00/0.00/100.00") // the wallet paid nothing
}

// recordingExpirer records the expiries the pages schedule.
type recordingExpirer struct {
	mu sync.Mutex
	at map[int64]time.Time
}

func (x *recordingExpirer) Schedule(id int64, at time.Time) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.at == nil {
		x.at = map[int64]time.Time{}
	}
	x.at[id] = at
}

func (x *recordingExpirer) last(id int64) time.Time {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.at[id]
}

// link reads the payment link of order id from the ledger.
func (s *resetFeeSetup) link(t *testing.T, id int64) *walletd.PaymentLink {
	t.Helper()
	v, err := s.L.DB.Object(context.Background(), walletd.ObjPaymentLink, walletd.IntKey(id))
	if err != nil {
		t.Fatal(err)
	}
	return v.(*walletd.PaymentLink)
}

// TestCheckout_Stripe: the card method without a browser: a second click
// gets the same session; Stripe refusing shows the page again with
// nothing held; the return page needs the link's token (wrong ones 404
// and count as failed visits, malformed ones 400), needs no cookie, and
// links back to the payment page while the link lasts; a payment that
// arrives for an order cancelled meanwhile is dead-lettered, not lost.
func TestCheckout_Stripe(t *testing.T) {
	s, fake, _ := stripeCheckoutSetup(t)
	f := s.mustLink(t, s.Variations[0], "1")
	b := newBrowser(t)
	_, page := b.get(t, f.PaymentURL)
	if !strings.Contains(page, `id="method-stripe"`) || !strings.Contains(page, `name="method" value="stripe"`) {
		t.Fatalf("no card form:\n%s", page)
	}
	pay := url.Values{"method": {"stripe"}, "csrf_token": {csrfOf(t, page)}}

	// Stripe refuses: the page again, with the reason; nothing held.
	fake.mu.Lock()
	fake.fail = true
	fake.mu.Unlock()
	if st, page := b.post(t, f.PaymentURL, pay); st != 503 || !strings.Contains(page, `id="pay-error"`) {
		t.Fatalf("Stripe down: %d\n%s", st, page)
	}
	if l := s.link(t, f.OrderID); !l.HeldUntil.IsZero() {
		t.Fatalf("held without a session: %+v", l)
	}
	fake.mu.Lock()
	fake.fail = false
	fake.mu.Unlock()

	var locs []string
	for range 2 {
		resp, err := b.c.PostForm(f.PaymentURL, pay)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 303 {
			t.Fatalf("pay by card: %d", resp.StatusCode)
		}
		locs = append(locs, resp.Header.Get("Location"))
	}
	if locs[0] != locs[1] || fake.count() != 1 {
		t.Fatalf("two clicks made %d sessions: %v", fake.count(), locs)
	}
	// Without the page's cookie, the POST is refused.
	if st, _ := newBrowser(t).post(t, f.PaymentURL, pay); st != 403 {
		t.Fatalf("card payment from another browser: %d", st)
	}

	token := f.PaymentURL[strings.Index(f.PaymentURL, "key=wc_order_")+len("key=wc_order_"):]
	ret := whttp.ReturnURL(s.URL, f.OrderID, token)
	st, page := newBrowser(t).get(t, ret) // no cookie: as coming back from Stripe's site
	if st != 200 || !strings.Contains(page, "Waiting for the confirmation") || !strings.Contains(page, `http-equiv="refresh"`) ||
		!strings.Contains(page, `id="back-to-payment"`) {
		t.Fatalf("return page: %d\n%s", st, page)
	}
	for _, c := range []struct {
		u    string
		code int
	}{
		{whttp.ReturnURL(s.URL, f.OrderID, strings.Repeat("A", len(token))), 404},
		{whttp.ReturnURL(s.URL, f.OrderID+100, token), 404},
		{whttp.ReturnURL(s.URL, f.OrderID, token) + "&x=1", 400},
		{whttp.ReturnURL(s.URL, f.OrderID, "short"), 400},
		{s.URL + "/checkout/order-received/abc/?key=wc_order_" + token, 400},
		{s.URL + fmt.Sprintf("/checkout/order-received/%d/", f.OrderID), 400},
	} {
		if st, page := newBrowser(t).get(t, c.u); st != c.code || !strings.Contains(page, `id="error-message"`) {
			t.Errorf("%s: %d, want %d", c.u, st, c.code)
		}
	}

	// The order is cancelled meanwhile (a newer request of the account):
	// Stripe's payment arriving after that is dead-lettered for review.
	s.mustLink(t, s.Variations[0], "1")
	if o := s.order(t, f.OrderID); o.Status != "cancelled" {
		t.Fatalf("order %s", o.Status)
	}
	if st, page := newBrowser(t).get(t, ret); st != 200 || !strings.Contains(page, "Payment not completed") ||
		!strings.Contains(page, "is cancelled and nothing was charged") || strings.Contains(page, `id="back-to-payment"`) {
		t.Fatalf("return page of a cancelled order: %d\n%s", st, page)
	}
	id := strings.TrimPrefix(locs[0], fake.srv.URL+"/c/pay/")
	body := fake.completed("evt_late", id)
	s.do(t, "POST", "/v1/inbound/stripe", body, "Authorization", "", "Stripe-Signature", stripeSig(body)).expect(t, 409, "conflict")
	dl := s.do(t, "GET", "/v1/inbound/dead-letters?gateway=stripe", "")
	dl.expect(t, 200, "")
	if !strings.Contains(string(dl.Raw), "evt_late") {
		t.Fatalf("dead letters %s", dl.Raw)
	}
	if st, page := newBrowser(t).get(t, ret); st != 200 || !strings.Contains(page, "is cancelled") || strings.Contains(page, "refresh") {
		t.Fatalf("return page of the cancelled order: %d\n%s", st, page)
	}
}
