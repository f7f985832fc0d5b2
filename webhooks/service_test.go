package webhooks_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/events"
	"github.com/walletd/walletd/walletdtest"
	"github.com/walletd/walletd/webhooks"
)

var wphID = regexp.MustCompile(`^wph_[0-9A-Za-z]{27}$`)

func TestService_CreateEndpoint(t *testing.T) {
	t.Parallel()
	t.Run("PingOnCreation", func(t *testing.T) {
		e := mustService(t)
		rc := newReceiver(t)
		ep, secret := e.create(t, walletd.WebhookEndpointInput{Name: "ERP sync", URL: rc.URL + "/hook"})
		if ep.Status != webhooks.StatusActive || ep.Format != webhooks.FormatWalletPro || ep.APIVersion != "v1" || len(ep.Events) != 0 {
			t.Fatalf("defaults: %+v", ep)
		}
		if !strings.HasPrefix(secret, "whsec_") || len(secret) < 40 {
			t.Fatalf("generated secret %q", secret)
		}
		got := rc.waitFor(t, "ping", 1)[0]
		if !got.verified(secret) {
			t.Fatalf("ping signature %q does not verify", got.Header.Get("X-WalletPro-Signature"))
		}
		env := got.env(t)
		if !wphID.MatchString(env.ID) || env.APIVersion != "v1" || env.SiteURL != siteURL || env.Test {
			t.Fatalf("ping envelope %+v", env)
		}
		if got.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("Content-Type %q", got.Header.Get("Content-Type"))
		}
		walletdtest.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
			as := e.attempts(t, ep.ID)
			if len(as) != 1 || as[0].Result != webhooks.ResultSucceeded || as[0].HTTPStatus != 200 || as[0].Attempt != 1 || as[0].Event != "ping" || as[0].EventID != env.ID {
				return fmt.Errorf("log %+v", as)
			}
			return nil
		})
	})
	t.Run("DisabledGetsNoPing", func(t *testing.T) {
		e := mustService(t)
		rc := newReceiver(t)
		ep, _ := e.create(t, walletd.WebhookEndpointInput{URL: rc.URL, Status: webhooks.StatusDisabled})
		if ds := e.deliveries(t, ep.ID, ""); len(ds) != 0 {
			t.Fatalf("a disabled endpoint queued %d deliveries", len(ds))
		}
	})
	t.Run("OwnSecret", func(t *testing.T) {
		e := mustService(t)
		rc := newReceiver(t)
		_, secret := e.create(t, walletd.WebhookEndpointInput{URL: rc.URL, Secret: "my-own-secret-value-1234"})
		if secret != "my-own-secret-value-1234" {
			t.Fatalf("secret %q", secret)
		}
		if !rc.waitFor(t, "ping", 1)[0].verified(secret) {
			t.Fatal("ping not signed with the given secret")
		}
	})
	t.Run("Invalid", func(t *testing.T) {
		e := mustService(t)
		for name, in := range map[string]walletd.WebhookEndpointInput{
			"NoURL":           {},
			"UnknownEvent":    {URL: "https://example.com/h", Events: []string{"wallet.nope"}},
			"BadStatus":       {URL: "https://example.com/h", Status: "suspended"},
			"BadFormat":       {URL: "https://example.com/h", Format: "xml"},
			"BadVersion":      {URL: "https://example.com/h", APIVersion: "v2"},
			"ShortSecret":     {URL: "https://example.com/h", Secret: "short"},
			"StandardSecret":  {URL: "https://example.com/h", Format: "standard", Secret: "not-a-whsec-secret-at-all"},
			"ControlsInName":  {URL: "https://example.com/h", Name: "a\x01b"},
			"CredentialsURL":  {URL: "https://user:pw@example.com/h"},
			"FragmentURL":     {URL: "https://example.com/h#x"},
			"PrivateLiteral":  {URL: "https://10.0.0.1/h"},
			"MetadataLiteral": {URL: "https://169.254.169.254/latest/meta-data"},
		} {
			t.Run(name, func(t *testing.T) {
				_, _, err := e.Svc.CreateEndpoint(context.Background(), in)
				if walletd.ErrorCode(err) != walletd.EInvalid {
					t.Fatalf("err %v, want %s", err, walletd.EInvalid)
				}
			})
		}
	})
}

