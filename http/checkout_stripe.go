package http

import (
	"context"
	"net/url"
	"strconv"
	"time"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/webhooks/inbound"
)

// StripeMethod is "Pay by card" on the payment page: Pay creates a
// Stripe Checkout Session for the order (client_reference_id = the order
// id) and sends the browser there (303). The order is paid when Stripe's
// checkout.session.completed webhook arrives through the inbound
// pipeline (docs/inbound-webhooks.md). Stripe sends the customer back to
// the order's return page, whether they paid or cancelled.
//
// The session expires SessionTTL after the payment link, and the link's
// order is held pending until Grace after that (HoldPaymentLink), so a
// customer paying at Stripe when the link expires is not cancelled under
// them; a payment reaching walletd after the hold finds the order
// cancelled and is dead-lettered for review.
type StripeMethod struct {
	// Checkout creates the sessions (its SecretKey set).
	Checkout *inbound.Checkout
	// SessionTTL is how long after the link's expiry the session expires
	// (default DefaultStripeSessionTTL: Stripe's shortest lifetime, 30
	// minutes from the session's creation, plus a minute of margin).
	SessionTTL time.Duration
	// Grace is how long after the session's expiry the order is still
	// held for its webhook (default DefaultProviderGrace).
	Grace time.Duration
	// PageOrigins are the origins of Stripe's hosted pages (default
	// https://checkout.stripe.com), allowed by the page's CSP.
	PageOrigins []string
}

// Defaults of the provider methods' holds.
const (
	DefaultStripeSessionTTL = 31 * time.Minute
	DefaultProviderGrace    = 10 * time.Minute
)

// ID is "stripe".
func (*StripeMethod) ID() string { return walletd.PayStripe }

// Offer offers a card payment for every order.
func (m *StripeMethod) Offer(_ context.Context, p *CheckoutPage) Offer {
	return Offer{Title: "Card", Detail: "Pay " + p.Order.Total.String() + " " + p.Order.Currency + " by card on Stripe's secure payment page.",
		Available: true, Button: "Pay by card", Origins: m.origins()}
}

func (m *StripeMethod) origins() []string {
	if len(m.PageOrigins) > 0 {
		return m.PageOrigins
	}
	return []string{"https://checkout.stripe.com"}
}

// Pay creates the session (one per page session: a second click gets the
// same one, through Stripe's idempotency key), holds the order for it and
// redirects to it.
func (m *StripeMethod) Pay(ctx context.Context, p *CheckoutPage, _ url.Values) (*PayResult, error) {
	ttl, grace := m.SessionTTL, m.Grace
	if ttl <= 0 {
		ttl = DefaultStripeSessionTTL
	}
	if grace <= 0 {
		grace = DefaultProviderGrace
	}
	expires := p.Link.ExpiresAt.Add(ttl)
	id := strconv.FormatInt(p.Order.ID, 10)
	sess, err := m.Checkout.CreateSessionWith(ctx, p.Order, inbound.SessionOptions{SuccessURL: p.ReturnURL, CancelURL: p.ReturnURL,
		IdempotencyKey: "walletd-checkout-" + id + "-" + p.SessionHash[:min(32, len(p.SessionHash))], ExpiresAt: expires})
	if err != nil {
		return nil, err
	}
	until := expires.Add(grace)
	if !sess.ExpiresAt.IsZero() && sess.ExpiresAt.Add(grace).After(until) { // Stripe kept a longer lifetime
		until = sess.ExpiresAt.Add(grace)
	}
	if limit := time.Now().Add(walletd.MaxLinkHold - time.Minute); until.After(limit) {
		until = limit
	}
	if err := p.Hold(ctx, walletd.PayStripe, until); err != nil {
		return nil, err
	}
	return &PayResult{RedirectURL: sess.URL}, nil
}
