package ledger

import (
	"strconv"
	"time"

	"github.com/walletd/walletd"
)

// HoldPaymentLink defers the expiry of a payment link's order while the
// customer pays at a provider (a Stripe Checkout Session, a WeGetFinancing
// application) started from the page: the order, still pending when the
// link expires, is cancelled only at Until, so that the provider's
// payment finds it pending. The link must have been spent by the session,
// not have expired, and its order be pending; Until must be after the
// writer's now and at most walletd.MaxLinkHold later. A later hold may
// only extend an earlier one. The payment page itself still closes at the
// link's expiry. Writes a config entry of type payment_link_held.
type HoldPaymentLink struct {
	OrderID     int64     `json:"order_id"`
	SessionHash string    `json:"session_hash"`
	Provider    string    `json:"provider"`
	Until       time.Time `json:"until"`
}

// Op names the command in fingerprints and logs.
func (*HoldPaymentLink) Op() string { return "hold_payment_link" }

func (c *HoldPaymentLink) objectRef([]*walletd.Entry) (string, string) {
	return walletd.ObjPaymentLink, walletd.IntKey(c.OrderID)
}

func (c *HoldPaymentLink) apply(b *batch, r *request) error {
	if err := walletd.CheckText("provider", c.Provider, 32, true); err != nil {
		return err
	}
	key := walletd.IntKey(c.OrderID)
	l := b.paymentLinks.get(key)
	if l == nil || l.Status != walletd.LinkSpent || c.SessionHash == "" || !hashEqual(l.SessionHash, c.SessionHash) {
		return walletd.Errorf(walletd.ENotFound, "This payment page is not open in this browser.")
	} else if !b.now.Before(l.ExpiresAt) {
		return walletd.Errorf(walletd.EConflict, "The payment link of order %d has expired.", c.OrderID)
	} else if !c.Until.After(b.now) || c.Until.After(b.now.Add(walletd.MaxLinkHold)) {
		return walletd.Errorf(walletd.EInvalid, "until must be after now and within %s.", walletd.MaxLinkHold)
	}
	o, err := b.orderIn(c.OrderID, walletd.OrderPending)
	if err != nil {
		return err
	}
	n := *l
	if c.Until.After(n.HeldUntil) {
		n.HeldUntil = c.Until.UTC()
	}
	n.HeldBy = c.Provider
	b.config(r, walletd.TypePaymentLinkHeld, o.Currency, map[string]string{"id": strconv.FormatInt(o.ID, 10),
		"order_id": strconv.FormatInt(o.ID, 10), "provider": c.Provider, "held_until": n.HeldUntil.Format(time.RFC3339Nano)})
	b.paymentLinks.put(key, &n, b.seq)
	b.report(walletd.ObjPaymentLink, key, &n)
	return nil
}