func TestService_HTTPSOnly(t *testing.T) {
	t.Parallel()
	strict := mustService(t, func(s *webhooks.Service) { s.Allow = nil })
	for _, u := range []string{"http://example.com/hook", "http://127.0.0.1:8080/hook", "ftp://example.com/x", "//example.com/x", "example.com/x"} {
		if _, _, err := strict.Svc.CreateEndpoint(context.Background(), walletd.WebhookEndpointInput{URL: u}); walletd.ErrorCode(err) != walletd.EInvalid {
			t.Errorf("%s: err %v, want invalid_request", u, err)
		}
	}
	if _, _, err := strict.Svc.CreateEndpoint(context.Background(), walletd.WebhookEndpointInput{URL: "https://example.com/hook"}); err != nil {
		t.Fatalf("https: %v", err)
	}
	// With an allowlist, plain http is accepted for allowed addresses only.
	dev := mustService(t)
	if _, _, err := dev.Svc.CreateEndpoint(context.Background(), walletd.WebhookEndpointInput{URL: "http://127.0.0.1:9/hook", Status: "disabled"}); err != nil {
		t.Fatalf("http to an allowed address: %v", err)
	}
	if _, _, err := dev.Svc.CreateEndpoint(context.Background(), walletd.WebhookEndpointInput{URL: "http://10.1.2.3/hook"}); walletd.ErrorCode(err) != walletd.EInvalid {
		t.Fatalf("http to 10.1.2.3 with 127/8 allowed: %v", err)
	}
	// Updates are held to the same rule.
	ep, _ := strict.create(t, walletd.WebhookEndpointInput{URL: "https://example.com/a", Status: "disabled"})
	u := "http://example.com/b"
	if _, err := strict.Svc.UpdateEndpoint(context.Background(), ep.ID, walletd.WebhookEndpointUpdate{URL: &u}); walletd.ErrorCode(err) != walletd.EInvalid {
		t.Fatalf("update to http: %v", err)
	}
}

func TestService_AddressGuardAtConnect(t *testing.T) {
	t.Parallel()
	// No allowlist: a host name that resolves to loopback passes the save
	// check (https, a name) but the connection is refused.
	e := mustService(t, func(s *webhooks.Service) { s.Allow = nil })
	rc := newTLSReceiver(t)
	port := rc.Listener.Addr().(interface{ String() string }).String()
	port = port[strings.LastIndex(port, ":")+1:]
	ep, _ := e.create(t, walletd.WebhookEndpointInput{URL: "https://localhost:" + port + "/hook"})
	walletdtest.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		as := e.attempts(t, ep.ID)
		if len(as) != 1 {
			return fmt.Errorf("%d attempts", len(as))
		}
		if as[0].HTTPStatus != 0 || !strings.Contains(as[0].Error, "address guard") {
			return fmt.Errorf("attempt %+v", as[0])
		}
		return nil
	})
	if n := len(rc.requests()); n != 0 {
		t.Fatalf("the receiver on loopback got %d requests", n)
	}
}

func TestService_TLS(t *testing.T) {
	t.Parallel()
	rc := newTLSReceiver(t)
	pool := x509.NewCertPool()
	pool.AddCert(rc.Certificate())
	e := mustService(t, func(s *webhooks.Service) { s.TLSConfig = &tls.Config{RootCAs: pool} })
	ep, secret := e.create(t, walletd.WebhookEndpointInput{URL: rc.URL + "/hook"})
	if !strings.HasPrefix(ep.URL, "https://") {
		t.Fatal(ep.URL)
	}
	if !rc.waitFor(t, "ping", 1)[0].verified(secret) {
		t.Fatal("ping over https does not verify")
	}

	// Without trusting the certificate the attempt fails: invalid and
	// self-signed certificates are refused.
	e2 := mustService(t)
	ep2, _ := e2.create(t, walletd.WebhookEndpointInput{URL: rc.URL + "/other"})
	walletdtest.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		as := e2.attempts(t, ep2.ID)
		if len(as) != 1 || as[0].HTTPStatus != 0 || !strings.Contains(as[0].Error, "certificate") {
			return fmt.Errorf("log %+v", as)
		}
		return nil
	})
}

