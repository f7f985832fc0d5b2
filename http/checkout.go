package http

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/walletd/walletd"

	"github.com/gorilla/mux"
	"github.com/walletd/walletd/ledger"
	"golang.org/x/time/rate"
)

// The payment page of a one-time payment link (docs/reset-fee.md):
// GET /checkout/order-pay/{order_id}/?pay_for_order=true&key=wc_order_<token>,
// WooCommerce's shape. The first visit spends the link through the writer
// (SpendPaymentLink: of concurrent first visits exactly one wins) and
// binds the page to the visitor's browser with a session cookie; the page
// shows the order and a form per payment method (checkout_method.go),
// each posting back to the same URL with a CSRF token. Expired, spent and
// unknown links get an error page and change nothing. Pages are rendered
// on the server from embedded templates, need no JavaScript and load
// nothing from elsewhere.

//go:embed templates/checkout.html templates/checkout.css
var checkoutFS embed.FS

var checkoutTmpl = template.Must(template.ParseFS(checkoutFS, "templates/checkout.html"))

var checkoutCSS = func() template.CSS {
	b, err := checkoutFS.ReadFile("templates/checkout.css")
	if err != nil {
		panic(err)
	}
	return template.CSS(b) //nolint:gosec // our own embedded file
}()

// linkTokenBytes is the randomness of a payment link's token: 192 bits.
const linkTokenBytes = 24

// linkTokenLen is the length of a token: base64url of linkTokenBytes.
var linkTokenLen = base64.RawURLEncoding.EncodedLen(linkTokenBytes)

// sessionCookie is the cookie that binds a payment page to a browser.
const sessionCookie = "walletd_pay"

// Checkout configures the payment pages and the reset-fee links.
type Checkout struct {
	// PublicURL is the base of the payment links (no trailing slash);
	// default the server's own URL.
	PublicURL string
	// LinkTTL is how long a link, and the page it opens, may be used
	// (walletd.MinLinkTTL to walletd.MaxLinkTTL; default
	// walletd.DefaultLinkTTL).
	LinkTTL time.Duration
	// Expirer cancels the orders whose links expire unpaid
	// (ledger.LinkExpirer); nil leaves them pending.
	Expirer interface {
		Schedule(orderID int64, at time.Time)
	}
	// Methods are the payment methods the page offers after the wallet.
	Methods []PaymentMethod
	// FailedVisits and FailedBurst rate-limit the failed link visits of
	// one client address (default 10 a minute, burst 10): a guesser gets
	// 429 pages.
	FailedVisits rate.Limit
	FailedBurst  int

	once    sync.Once
	csrfKey []byte
	limiter *visitLimiter
	metrics *checkoutMetrics
	methods []PaymentMethod
}

// PaymentURL returns the payment link of order id with token under base.
func PaymentURL(base string, id int64, token string) string {
	return base + linkPath(id) + "?pay_for_order=true&key=wc_order_" + token
}

// OnLinkExpired counts a link that expired unpaid (the LinkExpirer's
// OnExpired).
func (c *Checkout) OnLinkExpired(int64) {
	if c.metrics != nil {
		c.metrics.link("expired")
		c.metrics.order(walletd.OrderCancelled)
	}
}

// checkout returns the server's Checkout, set up with its defaults once.
func (s *Server) checkout() *Checkout {
	if s.Checkout == nil {
		s.Checkout = &Checkout{}
	}
	c := s.Checkout
	c.once.Do(func() {
		if c.LinkTTL == 0 {
			c.LinkTTL = walletd.DefaultLinkTTL
		}
		if c.FailedVisits == 0 {
			c.FailedVisits = rate.Every(6 * time.Second)
		}
		if c.FailedBurst == 0 {
			c.FailedBurst = 10
		}
		c.csrfKey = make([]byte, 32)
		rand.Read(c.csrfKey) // never fails (crypto/rand)
		c.limiter = &visitLimiter{limit: c.FailedVisits, burst: c.FailedBurst, m: map[string]*rate.Limiter{}}
		c.metrics = newCheckoutMetrics(s.Metrics, s.Ledger)
		c.methods = append([]PaymentMethod{walletMethod{s}}, c.Methods...)
	})
	return c
}

// publicURL is the base of the payment links: Checkout.PublicURL, else
// the server's own URL.
func (s *Server) publicURL() string {
	if u := s.checkout().PublicURL; u != "" {
		return u
	}
	return s.URL()
}

func (s *Server) checkoutMetrics() *checkoutMetrics { return s.checkout().metrics }

