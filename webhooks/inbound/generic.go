package inbound

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/walletd/walletd"
)

// Generic: any sender that signs with the seed's rule, X-Webhook-Secret =
// hex(HMAC-SHA256(raw body, shared secret)) (PHP's hash_hmac('sha256',
// $payload, $secret)), with its fields found by the gateway's Mapping.

func init() {
	RegisterAdapter(walletd.PayGeneric, func(o AdapterOptions) Adapter { return &genericAdapter{currencies: o.Currencies} })
}

type genericAdapter struct {
	currencies *walletd.Currencies
}

var (
	_ Adapter = (*genericAdapter)(nil)
	_ Signer  = (*genericAdapter)(nil)
)

func (*genericAdapter) Name() string { return walletd.PayGeneric }

func (*genericAdapter) Events() []string { return sortedKeys(DefaultGenericEvents) }

// Verify compares X-Webhook-Secret with the body's HMAC in constant time.
func (*genericAdapter) Verify(_ context.Context, g *Gateway, h http.Header, body []byte, _ time.Time) error {
	got, err := hex.DecodeString(strings.TrimSpace(h.Get("X-Webhook-Secret")))
	if g.Secret == "" || err != nil || len(got) != sha256.Size {
		return fmt.Errorf("%w: X-Webhook-Secret is not a hex HMAC-SHA256", ErrSignature)
	}
	if !hmac.Equal(got, genericMAC(g.Secret, body)) {
		return fmt.Errorf("%w: X-Webhook-Secret does not match", ErrSignature)
	}
	return nil
}

func genericMAC(secret string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return m.Sum(nil)
}

// Sign signs body with the seed's rule.
func (*genericAdapter) Sign(g *Gateway, body []byte, _ time.Time) (http.Header, error) {
	h := http.Header{}
	h.Set("X-Webhook-Secret", hex.EncodeToString(genericMAC(g.Secret, body)))
	return h, nil
}

// Parse reads the mapped fields.
func (a *genericAdapter) Parse(g *Gateway, body []byte) (*Event, error) {
	m := g.Mapping.withDefaults()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrPayload, jsonProblem(err))
	} else if dec.More() {
		return nil, fmt.Errorf("%w: one JSON object expected", ErrPayload)
	}
	str := func(name, path string, required bool) (string, error) {
		if path == "" {
			return "", nil
		}
		v, ok := lookup(doc, path)
		if !ok || v == nil {
			if required {
				return "", fmt.Errorf("%w: %s (%s) is required", ErrPayload, name, path)
			}
			return "", nil
		}
		var s string
		switch t := v.(type) {
		case string:
			s = t
		case json.Number:
			s = t.String()
		default:
			return "", fmt.Errorf("%w: %s (%s) must be a string or a number", ErrPayload, name, path)
		}
		if len(s) > 255 {
			return "", fmt.Errorf("%w: %s (%s) is too long", ErrPayload, name, path)
		}
		return s, nil
	}
	ev := &Event{}
	var err error
	if ev.Type, err = str("event", m.Event, true); err != nil {
		return nil, err
	} else if strings.TrimSpace(ev.Type) == "" {
		return nil, fmt.Errorf("%w: event (%s) is empty", ErrPayload, m.Event)
	}
	if ev.ProviderID, err = str("id", m.ID, true); err != nil {
		return nil, err
	} else if ev.ProviderID == "" {
		sum := sha256.Sum256(body)
		ev.ProviderID = "sha256:" + hex.EncodeToString(sum[:])
	}
	ev.Kind = m.Events[ev.Type]
	order, err := str("order_reference", m.OrderReference, false)
	if err != nil {
		return nil, err
	}
	topup, err := str("topup_reference", m.TopupReference, false)
	if err != nil {
		return nil, err
	}
	switch {
	case order != "":
		ev.Target = Target{Type: TargetOrder, Ref: orderRef(order)}
	case topup != "":
		ev.Target = Target{Type: TargetTopup, Ref: topup}
	}
	if ev.PaymentRef, err = str("payment_reference", m.PaymentReference, false); err != nil {
		return nil, err
	} else if ev.PaymentRef == "" {
		ev.PaymentRef = ev.ProviderID
	}
	amount, err := str("amount", m.Amount, false)
	if err != nil {
		return nil, err
	}
	currency, err := str("currency", m.Currency, false)
	if err != nil {
		return nil, err
	}
	if amount != "" || currency != "" {
		if ev.Amount, ev.Currency, err = majorAmount(amount, currency, a.currencies); err != nil {
			return nil, err
		}
	}
	return ev, nil
}

// majorAmount checks an amount in major units ("29.99") in currency and
// returns it at the currency's scale, with the currency in upper case.
func majorAmount(amount, currency string, cs *walletd.Currencies) (string, string, error) {
	code := strings.ToUpper(currency)
	scale, err := cs.Scale(code)
	if err != nil || code == "" {
		return "", "", fmt.Errorf("%w: currency %s is not known", ErrPayload, walletd.QuoteInput(currency))
	}
	d, err := walletd.ParseAmount(amount, scale)
	if err != nil {
		return "", "", fmt.Errorf("%w: amount: %s", ErrPayload, walletd.ErrorMessage(err))
	}
	return d.StringFixed(scale), code, nil
}

// lookup follows a dot-separated path into a decoded JSON document.
func lookup(doc map[string]any, path string) (any, bool) {
	var cur any = doc
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// set sets a dot-separated path in doc, making the objects on the way.
func set(doc map[string]any, path string, v any) {
	keys := strings.Split(path, ".")
	for _, k := range keys[:len(keys)-1] {
		next, ok := doc[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			doc[k] = next
		}
		doc = next
	}
	doc[keys[len(keys)-1]] = v
}

// Sample is an event mapped to a payment succeeded, in the mapping's
// fields.
func (*genericAdapter) Sample(g *Gateway, t Target, amount, currency, id string, _ time.Time) ([]byte, error) {
	m := g.Mapping.withDefaults()
	event := ""
	for _, k := range sortedKeys(m.Events) {
		if m.Events[k] == KindSucceeded {
			event = k
			break
		}
	}
	if event == "" {
		return nil, walletd.Errorf(walletd.EInvalid, "The generic mapping has no event for %s.", KindSucceeded)
	}
	doc := map[string]any{}
	set(doc, m.Event, event)
	if m.ID != "" {
		set(doc, m.ID, "test_"+id)
	} else {
		set(doc, "test_id", "test_"+id)
	}
	switch {
	case t.Type == TargetTopup && m.TopupReference != "":
		set(doc, m.TopupReference, t.Ref)
	case t.Type == TargetTopup:
		return nil, walletd.Errorf(walletd.EInvalid, "The generic mapping has no topup_reference field.")
	default:
		set(doc, m.OrderReference, t.Ref)
	}
	set(doc, m.Amount, amount)
	set(doc, m.Currency, currency)
	return json.Marshal(doc)
}