func TestService_SendTest(t *testing.T) {
	t.Parallel()
	e := mustService(t)
	rc := newReceiver(t)
	ep, secret := e.create(t, walletd.WebhookEndpointInput{URL: rc.URL})
	rc.waitFor(t, "ping", 1)
	for _, key := range webhooks.KnownEvents {
		d, err := e.Svc.SendTest(context.Background(), ep.ID, key)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if d.Kind != webhooks.KindTest || !d.Once || d.Event != key {
			t.Fatalf("delivery %+v", d)
		}
	}
	got := rc.waitFor(t, events.WalletCredited, 1)[0]
	env := got.env(t)
	if !env.Test || !wphID.MatchString(env.ID) || env.Event != events.WalletCredited || !got.verified(secret) {
		t.Fatalf("test envelope %+v, verified %v", env, got.verified(secret))
	}
	if !strings.Contains(string(got.Body), `"test":true`) {
		t.Fatalf("body lacks \"test\":true: %s", got.Body)
	}
	var data events.TransactionData
	if err := json.Unmarshal(env.Data, &data); err != nil || data.Amount == "" || data.Currency != "USD" || data.UserEmail == "" {
		t.Fatalf("synthetic data %s", env.Data)
	}
	rc.waitFor(t, "", 1+len(webhooks.KnownEvents))
	ids := map[string]bool{}
	for _, r := range rc.requests() {
		ids[r.env(t).ID] = true
	}
	if len(ids) != 1+len(webhooks.KnownEvents) {
		t.Fatalf("test events share ids: %d distinct of %d", len(ids), 1+len(webhooks.KnownEvents))
	}

	t.Run("UnknownEvent", func(t *testing.T) {
		if _, err := e.Svc.SendTest(context.Background(), ep.ID, "wallet.nope"); walletd.ErrorCode(err) != walletd.EInvalid {
			t.Fatal(err)
		}
	})
	t.Run("NotFound", func(t *testing.T) {
		if _, err := e.Svc.SendTest(context.Background(), "whe_nope", "wallet.credited"); walletd.ErrorCode(err) != walletd.ENotFound {
			t.Fatal(err)
		}
	})
	t.Run("DisabledEndpoint", func(t *testing.T) {
		st := webhooks.StatusDisabled
		if _, err := e.Svc.UpdateEndpoint(context.Background(), ep.ID, walletd.WebhookEndpointUpdate{Status: &st}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Svc.SendTest(context.Background(), ep.ID, "wallet.credited"); walletd.ErrorCode(err) != walletd.EConflict {
			t.Fatal(err)
		}
	})
	t.Run("FailedTestIsNotRetried", func(t *testing.T) {
		rc2 := newReceiver(t)
		rc2.setRespond(func(n int, r *http.Request) int { return 500 })
		ep2, _ := e.create(t, walletd.WebhookEndpointInput{URL: rc2.URL})
		d, err := e.Svc.SendTest(context.Background(), ep2.ID, "wallet.debited")
		if err != nil {
			t.Fatal(err)
		}
		walletdtest.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
			got, _ := e.Svc.Delivery(context.Background(), ep2.ID, d.ID)
			if got.State != webhooks.StateFailed || got.Attempts != 1 || got.LastStatus != 500 {
				return fmt.Errorf("delivery %+v", got)
			}
			return nil
		})
		time.Sleep(400 * time.Millisecond) // longer than the whole fast schedule
		if n := len(rc2.byEvent(t, "wallet.debited")); n != 1 {
			t.Fatalf("a failed test event was sent %d times", n)
		}
		if ep := e.endpoint(t, ep2.ID); ep.Status != webhooks.StatusActive {
			t.Fatalf("failed tests and pings suspended the endpoint: %s", ep.Status)
		}
	})
}