func (s *Server) registerCheckoutRoutes(handle handleFunc) {
	s.checkout()
	handle("GET", "/checkout/order-pay/{order_id}/", "", s.handleCheckoutPage)
	handle("POST", "/checkout/order-pay/{order_id}/", "", s.handleCheckoutPay)
	handle("GET", "/checkout/order-received/{order_id}/", "", s.handleCheckoutReturn)
}

// ParsePaymentLink reads a payment link: the order id of its path and the
// token of its query, which must be exactly pay_for_order=true and
// key=wc_order_<token> (in any order). Returns EInvalid.
func ParsePaymentLink(orderID, rawQuery string) (int64, string, error) {
	id, ok := walletd.ParseOrderID(orderID)
	if !ok {
		return 0, "", walletd.Errorf(walletd.EInvalid, "The order id of the link is not valid.")
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil || len(q) != 2 || len(q["pay_for_order"]) != 1 || q.Get("pay_for_order") != "true" || len(q["key"]) != 1 {
		return 0, "", walletd.Errorf(walletd.EInvalid, "The payment link is not complete: it needs pay_for_order=true and its key.")
	}
	token, ok := strings.CutPrefix(q.Get("key"), "wc_order_")
	if !ok || len(token) != linkTokenLen || strings.Trim(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
		return 0, "", walletd.Errorf(walletd.EInvalid, "The key of the payment link is not valid.")
	}
	return id, token, nil
}

// visitLimiter rate-limits the failed link visits of each client address.
type visitLimiter struct {
	mu    sync.Mutex
	limit rate.Limit
	burst int
	m     map[string]*rate.Limiter
}

// blocked reports whether ip has no failed visit left.
func (v *visitLimiter) blocked(ip string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	l := v.m[ip]
	return l != nil && l.Tokens() < 1
}

// fail counts a failed visit of ip.
func (v *visitLimiter) fail(ip string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	l := v.m[ip]
	if l == nil {
		if len(v.m) >= 100000 { // bounded: forget the quiet ones
			for k, x := range v.m {
				if x.Tokens() >= float64(v.burst) {
					delete(v.m, k)
				}
			}
		}
		l = rate.NewLimiter(v.limit, v.burst)
		v.m[ip] = l
	}
	l.Allow()
}

// clientIP is the address of the client: the connection's, never a
// header a client could set.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// csrfToken is the CSRF token of the page of order id in session.
func (c *Checkout) csrfToken(id int64, session string) string {
	m := hmac.New(sha256.New, c.csrfKey)
	m.Write([]byte("checkout-csrf\x00" + strconv.FormatInt(id, 10) + "\x00" + session))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// pageView is what the templates render.
type pageView struct {
	Kind      string // pay, result or error
	Title     string
	CSS       template.CSS
	Message   string
	Error     string
	OrderID   int64
	Product   string
	Challenge string
	Size      string
	Price     string
	Status    string
	Methods   []methodView
	// Refresh (seconds) reloads the return page while the payment is
	// awaited; BackURL links it back to the payment page.
	Refresh int
	BackURL string
}

type methodView struct {
	ID     string
	CSRF   string
	Fields map[string]string
	Offer
}

// writePage renders a page with status and the headers every page has:
// nothing cached, no referrer (the link's token must not leak), no
// framing, no scripts.
func (s *Server) writePage(w http.ResponseWriter, status int, v *pageView, start time.Time) {
	v.CSS = checkoutCSS
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action "+formAction(v.Methods)+"; frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(status)
	if err := checkoutTmpl.Execute(w, v); err != nil {
		s.Logger.Warn("render payment page", walletd.LogError, err)
	}
	s.checkoutMetrics().page(v.Kind, time.Since(start))
}

// formAction is the CSP's form-action sources: the page itself, and the
// origins of the providers' pages the methods' forms redirect to (a
// browser enforces form-action on the redirects that follow a form's
// POST).
func formAction(ms []methodView) string {
	src := "'self'"
	for _, m := range ms {
		for _, o := range m.Origins {
			if originRE.MatchString(o) && !strings.Contains(src, " "+o) {
				src += " " + o
			}
		}
	}
	return src
}

// originRE is an origin a CSP may name: a scheme and a host (possibly
// *.wildcarded), optionally a port.
var originRE = regexp.MustCompile(`^https?://(\*\.)?[A-Za-z0-9.-]+(:[0-9]{1,5})?$`)

// errorPage renders the error page.
func (s *Server) errorPage(w http.ResponseWriter, status int, msg string, start time.Time) {
	s.writePage(w, status, &pageView{Kind: "error", Title: "Payment link not available", Message: msg}, start)
}

// linkErrorStatus is the status of a link the writer refused: unknown
// 404, spent or expired (or its order no longer payable) 410.
func linkErrorStatus(err error) int {
	switch walletd.ErrorCode(err) {
	case walletd.ENotFound:
		return http.StatusNotFound
	case walletd.EConflict:
		return http.StatusGone
	}
	return ErrorStatus(walletd.ErrorCode(err))
}

// userMessage is what the customer is told of err.
func userMessage(err error) string {
	if code := walletd.ErrorCode(err); code == walletd.EInternal || code == walletd.EUnavailable {
		return "Something went wrong on our side. Nothing was charged; try again in a moment."
	}
	return walletd.ErrorMessage(err)
}

func (s *Server) handleCheckoutPage(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	c, ip := s.checkout(), clientIP(r)
	if c.limiter.blocked(ip) {
		s.errorPage(w, http.StatusTooManyRequests, "Too many payment links that do not work came from your address. Wait a minute, then try again.", start)
		return
	}
	id, token, err := ParsePaymentLink(mux.Vars(r)["order_id"], r.URL.RawQuery)
	if err != nil {
		c.limiter.fail(ip)
		c.metrics.link("refused")
		s.errorPage(w, http.StatusBadRequest, walletd.ErrorMessage(err), start)
		return
	}
	// A reload in the browser the page is bound to shows the page again.
	if p, err := s.boundPage(r, id, token); err == nil {
		s.payPage(w, r, http.StatusOK, p, "", start)
		return
	}
	session, sessionHash := newSecret(32)
	if _, err := s.Writer.Submit(r.Context(), "", &ledger.SpendPaymentLink{OrderID: id, TokenHash: hashSecret(token), SessionHash: sessionHash}); err != nil {
		if linkErrorStatus(err) == http.StatusNotFound { // a guess; a spent or expired link had the right token
			c.limiter.fail(ip)
		}
		c.metrics.link("refused")
		s.errorPage(w, linkErrorStatus(err), userMessage(err), start)
		return
	}
	c.metrics.link("spent")
	p, err := s.pageOf(r.Context(), id, sessionHash)
	if err != nil {
		s.errorPage(w, linkErrorStatus(err), userMessage(err), start)
		return
	}
	p.PageURL += token
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: session, Path: linkPath(id), HttpOnly: true,
		Secure: r.TLS != nil || strings.HasPrefix(s.publicURL(), "https://"), SameSite: http.SameSiteStrictMode,
		Expires: p.Link.ExpiresAt, MaxAge: max(1, int(time.Until(p.Link.ExpiresAt).Seconds()))})
	r.AddCookie(&http.Cookie{Name: sessionCookie, Value: session})
	s.payPage(w, r, http.StatusOK, p, "", start)
}

