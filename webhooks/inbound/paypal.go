package inbound

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/walletd/walletd"
)

// PayPal, verified offline: RSA PKCS#1 v1.5 SHA-256 over
// "transmission_id|transmission_time|webhook_id|crc32(raw body)" (the
// CRC32 as an unsigned decimal, webhook_id ours) with the certificate at
// PAYPAL-CERT-URL, which must be https on one of the gateway's cert hosts,
// chain to a trusted root and be valid for PayPal's signing name.

// DefaultPayPalCertHosts are the hosts PayPal serves its certificates
// from.
var DefaultPayPalCertHosts = []string{"api.paypal.com", "api-m.paypal.com", "api.sandbox.paypal.com", "api-m.sandbox.paypal.com"}

// PayPalOptions configure PayPal's certificate checks.
type PayPalOptions struct {
	// Roots are the trusted roots of the certificate chains (nil: the
	// system's).
	Roots *x509.CertPool
	// CertName is the DNS name the signing certificate must be valid for
	// (default "messageverificationcerts.paypal.com").
	CertName string
	// Window bounds how far transmission_time may be from now (default
	// 10 min): PayPal documents none.
	Window time.Duration
}

func init() {
	RegisterAdapter(walletd.PayPayPal, func(o AdapterOptions) Adapter {
		p := &paypalAdapter{opts: o.PayPal, client: o.HTTPClient, currencies: o.Currencies, certs: map[string]*cachedCert{}}
		if p.opts.CertName == "" {
			p.opts.CertName = "messageverificationcerts.paypal.com"
		}
		if p.opts.Window <= 0 {
			p.opts.Window = 10 * time.Minute
		}
		return p
	})
}

type paypalAdapter struct {
	opts       PayPalOptions
	client     *http.Client
	currencies *walletd.Currencies
	mu         sync.Mutex
	certs      map[string]*cachedCert // by URL
}

type cachedCert struct {
	chain   []*x509.Certificate
	fetched time.Time
}

var _ Adapter = (*paypalAdapter)(nil)

func (*paypalAdapter) Name() string { return walletd.PayPayPal }

func (*paypalAdapter) Events() []string {
	return []string{"PAYMENT.SALE.COMPLETED", "PAYMENT.SALE.REFUNDED", "PAYMENT.SALE.DENIED", "CHECKOUT.ORDER.APPROVED",
		"PAYMENT.CAPTURE.COMPLETED", "PAYMENT.CAPTURE.DENIED", "PAYMENT.CAPTURE.REFUNDED"}
}

// paypalHeaders are the transmission headers, parsed.
type paypalHeaders struct {
	id, timeText string
	at           time.Time
	sig          []byte
	certURL      *url.URL
}

// parsePayPalHeaders reads and checks the transmission headers against
// the cert hosts allowed.
func parsePayPalHeaders(h http.Header, hosts []string) (*paypalHeaders, error) {
	p := &paypalHeaders{id: h.Get("PAYPAL-TRANSMISSION-ID"), timeText: h.Get("PAYPAL-TRANSMISSION-TIME")}
	if p.id == "" || len(p.id) > 128 || strings.Contains(p.id, "|") {
		return nil, fmt.Errorf("%w: PAYPAL-TRANSMISSION-ID", ErrSignature)
	}
	at, err := time.Parse(time.RFC3339Nano, p.timeText)
	if err != nil || strings.Contains(p.timeText, "|") {
		return nil, fmt.Errorf("%w: PAYPAL-TRANSMISSION-TIME", ErrSignature)
	}
	p.at = at
	if algo := h.Get("PAYPAL-AUTH-ALGO"); algo != "SHA256withRSA" {
		return nil, fmt.Errorf("%w: PAYPAL-AUTH-ALGO must be SHA256withRSA", ErrSignature)
	}
	sig := h.Get("PAYPAL-TRANSMISSION-SIG")
	if p.sig, err = base64.StdEncoding.DecodeString(sig); err != nil || len(p.sig) == 0 || len(p.sig) > 1024 {
		return nil, fmt.Errorf("%w: PAYPAL-TRANSMISSION-SIG", ErrSignature)
	}
	raw := h.Get("PAYPAL-CERT-URL")
	u, err := url.Parse(raw)
	if err != nil || len(raw) > 2048 || u.Scheme != "https" || u.User != nil || !slices.Contains(hosts, strings.ToLower(u.Hostname())) {
		return nil, fmt.Errorf("%w: PAYPAL-CERT-URL is not on an allowed host", ErrSignature)
	}
	p.certURL = u
	return p, nil
}

