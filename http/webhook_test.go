package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walletd/walletd"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/walletd/walletd/events"
	whttp "github.com/walletd/walletd/http"
	"github.com/walletd/walletd/walletdtest"
	"github.com/walletd/walletd/webhooks"
)

// lockedBuffer is a goroutine-safe log sink.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// mustWebhookServer is mustServer with a webhooks service that may reach
// loopback over http, retrying once after 20 ms. Every log line goes to
// logs.
func mustWebhookServer(tb testing.TB) (*testServer, *webhooks.Service, *lockedBuffer) {
	tb.Helper()
	logs := &lockedBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	l := walletdtest.MustOpenLedger(tb, nil)
	k, token, err := walletd.NewAPIKey("admin", []string{walletd.ScopeAdmin}, time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	if err := l.DB.CreateAPIKey(context.Background(), k); err != nil {
		tb.Fatal(err)
	}
	db, err := webhooks.Open(context.Background(), filepath.Join(tb.TempDir(), "webhooks.db"), nil)
	if err != nil {
		tb.Fatal(err)
	}
	svc := &webhooks.Service{DB: db, SiteURL: "https://shop.example", Schedule: []time.Duration{20 * time.Millisecond},
		Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, Timeout: 2 * time.Second, Logger: logger}
	if err := svc.Open(); err != nil {
		tb.Fatal(err)
	}
	s := &whttp.Server{Addr: "127.0.0.1:0", Writer: l.Writer, Ledger: l.DB, APIKeys: l.DB, Logger: logger, Webhooks: svc}
	if err := s.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close(); svc.Close(); db.Close() })
	return &testServer{Server: s, L: l, Admin: token, URL: s.URL()}, svc, logs
}

// hookReceiver records request bodies and answers with status().
type hookReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	bodies [][]byte
	status int
}

func newHookReceiver(tb testing.TB) *hookReceiver {
	h := &hookReceiver{status: 200}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.bodies = append(h.bodies, b)
		st := h.status
		h.mu.Unlock()
		w.WriteHeader(st)
	}))
	tb.Cleanup(h.Close)
	return h
}

func (h *hookReceiver) setStatus(st int) { h.mu.Lock(); h.status = st; h.mu.Unlock() }

func (h *hookReceiver) got() [][]byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([][]byte(nil), h.bodies...)
}

