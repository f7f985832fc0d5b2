// Package inbound receives payment gateways' webhooks (Stripe, PayPal, a
// generic HMAC sender; the Order Daemon webhooks API) and turns them into
// order and top-up transitions of the ledger.
//
// An Adapter knows one gateway's wire format: it verifies a request's
// signature on the raw bytes, extracts the provider's event id and maps
// the payload to a universal Event. The Pipeline does the rest for every
// adapter alike: it records each event durably in webhooks.db before
// anything acts on it, deduplicates on the provider's event id, runs the
// rules and their actions through the ledger's writer, logs every
// reception, retries failures that may pass with exponential backoff and
// moves what cannot be applied to a dead-letter queue.
//
// A new gateway is one file: a type implementing Adapter and an init
// function calling RegisterAdapter.
package inbound

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/walletd/walletd"
)

// Adapter is one gateway's wire format. Its methods are called
// concurrently.
type Adapter interface {
	// Name is the gateway's name: its path segment (/v1/inbound/{name}),
	// its settings' key, its metrics label and, for orders, the payment
	// method (walletd.PayStripe …) its payments are recorded with.
	Name() string
	// Events lists the provider event types the adapter maps (the
	// management list's "events").
	Events() []string
	// Verify checks the request's authentication on the raw body, before
	// anything parses it, comparing in constant time. now is the clock of
	// timestamp windows. It returns an error wrapping ErrSignature when
	// the request is refused (the caller answers 401), or another error
	// when the check itself could not run (ErrUnavailable: 503).
	Verify(ctx context.Context, g *Gateway, h http.Header, body []byte, now time.Time) error
	// Parse maps a verified body to the universal event: ProviderID (the
	// deduplication key) is always set; Kind is "" for an event the
	// adapter knows of but that asks nothing. It returns an error
	// wrapping ErrPayload for a body it cannot read (400).
	Parse(g *Gateway, body []byte) (*Event, error)
	// Sample returns the body of a payment succeeded event for target
	// (an order or a top-up) of amount in currency, for the test
	// endpoint; id makes its provider event id unique.
	Sample(g *Gateway, target Target, amount, currency, id string, now time.Time) ([]byte, error)
}

// Signer is implemented by adapters that can sign a sample with the
// gateway's own secret (Stripe, generic): the test endpoint's sample then
// goes through Verify like a real delivery. PayPal's samples cannot be
// signed (only PayPal holds its key) and skip Verify.
type Signer interface {
	// Sign returns the headers that authenticate body.
	Sign(g *Gateway, body []byte, now time.Time) (http.Header, error)
}

// Answerer is implemented by adapters whose senders expect another answer
// body than the seed's JSON (WeGetFinancing's plugin answers the text
// "OK"): the HTTP layer then writes what Answer returns, with the reply's
// status.
type Answerer interface {
	// Answer renders rep for the sender.
	Answer(rep *Reply) (contentType string, body []byte)
}

// SelfApplier is implemented by adapters that apply their own events
// instead of the gateway's rules and actions (WeGetFinancing: a
// financing decision is applied by financing.Applier). The pipeline still
// records, deduplicates, logs, retries and dead-letters: ApplyEvent
// returns the outcome of one attempt; dead says the event cannot be
// applied as it is (it goes to the dead-letter queue with out.Message as
// the reason, and can be redriven); an error is a failure that may pass
// (retried with backoff, dead-lettered after MaxAttempts). It must be
// idempotent: an attempt after a crash that came after its commit
// changes nothing more.
type SelfApplier interface {
	ApplyEvent(ctx context.Context, r *Record) (out *Outcome, dead bool, err error)
}

// EarlyAnswerer is implemented by adapters whose senders must be answered
// as soon as the event is durably recorded, whatever processing takes
// (WeGetFinancing wants 200 "OK" within 5 s): when AnswerOnRecord is
// true the delivery is answered 200 right after the record's commit, and
// the event is processed after, its log row settled then.
type EarlyAnswerer interface {
	AnswerOnRecord() bool
}

// SelfConfigured is implemented by adapters whose credentials are kept
// outside the gateways' settings (WeGetFinancing's: the financing
// settings). Without a stored gateway row the pipeline serves such a
// gateway with the settings DefaultGateway returns; an admin may still
// store a row (network rules, enabled), which then takes no secret.
type SelfConfigured interface {
	// DefaultGateway returns the settings of the gateway when no row is
	// stored. Returns ENotFound when the adapter is not configured.
	DefaultGateway(ctx context.Context) (*Gateway, error)
}

// BodyLimiter is implemented by adapters whose bodies are bounded below
// the HTTP layer's limit: a longer body is refused with 413 before it is
// verified.
type BodyLimiter interface {
	MaxBodyBytes() int
}

// AdapterOptions is what adapters are built with.
type AdapterOptions struct {
	// Currencies gives the minor-unit scales (Stripe's integer amounts).
	Currencies *walletd.Currencies
	// HTTPClient fetches PayPal's certificates (nil: a client with a 10 s
	// timeout).
	HTTPClient *http.Client
	// PayPal holds the settings of PayPal's certificate checks.
	PayPal PayPalOptions
}

// Sentinel errors that adapters wrap.
var (
	// ErrSignature: the request's authentication failed (401).
	ErrSignature = errors.New("webhook signature verification failed")
	// ErrPayload: the body could not be read as the gateway's event (400).
	ErrPayload = errors.New("webhook payload not understood")
	// ErrUnavailable: the check could not run now (a certificate could
	// not be fetched): the sender should try again (503).
	ErrUnavailable = errors.New("webhook verification unavailable")
)

var (
	registryMu sync.Mutex
	registry   = map[string]func(AdapterOptions) Adapter{}
)

// RegisterAdapter makes the gateway name served by the adapters that
// build returns. Each adapter file calls it from init; a name registered
// twice panics.
func RegisterAdapter(name string, build func(AdapterOptions) Adapter) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[name]; dup {
		panic("inbound: adapter " + name + " registered twice")
	}
	registry[name] = build
}

// Gateways lists the registered gateway names, sorted.
func Gateways() []string {
	registryMu.Lock()
	defer registryMu.Unlock()
	out := make([]string, 0, len(registry))
	for n := range registry {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// NewAdapters builds every registered adapter with o.
func NewAdapters(o AdapterOptions) map[string]Adapter {
	if o.Currencies == nil {
		o.Currencies = walletd.DefaultCurrencies()
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	out := make(map[string]Adapter, len(registry))
	for n, build := range registry {
		out[n] = build(o)
	}
	return out
}
