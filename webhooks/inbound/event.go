package inbound

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"
	"github.com/walletd/walletd"
)

// Kinds of universal events: what happened to a payment.
const (
	KindSucceeded = "payment.succeeded"
	KindFailed    = "payment.failed"
	KindRefunded  = "payment.refunded"
)

// Kinds lists the universal event kinds, the triggers of rules.
var Kinds = []string{KindSucceeded, KindFailed, KindRefunded}

// Targets: what a payment is for.
const (
	TargetOrder = "order"
	TargetTopup = "topup"
)

// Target names what a payment is for: an order (Ref its id, or the
// external id of an order of source api) or a top-up (Ref its id).
type Target struct {
	Type string `json:"type,omitempty"`
	Ref  string `json:"ref,omitempty"`
}

// Event is the universal event an adapter maps a gateway's payload to.
type Event struct {
	// Gateway is the adapter's name (set by the pipeline).
	Gateway string `json:"gateway"`
	// ProviderID is the provider's event id (Stripe evt_…, PayPal WH-…,
	// or the generic mapping's id field, else the body's SHA-256): the
	// deduplication key, unique per gateway.
	ProviderID string `json:"provider_event_id"`
	// Type is the provider's event type (payment_intent.succeeded …).
	Type string `json:"event_type"`
	// Kind is the universal kind (KindSucceeded …), or "" for an event
	// that asks nothing (it is logged and answered 200).
	Kind string `json:"kind,omitempty"`
	// Target is what the payment is for; its Type is "" when the payload
	// names nothing walletd knows (Stripe's events of other payments).
	Target Target `json:"target"`
	// Amount is the payment's amount in major units, exact ("29.99"), and
	// Currency its ISO 4217 code in upper case; both "" when the payload
	// has none.
	Amount   string `json:"amount,omitempty"`
	Currency string `json:"currency,omitempty"`
	// PaymentRef is the provider's payment reference (pi_…, a PayPal
	// sale or capture id): it pays one order once.
	PaymentRef string `json:"payment_ref,omitempty"`
}

// minorToMajor converts an integer amount in minor units of currency (as
// Stripe sends it) to an exact decimal string at the currency's scale.
func minorToMajor(minor int64, currency string, cs *walletd.Currencies) (string, string, error) {
	code := strings.ToUpper(currency)
	scale, err := cs.Scale(code)
	if err != nil {
		return "", "", fmt.Errorf("%w: currency %s", ErrPayload, walletd.QuoteInput(currency))
	}
	if minor < 0 {
		return "", "", fmt.Errorf("%w: negative amount", ErrPayload)
	}
	return decimal.New(minor, -scale).StringFixed(scale), code, nil
}

// orderRef normalises an order reference: "order_789", "#789" and "789"
// name order 789; other text is kept (the external id of a source api
// order).
func orderRef(s string) string {
	s = strings.TrimSpace(s)
	for _, p := range []string{"order_", "order-", "#"} {
		if rest, ok := strings.CutPrefix(s, p); ok {
			if _, err := strconv.ParseInt(rest, 10, 64); err == nil {
				return rest
			}
		}
	}
	return s
}