// paypalMessage is the signed string.
func paypalMessage(id, at, webhookID string, body []byte) string {
	return id + "|" + at + "|" + webhookID + "|" + strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10)
}

// Verify checks the transmission signature with PayPal's certificate.
func (a *paypalAdapter) Verify(ctx context.Context, g *Gateway, h http.Header, body []byte, now time.Time) error {
	if g.WebhookID == "" {
		return fmt.Errorf("%w: no webhook_id configured", ErrSignature)
	}
	hosts := g.CertHosts
	if len(hosts) == 0 {
		hosts = DefaultPayPalCertHosts
	}
	ph, err := parsePayPalHeaders(h, hosts)
	if err != nil {
		return err
	}
	if d := now.Sub(ph.at); d > a.opts.Window || d < -a.opts.Window {
		return fmt.Errorf("%w: transmission time outside the %s window", ErrSignature, a.opts.Window)
	}
	chain, err := a.cert(ctx, ph.certURL.String(), now)
	if err != nil {
		return err
	}
	pub, ok := chain[0].PublicKey.(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("%w: the certificate's key is not RSA", ErrSignature)
	}
	sum := sha256.Sum256([]byte(paypalMessage(ph.id, ph.timeText, g.WebhookID, body)))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], ph.sig); err != nil {
		return fmt.Errorf("%w: signature does not verify", ErrSignature)
	}
	return nil
}

// cert returns the certificate chain at u, checked, from the cache or
// fetched.
func (a *paypalAdapter) cert(ctx context.Context, u string, now time.Time) ([]*x509.Certificate, error) {
	a.mu.Lock()
	c, ok := a.certs[u]
	a.mu.Unlock()
	if !ok || now.After(c.chain[0].NotAfter) || now.Sub(c.fetched) > 24*time.Hour {
		chain, err := a.fetch(ctx, u)
		if err != nil {
			return nil, err
		}
		c = &cachedCert{chain: chain, fetched: now}
	}
	leaf := c.chain[0]
	inter := x509.NewCertPool()
	for _, x := range c.chain[1:] {
		inter.AddCert(x)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: a.opts.Roots, Intermediates: inter, CurrentTime: now,
		DNSName: a.opts.CertName, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return nil, fmt.Errorf("%w: certificate: %w", ErrSignature, err)
	}
	a.mu.Lock()
	if len(a.certs) >= 64 {
		clear(a.certs)
	}
	a.certs[u] = c
	a.mu.Unlock()
	return c.chain, nil
}

// fetch downloads a PEM certificate chain (leaf first).
func (a *paypalAdapter) fetch(ctx context.Context, u string) ([]*x509.Certificate, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: certificate url", ErrSignature)
	}
	res, err := a.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: fetch certificate: %w", ErrUnavailable, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: fetch certificate: status %d", ErrSignature, res.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("%w: fetch certificate: %w", ErrUnavailable, err)
	}
	var chain []*x509.Certificate
	for len(chain) < 10 {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: certificate: %w", ErrSignature, err)
		}
		chain = append(chain, c)
	}
	if len(chain) == 0 {
		return nil, fmt.Errorf("%w: no certificate at the cert url", ErrSignature)
	}
	return chain, nil
}

// paypalEvent is the part of PayPal's webhook event walletd reads.
type paypalEvent struct {
	ID           string          `json:"id"`
	EventType    string          `json:"event_type"`
	ResourceType string          `json:"resource_type"`
	Resource     *paypalResource `json:"resource"`
}

type paypalAmount struct {
	Total        string `json:"total"`         // v1 sales
	Currency     string `json:"currency"`      // v1 sales
	Value        string `json:"value"`         // v2
	CurrencyCode string `json:"currency_code"` // v2
}

