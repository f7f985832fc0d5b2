package http_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walletd/walletd"

	"github.com/shopspring/decimal"
	whttp "github.com/walletd/walletd/http"
	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/walletdtest"
)

// TestCheckout_ConcurrentFirstVisits: of 100 browsers opening one link at
// once, exactly one gets the payment page.
func TestCheckout_ConcurrentFirstVisits(t *testing.T) {
	s := mustResetFee(t, mustServer(t))
	f := s.mustLink(t, s.Variations[0], "42")
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := newBrowser(t)
			<-start
			resp, err := b.c.Get(f.PaymentURL)
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			mu.Lock()
			statuses[resp.StatusCode]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	if statuses[200] != 1 || statuses[410] != 99 {
		t.Fatalf("statuses %v, want one 200 and 99 410", statuses)
	}
}

// TestCheckout_ConcurrentPayments: one page posted 20 times at once pays
// once, with one debit.
func TestCheckout_ConcurrentPayments(t *testing.T) {
	s := mustResetFee(t, mustServer(t))
	f := s.mustLink(t, s.Variations[0], "42")
	b := newBrowser(t)
	_, page := b.get(t, f.PaymentURL)
	form := url.Values{"method": {"wallet"}, "csrf_token": {csrfOf(t, page)}}
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := b.c.PostForm(f.PaymentURL, form)
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			mu.Lock()
			statuses[resp.StatusCode]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if statuses[200] != 1 {
		t.Fatalf("statuses %v, want exactly one 200", statuses)
	}
	s.wantMoney(t, s.WalletID, "51.00/0.00/51.00")
	if o := s.order(t, f.OrderID); len(o.Payments) != 1 || o.Status != "completed" {
		t.Fatalf("order %+v", o)
	}
	s.verifies(t)
}

// mustClockResetFee is mustResetFee on a server and writer on clk, with a
// LinkExpirer on the same clock.
func mustClockResetFee(t *testing.T, clk *clock) (*resetFeeSetup, *ledger.LinkExpirer) {
	t.Helper()
	s := mustClockServer(t, clk)
	x := &ledger.LinkExpirer{Writer: s.L.Writer, Reader: s.L.DB, Now: clk.Now, Margin: time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), OnExpired: s.Checkout.OnLinkExpired}
	if err := x.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	s.Checkout.Expirer = x
	return mustResetFee(t, s), x
}

// TestCheckout_Expiry: a link expires after the lifetime; a visit then
// is 410 and changes nothing; the expirer cancels the unpaid order, also
// when it was scheduled again after a restart.
func TestCheckout_Expiry(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	s, x := mustClockResetFee(t, clk)
	f := s.mustLink(t, s.Variations[0], "a")
	visited := s.mustLink(t, s.Variations[1], "a")
	b := newBrowser(t)
	if st, _ := b.get(t, visited.PaymentURL); st != 200 {
		t.Fatal(st)
	}
	if x.Pending() != 2 {
		t.Fatalf("pending expiries %d", x.Pending())
	}
	clk.Add(10*time.Minute - time.Microsecond)
	if st, _ := b.get(t, visited.PaymentURL); st != 200 {
		t.Fatalf("just before expiry: %d", st)
	}
	clk.Add(time.Microsecond)
	head := s.do(t, "GET", "/v1/ledger/entries?limit=1000", "").Raw
	if st, page := newBrowser(t).get(t, f.PaymentURL); st != 410 || !strings.Contains(page, "expired") {
		t.Fatalf("expired link: %d %s", st, page)
	}
	if st, _ := b.get(t, visited.PaymentURL); st != 410 {
		t.Fatalf("expired page: %d", st)
	}
	if got := s.do(t, "GET", "/v1/ledger/entries?limit=1000", "").Raw; string(got) != string(head) {
		t.Fatal("a visit to an expired link wrote to the ledger")
	}

	// A restart: a new expirer finds both pending orders and cancels them.
	x.Close()
	x2 := &ledger.LinkExpirer{Writer: s.L.Writer, Reader: s.L.DB, Now: clk.Now, Margin: time.Millisecond, OnExpired: s.Checkout.OnLinkExpired}
	if err := x2.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer x2.Close()
	walletdtest.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		for _, id := range []int64{f.OrderID, visited.OrderID} {
			if o := s.order(t, id); o.Status != "cancelled" {
				return fmt.Errorf("order %d is %s", id, o.Status)
			}
		}
		return nil
	})
	s.wantMoney(t, s.WalletID, "100.00/0.00/100.00")
	metrics := string(s.do(t, "GET", "/metrics", "").Raw)
	for _, w := range []string{`walletd_payment_links_total{event="issued"} 2`, `walletd_payment_links_total{event="spent"} 1`,
		`walletd_payment_links_total{event="expired"} 2`, `walletd_payment_links_total{event="refused"} 2`,
		`walletd_orders{status="cancelled"} 2`, `walletd_reset_fee_requests_total{outcome="created"} 2`,
		`walletd_payment_page_duration_seconds_count{page="pay"} 2`, `walletd_payment_page_duration_seconds_count{page="error"} 2`} {
		if !strings.Contains(metrics, w) {
			t.Errorf("metrics lack %s", w)
		}
	}
	// Expiring again changes nothing.
	if _, err := s.L.Writer.Submit(context.Background(), "", &ledger.ExpirePaymentLink{OrderID: f.OrderID}); walletd.ErrorCode(err) != walletd.EConflict {
		t.Fatalf("second expiry: %v", err)
	}
	s.verifies(t)
}