func TestService_RotateSecret(t *testing.T) {
	t.Parallel()
	t.Run("WalletProSignsWithTheNewKeyAtOnce", func(t *testing.T) {
		e := mustService(t)
		rc := newReceiver(t)
		ep, old := e.create(t, walletd.WebhookEndpointInput{URL: rc.URL})
		rc.waitFor(t, "ping", 1)
		_, secret, err := e.Svc.RotateSecret(context.Background(), ep.ID, walletd.WebhookRotateOptions{})
		if err != nil || secret == old || !strings.HasPrefix(secret, "whsec_") {
			t.Fatalf("rotate: %q %v", secret, err)
		}
		if _, err := e.Svc.SendTest(context.Background(), ep.ID, events.WalletCredited); err != nil {
			t.Fatal(err)
		}
		got := rc.waitFor(t, events.WalletCredited, 1)[0]
		if !got.verified(secret) || got.verified(old) {
			t.Fatalf("after rotation: new verifies %v, old verifies %v (header %q)", got.verified(secret), got.verified(old), got.Header.Get("X-WalletPro-Signature"))
		}
		if ep := e.endpoint(t, ep.ID); ep.SecretRotatedAt.IsZero() {
			t.Fatal("secret_rotated_at not set")
		}
	})
	t.Run("StandardSignsWithBothDuringGrace", func(t *testing.T) {
		e := mustService(t)
		rc := newReceiver(t)
		ep, old := e.create(t, walletd.WebhookEndpointInput{URL: rc.URL, Format: webhooks.FormatStandard})
		ping := rc.waitFor(t, "", 1)[0]
		if sigs := verifyStandard(t, ping, old); len(sigs) != 1 {
			t.Fatalf("ping: %d signatures verify", len(sigs))
		}
		_, secret, err := e.Svc.RotateSecret(context.Background(), ep.ID, walletd.WebhookRotateOptions{Grace: 300 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		e.Svc.SendTest(context.Background(), ep.ID, events.WalletCredited)
		got := rc.waitFor(t, "", 2)[1]
		parts := strings.Fields(got.Header.Get("webhook-signature"))
		if len(parts) != 2 || len(verifyStandard(t, got, secret)) != 1 || len(verifyStandard(t, got, old)) != 1 {
			t.Fatalf("during grace: %q", got.Header.Get("webhook-signature"))
		}
		time.Sleep(350 * time.Millisecond)
		e.Svc.SendTest(context.Background(), ep.ID, events.WalletDebited)
		got = rc.waitFor(t, "", 3)[2]
		if parts := strings.Fields(got.Header.Get("webhook-signature")); len(parts) != 1 || len(verifyStandard(t, got, secret)) != 1 {
			t.Fatalf("after grace: %q", got.Header.Get("webhook-signature"))
		}
	})
}

// verifyStandard checks Standard Webhooks signatures independently and
// returns those that verify with secret.
func verifyStandard(tb testing.TB, r *received, secret string) []string {
	tb.Helper()
	id, ts := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp")
	t, err := strconv.ParseInt(ts, 10, 64)
	if id == "" || err != nil || r.At.Unix()-t > 300 {
		tb.Fatalf("standard headers: id %q timestamp %q", id, ts)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		tb.Fatal(err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "." + string(r.Body)))
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	var ok []string
	for _, s := range strings.Fields(r.Header.Get("webhook-signature")) {
		if hmac.Equal([]byte(s), []byte(want)) {
			ok = append(ok, s)
		}
	}
	return ok
}

func TestService_WooCommerceFormat(t *testing.T) {
	t.Parallel()
	e := mustService(t)
	rc := newReceiver(t)
	ep, secret := e.create(t, walletd.WebhookEndpointInput{URL: rc.URL, Format: webhooks.FormatWooCommerce})
	ping := rc.waitFor(t, "", 1)[0]
	if ep.NumericID < 1 || string(ping.Body) != "webhook_id="+strconv.FormatInt(ep.NumericID, 10) ||
		ping.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || ping.Header.Get("X-WC-Webhook-Signature") != "" {
		t.Fatalf("WooCommerce ping: %q %v (numeric id %d)", ping.Body, ping.Header, ep.NumericID)
	}
	d, err := e.Svc.SendTest(context.Background(), ep.ID, webhooks.OrderUpdated)
	if err != nil {
		t.Fatal(err)
	}
	got := rc.waitFor(t, "", 2)[1]
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(got.Body)
	h := got.Header
	if h.Get("X-WC-Webhook-Signature") != base64.StdEncoding.EncodeToString(mac.Sum(nil)) {
		t.Fatalf("X-WC-Webhook-Signature %q", h.Get("X-WC-Webhook-Signature"))
	}
	want := map[string]string{"X-WC-Webhook-Topic": "order.updated", "X-WC-Webhook-Resource": "order", "X-WC-Webhook-Event": "updated",
		"X-WC-Webhook-Source": siteURL + "/", "X-WC-Webhook-ID": strconv.FormatInt(ep.NumericID, 10), "X-WC-Webhook-Delivery-ID": d.ID,
		"Content-Type": "application/json"}
	for k, v := range want {
		if h.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, h.Get(k), v)
		}
	}
	if order := checkWooOrder(t, got.Body); order["id"] != json.Number("1204") || order["status"] != "processing" {
		t.Fatalf("body is not the sample order: %s", got.Body)
	}
}