// pageOf reads the order and link of a page bound to sessionHash, and
// checks the page may still pay: its link spent by that session, not
// expired, the order pending.
func (s *Server) pageOf(ctx context.Context, id int64, sessionHash string) (*CheckoutPage, error) {
	lv, err := s.Ledger.Object(ctx, walletd.ObjPaymentLink, walletd.IntKey(id))
	if err != nil {
		return nil, err
	}
	l, _ := lv.(*walletd.PaymentLink)
	if l == nil || l.Status != walletd.LinkSpent || subtle.ConstantTimeCompare([]byte(l.SessionHash), []byte(sessionHash)) != 1 {
		return nil, walletd.Errorf(walletd.EConflict, "This payment link was used already: a payment link opens once.")
	} else if !s.Now().Before(l.ExpiresAt) {
		return nil, walletd.Errorf(walletd.EConflict, "This payment link has expired.")
	}
	ov, err := s.Ledger.Object(ctx, walletd.ObjShopOrder, walletd.IntKey(id))
	if err != nil {
		return nil, err
	}
	o, _ := ov.(*walletd.ShopOrder)
	if o == nil {
		return nil, walletd.Errorf(walletd.ENotFound, "This payment link is not valid.")
	} else if o.Status != walletd.OrderPending {
		return nil, walletd.Errorf(walletd.EConflict, "Order %d is %s: there is nothing to pay.", o.ID, o.Status)
	}
	return &CheckoutPage{Order: o, Link: l, SessionHash: sessionHash, PageURL: PaymentURL(s.publicURL(), id, "")}, nil
}