// TestCheckout_PayVersusExpire: a payment and the expiry submitted at
// once at the expiry's edge: exactly one of them wins each order, and a
// cancelled order is never debited.
func TestCheckout_PayVersusExpire(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	s, _ := mustClockResetFee(t, clk)
	const n = 20
	type page struct {
		f    flat
		b    *browser
		csrf string
	}
	pages := make([]page, n)
	for i := range pages {
		f := s.mustLink(t, s.Variations[i%2], fmt.Sprint("acc", i))
		b := newBrowser(t)
		_, html := b.get(t, f.PaymentURL)
		pages[i] = page{f, b, csrfOf(t, html)}
	}
	s.mustCredit(t, s.WalletID, "2000.00")
	clk.Add(10*time.Minute - time.Millisecond)
	var wg sync.WaitGroup
	for i, p := range pages {
		wg.Add(2)
		go func() {
			defer wg.Done()
			p.b.post(t, p.f.PaymentURL, url.Values{"method": {"wallet"}, "csrf_token": {p.csrf}})
		}()
		go func() {
			defer wg.Done()
			if i == n/2 {
				clk.Add(time.Millisecond) // from here on the links have expired
			}
			s.L.Writer.Submit(context.Background(), "", &ledger.ExpirePaymentLink{OrderID: p.f.OrderID})
		}()
	}
	wg.Wait()
	clk.Add(time.Millisecond)
	for _, p := range pages { // the expirer's retry of an expiry that came too early
		s.L.Writer.Submit(context.Background(), "", &ledger.ExpirePaymentLink{OrderID: p.f.OrderID})
	}
	paid := 0
	for _, p := range pages {
		o := s.order(t, p.f.OrderID)
		switch {
		case o.Status == "completed" && len(o.Payments) == 1:
			paid++
		case o.Status == "cancelled" && len(o.Payments) == 0:
		default:
			t.Fatalf("order %d: %s with %d payments", o.ID, o.Status, len(o.Payments))
		}
	}
	// The wallet paid exactly the completed orders.
	want := decimal.RequireFromString("2100.00")
	for _, p := range pages {
		if o := s.order(t, p.f.OrderID); o.Status == "completed" {
			want = want.Sub(decimal.RequireFromString(o.Total))
		}
	}
	var w wallet
	s.do(t, "GET", "/v1/wallets/"+s.WalletID, "").data(t, &w)
	if !decimal.RequireFromString(w.Balance).Equal(want) {
		t.Fatalf("balance %s, want %s", w.Balance, want)
	}
	t.Logf("%d of %d paid", paid, n)
	s.verifies(t)
}

// TestCheckout_RateLimit: failed visits from one address are limited.
func TestCheckout_RateLimit(t *testing.T) {
	s := mustResetFee(t, mustServer(t))
	f := s.mustLink(t, s.Variations[0], "1")
	b := newBrowser(t)
	bad := strings.Replace(f.PaymentURL, "wc_order_", "wc_order_x", 1)
	statuses := map[int]int{}
	for i := 0; i < 15; i++ {
		st, _ := b.get(t, bad)
		statuses[st]++
	}
	if statuses[400] != 10 || statuses[429] != 5 {
		t.Fatalf("statuses %v", statuses)
	}
	// Even the good link is refused while the address is limited, and
	// stays unspent.
	if st, _ := b.get(t, f.PaymentURL); st != 429 {
		t.Fatalf("good link while limited: %d", st)
	}
	if st, _ := newBrowser(t).get(t, f.PaymentURL); st != 429 {
		t.Fatalf("same address: %d", st)
	}
	if o := s.order(t, f.OrderID); o.Status != "pending" {
		t.Fatal(o.Status)
	}
}

