package financing

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/ledger"
)

// PostbackPath is where walletd receives postbacks, under its public URL.
const PostbackPath = "/v1/inbound/wegetfinancing"

// ReturnPath is the base of walletd's pages the provider sends the
// customer back to (ReturnPath + "/success" and "/failure").
const ReturnPath = "/financing/return"

// DefaultTimeout bounds one call of the provider.
const DefaultTimeout = 20 * time.Second

// MaxAnswerBytes bounds the provider's answer walletd reads.
const MaxAnswerBytes = 64 << 10

// Service is consumer financing: the settings and the one request per
// order or top-up. Set the fields; it needs no Open. The postbacks go
// through the inbound pipeline (Adapter).
type Service struct {
	Store      *Store
	Writer     walletd.Submitter
	Ledger     walletd.LedgerReader
	Currencies *walletd.Currencies
	// PublicURL is walletd's public base URL (--public-url): postback and
	// return URLs are made from it.
	PublicURL string
	// HTTPClient calls the provider; nil: one with Timeout that follows
	// no redirect.
	HTTPClient *http.Client
	// Timeout bounds one call of the provider (default DefaultTimeout);
	// Lease is how long a request without an answer blocks another send
	// (default 2 × Timeout).
	Timeout time.Duration
	Lease   time.Duration
	// Window is how far a postback's x-timestamp may be from now (default
	// DefaultWindow).
	Window time.Duration
	// Inbound is the inbound pipeline's log: each request sent is logged
	// there (direction out), and the postbacks are read from it (nil:
	// requests are not logged there, and Postbacks lists nothing).
	Inbound InboundLog
	Metrics *Metrics
	Logger  *slog.Logger
	Now     func() time.Time

	once  sync.Once
	mu    sync.Mutex
	locks map[string]*refLock
}

// InboundLog is where financing's traffic is kept: the inbound
// pipeline's log and events (financing/gateway.Log implements it over
// webhooks/inbound's database).
type InboundLog interface {
	// LogRequest logs one call of the provider (direction out).
	LogRequest(ctx context.Context, e *RequestLogEntry) error
	// Postbacks lists the recorded postbacks, newest first.
	Postbacks(ctx context.Context, limit int) ([]*walletd.FinancingPostback, error)
}

// RequestLogEntry is one call of the provider's create-request API.
type RequestLogEntry struct {
	At        time.Time
	Kind      string // walletd.FinancingOrder or walletd.FinancingTopup
	Reference string // merchant_transaction_id
	OrderID   int64  // the order's id, 0 for a top-up
	// RequestToken is the created request's token ("" when none).
	RequestToken string
	// HTTPStatus is the provider's status, 0 without an answer.
	HTTPStatus int
	Duration   time.Duration
	// Outcome is ReqCreated, ReqRefused or ReqNoAnswer; Error the
	// provider's message or what went wrong.
	Outcome string
	Error   string
}

type refLock struct {
	mu sync.Mutex
	n  int
}

func (s *Service) init() {
	s.once.Do(func() {
		if s.Now == nil {
			s.Now = time.Now
		}
		if s.Logger == nil {
			s.Logger = slog.Default()
		}
		if s.Currencies == nil {
			s.Currencies = walletd.DefaultCurrencies()
		}
		if s.Timeout == 0 {
			s.Timeout = DefaultTimeout
		}
		if s.Lease == 0 {
			s.Lease = 2 * s.Timeout
		}
		if s.Window == 0 {
			s.Window = DefaultWindow
		}
		if s.HTTPClient == nil {
			s.HTTPClient = &http.Client{Timeout: s.Timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		}
		s.locks = map[string]*refLock{}
	})
}

// lock serialises the callers of one reference in this process; the
// store's claim does the same across processes.
func (s *Service) lock(ref string) func() {
	s.mu.Lock()
	l := s.locks[ref]
	if l == nil {
		l = &refLock{}
		s.locks[ref] = l
	}
	l.n++
	s.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		s.mu.Lock()
		if l.n--; l.n == 0 {
			delete(s.locks, ref)
		}
		s.mu.Unlock()
	}
}

// postbackURL returns the URL the provider posts to.
func (s *Service) postbackURL() string {
	if s.PublicURL == "" {
		return ""
	}
	return strings.TrimSuffix(s.PublicURL, "/") + PostbackPath
}