func TestService_ManualRetry(t *testing.T) {
	t.Parallel()
	n := mustNATS(t)
	e := mustService(t)
	rc := newReceiver(t)
	ep, secret := e.create(t, walletd.WebhookEndpointInput{URL: rc.URL, Events: []string{events.WalletCredited}})
	rc.waitFor(t, "ping", 1)
	startDispatcher(t, e.Svc, n)
	id, body := n.publish(t, events.WalletCredited, `{"amount":"25.00"}`)
	first := rc.waitFor(t, events.WalletCredited, 1)[0]
	var d *walletd.WebhookDelivery
	walletdtest.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		for _, x := range e.deliveries(t, ep.ID, webhooks.StateSucceeded) {
			if x.EventID == id {
				d = x
				return nil
			}
		}
		return fmt.Errorf("no succeeded delivery of %s", id)
	})
	if _, err := e.Svc.RetryDelivery(context.Background(), ep.ID, d.ID); err != nil {
		t.Fatal(err)
	}
	got := rc.waitFor(t, events.WalletCredited, 2)
	if string(got[1].Body) != string(body) || string(first.Body) != string(body) || got[1].env(t).ID != id || !got[1].verified(secret) {
		t.Fatalf("manual retry sent %s, want the original %s", got[1].Body, body)
	}
	walletdtest.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		as := e.attempts(t, ep.ID)
		if len(as) < 2 || !as[0].Manual || as[0].Attempt != 2 || as[0].DeliveryID != d.ID || as[0].EventID != id {
			return fmt.Errorf("log %+v", as[0])
		}
		return nil
	})
	t.Run("NotFound", func(t *testing.T) {
		if _, err := e.Svc.RetryDelivery(context.Background(), ep.ID, "whd_nope"); walletd.ErrorCode(err) != walletd.ENotFound {
			t.Fatal(err)
		}
	})
	t.Run("ThePayloadIsKept", func(t *testing.T) {
		got, err := e.Svc.Delivery(context.Background(), ep.ID, d.ID)
		if err != nil || string(got.Payload) != string(body) {
			t.Fatalf("payload %q, %v", got.Payload, err)
		}
	})
}