// TestWebhookEndpoints_API drives every webhook operation through HTTP and
// checks each answer against openapi.yaml.
func TestWebhookEndpoints_API(t *testing.T) {
	o := loadOpenAPI(t)
	s, svc, logs := mustWebhookServer(t)
	seen := map[string]bool{}
	call := func(method, tpl, path, body string, headers ...string) *response {
		t.Helper()
		r := s.do(t, method, path, body, headers...)
		name := fmt.Sprintf("%s %s → %d", method, tpl, r.Status)
		seen[method+" "+tpl] = true
		op := o.operation(method, tpl)
		if op == nil {
			t.Fatalf("%s: operation not documented", name)
		}
		resp := o.deref(asMap(op["responses"])[strconv.Itoa(r.Status)])
		if resp == nil {
			t.Fatalf("%s: status not documented (%s)", name, r.Raw)
		}
		media := asMap(asMap(resp["content"])["application/json"])
		if media == nil || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("%s: Content-Type %q", name, r.Header.Get("Content-Type"))
		}
		var v any
		if err := json.Unmarshal(r.Raw, &v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, e := range o.check(name, media["schema"], v) {
			t.Error(e)
		}
		return r
	}
	type endpoint struct {
		ID, Name, URL, Status, Format, Secret string
		StatusReason                          string `json:"status_reason"`
		Events                                []string
	}
	rc := newHookReceiver(t)
	base := "/v1/webhook-endpoints"

	// Create: the secret once; defaults; validation.
	r := call("POST", base, base, `{"name":"ERP sync","url":"`+rc.URL+`/hook","events":["wallet.credited"]}`)
	r.expect(t, 201, "")
	var ep endpoint
	r.data(t, &ep)
	if ep.Secret == "" || ep.Status != "active" || ep.Format != "walletpro" || len(ep.Events) != 1 {
		t.Fatalf("created %+v", ep)
	}
	one := base + "/" + ep.ID
	call("POST", base, base, `{"url":"ftp://example.com/x"}`).expect(t, 400, "invalid_request")
	call("POST", base, base, `{"url":"https://example.com/x","events":["wallet.nope"]}`).expect(t, 400, "invalid_request")
	call("POST", base, base, `{"url":"https://example.com/x","retries":3}`).expect(t, 400, "invalid_json")
	call("POST", base, base, `{"url":"https://example.com/x"}`, "Authorization", "").expect(t, 401, "unauthorized")

	// Read: never the secret.
	r = call("GET", base, base, "")
	r.expect(t, 200, "")
	if strings.Contains(string(r.Raw), ep.Secret) || strings.Contains(string(r.Raw), `"secret"`) {
		t.Fatalf("the list shows a secret: %s", r.Raw)
	}
	r = call("GET", base+"/{id}", one, "")
	r.expect(t, 200, "")
	if strings.Contains(string(r.Raw), `"secret"`) {
		t.Fatalf("get shows the secret: %s", r.Raw)
	}
	call("GET", base+"/{id}", base+"/whe_nope", "").expect(t, 404, "not_found")

	// The ping arrived; the log shows it; its payload is what was sent.
	walletdtest.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		if len(rc.got()) < 1 {
			return fmt.Errorf("no ping")
		}
		return nil
	})
	var log struct {
		Items []struct {
			DeliveryID string `json:"delivery_id"`
			EventID    string `json:"event_id"`
			Event      string `json:"event"`
			HTTPStatus int    `json:"http_status"`
			Attempt    int    `json:"attempt"`
		}
	}
	walletdtest.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		r = call("GET", base+"/{id}/deliveries", one+"/deliveries", "")
		r.data(t, &log)
		if len(log.Items) != 1 || log.Items[0].Event != "ping" || log.Items[0].HTTPStatus != 200 || log.Items[0].Attempt != 1 {
			return fmt.Errorf("log %s", r.Raw)
		}
		return nil
	})
	call("GET", base+"/{id}/deliveries", one+"/deliveries?limit=101", "").expect(t, 400, "invalid_request")
	call("GET", base+"/{id}/deliveries", base+"/whe_nope/deliveries", "").expect(t, 404, "not_found")
	dpath := one + "/deliveries/" + log.Items[0].DeliveryID
	r = call("GET", base+"/{id}/deliveries/{delivery_id}", dpath, "")
	var d struct {
		Payload string `json:"payload"`
		State   string `json:"state"`
		EventID string `json:"event_id"`
	}
	r.data(t, &d)
	if d.Payload != string(rc.got()[0]) || d.State != "succeeded" || d.EventID != log.Items[0].EventID {
		t.Fatalf("delivery %+v, sent %s", d, rc.got()[0])
	}
	call("GET", base+"/{id}/deliveries/{delivery_id}", one+"/deliveries/whd_nope", "").expect(t, 404, "not_found")

	// Retry: the same bytes again.
	call("POST", base+"/{id}/deliveries/{delivery_id}/retry", dpath+"/retry", "").expect(t, 202, "")
	walletdtest.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		if got := rc.got(); len(got) < 2 || string(got[1]) != d.Payload {
			return fmt.Errorf("%d bodies", len(got))
		}
		return nil
	})
	call("POST", base+"/{id}/deliveries/{delivery_id}/retry", one+"/deliveries/whd_nope/retry", "").expect(t, 404, "not_found")

	// Test events.
	r = call("POST", base+"/{id}/test", one+"/test", `{"event":"wallet.debited"}`)
	r.expect(t, 202, "")
	if !strings.Contains(string(r.Raw), `\"test\":true`) {
		t.Fatalf("test payload: %s", r.Raw)
	}
	call("POST", base+"/{id}/test", one+"/test", ``).expect(t, 202, "")
	call("POST", base+"/{id}/test", one+"/test", `{"event":"nope"}`).expect(t, 400, "invalid_request")

	// Rotate: a new secret, shown once.
	r = call("POST", base+"/{id}/rotate-secret", one+"/rotate-secret", "")
	r.expect(t, 200, "")
	var rot endpoint
	r.data(t, &rot)
	if rot.Secret == "" || rot.Secret == ep.Secret {
		t.Fatalf("rotated secret %q", rot.Secret)
	}
	call("POST", base+"/{id}/rotate-secret", one+"/rotate-secret", `{"grace_period_seconds":-1}`).expect(t, 400, "invalid_request")
	call("POST", base+"/{id}/rotate-secret", one+"/rotate-secret", `{"secret":"my-own-secret-0123456789","grace_period_seconds":0}`).expect(t, 200, "")

	// Suspension through HTTP: the receiver fails, the one retry fails.
	rc.setStatus(500)
	call("POST", base+"/{id}/test", one+"/test", ``).expect(t, 202, "") // tests never suspend
	call("PATCH", base+"/{id}", one, `{"events":[]}`).expect(t, 200, "")
	publishEvent(t, svc)
	walletdtest.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		r := call("GET", base+"/{id}", one, "")
		var got endpoint
		r.data(t, &got)
		if got.Status != "suspended" || got.StatusReason == "" {
			return fmt.Errorf("%s", r.Raw)
		}
		return nil
	})
	call("PATCH", base+"/{id}", one, `{"status":"active"}`).expect(t, 409, "conflict")
	call("POST", base+"/{id}/test", one+"/test", ``).expect(t, 409, "conflict")
	call("POST", base+"/{id}/deliveries/{delivery_id}/retry", dpath+"/retry", "").expect(t, 409, "conflict")
	rc.setStatus(200)
	r = call("POST", base+"/{id}/enable", one+"/enable", `{"deliver_held":true}`)
	r.expect(t, 200, "")
	if !strings.Contains(string(r.Raw), `"status":"active"`) {
		t.Fatalf("enable: %s", r.Raw)
	}
	call("POST", base+"/{id}/enable", one+"/enable", ``).expect(t, 200, "")
	call("POST", base+"/{id}/enable", base+"/whe_nope/enable", ``).expect(t, 404, "not_found")

	// Update.
	r = call("PATCH", base+"/{id}", one, `{"name":"Fraud monitor","status":"disabled","format":"standard"}`)
	r.expect(t, 400, "invalid_request") // the own secret set above does not suit the standard format
	r = call("PATCH", base+"/{id}", one, `{"name":"Fraud monitor","status":"disabled"}`)
	r.expect(t, 200, "")
	var up endpoint
	r.data(t, &up)
	if up.Name != "Fraud monitor" || up.Status != "disabled" || up.URL != rc.URL+"/hook" {
		t.Fatalf("updated %+v", up)
	}
	call("PATCH", base+"/{id}", one, `{"url":"ftp://x"}`).expect(t, 400, "invalid_request")
	call("PATCH", base+"/{id}", base+"/whe_nope", `{"name":"x"}`).expect(t, 404, "not_found")

	// Delete clears everything.
	call("DELETE", base+"/{id}", one, "").expect(t, 200, "")
	call("DELETE", base+"/{id}", one, "").expect(t, 404, "not_found")
	call("GET", base+"/{id}/deliveries/{delivery_id}", dpath, "").expect(t, 404, "not_found")

	// Every webhook operation of the document was exercised.
	for path, v := range asMap(o.root["paths"]) {
		if !strings.HasPrefix(path, base) {
			continue
		}
		for m := range asMap(v) {
			if name := strings.ToUpper(m) + " " + path; m != "parameters" && !seen[name] {
				t.Errorf("%s was not exercised", name)
			}
		}
	}
	// Secrets never reach the logs.
	for _, sec := range []string{ep.Secret, rot.Secret, "my-own-secret-0123456789"} {
		if strings.Contains(logs.String(), sec) {
			t.Fatalf("a secret is in the logs")
		}
	}
}

