package inbound_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"hash/crc32"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/webhooks/inbound"
)

// paypalFake is a test CA, PayPal's signing certificate issued by it, and
// a local TLS server serving the certificate (PEM, leaf then CA) as
// PayPal's cert URL does.
type paypalFake struct {
	ca      *x509.Certificate
	key     *rsa.PrivateKey
	srv     *httptest.Server
	fetches atomic.Int64
	host    string
}

func newPayPalFake(t *testing.T) *paypalFake {
	t.Helper()
	caKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	caTpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test PayPal CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTpl, caTpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	leafTpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "messageverificationcerts.paypal.com"},
		DNSNames: []string{"messageverificationcerts.paypal.com"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	chain := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})...)
	f := &paypalFake{ca: ca, key: key}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.fetches.Add(1)
		if r.URL.Path != "/v1/notifications/certs/CERT-360caa42-fca2a594-test" {
			http.NotFound(w, r)
			return
		}
		w.Write(chain)
	}))
	t.Cleanup(f.srv.Close)
	u, _ := url.Parse(f.srv.URL)
	f.host = u.Hostname()
	return f
}

func (f *paypalFake) certURL() string {
	return f.srv.URL + "/v1/notifications/certs/CERT-360caa42-fca2a594-test"
}

// sign returns PayPal's transmission headers for body.
func (f *paypalFake) sign(body []byte, webhookID, certURL string, at time.Time) http.Header {
	id := "b2384410-f8d2-11e8-9ca4-" + strconv.FormatInt(at.UnixNano()%1e12, 10)
	ts := at.UTC().Format(time.RFC3339)
	msg := id + "|" + ts + "|" + webhookID + "|" + strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10)
	sum := sha256.Sum256([]byte(msg))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, f.key, crypto.SHA256, sum[:])
	h := http.Header{}
	h.Set("PAYPAL-TRANSMISSION-ID", id)
	h.Set("PAYPAL-TRANSMISSION-TIME", ts)
	h.Set("PAYPAL-TRANSMISSION-SIG", base64.StdEncoding.EncodeToString(sig))
	h.Set("PAYPAL-CERT-URL", certURL)
	h.Set("PAYPAL-AUTH-ALGO", "SHA256withRSA")
	return h
}

func saleCompleted(id, custom, total, currency string) []byte {
	return []byte(`{"id":"` + id + `","event_version":"1.0","create_time":"2026-01-15T14:30:25Z","resource_type":"sale","event_type":"PAYMENT.SALE.COMPLETED",` +
		`"summary":"Payment completed","resource":{"id":"PAY-` + id + `","state":"completed","custom":"` + custom + `","amount":{"total":"` + total + `","currency":"` + currency + `"}}}`)
}