func TestService_LogKeepsTheLast100(t *testing.T) {
	t.Parallel()
	e := mustService(t)
	rc := newReceiver(t)
	ep, _ := e.create(t, walletd.WebhookEndpointInput{URL: rc.URL})
	var last *walletd.WebhookDelivery
	for i := 0; i < 130; i++ {
		d, err := e.Svc.SendTest(context.Background(), ep.ID, events.WalletCredited)
		if err != nil {
			t.Fatal(err)
		}
		last = d
	}
	rc.waitFor(t, "", 131)
	walletdtest.CheckFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		// Outcomes are committed in the order attempts end, not the order
		// of the deliveries: wait for every one.
		if n := len(e.deliveries(t, ep.ID, webhooks.StatePending)); n > 0 {
			return fmt.Errorf("%d deliveries pending", n)
		}
		as := e.attempts(t, ep.ID)
		if len(as) != webhooks.LogSize {
			return fmt.Errorf("log has %d rows", len(as))
		}
		found := false
		for _, a := range as {
			found = found || a.DeliveryID == last.ID
		}
		if !found {
			return fmt.Errorf("the newest attempt is not in the log")
		}
		return nil
	})
	// Bounded in the table, not just in the answer.
	var rows int
	if err := rawDB(t, e).QueryRow(`SELECT COUNT(*) FROM attempts WHERE endpoint_id = ?`, ep.ID).Scan(&rows); err != nil || rows != webhooks.LogSize {
		t.Fatalf("attempts table holds %d rows (%v)", rows, err)
	}
	t.Run("Retention", func(t *testing.T) {
		// Finished deliveries the log no longer shows go; the others stay.
		if n, err := webhooks.Prune(e.DB, time.Now().Add(-time.Hour)); err != nil || n != 0 {
			t.Fatalf("pruned %d recent deliveries (%v)", n, err)
		}
		n, err := webhooks.Prune(e.DB, time.Now().Add(time.Hour))
		if err != nil || n != 31 { // the ping and the 30 oldest tests
			t.Fatalf("pruned %d, want 31 (%v)", n, err)
		}
		if got := len(e.deliveries(t, ep.ID, "")); got != webhooks.LogSize {
			t.Fatalf("%d deliveries left, want %d", got, webhooks.LogSize)
		}
		if _, err := e.Svc.Delivery(context.Background(), ep.ID, last.ID); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("DeleteClearsTheLog", func(t *testing.T) {
		if err := e.Svc.DeleteEndpoint(context.Background(), ep.ID); err != nil {
			t.Fatal(err)
		}
		var n int
		rawDB(t, e).QueryRow(`SELECT (SELECT COUNT(*) FROM attempts) + (SELECT COUNT(*) FROM deliveries)`).Scan(&n)
		if n != 0 {
			t.Fatalf("%d log and delivery rows left", n)
		}
		if _, err := e.Svc.Endpoint(context.Background(), ep.ID); walletd.ErrorCode(err) != walletd.ENotFound {
			t.Fatal(err)
		}
		if err := e.Svc.DeleteEndpoint(context.Background(), ep.ID); walletd.ErrorCode(err) != walletd.ENotFound {
			t.Fatal(err)
		}
	})
}

func TestService_SecretsAtRest(t *testing.T) {
	t.Parallel()
	e := mustService(t)
	rc := newReceiver(t)
	ep, secret := e.create(t, walletd.WebhookEndpointInput{URL: rc.URL})
	rc.waitFor(t, "ping", 1)
	e.restart(t) // checkpoints the WAL into the file
	b, err := os.ReadFile(filepath.Join(e.dir, "webhooks.db"))
	if err != nil {
		t.Fatal(err)
	}
	wal, _ := os.ReadFile(filepath.Join(e.dir, "webhooks.db-wal"))
	if strings.Contains(string(b)+string(wal), secret) {
		t.Fatal("the secret is stored in clear")
	}
	if strings.Contains(e.logs.String(), secret) {
		t.Fatal("the secret is in the logs")
	}
	// Reopened with the same key, it signs as before.
	if _, err := e.Svc.SendTest(context.Background(), ep.ID, events.WalletCredited); err != nil {
		t.Fatal(err)
	}
	if !rc.waitFor(t, events.WalletCredited, 1)[0].verified(secret) {
		t.Fatal("after a restart the signature does not verify")
	}
	// With another key the secret cannot be opened: attempts fail, saying
	// so, and changing the endpoint keeps the stored secret.
	good := e.key
	e.key = make([]byte, 32)
	e.restart(t)
	name := "renamed"
	if _, err := e.Svc.UpdateEndpoint(context.Background(), ep.ID, walletd.WebhookEndpointUpdate{Name: &name}); err != nil {
		t.Fatal(err)
	}
	e.key = good
	e.restart(t)
	e.Svc.SendTest(context.Background(), ep.ID, events.WalletFrozen)
	if !rc.waitFor(t, events.WalletFrozen, 1)[0].verified(secret) {
		t.Fatal("an update under the wrong key lost the secret")
	}
	e.key = make([]byte, 32)
	e.restart(t)
	e.Svc.SendTest(context.Background(), ep.ID, events.WalletDebited)
	walletdtest.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		as := e.attempts(t, ep.ID)
		if !strings.Contains(as[0].Error, "rotate") {
			return fmt.Errorf("log %+v", as[0])
		}
		return nil
	})
	if _, s2, err := e.Svc.RotateSecret(context.Background(), ep.ID, walletd.WebhookRotateOptions{}); err != nil {
		t.Fatal(err)
	} else {
		e.Svc.SendTest(context.Background(), ep.ID, events.TopupCompleted)
		if !rc.waitFor(t, events.TopupCompleted, 1)[0].verified(s2) {
			t.Fatal("after rotating, the new secret does not verify")
		}
	}
}