type paypalResource struct {
	ID            string        `json:"id"`
	State         string        `json:"state"`
	Status        string        `json:"status"`
	Custom        string        `json:"custom"`
	CustomID      string        `json:"custom_id"`
	InvoiceNumber string        `json:"invoice_number"`
	InvoiceID     string        `json:"invoice_id"`
	SaleID        string        `json:"sale_id"`
	Amount        *paypalAmount `json:"amount"`
	PurchaseUnits []struct {
		ReferenceID string        `json:"reference_id"`
		CustomID    string        `json:"custom_id"`
		InvoiceID   string        `json:"invoice_id"`
		Amount      *paypalAmount `json:"amount"`
	} `json:"purchase_units"`
	SupplementaryData struct {
		RelatedIDs struct {
			OrderID string `json:"order_id"`
		} `json:"related_ids"`
	} `json:"supplementary_data"`
}

// Parse maps PayPal's event.
func (a *paypalAdapter) Parse(_ *Gateway, body []byte) (*Event, error) {
	var pe paypalEvent
	if err := json.Unmarshal(body, &pe); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrPayload, jsonProblem(err))
	}
	if pe.ID == "" || len(pe.ID) > 255 {
		return nil, fmt.Errorf("%w: id is required", ErrPayload)
	} else if pe.EventType == "" || len(pe.EventType) > 100 {
		return nil, fmt.Errorf("%w: event_type is required", ErrPayload)
	} else if pe.Resource == nil {
		return nil, fmt.Errorf("%w: resource is required", ErrPayload)
	}
	r := pe.Resource
	ev := &Event{ProviderID: pe.ID, Type: pe.EventType, PaymentRef: r.ID}
	amount, custom := r.Amount, firstOf(r.Custom, r.CustomID, r.InvoiceNumber, r.InvoiceID)
	switch pe.EventType {
	case "PAYMENT.SALE.COMPLETED":
		ev.Kind = KindSucceeded
	case "PAYMENT.SALE.DENIED", "PAYMENT.CAPTURE.DENIED":
		ev.Kind = KindFailed
	case "PAYMENT.SALE.REFUNDED":
		ev.Kind, ev.PaymentRef = KindRefunded, r.SaleID
	case "PAYMENT.CAPTURE.COMPLETED":
		ev.Kind = KindSucceeded
		if oid := r.SupplementaryData.RelatedIDs.OrderID; oid != "" {
			ev.PaymentRef = oid // the same payment as its CHECKOUT.ORDER.APPROVED
		}
	case "PAYMENT.CAPTURE.REFUNDED":
		ev.Kind = KindRefunded
	case "CHECKOUT.ORDER.APPROVED":
		ev.Kind = KindSucceeded
		if len(r.PurchaseUnits) > 0 {
			pu := r.PurchaseUnits[0]
			amount, custom = pu.Amount, firstOf(pu.CustomID, pu.InvoiceID, pu.ReferenceID)
		}
	default:
		return ev, nil
	}
	switch {
	case strings.HasPrefix(custom, "topup_"):
		ev.Target = Target{Type: TargetTopup, Ref: strings.TrimPrefix(custom, "topup_")}
	case custom != "":
		ev.Target = Target{Type: TargetOrder, Ref: orderRef(custom)}
	}
	if len(ev.Target.Ref) > 255 || len(ev.PaymentRef) > walletd.MaxReferenceLen {
		return nil, fmt.Errorf("%w: reference too long", ErrPayload)
	}
	if amount != nil {
		value, cur := firstOf(amount.Total, amount.Value), firstOf(amount.Currency, amount.CurrencyCode)
		if ev.Kind == KindRefunded {
			value = strings.TrimPrefix(value, "-") // refunds may be reported negative
		}
		var err error
		if ev.Amount, ev.Currency, err = majorAmount(value, cur, a.currencies); err != nil {
			return nil, err
		}
	}
	return ev, nil
}

func firstOf(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// Sample is a PAYMENT.SALE.COMPLETED for target (not signed: only PayPal
// holds its key).
func (*paypalAdapter) Sample(_ *Gateway, t Target, amount, currency, id string, now time.Time) ([]byte, error) {
	custom := "order_" + t.Ref
	if t.Type == TargetTopup {
		custom = "topup_" + t.Ref
	}
	return json.Marshal(map[string]any{
		"id": "WH-TEST-" + id, "event_version": "1.0", "create_time": now.UTC().Format(time.RFC3339), "resource_type": "sale",
		"event_type": "PAYMENT.SALE.COMPLETED", "summary": "Payment completed (test)",
		"resource": map[string]any{"id": "PAY-TEST-" + id, "state": "completed", "custom": custom,
			"amount": map[string]any{"total": amount, "currency": currency}},
	})
}
