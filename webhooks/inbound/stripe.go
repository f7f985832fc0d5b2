package inbound

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v82/webhook"
	"github.com/walletd/walletd"
)

// Stripe: Stripe-Signature "t=<unix>,v1=<hex>[,v1=…]" over "{t}.{body}"
// with the whsec_… secret, checked by stripe-go's webhook package (any v1
// matches, other schemes ignored, constant-time compare, 300 s
// tolerance). Amounts are integers in minor units, currencies lower case.

// StripeTolerance is how old (or how far ahead) a signature's timestamp
// may be.
const StripeTolerance = 300 * time.Second

func init() {
	RegisterAdapter(walletd.PayStripe, func(o AdapterOptions) Adapter { return &stripeAdapter{currencies: o.Currencies} })
}

type stripeAdapter struct {
	currencies *walletd.Currencies
}

var (
	_ Adapter = (*stripeAdapter)(nil)
	_ Signer  = (*stripeAdapter)(nil)
)

func (*stripeAdapter) Name() string { return walletd.PayStripe }

func (*stripeAdapter) Events() []string {
	return []string{"payment_intent.succeeded", "payment_intent.payment_failed", "checkout.session.completed",
		"checkout.session.async_payment_succeeded", "checkout.session.async_payment_failed", "invoice.payment_succeeded", "charge.refunded"}
}

// Verify checks Stripe-Signature with stripe-go, and refuses a timestamp
// more than the tolerance ahead of now (the library checks only age).
func (*stripeAdapter) Verify(_ context.Context, g *Gateway, h http.Header, body []byte, now time.Time) error {
	header := h.Get("Stripe-Signature")
	if g.Secret == "" || header == "" || len(header) > 4096 {
		return fmt.Errorf("%w: no Stripe-Signature", ErrSignature)
	}
	if err := webhook.ValidatePayloadWithTolerance(body, header, g.Secret, StripeTolerance); err != nil {
		return fmt.Errorf("%w: %w", ErrSignature, err)
	}
	ts, err := stripeTimestamp(header)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSignature, err)
	}
	if d := ts.Sub(now); d > StripeTolerance || d < -StripeTolerance {
		return fmt.Errorf("%w: timestamp outside the %s window", ErrSignature, StripeTolerance)
	}
	return nil
}

// stripeTimestamp returns the header's t=.
func stripeTimestamp(header string) (time.Time, error) {
	for _, pair := range strings.Split(header, ",") {
		if v, ok := strings.CutPrefix(pair, "t="); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return time.Time{}, fmt.Errorf("bad timestamp")
			}
			return time.Unix(n, 0), nil
		}
	}
	return time.Time{}, fmt.Errorf("no timestamp")
}

// Sign signs body as Stripe does, with the gateway's secret.
func (*stripeAdapter) Sign(g *Gateway, body []byte, now time.Time) (http.Header, error) {
	sig := webhook.ComputeSignature(now, body, g.Secret)
	h := http.Header{}
	h.Set("Stripe-Signature", fmt.Sprintf("t=%d,v1=%s", now.Unix(), hex.EncodeToString(sig)))
	return h, nil
}

// stripeEvent is the part of Stripe's event envelope walletd reads.
type stripeEvent struct {
	ID     string `json:"id"`
	Object string `json:"object"`
	Type   string `json:"type"`
	Data   struct {
		Object *stripeObject `json:"object"`
	} `json:"data"`
}

// stripeObject is the part of data.object walletd reads, for the
// payment intents, checkout sessions, invoices and charges it maps.
type stripeObject struct {
	ID                string            `json:"id"`
	Object            string            `json:"object"`
	Amount            *int64            `json:"amount"`
	AmountReceived    *int64            `json:"amount_received"`
	AmountTotal       *int64            `json:"amount_total"`
	AmountPaid        *int64            `json:"amount_paid"`
	AmountRefunded    *int64            `json:"amount_refunded"`
	Currency          string            `json:"currency"`
	Status            string            `json:"status"`
	PaymentStatus     string            `json:"payment_status"`
	ClientReferenceID string            `json:"client_reference_id"`
	Metadata          map[string]string `json:"metadata"`
	PaymentIntent     json.RawMessage   `json:"payment_intent"`
}

// paymentIntentID returns the payment_intent field's id (a string, or
// an expanded object).
func (o *stripeObject) paymentIntentID() string {
	if len(o.PaymentIntent) == 0 || bytes.Equal(o.PaymentIntent, []byte("null")) {
		return ""
	}
	var s string
	if json.Unmarshal(o.PaymentIntent, &s) == nil {
		return s
	}
	var obj struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(o.PaymentIntent, &obj) == nil {
		return obj.ID
	}
	return ""
}