func TestPayPal_Verify(t *testing.T) {
	f := newPayPalFake(t)
	roots := x509.NewCertPool()
	roots.AddCert(f.ca)
	e := newEnvWith(t, inbound.AdapterOptions{HTTPClient: f.srv.Client(), PayPal: inbound.PayPalOptions{Roots: roots}})
	const webhookID = "8PT597110X687430LKGECATA"
	e.configure(t, "paypal", inbound.GatewayInput{WebhookID: webhookID, CertHosts: []string{f.host}})
	id := e.order(t, "29.99", "USD", false)
	body := saleCompleted("WH-1", "order_"+itoa(id), "29.99", "USD")
	now := time.Now()

	otherCA := newPayPalFake(t) // a chain that does not lead to the trusted root
	for _, c := range []struct {
		name string
		h    http.Header
		body []byte
	}{
		{"WrongWebhookID", f.sign(body, "OTHER", f.certURL(), now), body},
		{"TamperedBody", f.sign(body, webhookID, f.certURL(), now), saleCompleted("WH-1", "order_"+itoa(id), "0.01", "USD")},
		{"Stale", f.sign(body, webhookID, f.certURL(), now.Add(-11*time.Minute)), body},
		{"HostNotAllowed", f.sign(body, webhookID, "https://evil.example.com/cert.pem", now), body},
		{"PlainHTTP", f.sign(body, webhookID, "http://"+f.host+"/cert.pem", now), body},
		{"UntrustedChain", otherCA.sign(body, webhookID, otherCA.certURL(), now), body},
		{"NoHeaders", http.Header{}, body},
		{"BadAlgo", func() http.Header {
			h := f.sign(body, webhookID, f.certURL(), now)
			h.Set("PAYPAL-AUTH-ALGO", "SHA1withRSA")
			return h
		}(), body},
		{"BadSigEncoding", func() http.Header {
			h := f.sign(body, webhookID, f.certURL(), now)
			h.Set("PAYPAL-TRANSMISSION-SIG", "!!!")
			return h
		}(), body},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.deliver("paypal", c.h, c.body)
			if r.Status != http.StatusUnauthorized || r.Code != "invalid_signature" {
				t.Fatalf("%d %+v", r.Status, r)
			}
			if o := e.orderStatus(t, id); o.Status != walletd.OrderPending {
				t.Fatalf("order %s", o.Status)
			}
		})
	}
	t.Run("Signed", func(t *testing.T) {
		before := f.fetches.Load()
		r := e.deliver("paypal", f.sign(body, webhookID, f.certURL(), now), body)
		if r.Status != http.StatusOK {
			t.Fatalf("%d %+v", r.Status, r)
		}
		o := e.orderStatus(t, id)
		if o.Status != walletd.OrderProcessing || o.PaymentMethod != walletd.PayPayPal || o.TransactionID != "PAY-WH-1" {
			t.Fatalf("order %+v", o)
		}
		// A second delivery reuses the cached certificate.
		id2 := e.order(t, "5.00", "USD", false)
		body2 := saleCompleted("WH-2", "order_"+itoa(id2), "5.00", "USD")
		if r := e.deliver("paypal", f.sign(body2, webhookID, f.certURL(), now), body2); r.Status != http.StatusOK {
			t.Fatalf("%d %+v", r.Status, r)
		}
		if n := f.fetches.Load() - before; n > 1 {
			t.Fatalf("%d certificate fetches", n)
		}
	})
	t.Run("Topup", func(t *testing.T) {
		_, top := e.topup(t, "pete", "USD", "12.00")
		b := saleCompleted("WH-TOP", "topup_"+top, "12.00", "USD")
		if r := e.deliver("paypal", f.sign(b, webhookID, f.certURL(), now), b); r.Status != http.StatusOK {
			t.Fatalf("%d %+v", r.Status, r)
		}
		if tp := e.topupStatus(t, top); tp.Status != walletd.StatusCompleted {
			t.Fatalf("top-up %+v", tp)
		}
	})
	t.Run("CaptureRefunded", func(t *testing.T) {
		b := []byte(`{"id":"WH-3","event_type":"PAYMENT.CAPTURE.REFUNDED","resource_type":"refund","resource":{"id":"RF1","status":"COMPLETED",` +
			`"custom_id":"order_` + itoa(id) + `","amount":{"value":"29.99","currency_code":"USD"}}}`)
		if r := e.deliver("paypal", f.sign(b, webhookID, f.certURL(), now), b); r.Status != http.StatusOK {
			t.Fatalf("%d %+v", r.Status, r)
		}
		if o := e.orderStatus(t, id); o.Status != walletd.OrderRefunded {
			t.Fatalf("order %s", o.Status)
		}
	})
	t.Run("CheckoutOrderApproved", func(t *testing.T) {
		oid := e.order(t, "7.50", "EUR", false)
		b := []byte(`{"id":"WH-4","event_type":"CHECKOUT.ORDER.APPROVED","resource_type":"checkout-order","resource":{"id":"5O190127TN364715T","status":"APPROVED",` +
			`"purchase_units":[{"reference_id":"default","custom_id":"order_` + itoa(oid) + `","amount":{"currency_code":"EUR","value":"7.50"}}]}}`)
		if r := e.deliver("paypal", f.sign(b, webhookID, f.certURL(), now), b); r.Status != http.StatusOK {
			t.Fatalf("%d %+v", r.Status, r)
		}
		// Its capture is the same payment: nothing more happens.
		c := []byte(`{"id":"WH-5","event_type":"PAYMENT.CAPTURE.COMPLETED","resource_type":"capture","resource":{"id":"CAP1","status":"COMPLETED",` +
			`"custom_id":"order_` + itoa(oid) + `","amount":{"currency_code":"EUR","value":"7.50"},"supplementary_data":{"related_ids":{"order_id":"5O190127TN364715T"}}}}`)
		if r := e.deliver("paypal", f.sign(c, webhookID, f.certURL(), now), c); r.Status != http.StatusOK {
			t.Fatalf("%d %+v", r.Status, r)
		}
		if o := e.orderStatus(t, oid); o.Status != walletd.OrderProcessing || len(o.Payments) != 1 {
			t.Fatalf("order %+v", o)
		}
	})
}
