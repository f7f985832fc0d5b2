package http

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gorilla/mux"
	"github.com/walletd/walletd"
)

// The return page of a payment link (docs/reset-fee.md):
// GET /checkout/order-received/{order_id}/?key=wc_order_<token>,
// WooCommerce's shape. A provider's checkout (Stripe, WeGetFinancing)
// sends the customer back here. Coming back from another site, the
// browser does not send the page's SameSite=Strict cookie, so this page
// asks only for the link's token: it shows the order's summary and status
// and can pay nothing. While the order is pending it reloads itself every
// few seconds (a meta refresh, no script) until the provider's webhook
// has paid it, and links back to the payment page while the link lasts
// (that same-site navigation carries the cookie).

// ReturnURL returns the return page of order id's link with token under
// base.
func ReturnURL(base string, id int64, token string) string {
	return base + "/checkout/order-received/" + strconv.FormatInt(id, 10) + "/?key=wc_order_" + token
}

// ParseReturnLink reads a return page's URL: the order id of its path
// and the token of its query, which must be exactly key=wc_order_<token>.
// Returns EInvalid.
func ParseReturnLink(orderID, rawQuery string) (int64, string, error) {
	q, err := url.ParseQuery(rawQuery)
	if err != nil || len(q) != 1 || len(q["key"]) != 1 {
		return 0, "", walletd.Errorf(walletd.EInvalid, "The return link is not complete: it needs its key.")
	}
	return ParsePaymentLink(orderID, "pay_for_order=true&key="+url.QueryEscape(q.Get("key")))
}

// returnRefresh is how often the return page reloads while the order is
// pending.
const returnRefresh = 3

func (s *Server) handleCheckoutReturn(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	c, ip := s.checkout(), clientIP(r)
	if c.limiter.blocked(ip) {
		s.errorPage(w, http.StatusTooManyRequests, "Too many payment links that do not work came from your address. Wait a minute, then try again.", start)
		return
	}
	id, token, err := ParseReturnLink(mux.Vars(r)["order_id"], r.URL.RawQuery)
	if err != nil {
		c.limiter.fail(ip)
		s.errorPage(w, http.StatusBadRequest, walletd.ErrorMessage(err), start)
		return
	}
	var l *walletd.PaymentLink
	if v, err := s.Ledger.Object(r.Context(), walletd.ObjPaymentLink, walletd.IntKey(id)); err == nil {
		l, _ = v.(*walletd.PaymentLink)
	} else if walletd.ErrorCode(err) != walletd.ENotFound {
		s.errorPage(w, ErrorStatus(walletd.ErrorCode(err)), userMessage(err), start)
		return
	}
	// An unknown order and a wrong token get the same page.
	if l == nil || subtle.ConstantTimeCompare([]byte(l.TokenHash), []byte(hashSecret(token))) != 1 {
		c.limiter.fail(ip)
		s.errorPage(w, http.StatusNotFound, "This payment link is not valid.", start)
		return
	}
	ov, err := s.Ledger.Object(r.Context(), walletd.ObjShopOrder, walletd.IntKey(id))
	if err != nil {
		s.errorPage(w, linkErrorStatus(err), userMessage(err), start)
		return
	}
	o, _ := ov.(*walletd.ShopOrder)
	if o == nil {
		s.errorPage(w, http.StatusNotFound, "This payment link is not valid.", start)
		return
	}
	v := s.summary(r.Context(), o)
	v.Kind, v.Title = "return", "Order #"+strconv.FormatInt(o.ID, 10)
	switch o.Status {
	case walletd.OrderProcessing, walletd.OrderCompleted:
		v.Title = "Payment received"
		v.Message = "Thank you: order #" + strconv.FormatInt(o.ID, 10) + " is paid (" + o.PaymentMethodTitle + ")."
	case walletd.OrderPending:
		v.Refresh = returnRefresh
		v.Message = "Waiting for the confirmation of your payment: this page updates by itself. " +
			"If you left the payment without paying, go back to the payment page."
		if s.Now().Before(l.ExpiresAt) {
			v.BackURL = PaymentURL(s.publicURL(), id, token)
		}
	case walletd.OrderFailed, walletd.OrderCancelled:
		v.Title = "Payment not completed"
		v.Message = "Order #" + strconv.FormatInt(o.ID, 10) + " was not paid: it is " + o.Status + " and nothing was charged for it." +
			" If a payment reached us after that, it is held for review and refunded if it cannot be applied. Contact the shop to order again."
	default:
		v.Message = "Order #" + strconv.FormatInt(o.ID, 10) + " is " + o.Status + ": there is nothing to pay." +
			" A payment that reached us after that is held for review, and refunded if it cannot be applied."
	}
	s.writePage(w, http.StatusOK, v, start)
}
