package http

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/ledger"
)

// PaymentMethod is one way to pay an order on its payment page
// (checkout.go). The page lists its methods in order: the customer's
// wallet first, then the methods of Checkout.Methods (gateways such as
// Stripe Checkout or WeGetFinancing). Each is shown as its own
// <form method="post"> that posts back to the page with the hidden inputs
// csrf_token, method (= ID()) and the method's own Offer.Fields, and a
// submit button named "pay" whose value is ID(). The page checks the
// browser's session and the CSRF token before it calls Pay, so a method
// deals only with paying.
type PaymentMethod interface {
	// ID names the method in the form ([a-z0-9_], unique on the page),
	// e.g. "wallet", "stripe".
	ID() string
	// Offer describes the method for the order on the page: its title,
	// a line of detail (a balance, a financing term), whether it can pay
	// now (the form is shown disabled, with Detail saying why, if not),
	// the button's label and extra hidden fields. It must not change
	// anything.
	Offer(ctx context.Context, p *CheckoutPage) Offer
	// Pay handles the method's form (form holds every posted field). It
	// pays the order and returns it as the payment left it (the page then
	// shows the result page), or returns a RedirectURL (the page answers
	// 303 See Other to it: a provider's hosted checkout, which later
	// reports the payment through its webhook). An error that is a
	// walletd.Error is shown to the customer on the payment page with its
	// status (insufficient funds, a refused payment, …).
	Pay(ctx context.Context, p *CheckoutPage, form url.Values) (*PayResult, error)
}

// CheckoutPage is the order behind a payment page, as a method sees it:
// the page has checked that the visitor's browser holds the page's
// session and that the link has not expired.
type CheckoutPage struct {
	Order *walletd.ShopOrder
	Link  *walletd.PaymentLink
	// SessionHash is the SHA-256 (hex) of the page's session cookie: the
	// writer checks it again when the wallet pays.
	SessionHash string
	// PageURL is the page's own absolute URL (under the public URL), for a
	// provider's return and cancel URLs.
	PageURL string
	// ReturnURL is the order's return page (checkout_return.go): it needs
	// no cookie, so a provider's redirect back (cross-site, which does not
	// carry the page's SameSite=Strict cookie) shows the order's status.
	ReturnURL string
	// Hold, called by a method that sends the customer to a provider's
	// checkout, defers the cancellation of the order at the link's expiry
	// until "until" (ledger.HoldPaymentLink), so that the provider's
	// payment, arriving later, finds the order pending.
	Hold func(ctx context.Context, provider string, until time.Time) error
}

// Offer is what the payment page shows of a method.
type Offer struct {
	Title     string
	Detail    string
	Available bool
	Button    string
	// Fields are extra hidden inputs of the method's form.
	Fields map[string]string
	// Origins are the origins (https://host, https://*.host) of the
	// provider pages Pay may redirect to: the page's Content-Security-
	// Policy form-action allows them, as browsers apply it to the
	// redirect that follows the form's POST.
	Origins []string
	// Hidden leaves the method off the page (e.g. financing for an amount
	// it does not cover).
	Hidden bool
}

// PayResult is the outcome of a method's Pay: the order as the payment
// left it, or a URL to send the browser to.
type PayResult struct {
	Order       *walletd.ShopOrder
	RedirectURL string
}

// walletMethod pays from the customer's wallet: the wallet, in the
// order's currency, of the user whose wallet has the billing email.
type walletMethod struct{ s *Server }

func (walletMethod) ID() string { return walletd.PayWallet }

// customerWallet returns the wallet that would pay the order, or nil.
func (m walletMethod) customerWallet(ctx context.Context, o *walletd.ShopOrder) (*walletd.Wallet, error) {
	if o.WalletID != "" {
		return m.s.Ledger.Wallet(ctx, o.WalletID)
	}
	if o.CustomerID == "" {
		return nil, nil
	}
	ws, err := m.s.Ledger.Wallets(ctx, o.CustomerID, "", 100)
	if err != nil {
		return nil, err
	}
	for _, w := range ws {
		if w.Currency == o.Currency {
			return w, nil
		}
	}
	return nil, nil
}

func (m walletMethod) Offer(ctx context.Context, p *CheckoutPage) Offer {
	o := p.Order
	off := Offer{Title: "Wallet balance", Button: fmt.Sprintf("Pay %s %s from my wallet", o.Total, o.Currency)}
	w, err := m.customerWallet(ctx, o)
	switch {
	case err != nil && walletd.ErrorCode(err) != walletd.ENotFound:
		m.s.Logger.Warn("payment page: read wallet", "order_id", o.ID, walletd.LogError, err)
		off.Detail = "Your wallet balance cannot be read just now; try again in a moment."
	case w == nil:
		off.Detail = fmt.Sprintf("There is no %s wallet for %s.", o.Currency, o.Billing.Email)
	case w.Status != walletd.StatusActive:
		off.Detail = "Your wallet is " + w.Status + ": it cannot pay."
	default:
		s, _ := m.s.Currencies.Scale(w.Currency)
		avail := walletd.FormatAmount(w.Available(), s)
		if w.Available().LessThan(o.Total.Decimal()) {
			off.Detail = fmt.Sprintf("Your wallet balance of %s %s is short of the %s %s to pay.", avail, w.Currency, o.Total, o.Currency)
		} else {
			off.Detail = fmt.Sprintf("Available balance: %s %s.", avail, w.Currency)
			off.Available = true
		}
	}
	return off
}

func (m walletMethod) Pay(ctx context.Context, p *CheckoutPage, _ url.Values) (*PayResult, error) {
	res, err := m.s.Writer.Submit(ctx, "", &ledger.PayLinkFromWallet{OrderID: p.Order.ID, SessionHash: p.SessionHash})
	if err != nil {
		return nil, err
	}
	o, ok := res.Object.(*walletd.ShopOrder)
	if !ok {
		return nil, errors.New("checkout: the writer reported no order")
	}
	return &PayResult{Order: o}, nil
}
