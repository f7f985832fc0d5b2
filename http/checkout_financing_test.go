package http_test

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/walletd/walletd"

	whttp "github.com/walletd/walletd/http"
)

// fakeFinancing is a FinancingService offering financing from 40 to 50
// USD and answering one request per order (the real service is tested
// end to end in cmd/walletd's TestServe_FinancingCheckoutBrowser).
type fakeFinancing struct {
	whttp.FinancingService
	mu       sync.Mutex
	requests map[int64]int
	returns  map[int64]string // the return URL of each order's request
	fail     bool
}

func (f *fakeFinancing) Offered(_ context.Context, amount walletd.Money, currency string) error {
	if currency != "USD" {
		return walletd.Errorf(walletd.ECurrencyMismatch, "Financing is offered in USD only.")
	}
	if d := amount.Decimal(); d.LessThan(decimal.NewFromInt(40)) || d.GreaterThan(decimal.NewFromInt(50)) {
		return walletd.Errorf(walletd.EInvalidAmount, "Financing is offered from 40 to 50 USD.")
	}
	return nil
}

func (f *fakeFinancing) Settings(context.Context) (*walletd.FinancingSettings, error) {
	return &walletd.FinancingSettings{APIURL: "https://api.sandbox.wegetfinancing.com"}, nil
}

func (f *fakeFinancing) RequestOrder(_ context.Context, id int64, returnURL string) (*walletd.FinancingRequest, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return nil, false, walletd.Errorf(walletd.EProvider, "The financing provider refused the request: merchant suspended.")
	}
	f.requests[id]++
	f.returns[id] = returnURL
	return &walletd.FinancingRequest{Href: "https://app.sandbox.wegetfinancing.com/checkout?token=tok1", RequestToken: "tok1"}, f.requests[id] == 1, nil
}

// TestCheckout_Financing: "Pay over time" is on the page only for the
// amounts financing covers; its button redirects to the provider's
// application and holds the order for it; a provider's refusal shows the
// page again with the reason and holds nothing; the page's CSP lets the
// form's redirect reach the provider.
func TestCheckout_Financing(t *testing.T) {
	fin := &fakeFinancing{requests: map[int64]int{}, returns: map[int64]string{}}
	x := &recordingExpirer{}
	s := mustResetFee(t, mustCheckoutServer(t, &whttp.Checkout{Expirer: x, Methods: []whttp.PaymentMethod{&whttp.FinancingMethod{Service: fin}}}))
	covered := s.mustLink(t, s.Variations[0], "a")   // 49.00
	uncovered := s.mustLink(t, s.Variations[1], "a") // 59.00
	b := newBrowser(t)
	if _, page := b.get(t, uncovered.PaymentURL); strings.Contains(page, "wegetfinancing") {
		t.Fatalf("financing offered for 59.00:\n%s", page)
	} else if st, _ := b.post(t, uncovered.PaymentURL, url.Values{"method": {"wegetfinancing"}, "csrf_token": {csrfOf(t, page)}}); st != 400 {
		t.Fatalf("hidden method paid: %d", st)
	}

	resp, err := b.c.Get(covered.PaymentURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' https://*.wegetfinancing.com https://api.sandbox.wegetfinancing.com;") {
		t.Fatalf("CSP %s", csp)
	}
	_, page := b.get(t, covered.PaymentURL)
	if !strings.Contains(page, `id="method-wegetfinancing"`) || !strings.Contains(page, "Pay over time") {
		t.Fatalf("no financing:\n%s", page)
	}
	form := url.Values{"method": {"wegetfinancing"}, "csrf_token": {csrfOf(t, page)}}

	fin.mu.Lock()
	fin.fail = true
	fin.mu.Unlock()
	if st, page := b.post(t, covered.PaymentURL, form); st != 502 || !strings.Contains(page, "merchant suspended") {
		t.Fatalf("provider refused: %d\n%s", st, page)
	}
	if l := s.link(t, covered.OrderID); !l.HeldUntil.IsZero() {
		t.Fatalf("held after a refusal: %+v", l)
	}
	fin.mu.Lock()
	fin.fail = false
	fin.mu.Unlock()

	start := time.Now()
	r, err := b.c.PostForm(covered.PaymentURL, form)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 303 || r.Header.Get("Location") != "https://app.sandbox.wegetfinancing.com/checkout?token=tok1" {
		t.Fatalf("pay over time: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	l := s.link(t, covered.OrderID)
	if l.HeldBy != "wegetfinancing" || l.HeldUntil.Before(start.Add(whttp.DefaultFinancingHold-time.Second)) || !x.last(covered.OrderID).Equal(l.HeldUntil) {
		t.Fatalf("link %+v, scheduled %s", l, x.last(covered.OrderID))
	}
	if o := s.order(t, covered.OrderID); o.Status != "pending" {
		t.Fatalf("order %s", o.Status)
	}
	// The provider sends the customer back to the order's return page.
	fin.mu.Lock()
	ret := fin.returns[covered.OrderID]
	fin.mu.Unlock()
	if want := "/checkout/order-received/" + strconv.FormatInt(covered.OrderID, 10) + "/?key=wc_order_"; !strings.Contains(ret, want) {
		t.Fatalf("return URL %q, want one with %s", ret, want)
	}
	if st, page := b.get(t, ret); st != 200 || !strings.Contains(page, "pending") {
		t.Fatalf("return page: %d\n%s", st, page)
	}
}
