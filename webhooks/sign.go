package webhooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/walletd/walletd"
)

// Header names.
const (
	HeaderWalletProSignature = "X-WalletPro-Signature"
	HeaderWalletProEvent     = "X-WalletPro-Event"
	HeaderWalletProDelivery  = "X-WalletPro-Delivery"

	HeaderStandardID        = "webhook-id"
	HeaderStandardTimestamp = "webhook-timestamp"
	HeaderStandardSignature = "webhook-signature"

	HeaderWCSource     = "X-WC-Webhook-Source"
	HeaderWCTopic      = "X-WC-Webhook-Topic"
	HeaderWCResource   = "X-WC-Webhook-Resource"
	HeaderWCEvent      = "X-WC-Webhook-Event"
	HeaderWCSignature  = "X-WC-Webhook-Signature"
	HeaderWCID         = "X-WC-Webhook-ID"
	HeaderWCDeliveryID = "X-WC-Webhook-Delivery-ID"
)

// UserAgent is sent with every delivery.
const UserAgent = "walletd-webhooks/1"

// SecretPrefix starts every generated secret (the Standard Webhooks form:
// "whsec_" + base64 of 32 random bytes). The walletpro and woocommerce
// formats use the whole string, prefix included, as the HMAC key, exactly
// as a receiver pastes it; the standard format uses the decoded bytes.
const SecretPrefix = "whsec_"

// NewSecret returns a fresh random secret.
func NewSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// validateSecret checks a caller's own secret for format. Returns EInvalid.
func validateSecret(format, s string) error {
	if len(s) < 16 || len(s) > 256 {
		return walletd.Errorf(walletd.EInvalid, "secret must be 16 to 256 characters.")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= 0x20 || c >= 0x7f {
			return walletd.Errorf(walletd.EInvalid, "secret must be printable ASCII without spaces.")
		}
	}
	if format == FormatStandard {
		if _, err := standardKey(s); err != nil {
			return walletd.Errorf(walletd.EInvalid, "The standard format needs a secret of the form whsec_<base64 of 24 to 64 bytes>.")
		}
	}
	return nil
}

// standardKey decodes a Standard Webhooks secret, "whsec_" + base64.
func standardKey(secret string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil {
		return nil, err
	}
	if len(b) < 24 || len(b) > 64 {
		return nil, walletd.Errorf(walletd.EInvalid, "key length %d", len(b))
	}
	return b, nil
}

// SignWalletPro returns the X-WalletPro-Signature value for body sent at
// unix time t: "t=<t>,v1=<hex HMAC-SHA256(secret, "{t}.{body}")>".
func SignWalletPro(secret string, t int64, body []byte) string {
	ts := strconv.FormatInt(t, 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// SignStandard returns one Standard Webhooks signature,
// "v1,<base64 HMAC-SHA256(key, "{id}.{t}.{body}")>", with the key decoded
// from a whsec_ secret.
func SignStandard(secret, id string, t int64, body []byte) (string, error) {
	key, err := standardKey(secret)
	if err != nil {
		return "", err
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(strconv.FormatInt(t, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil)), nil
}

// SignWooCommerce returns X-WC-Webhook-Signature: base64 of
// HMAC-SHA256(secret, body).
func SignWooCommerce(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// signingKeys are the secrets an endpoint signs with now.
type signingKeys struct {
	current  string
	previous string    // "" when none
	until    time.Time // previous signs until then
	err      error     // the stored secret could not be opened
}

// newRequest builds the POST of delivery d to endpoint ep at time now,
// signed in the endpoint's format.
func newRequest(ctx context.Context, ep *endpointRecord, d *job, siteURL string, now time.Time) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(d.payload))
	if err != nil {
		return nil, err
	}
	h := req.Header
	h.Set("Content-Type", d.contentType)
	h.Set("User-Agent", UserAgent)
	t := now.Unix()
	switch ep.Format {
	case FormatStandard:
		h.Set(HeaderStandardID, d.eventID)
		h.Set(HeaderStandardTimestamp, strconv.FormatInt(t, 10))
		sig, err := SignStandard(ep.keys.current, d.eventID, t, d.payload)
		if err != nil {
			return nil, err
		}
		if ep.keys.previous != "" && now.Before(ep.keys.until) {
			if prev, err := SignStandard(ep.keys.previous, d.eventID, t, d.payload); err == nil {
				sig += " " + prev
			}
		}
		h.Set(HeaderStandardSignature, sig)
	case FormatWooCommerce:
		if d.kind == KindPing {
			break // WooCommerce pings with a bare form body and no signature
		}
		resource, event := topic(d.event)
		h.Set(HeaderWCSource, strings.TrimSuffix(siteURL, "/")+"/")
		h.Set(HeaderWCTopic, d.event)
		h.Set(HeaderWCResource, resource)
		h.Set(HeaderWCEvent, event)
		h.Set(HeaderWCSignature, SignWooCommerce(ep.keys.current, d.payload))
		// WooCommerce's webhook id is an integer; its delivery id is a
		// hash string (wp_hash), so walletd's whd_ id stands in for it.
		h.Set(HeaderWCID, strconv.FormatInt(ep.NumericID, 10))
		h.Set(HeaderWCDeliveryID, d.id)
	default:
		h.Set(HeaderWalletProSignature, SignWalletPro(ep.keys.current, t, d.payload))
		h.Set(HeaderWalletProEvent, d.event)
		h.Set(HeaderWalletProDelivery, d.id)
	}
	return req, nil
}
