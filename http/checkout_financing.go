package http

import (
	"context"
	"net/url"
	"time"

	"github.com/walletd/walletd"
)

// FinancingMethod is "Pay over time" (WeGetFinancing) on the payment
// page, offered for orders financing covers (configured, in its currency
// and amount range; other orders do not see it). Pay sends the order's
// financing request (FinancingService.RequestOrder: one per order, a
// second click reuses it) and redirects the browser to the provider's
// application (href). The provider's signed postback then pays, fails or
// cancels the order (docs/financing.md).
//
// The order is held pending for HoldFor after the click
// (HoldPaymentLink), so that an application under way when the link
// expires is not cancelled under the customer; an approval arriving after
// the hold finds the order cancelled and is held for review.
type FinancingMethod struct {
	Service FinancingService
	// HoldFor is how long the order is held for the application (default
	// DefaultFinancingHold).
	HoldFor time.Duration
	// PageOrigins are the origins of the provider's application pages,
	// allowed by the page's CSP (default https://*.wegetfinancing.com and
	// the origin of the configured api_url).
	PageOrigins []string
}

// DefaultFinancingHold is how long a financing application started on a
// payment page holds its order.
const DefaultFinancingHold = time.Hour

// ID is "wegetfinancing".
func (*FinancingMethod) ID() string { return walletd.PayWeGetFinancing }

// Offer offers financing when the order's amount and currency are
// financed; otherwise the method is not shown.
func (m *FinancingMethod) Offer(ctx context.Context, p *CheckoutPage) Offer {
	o := p.Order
	if err := m.Service.Offered(ctx, o.Total, o.Currency); err != nil {
		return Offer{Hidden: true}
	}
	origins := append([]string{}, m.PageOrigins...)
	if len(origins) == 0 {
		origins = append(origins, "https://*.wegetfinancing.com")
		if st, err := m.Service.Settings(ctx); err == nil {
			if u, err := url.Parse(st.APIURL); err == nil && u.Host != "" {
				origins = append(origins, u.Scheme+"://"+u.Host)
			}
		}
	}
	return Offer{Title: "Pay over time", Detail: "Finance " + o.Total.String() + " " + o.Currency +
		" with WeGetFinancing: apply in a few minutes on the lender's page; the order is paid when the lender approves.",
		Available: true, Button: "Pay over time", Origins: origins}
}

// Pay sends (or reuses) the order's financing request, holds the order
// for the application and redirects to it. The provider sends the
// customer back to the order's return page (approved or not), which shows
// the order's status as the postback leaves it.
func (m *FinancingMethod) Pay(ctx context.Context, p *CheckoutPage, _ url.Values) (*PayResult, error) {
	if err := m.Service.Offered(ctx, p.Order.Total, p.Order.Currency); err != nil {
		return nil, err
	}
	r, _, err := m.Service.RequestOrder(ctx, p.Order.ID, p.ReturnURL)
	if err != nil {
		return nil, err
	}
	hold := m.HoldFor
	if hold <= 0 {
		hold = DefaultFinancingHold
	}
	if err := p.Hold(ctx, walletd.PayWeGetFinancing, time.Now().Add(min(hold, walletd.MaxLinkHold-time.Minute))); err != nil {
		return nil, err
	}
	return &PayResult{RedirectURL: r.Href}, nil
}
