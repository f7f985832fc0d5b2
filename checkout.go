package walletd

import "time"

// The reset-fee flow (docs/reset-fee.md): a storefront's backend asks for
// a pending order of a variation with a pre-shared secret key, and gets a
// one-time, short-lived payment link to hand its user.

// Object kinds of the reset-fee flow.
const (
	ObjResetFeeKey = "reset_fee_key" // keyed by the key's id
	ObjPaymentLink = "payment_link"  // keyed by IntKey(order id)
	ObjResetFeeRef = "reset_fee_ref" // keyed by ResetFeeRefKey(account id, variation id)
)

// SourceResetFee is the source of the orders the reset-fee endpoint
// creates.
const SourceResetFee = "reset_fee"

// MetaAccountID is the meta_data key of a reset-fee order's account_id.
const MetaAccountID = "account_id"

// Payment link lifetimes: the seed asks for links that expire within 5
// to 10 minutes.
const (
	MinLinkTTL     = 5 * time.Minute
	MaxLinkTTL     = 10 * time.Minute
	DefaultLinkTTL = 10 * time.Minute
)

// ResetFeeKey is a pre-shared secret key of the reset-fee endpoint. Only
// the SHA-256 of the secret is kept (Hash, hex); the secret is shown once
// when the key is created. Several keys may be active at once, for
// rotation; a revoked key authenticates nothing.
type ResetFeeKey struct {
	ID        string    `json:"id"`
	Name      string    `json:"name,omitempty"`
	Prefix    string    `json:"prefix"` // the secret's first characters, to tell keys apart
	Hash      string    `json:"hash"`
	CreatedAt time.Time `json:"created_at"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
}

// Active reports whether the key authenticates requests.
func (k *ResetFeeKey) Active() bool { return k.RevokedAt.IsZero() }

// Payment link statuses. A link is active until its first visit spends
// it; a link whose order was still pending when it expired is expired
// (and its order cancelled).
const (
	LinkActive  = "active"
	LinkSpent   = "spent"
	LinkExpired = "expired"
)

// PaymentLink is the one-time payment link of an order: only the SHA-256
// of its token (TokenHash, hex) is kept. The first visit spends it and
// binds the payment page to the visitor's browser (SessionHash: the
// SHA-256 of the page's session cookie). The order can be paid through
// the page until ExpiresAt; an order still pending then is cancelled.
type PaymentLink struct {
	OrderID     int64     `json:"order_id"`
	TokenHash   string    `json:"token_hash"`
	Status      string    `json:"status"`
	SessionHash string    `json:"session_hash,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	ExpiresAt   time.Time `json:"expires_at"`
	SpentAt     time.Time `json:"spent_at,omitzero"`
	ExpiredAt   time.Time `json:"expired_at,omitzero"`
	// HeldUntil, when after ExpiresAt, defers the expiry of the link's
	// order: a provider checkout (HeldBy: stripe, wegetfinancing) was
	// started on the page and its payment may still arrive until then.
	HeldUntil time.Time `json:"held_until,omitzero"`
	HeldBy    string    `json:"held_by,omitempty"`
}

// ExpiryAt is when the link's order, still pending, is cancelled: the
// link's expiry, or the end of a provider checkout's hold.
func (l *PaymentLink) ExpiryAt() time.Time {
	if l.HeldUntil.After(l.ExpiresAt) {
		return l.HeldUntil
	}
	return l.ExpiresAt
}

// MaxLinkHold bounds how long after it is placed a provider checkout's
// hold may defer a link's expiry (Stripe's longest Checkout Session
// lives 24 hours).
const MaxLinkHold = 24 * time.Hour

// ResetFeeRef is the reset-fee order an account holds for a variation
// (object kind ObjResetFeeRef): a new request while it is pending
// cancels it, so that one account never holds two payable reset orders.
type ResetFeeRef struct {
	OrderID int64 `json:"order_id"`
}

// ResetFeeRefKey is the key of an account's reset-fee order of a
// variation in ObjResetFeeRef.
func ResetFeeRefKey(accountID string, variationID int64) string {
	return IntKey(variationID) + "/" + accountID
}

// Entry types of the reset-fee flow's config entries.
const (
	TypeResetFeeKey      = "reset_fee_key"
	TypePaymentLinkSpent = "payment_link_spent"
	TypePaymentLinkHeld  = "payment_link_held"
)
