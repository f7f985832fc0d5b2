package inbound

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v82"
	"github.com/walletd/walletd"
)

// Pay with a card: a Stripe Checkout Session for an order. The customer
// is sent to the session's URL; the order is paid when the
// checkout.session.completed webhook arrives (client_reference_id = the
// order id), through the pipeline like any other event.

// Checkout creates Stripe Checkout Sessions with stripe-go.
type Checkout struct {
	// SecretKey is the Stripe API key (sk_…).
	SecretKey string
	// APIBase is Stripe's API base URL (default https://api.stripe.com;
	// tests point it at a local fake).
	APIBase string
	// HTTPClient (default: a client with a 30 s timeout).
	HTTPClient *http.Client
	// Currencies gives the minor-unit scales (default ISO 4217's).
	Currencies *walletd.Currencies
}

// CheckoutSession is a created session: its id and the URL to send the
// customer to.
type CheckoutSession struct {
	ID        string    `json:"id"`
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// CreateSession creates a Checkout Session paying order o's total in its
// currency, one line named after the order, with client_reference_id and
// the metadata (of the session and of its payment intent) order_id = the
// order's id. successURL and cancelURL are where Stripe sends the
// customer back. idempotencyKey, if not "", makes a retry return the
// same session. Returns EInvalid (the order is not pending, or an
// argument is wrong) or EUnavailable (Stripe refused or could not be
// reached; the error says why, without the key).
func (c *Checkout) CreateSession(ctx context.Context, o *walletd.ShopOrder, successURL, cancelURL, idempotencyKey string) (*CheckoutSession, error) {
	return c.CreateSessionWith(ctx, o, SessionOptions{SuccessURL: successURL, CancelURL: cancelURL, IdempotencyKey: idempotencyKey})
}

// SessionOptions are the arguments of CreateSessionWith.
type SessionOptions struct {
	SuccessURL, CancelURL, IdempotencyKey string
	// ExpiresAt, if not zero, is when the session expires (Stripe
	// accepts 30 minutes to 24 hours from its creation; default 24 hours).
	ExpiresAt time.Time
}

// CreateSessionWith is CreateSession with its options, ExpiresAt among
// them.
func (c *Checkout) CreateSessionWith(ctx context.Context, o *walletd.ShopOrder, opt SessionOptions) (*CheckoutSession, error) {
	successURL, cancelURL, idempotencyKey := opt.SuccessURL, opt.CancelURL, opt.IdempotencyKey
	if c.SecretKey == "" {
		return nil, walletd.Errorf(walletd.EUnavailable, "Stripe is not configured.")
	} else if o.Status != walletd.OrderPending {
		return nil, walletd.Errorf(walletd.EInvalid, "Order %d is %s, not pending.", o.ID, o.Status)
	} else if !strings.HasPrefix(successURL, "https://") && !strings.HasPrefix(successURL, "http://") ||
		!strings.HasPrefix(cancelURL, "https://") && !strings.HasPrefix(cancelURL, "http://") {
		return nil, walletd.Errorf(walletd.EInvalid, "The success and cancel URLs must be http(s) URLs.")
	}
	cs := c.Currencies
	if cs == nil {
		cs = walletd.DefaultCurrencies()
	}
	scale, err := cs.Scale(o.Currency)
	if err != nil {
		return nil, err
	}
	minor := o.Total.Decimal().Shift(scale)
	if !minor.IsInteger() || !minor.IsPositive() {
		return nil, walletd.Errorf(walletd.EInvalidAmount, "Order %d's total %s cannot be charged.", o.ID, o.Total)
	}
	base := c.APIBase
	if base == "" {
		base = stripe.APIURL
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	backends := stripe.NewBackendsWithConfig(&stripe.BackendConfig{URL: stripe.String(strings.TrimRight(base, "/")), HTTPClient: hc,
		MaxNetworkRetries: stripe.Int64(1), LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull}})
	client := stripe.NewClient(c.SecretKey, stripe.WithBackends(backends))
	id := strconv.FormatInt(o.ID, 10)
	params := &stripe.CheckoutSessionCreateParams{
		Mode:              stripe.String(string(stripe.CheckoutSessionModePayment)),
		ClientReferenceID: stripe.String(id),
		SuccessURL:        stripe.String(successURL),
		CancelURL:         stripe.String(cancelURL),
		LineItems: []*stripe.CheckoutSessionCreateLineItemParams{{
			Quantity: stripe.Int64(1),
			PriceData: &stripe.CheckoutSessionCreateLineItemPriceDataParams{
				Currency:    stripe.String(strings.ToLower(o.Currency)),
				UnitAmount:  stripe.Int64(minor.IntPart()),
				ProductData: &stripe.CheckoutSessionCreateLineItemPriceDataProductDataParams{Name: stripe.String(orderTitle(o))},
			},
		}},
		PaymentIntentData: &stripe.CheckoutSessionCreatePaymentIntentDataParams{Metadata: map[string]string{"order_id": id}},
	}
	params.AddMetadata("order_id", id)
	if !opt.ExpiresAt.IsZero() {
		params.ExpiresAt = stripe.Int64(opt.ExpiresAt.Unix())
	}
	if o.Billing.Email != "" {
		params.CustomerEmail = stripe.String(o.Billing.Email)
	}
	if idempotencyKey != "" {
		params.SetIdempotencyKey(idempotencyKey)
	}
	s, err := client.V1CheckoutSessions.Create(ctx, params)
	if err != nil {
		var se *stripe.Error
		if errors.As(err, &se) {
			return nil, walletd.Errorf(walletd.EUnavailable, "Stripe refused the checkout session: %s (%s).", se.Msg, se.Code)
		}
		return nil, walletd.Errorf(walletd.EUnavailable, "Stripe could not be reached: %s", strings.ReplaceAll(err.Error(), c.SecretKey, "sk_…"))
	}
	if s.URL == "" || s.ID == "" {
		return nil, walletd.Errorf(walletd.EUnavailable, "Stripe answered a checkout session without an id or URL.")
	}
	return &CheckoutSession{ID: s.ID, URL: s.URL, ExpiresAt: time.Unix(s.ExpiresAt, 0).UTC()}, nil
}

// orderTitle names the order on Stripe's page: its only line's name, or
// "Order N".
func orderTitle(o *walletd.ShopOrder) string {
	if len(o.Lines) == 1 && o.Lines[0].Name != "" {
		return o.Lines[0].Name
	}
	return fmt.Sprintf("Order %d", o.ID)
}