func TestWebhookEndpoints_NotConfigured(t *testing.T) {
	s := mustServer(t)
	s.do(t, "GET", "/v1/webhook-endpoints", "").expect(t, 503, "unavailable")
	s.do(t, "POST", "/v1/webhook-endpoints", `{"url":"https://example.com/h"}`).expect(t, 503, "unavailable")
}

func TestWebhookEndpoints_Scope(t *testing.T) {
	s, _, _ := mustWebhookServer(t)
	k, token, _ := walletd.NewAPIKey("rw", []string{walletd.ScopeWalletsRead, walletd.ScopeWalletsWrite}, time.Now())
	if err := s.L.DB.CreateAPIKey(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	s.do(t, "GET", "/v1/webhook-endpoints", "", "Authorization", "Bearer "+token).expect(t, 403, "forbidden")
	s.do(t, "POST", "/v1/webhook-endpoints", `{"url":"https://example.com/h"}`, "Authorization", "Bearer "+token).expect(t, 403, "forbidden")
}

// publishEvent runs an embedded JetStream with a dispatcher for svc and
// publishes one wallet.credited event.
func publishEvent(tb testing.TB, svc *webhooks.Service) {
	tb.Helper()
	js := walletdtest.RunJetStream(tb).JS
	d := &webhooks.Dispatcher{Service: svc, JS: js, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := d.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Close() })
	env := events.Envelope{ID: events.NewID(), Event: events.WalletCredited, APIVersion: "v1",
		CreatedAt: events.FormatTime(time.Now()), SiteURL: "https://shop.example", Data: json.RawMessage(`{}`)}
	msg := nats.NewMsg("walletd." + env.Event)
	msg.Data, _ = json.Marshal(env)
	if _, err := js.PublishMsg(context.Background(), msg, jetstream.WithMsgID(env.ID)); err != nil {
		tb.Fatal(err)
	}
}

