package inbound

import (
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/walletd/walletd"
)

// Gateway is one gateway's settings, as an admin configured them
// (PUT /v1/inbound/gateways/{gateway}).
type Gateway struct {
	Name string `json:"gateway"`
	// Secret is Stripe's whsec_… signing secret or the generic sender's
	// shared secret; sealed at rest and never listed.
	Secret string `json:"-"`
	// WebhookID is PayPal's id of our webhook (part of what PayPal signs).
	WebhookID string `json:"webhook_id,omitempty"`
	// CertHosts are the hosts PayPal's certificates may be fetched from
	// (default DefaultPayPalCertHosts).
	CertHosts []string `json:"cert_hosts,omitempty"`
	// AllowCIDRs, when not empty, are the only client addresses accepted.
	AllowCIDRs []string `json:"allow_cidrs,omitempty"`
	// RatePerMinute and Burst in BurstWindowSeconds bound the requests
	// the gateway's endpoint accepts (defaults 100, 10 in 10).
	RatePerMinute      int `json:"rate_per_minute"`
	Burst              int `json:"burst"`
	BurstWindowSeconds int `json:"burst_window_seconds"`
	// Mapping says where the generic gateway's fields are.
	Mapping *Mapping `json:"mapping,omitempty"`
	// Rules replace DefaultRules when not empty.
	Rules []Rule `json:"rules,omitempty"`
	// Enabled: a disabled gateway refuses every delivery (404).
	Enabled   bool      `json:"enabled"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`

	allow []netip.Prefix
}

// Default network limits of a gateway: the seed's "100 requests per
// minute per gateway, bursts of up to 10 requests in 10 seconds".
const (
	DefaultRatePerMinute = 100
	DefaultBurst         = 10
	DefaultBurstWindow   = 10
)

// GatewayInput is the body of PUT /v1/inbound/gateways/{gateway}. A
// Secret left empty keeps the one configured.
type GatewayInput struct {
	Secret             string   `json:"secret"`
	WebhookID          string   `json:"webhook_id"`
	CertHosts          []string `json:"cert_hosts"`
	AllowCIDRs         []string `json:"allow_cidrs"`
	RatePerMinute      int      `json:"rate_per_minute"`
	Burst              int      `json:"burst"`
	BurstWindowSeconds int      `json:"burst_window_seconds"`
	Mapping            *Mapping `json:"mapping"`
	Rules              []Rule   `json:"rules"`
	Enabled            *bool    `json:"enabled"`
}

// build checks in against the gateway's needs and returns the settings
// it makes, keeping prev's secret when in has none; self is a gateway
// whose credentials are kept elsewhere (SelfConfigured), which takes no
// secret. Returns EInvalid.
func (in *GatewayInput) build(name string, prev *Gateway, now time.Time, self bool) (*Gateway, error) {
	g := &Gateway{Name: name, Secret: in.Secret, WebhookID: in.WebhookID, CertHosts: in.CertHosts,
		AllowCIDRs: in.AllowCIDRs, RatePerMinute: in.RatePerMinute, Burst: in.Burst, BurstWindowSeconds: in.BurstWindowSeconds,
		Mapping: in.Mapping, Rules: in.Rules, Enabled: true, CreatedAt: now, UpdatedAt: now}
	if in.Enabled != nil {
		g.Enabled = *in.Enabled
	}
	if prev != nil {
		g.CreatedAt = prev.CreatedAt
		if g.Secret == "" {
			g.Secret = prev.Secret
		}
	}
	if err := walletd.CheckText("secret", g.Secret, 1024, false); err != nil {
		return nil, err
	}
	switch {
	case self:
		if g.Secret != "" || g.WebhookID != "" || len(g.CertHosts) > 0 {
			return nil, walletd.Errorf(walletd.EInvalid, "%s keeps its credentials in its own settings: give no secret, webhook_id or cert_hosts.", name)
		}
	case name == "paypal":
		if in.Secret != "" {
			return nil, walletd.Errorf(walletd.EInvalid, "PayPal signs with its certificates: give webhook_id, not a secret.")
		} else if err := walletd.CheckText("webhook_id", g.WebhookID, 128, true); err != nil {
			return nil, err
		}
		for _, h := range g.CertHosts {
			if h == "" || len(h) > 253 || strings.ContainsAny(h, "/:@ ") {
				return nil, walletd.Errorf(walletd.EInvalid, "cert_hosts: %s is not a host name.", walletd.QuoteInput(h))
			}
		}
	default:
		if g.Secret == "" {
			return nil, walletd.Errorf(walletd.EInvalid, "secret is required for %s.", name)
		} else if len(g.Secret) < 16 {
			return nil, walletd.Errorf(walletd.EInvalid, "secret must be at least 16 characters.")
		} else if g.WebhookID != "" || len(g.CertHosts) > 0 {
			return nil, walletd.Errorf(walletd.EInvalid, "webhook_id and cert_hosts are PayPal's settings.")
		}
	}
	if g.Mapping != nil && name != "generic" {
		return nil, walletd.Errorf(walletd.EInvalid, "mapping is the generic gateway's setting.")
	}
	if g.Mapping != nil {
		if err := g.Mapping.check(); err != nil {
			return nil, err
		}
	}
	if len(g.AllowCIDRs) > 100 {
		return nil, walletd.Errorf(walletd.EInvalid, "allow_cidrs: at most 100.")
	}
	if err := g.parse(); err != nil {
		return nil, err
	}
	for _, v := range []struct {
		name       string
		n, def, mx int
		p          *int
	}{
		{"rate_per_minute", g.RatePerMinute, DefaultRatePerMinute, 100000, &g.RatePerMinute},
		{"burst", g.Burst, DefaultBurst, 100000, &g.Burst},
		{"burst_window_seconds", g.BurstWindowSeconds, DefaultBurstWindow, 3600, &g.BurstWindowSeconds},
	} {
		if v.n < 0 || v.n > v.mx {
			return nil, walletd.Errorf(walletd.EInvalid, "%s must be between 1 and %d.", v.name, v.mx)
		} else if v.n == 0 {
			*v.p = v.def
		}
	}
	if len(g.Rules) > 50 {
		return nil, walletd.Errorf(walletd.EInvalid, "rules: at most 50.")
	}
	for i := range g.Rules {
		if err := g.Rules[i].check(); err != nil {
			return nil, walletd.Errorf(walletd.EInvalid, "rules[%d]: %s", i, walletd.ErrorMessage(err))
		}
	}
	return g, nil
}