// shown returns the settings as the API shows them.
func (s *Service) shown(c *credentials) *walletd.FinancingSettings {
	out := c.FinancingSettings
	out.PostbackURL = s.postbackURL()
	base := strings.TrimSuffix(s.PublicURL, "/") + ReturnPath
	if out.SuccessURL == "" && s.PublicURL != "" {
		out.SuccessURL = base + "/success"
	}
	if out.FailureURL == "" && s.PublicURL != "" {
		out.FailureURL = base + "/failure"
	}
	return &out
}

// Settings returns the settings without the password. Returns EConflict
// when financing is not configured.
func (s *Service) Settings(ctx context.Context) (*walletd.FinancingSettings, error) {
	s.init()
	c, err := s.Store.settings(ctx)
	if err != nil {
		return nil, err
	}
	return s.shown(c), nil
}

// SetSettings validates and stores the settings. The password may be left
// out to keep the stored one. Returns EInvalid, EInvalidAmount,
// EInvalidCurrency.
func (s *Service) SetSettings(ctx context.Context, in walletd.FinancingSettingsInput) (*walletd.FinancingSettings, error) {
	s.init()
	in.APIURL = strings.TrimSuffix(in.APIURL, "/")
	if err := checkURL("api_url", in.APIURL, false); err != nil {
		return nil, err
	}
	if in.MerchantID == "" || len(in.MerchantID) > 64 || strings.Trim(in.MerchantID, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != "" {
		return nil, walletd.Errorf(walletd.EInvalid, "merchant_id must be 1 to 64 of A-Z, a-z, 0-9, _ and -.")
	}
	if err := walletd.CheckText("username", in.Username, 255, true); err != nil {
		return nil, err
	} else if err := walletd.CheckText("password", in.Password, 255, false); err != nil {
		return nil, err
	}
	if in.Currency == "" {
		in.Currency = "USD"
	}
	scale, err := s.Currencies.Scale(in.Currency)
	if err != nil {
		return nil, err
	}
	c := &credentials{FinancingSettings: walletd.FinancingSettings{APIURL: in.APIURL, MerchantID: in.MerchantID, Username: in.Username,
		Currency: in.Currency, SuccessURL: in.SuccessURL, FailureURL: in.FailureURL, UpdatedAt: s.Now().UTC()}, Password: in.Password}
	var lo, hi walletd.Money
	for _, f := range []struct {
		name, v string
		out     *string
		m       *walletd.Money
	}{{"min_amount", in.MinAmount, &c.MinAmount, &lo}, {"max_amount", in.MaxAmount, &c.MaxAmount, &hi}} {
		if f.v == "" {
			continue
		}
		d, err := walletd.ParseAmount(f.v, scale)
		if err != nil {
			return nil, walletd.Errorf(walletd.EInvalidAmount, "%s: %s", f.name, walletd.ErrorMessage(err))
		}
		*f.m = walletd.NewMoney(d, scale)
		*f.out = f.m.String()
	}
	if c.MinAmount != "" && c.MaxAmount != "" && lo.Decimal().GreaterThan(hi.Decimal()) {
		return nil, walletd.Errorf(walletd.EInvalidAmount, "min_amount is above max_amount.")
	}
	for _, f := range []struct{ name, v string }{{"success_url", in.SuccessURL}, {"failure_url", in.FailureURL}} {
		if f.v != "" {
			if err := checkURL(f.name, f.v, true); err != nil {
				return nil, err
			}
		}
	}
	if c.Password == "" {
		old, err := s.Store.settings(ctx)
		if err != nil && walletd.ErrorCode(err) != walletd.EConflict {
			return nil, err
		} else if old == nil || old.Password == "" {
			return nil, walletd.Errorf(walletd.EInvalid, "password is required.")
		}
		c.Password = old.Password
	}
	if err := s.Store.putSettings(ctx, c); err != nil {
		return nil, err
	}
	c.PasswordSet = true
	s.Logger.Info("financing settings changed", logAPIURL, c.APIURL, logMerchantID, c.MerchantID)
	return s.shown(c), nil
}

// Offered returns nil when financing is offered for amount in currency:
// configured, in its currency, within min_amount and max_amount. Returns
// EConflict (not configured), ECurrencyMismatch, EInvalidAmount.
func (s *Service) Offered(ctx context.Context, amount walletd.Money, currency string) error {
	s.init()
	c, err := s.Store.settings(ctx)
	if err != nil {
		return err
	}
	return offered(c, amount, currency)
}

func offered(c *credentials, amount walletd.Money, currency string) error {
	if currency != c.Currency {
		return walletd.Errorf(walletd.ECurrencyMismatch, "Financing is offered in %s only, not %s.", c.Currency, currency)
	}
	d := amount.Decimal()
	if c.MinAmount != "" {
		if lo, err := walletd.ParseMoney(c.MinAmount, 8); err == nil && d.LessThan(lo.Decimal()) {
			return walletd.Errorf(walletd.EInvalidAmount, "Financing is offered from %s %s; this is %s.", c.MinAmount, c.Currency, amount)
		}
	}
	if c.MaxAmount != "" {
		if hi, err := walletd.ParseMoney(c.MaxAmount, 8); err == nil && d.GreaterThan(hi.Decimal()) {
			return walletd.Errorf(walletd.EInvalidAmount, "Financing is offered up to %s %s; this is %s.", c.MaxAmount, c.Currency, amount)
		}
	}
	return nil
}

// RequestOrder returns the financing request of pending order id,
// creating it at the provider if none was: concurrent and repeated calls
// send one request. created reports that this call sent it. returnURL,
// when not "", is where the provider sends the customer back, approved
// or not (the payment page's order-received page); "" uses the settings'
// success_url and failure_url. Returns
// ENotFound, EConflict (not pending, not configured, a send in
// progress), ECurrencyMismatch, EInvalidAmount (outside the range),
// EProvider (the provider refused or did not answer).
func (s *Service) RequestOrder(ctx context.Context, id int64, returnURL string) (*walletd.FinancingRequest, bool, error) {
	s.init()
	c, err := s.Store.settings(ctx)
	if err != nil {
		return nil, false, err
	}
	v, err := s.Ledger.Object(ctx, walletd.ObjShopOrder, walletd.IntKey(id))
	if err != nil {
		return nil, false, err
	}
	o, ok := v.(*walletd.ShopOrder)
	if !ok {
		return nil, false, fmt.Errorf("financing: order %d decoded as %T", id, v)
	}
	if o.Status != walletd.OrderPending {
		return nil, false, walletd.Errorf(walletd.EConflict, "Order %d is %s: only a pending order can be financed.", id, o.Status)
	} else if err := offered(c, o.Total, o.Currency); err != nil {
		return nil, false, err
	}
	if returnURL != "" {
		if err := checkURL("return_url", returnURL, true); err != nil {
			return nil, false, err
		}
	}
	req := orderRequest(o)
	return s.request(ctx, c, walletd.FinancingOrder, req, o.Total, o.Currency, returnURL)
}

// RequestTopup is RequestOrder for a pending top-up of method
// wegetfinancing; billing gives the customer's details (the email
// defaults to the wallet's).
func (s *Service) RequestTopup(ctx context.Context, topupID string, billing walletd.OrderAddress) (*walletd.FinancingRequest, bool, error) {
	s.init()
	c, err := s.Store.settings(ctx)
	if err != nil {
		return nil, false, err
	}
	v, err := s.Ledger.Object(ctx, walletd.ObjTopup, topupID)
	if err != nil {
		return nil, false, err
	}
	t, ok := v.(*walletd.Topup)
	if !ok {
		return nil, false, fmt.Errorf("financing: top-up %s decoded as %T", topupID, v)
	}
	if t.Status != walletd.StatusPending {
		return nil, false, walletd.Errorf(walletd.EConflict, "Top-up %s is %s: only a pending top-up can be financed.", t.ID, t.Status)
	} else if t.Method != walletd.PayWeGetFinancing {
		return nil, false, walletd.Errorf(walletd.EConflict, "Top-up %s is paid by %s, not %s.", t.ID, walletd.QuoteInput(t.Method), walletd.PayWeGetFinancing)
	} else if err := offered(c, t.Amount, t.Currency); err != nil {
		return nil, false, err
	}
	if billing.Email == "" {
		if w, err := s.Ledger.Wallet(ctx, t.WalletID); err == nil {
			billing.Email = w.Email
		}
	}
	req := customer(billing)
	req.MerchantTransactionID = t.ID
	req.Amount = t.Amount.String()
	req.CartItems = []CartItem{{SKU: "topup", DisplayName: "Wallet top-up", UnitPrice: t.Amount.String(), Quantity: "1", UnitTax: zero(t.Amount)}}
	return s.request(ctx, c, walletd.FinancingTopup, req, t.Amount, t.Currency, "")
}

// zero returns 0 at m's scale ("0.00").
func zero(m walletd.Money) string {
	return walletd.NewMoney(m.Decimal().Sub(m.Decimal()), m.Scale()).String()
}

// customer fills the customer fields of a request from billing details;
// the shipping address is the billing address (orders keep one).
func customer(b walletd.OrderAddress) *CreateRequest {
	addr := strings.TrimSpace(strings.TrimSpace(b.Address1) + " " + strings.TrimSpace(b.Address2))
	return &CreateRequest{FirstName: b.FirstName, LastName: b.LastName, Email: b.Email, Phone: b.Phone,
		BillingAddress1: addr, BillingCity: b.City, BillingState: b.State, BillingZipcode: b.Postcode,
		ShippingAddress1: addr, ShippingCity: b.City, ShippingState: b.State, ShippingZipcode: b.Postcode, Version: APIVersion}
}

// orderRequest builds the request of an order: its customer, total and
// lines; shipping, tax and discount as cart items of their own, so that
// the items add up to the amount.
func orderRequest(o *walletd.ShopOrder) *CreateRequest {
	req := customer(o.Billing)
	req.MerchantTransactionID = Reference(o.ID, "")
	req.Amount = o.Total.String()
	z := zero(o.Total)
	for _, l := range o.Lines {
		sku := l.SKU
		if sku == "" {
			sku = fmt.Sprintf("line-%d", l.ID)
		}
		req.CartItems = append(req.CartItems, CartItem{SKU: sku, DisplayName: l.Name, UnitPrice: l.Price.String(), Quantity: fmt.Sprint(l.Quantity), UnitTax: z})
	}
	if len(o.Lines) == 0 {
		req.CartItems = append(req.CartItems, CartItem{SKU: fmt.Sprintf("order-%d", o.ID), DisplayName: fmt.Sprintf("Order %d", o.ID), UnitPrice: o.Subtotal.String(), Quantity: "1", UnitTax: z})
	}
	if o.ShippingTotal.Decimal().IsPositive() {
		req.CartItems = append(req.CartItems, CartItem{SKU: "shipping", DisplayName: "Shipping", UnitPrice: o.ShippingTotal.String(), Quantity: "1", UnitTax: z})
	}
	if o.TotalTax.Decimal().IsPositive() {
		req.CartItems = append(req.CartItems, CartItem{SKU: "tax", DisplayName: "Tax", UnitPrice: o.TotalTax.String(), Quantity: "1", UnitTax: z})
	}
	if o.DiscountTotal.Decimal().IsPositive() {
		req.CartItems = append(req.CartItems, CartItem{SKU: "discount", DisplayName: "Discount", UnitPrice: "-" + o.DiscountTotal.String(), Quantity: "1", UnitTax: z})
	}
	return req
}

// noteOrder records a fact on the order's meta_data through the writer
// (NoteOrder): the order's history shows it. A note that cannot be
// recorded is logged; it never fails the flow.
func (s *Service) noteOrder(ctx context.Context, id int64, key string, value any, reason string) {
	b, err := json.Marshal(value)
	if err == nil {
		_, err = s.Writer.Submit(context.WithoutCancel(ctx), "", &ledger.NoteOrder{ID: id, Key: key, Value: b, Reason: reason})
	}
	if err != nil {
		s.Logger.Warn("financing: note on the order", logOrderID, id, logMetaKey, key, walletd.LogError, err)
	}
}

// Requests lists the created requests, newest first (at most limit).
func (s *Service) Requests(ctx context.Context, limit int) ([]*walletd.FinancingRequest, error) {
	return s.Store.requests(ctx, limit)
}

// Postbacks lists the postbacks the inbound pipeline recorded, newest
// first (at most limit); none without an inbound log.
func (s *Service) Postbacks(ctx context.Context, limit int) ([]*walletd.FinancingPostback, error) {
	if s.Inbound == nil {
		return []*walletd.FinancingPostback{}, nil
	}
	return s.Inbound.Postbacks(ctx, limit)
}

// Credentials returns the username and password of the settings, the
// password opened. Returns EConflict when financing is not configured.
func (s *Service) Credentials(ctx context.Context) (username, password string, err error) {
	s.init()
	c, err := s.Store.settings(ctx)
	if err != nil {
		return "", "", err
	}
	return c.Username, c.Password, nil
}

// PostbackWindow is how far a postback's x-timestamp may be from now.
func (s *Service) PostbackWindow() time.Duration {
	s.init()
	return s.Window
}

// Request returns the created request of reference (an order id in
// decimal, or a top-up id). Returns ENotFound.
func (s *Service) Request(ctx context.Context, reference string) (*walletd.FinancingRequest, error) {
	return s.Store.request(ctx, reference, "")
}

// GatewayName is the postbacks' gateway in the inbound pipeline: they
// arrive at /v1/inbound/wegetfinancing and
// /wp-json/odcm/v1/webhooks/wegetfinancing.
const GatewayName = walletd.PayWeGetFinancing