// TestWebhookEndpoints_Events checks the event filter's validation and the
// numeric ids over HTTP.
func TestWebhookEndpoints_Events(t *testing.T) {
	s, _, _ := mustWebhookServer(t)
	rc := newHookReceiver(t)
	base := "/v1/webhook-endpoints"
	type endpoint struct {
		ID        string   `json:"id"`
		NumericID int64    `json:"numeric_id"`
		Events    []string `json:"events"`
		Format    string   `json:"format"`
	}
	create := func(body string) endpoint {
		t.Helper()
		r := s.do(t, "POST", base, body)
		r.expect(t, 201, "")
		var ep endpoint
		r.data(t, &ep)
		return ep
	}
	a := create(`{"url":"` + rc.URL + `/a"}`)
	b := create(`{"url":"` + rc.URL + `/b","format":"woocommerce","events":["wallet.created","order.created"]}`)
	if a.NumericID < 1 || b.NumericID != a.NumericID+1 || len(a.Events) != 0 || len(b.Events) != 2 {
		t.Fatalf("created %+v and %+v", a, b)
	}
	var got endpoint
	s.do(t, "GET", base+"/"+b.ID, "").data(t, &got)
	if got.NumericID != b.NumericID {
		t.Fatalf("get: %+v", got)
	}
	for _, tc := range []struct{ name, method, path, body, key string }{
		{"CreateUnknown", "POST", base, `{"url":"` + rc.URL + `/c","events":["wallet.credited","wallet.nope"]}`, "wallet.nope"},
		{"CreateDeleted", "POST", base, `{"url":"` + rc.URL + `/c","format":"woocommerce","events":["order.deleted"]}`, "order.deleted"},
		{"UpdateUnknown", "PATCH", base + "/" + a.ID, `{"events":["wallet.credit"]}`, "wallet.credit"},
		{"UpdateRestored", "PATCH", base + "/" + b.ID, `{"events":["order.restored"]}`, "order.restored"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.do(t, tc.method, tc.path, tc.body)
			r.expect(t, 400, "invalid_request")
			if !strings.Contains(r.Message, `"`+tc.key+`"`) {
				t.Fatalf("the message does not name %q: %s", tc.key, r.Message)
			}
		})
	}
	// A refused update changed nothing; "[]" goes back to the default.
	s.do(t, "GET", base+"/"+b.ID, "").data(t, &got)
	if len(got.Events) != 2 {
		t.Fatalf("after a refused update: %+v", got)
	}
	r := s.do(t, "PATCH", base+"/"+b.ID, `{"events":[]}`)
	r.expect(t, 200, "")
	r.data(t, &got)
	if len(got.Events) != 0 || got.NumericID != b.NumericID {
		t.Fatalf("after events=[]: %+v", got)
	}
}