// TestCheckout_BadLinks: malformed, unknown and guessed links get an
// error page with their status and change nothing.
func TestCheckout_BadLinks(t *testing.T) {
	s := mustResetFee(t, mustCheckoutServer(t, &whttp.Checkout{FailedBurst: 1000}))
	f := s.mustLink(t, s.Variations[0], "1")
	u, _ := url.Parse(f.PaymentURL)
	key := u.Query().Get("key")
	base := s.URL + fmt.Sprintf("/checkout/order-pay/%d/", f.OrderID)
	other := strings.Repeat("A", 32)
	for _, tc := range []struct {
		name, url string
		status    int
	}{
		{"NoQuery", base, 400},
		{"NoPayForOrder", base + "?key=" + key, 400},
		{"PayForOrderFalse", base + "?pay_for_order=false&key=" + key, 400},
		{"TwoKeys", base + "?pay_for_order=true&key=" + key + "&key=" + key, 400},
		{"ExtraParam", base + "?pay_for_order=true&key=" + key + "&x=1", 400},
		{"NoPrefix", base + "?pay_for_order=true&key=" + strings.TrimPrefix(key, "wc_order_"), 400},
		{"ShortToken", base + "?pay_for_order=true&key=wc_order_abc", 400},
		{"BadChars", base + "?pay_for_order=true&key=wc_order_" + strings.Repeat("%21", 32), 400},
		{"BadOrderID", s.URL + "/checkout/order-pay/0x1/?pay_for_order=true&key=" + key, 400},
		{"LeadingZero", s.URL + fmt.Sprintf("/checkout/order-pay/0%d/?pay_for_order=true&key=", f.OrderID) + key, 400},
		{"WrongToken", base + "?pay_for_order=true&key=wc_order_" + other, 404},
		{"UnknownOrder", s.URL + "/checkout/order-pay/999999/?pay_for_order=true&key=" + key, 404},
		{"HugeOrderID", s.URL + "/checkout/order-pay/99999999999999999999/?pay_for_order=true&key=" + key, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, page := newBrowser(t).get(t, tc.url)
			if st != tc.status || !strings.Contains(page, "Payment link not available") {
				t.Fatalf("%d, want %d: %s", st, tc.status, page)
			}
		})
	}
	if o := s.order(t, f.OrderID); o.Status != "pending" {
		t.Fatal(o.Status)
	}
	// The link still works.
	b := newBrowser(t)
	st, page := b.get(t, f.PaymentURL)
	if st != 200 {
		t.Fatal(st)
	}
	csrf := csrfOf(t, page)
	for _, tc := range []struct {
		name   string
		form   url.Values
		status int
	}{
		{"NoCSRF", url.Values{"method": {"wallet"}}, 403},
		{"WrongCSRF", url.Values{"method": {"wallet"}, "csrf_token": {"x"}}, 403},
		{"TwoCSRF", url.Values{"method": {"wallet"}, "csrf_token": {csrf, csrf}}, 403},
		{"NoMethod", url.Values{"csrf_token": {csrf}}, 400},
		{"UnknownMethod", url.Values{"method": {"stripe"}, "csrf_token": {csrf}}, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if st, page := b.post(t, f.PaymentURL, tc.form); st != tc.status {
				t.Fatalf("%d, want %d: %s", st, tc.status, page)
			}
		})
	}
	req, _ := http.NewRequest("POST", f.PaymentURL, strings.NewReader(strings.Repeat("a=1&", 300000)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err := b.c.Do(req); err != nil || resp.StatusCode != 400 {
		t.Fatalf("huge form: %v %v", resp, err)
	}
	s.wantMoney(t, s.WalletID, "100.00/0.00/100.00")
	if o := s.order(t, f.OrderID); o.Status != "pending" {
		t.Fatal(o.Status)
	}
}

// mustCheckoutServer is mustServer with the Checkout given.
func mustCheckoutServer(tb testing.TB, co *whttp.Checkout) *testServer {
	tb.Helper()
	l := walletdtest.MustOpenLedger(tb, nil)
	k, token, err := walletd.NewAPIKey("admin", []string{walletd.ScopeAdmin}, time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	if err := l.DB.CreateAPIKey(context.Background(), k); err != nil {
		tb.Fatal(err)
	}
	s := &whttp.Server{Addr: "127.0.0.1:0", Writer: l.Writer, Ledger: l.DB, APIKeys: l.DB, Checkout: co,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := s.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return &testServer{Server: s, L: l, Admin: token, URL: s.URL()}
}