// Parse maps Stripe's event. An event of a payment walletd did not start
// (no order or top-up in its metadata) maps to no target.
func (a *stripeAdapter) Parse(_ *Gateway, body []byte) (*Event, error) {
	var se stripeEvent
	if err := json.Unmarshal(body, &se); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrPayload, jsonProblem(err))
	}
	if !strings.HasPrefix(se.ID, "evt_") || len(se.ID) > 255 {
		return nil, fmt.Errorf("%w: id must be a Stripe event id (evt_…)", ErrPayload)
	} else if se.Type == "" || len(se.Type) > 100 {
		return nil, fmt.Errorf("%w: type is required", ErrPayload)
	} else if se.Data.Object == nil {
		return nil, fmt.Errorf("%w: data.object is required", ErrPayload)
	}
	o := se.Data.Object
	ev := &Event{ProviderID: se.ID, Type: se.Type}
	var amount *int64
	switch se.Type {
	case "payment_intent.succeeded", "payment_intent.payment_failed":
		ev.Kind, amount, ev.PaymentRef = KindSucceeded, o.AmountReceived, o.ID
		if se.Type == "payment_intent.payment_failed" {
			ev.Kind = KindFailed
		}
		if amount == nil || *amount == 0 {
			amount = o.Amount
		}
	case "checkout.session.completed", "checkout.session.async_payment_succeeded", "checkout.session.async_payment_failed":
		ev.Kind, amount, ev.PaymentRef = KindSucceeded, o.AmountTotal, o.paymentIntentID()
		if se.Type == "checkout.session.async_payment_failed" {
			ev.Kind = KindFailed
		} else if o.PaymentStatus != "paid" && o.PaymentStatus != "no_payment_required" {
			ev.Kind = "" // paid later: checkout.session.async_payment_succeeded
		}
		if ev.PaymentRef == "" {
			ev.PaymentRef = o.ID
		}
		if o.ClientReferenceID != "" {
			ev.Target = Target{Type: TargetOrder, Ref: orderRef(o.ClientReferenceID)}
		}
	case "invoice.payment_succeeded":
		ev.Kind, amount, ev.PaymentRef = KindSucceeded, o.AmountPaid, o.paymentIntentID()
		if ev.PaymentRef == "" {
			ev.PaymentRef = o.ID
		}
	case "charge.refunded":
		ev.Kind, amount, ev.PaymentRef = KindRefunded, o.AmountRefunded, o.paymentIntentID()
		if ev.PaymentRef == "" {
			ev.PaymentRef = o.ID
		}
	default:
		return ev, nil // known to Stripe, nothing to do here
	}
	if ev.Target.Type == "" {
		if ref := o.Metadata["order_id"]; ref != "" {
			ev.Target = Target{Type: TargetOrder, Ref: orderRef(ref)}
		} else if ref := o.Metadata["topup_id"]; ref != "" {
			ev.Target = Target{Type: TargetTopup, Ref: ref}
		}
	}
	if len(ev.Target.Ref) > 255 || len(ev.PaymentRef) > walletd.MaxReferenceLen {
		return nil, fmt.Errorf("%w: reference too long", ErrPayload)
	}
	if amount != nil && o.Currency != "" {
		var err error
		if ev.Amount, ev.Currency, err = minorToMajor(*amount, o.Currency, a.currencies); err != nil {
			return nil, err
		}
	}
	return ev, nil
}

// Sample is a payment_intent.succeeded for target.
func (a *stripeAdapter) Sample(_ *Gateway, t Target, amount, currency, id string, now time.Time) ([]byte, error) {
	scale, err := a.currencies.Scale(currency)
	if err != nil {
		return nil, err
	}
	d, err := walletd.ParseAmount(amount, scale)
	if err != nil {
		return nil, err
	}
	minor := d.Shift(scale).IntPart()
	meta := map[string]string{"order_id": t.Ref}
	if t.Type == TargetTopup {
		meta = map[string]string{"topup_id": t.Ref}
	}
	return json.Marshal(map[string]any{
		"id": "evt_test_" + id, "object": "event", "api_version": "2025-07-30.basil", "created": now.Unix(), "livemode": false,
		"type": "payment_intent.succeeded", "pending_webhooks": 1, "request": map[string]any{"id": nil, "idempotency_key": nil},
		"data": map[string]any{"object": map[string]any{
			"id": "pi_test_" + id, "object": "payment_intent", "amount": minor, "amount_received": minor,
			"currency": strings.ToLower(currency), "status": "succeeded", "metadata": meta}},
	})
}

// jsonProblem describes a JSON decoding error without echoing input.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("malformed JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("%s must be a JSON %s", te.Field, jsonKind(te.Type.Kind().String()))
	}
	return "malformed JSON"
}

func jsonKind(k string) string {
	switch k {
	case "int64", "int", "float64":
		return "integer"
	case "map", "struct":
		return "object"
	}
	return k
}