// boundPage returns the page of the request's link if the request's
// browser holds its session.
func (s *Server) boundPage(r *http.Request, id int64, token string) (*CheckoutPage, error) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" || len(ck.Value) > 64 {
		return nil, walletd.Errorf(walletd.ENotFound, "This payment page is not open in this browser.")
	}
	p, err := s.pageOf(r.Context(), id, hashSecret(ck.Value))
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(p.Link.TokenHash), []byte(hashSecret(token))) != 1 {
		return nil, walletd.Errorf(walletd.ENotFound, "This payment link is not valid.")
	}
	p.PageURL += token
	p.ReturnURL = ReturnURL(s.publicURL(), id, token)
	p.Hold = func(ctx context.Context, provider string, until time.Time) error {
		res, err := s.Writer.Submit(ctx, "", &ledger.HoldPaymentLink{OrderID: id, SessionHash: p.SessionHash, Provider: provider, Until: until})
		if err != nil {
			return err
		}
		if l, ok := res.Object.(*walletd.PaymentLink); ok && s.checkout().Expirer != nil {
			s.checkout().Expirer.Schedule(id, l.ExpiryAt())
		}
		return nil
	}
	return p, nil
}

// payPage renders the payment page of p, with an error if a payment was
// refused.
func (s *Server) payPage(w http.ResponseWriter, r *http.Request, status int, p *CheckoutPage, errMsg string, start time.Time) {
	c := s.checkout()
	session := ""
	if ck, err := r.Cookie(sessionCookie); err == nil {
		session = ck.Value
	}
	v := s.summary(r.Context(), p.Order)
	v.Kind, v.Title, v.Error = "pay", "Pay order #"+strconv.FormatInt(p.Order.ID, 10), errMsg
	csrf := c.csrfToken(p.Order.ID, session)
	for _, m := range c.methods {
		if off := m.Offer(r.Context(), p); !off.Hidden {
			v.Methods = append(v.Methods, methodView{ID: m.ID(), CSRF: csrf, Offer: off})
		}
	}
	s.writePage(w, status, v, start)
}

// summary is the order summary of the pages: the product, its challenge
// type and account size (from the catalogue) and the price.
func (s *Server) summary(ctx context.Context, o *walletd.ShopOrder) *pageView {
	v := &pageView{OrderID: o.ID, Price: o.Total.String() + " " + o.Currency, Status: o.Status}
	if len(o.Lines) > 0 {
		l := o.Lines[0]
		v.Product = l.Name
		if pv, err := s.Ledger.Object(ctx, walletd.ObjProduct, walletd.IntKey(l.ProductID)); err == nil {
			if p, ok := pv.(*walletd.Product); ok {
				v.Product = p.Name
			}
		}
		if vv, err := s.Ledger.Object(ctx, walletd.ObjVariation, walletd.IntKey(l.VariationID)); err == nil {
			if va, ok := vv.(*walletd.Variation); ok {
				v.Challenge, v.Size = va.ChallengeType, va.AccountSize
			}
		}
	}
	return v
}

func (s *Server) handleCheckoutPay(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	c := s.checkout()
	id, token, err := ParsePaymentLink(mux.Vars(r)["order_id"], r.URL.RawQuery)
	if err != nil {
		s.errorPage(w, http.StatusBadRequest, walletd.ErrorMessage(err), start)
		return
	}
	p, err := s.boundPage(r, id, token)
	if err != nil {
		st := linkErrorStatus(err)
		if st == http.StatusNotFound {
			st = http.StatusForbidden
		}
		s.errorPage(w, st, userMessage(err), start)
		return
	}
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, http.StatusBadRequest, "The form could not be read.", start)
		return
	}
	ck, _ := r.Cookie(sessionCookie)
	want := c.csrfToken(id, ck.Value)
	if got := r.PostForm.Get("csrf_token"); len(r.PostForm["csrf_token"]) != 1 || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		s.errorPage(w, http.StatusForbidden, "The form is out of date: reload the page and pay again.", start)
		return
	}
	var method PaymentMethod
	for _, m := range c.methods {
		if len(r.PostForm["method"]) == 1 && m.ID() == r.PostForm.Get("method") {
			method = m
		}
	}
	if method == nil {
		s.payPage(w, r, http.StatusBadRequest, p, "Choose one of the payment methods below.", start)
		return
	}
	res, err := method.Pay(r.Context(), p, r.PostForm)
	if err != nil {
		switch code := walletd.ErrorCode(err); code {
		case walletd.EConflict, walletd.ENotFound:
			s.errorPage(w, http.StatusConflict, userMessage(err), start)
		default:
			s.payPage(w, r, ErrorStatus(code), p, userMessage(err), start)
		}
		return
	}
	if res.RedirectURL != "" {
		http.Redirect(w, r, res.RedirectURL, http.StatusSeeOther)
		return
	}
	c.metrics.order(res.Order.Status)
	v := s.summary(r.Context(), res.Order)
	v.Kind, v.Title = "result", "Payment received"
	v.Message = "Thank you: order #" + strconv.FormatInt(res.Order.ID, 10) + " is paid (" + res.Order.PaymentMethodTitle + ")."
	s.writePage(w, http.StatusOK, v, start)
}