// parse parses the allowlist.
func (g *Gateway) parse() error {
	g.allow = g.allow[:0]
	for _, c := range g.AllowCIDRs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			a, aerr := netip.ParseAddr(c)
			if aerr != nil {
				return walletd.Errorf(walletd.EInvalid, "allow_cidrs: %s is not a CIDR or an address.", walletd.QuoteInput(c))
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		g.allow = append(g.allow, p.Masked())
	}
	return nil
}

// allows says whether ip may deliver to the gateway.
func (g *Gateway) allows(ip netip.Addr) bool {
	if len(g.allow) == 0 {
		return true
	}
	ip = ip.Unmap()
	return slices.ContainsFunc(g.allow, func(p netip.Prefix) bool { return p.Contains(ip) })
}

// rules returns the gateway's rules, or the defaults.
func (g *Gateway) rules() []Rule {
	if len(g.Rules) > 0 {
		return g.Rules
	}
	return DefaultRules
}

// Mapping says where the generic gateway finds its fields: each is a
// dot-separated path into the JSON body ("data.order.id").
type Mapping struct {
	// Event is the event type's field (default "event").
	Event string `json:"event"`
	// ID is the event id's field; "" deduplicates on the body's SHA-256.
	ID string `json:"id,omitempty"`
	// OrderReference is the order's field (default "order_reference").
	OrderReference string `json:"order_reference"`
	// TopupReference is the top-up's field (none by default).
	TopupReference string `json:"topup_reference,omitempty"`
	// Amount (major units, a decimal string or number) and Currency
	// fields (defaults "amount", "currency").
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
	// PaymentReference is the payment's reference field; "" uses the
	// event id.
	PaymentReference string `json:"payment_reference,omitempty"`
	// Events maps the event field's values to universal kinds (default
	// DefaultGenericEvents).
	Events map[string]string `json:"events,omitempty"`
}

// DefaultGenericEvents are the generic gateway's event values when the
// mapping names none.
var DefaultGenericEvents = map[string]string{
	"payment.completed": KindSucceeded,
	"payment.succeeded": KindSucceeded,
	"payment.failed":    KindFailed,
	"payment.refunded":  KindRefunded,
}

// DefaultMapping is the generic gateway's mapping when none is set: the
// seed's example fields.
var DefaultMapping = Mapping{Event: "event", OrderReference: "order_reference", Amount: "amount", Currency: "currency"}

func (m *Mapping) check() error {
	for _, f := range []struct{ name, v string }{{"event", m.Event}, {"id", m.ID}, {"order_reference", m.OrderReference},
		{"topup_reference", m.TopupReference}, {"amount", m.Amount}, {"currency", m.Currency}, {"payment_reference", m.PaymentReference}} {
		if len(f.v) > 200 || strings.Contains(f.v, "..") || strings.HasPrefix(f.v, ".") || strings.HasSuffix(f.v, ".") {
			return walletd.Errorf(walletd.EInvalid, "mapping.%s: %s is not a field path.", f.name, walletd.QuoteInput(f.v))
		}
	}
	if len(m.Events) > 100 {
		return walletd.Errorf(walletd.EInvalid, "mapping.events: at most 100.")
	}
	for k, v := range m.Events {
		if k == "" || len(k) > 200 || !slices.Contains(Kinds, v) {
			return walletd.Errorf(walletd.EInvalid, "mapping.events: %s must map to one of %s.", walletd.QuoteInput(k), strings.Join(Kinds, ", "))
		}
	}
	return nil
}

// withDefaults returns m with the default of every field left empty.
func (m *Mapping) withDefaults() Mapping {
	out := DefaultMapping
	if m == nil {
		out.Events = DefaultGenericEvents
		return out
	}
	out.ID, out.TopupReference, out.PaymentReference = m.ID, m.TopupReference, m.PaymentReference
	if m.Event != "" {
		out.Event = m.Event
	}
	if m.OrderReference != "" {
		out.OrderReference = m.OrderReference
	}
	if m.Amount != "" {
		out.Amount = m.Amount
	}
	if m.Currency != "" {
		out.Currency = m.Currency
	}
	out.Events = m.Events
	if len(out.Events) == 0 {
		out.Events = DefaultGenericEvents
	}
	return out
}

// checkGatewayName refuses a name no adapter serves. Returns ENotFound.
func checkGatewayName(adapters map[string]Adapter, name string) (Adapter, error) {
	a, ok := adapters[name]
	if !ok {
		return nil, walletd.Errorf(walletd.ENotFound, "No gateway %s: the gateways are %s.", walletd.QuoteInput(name), strings.Join(sortedKeys(adapters), ", "))
	}
	return a, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
