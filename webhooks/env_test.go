package webhooks_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/walletd/walletd"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/walletd/walletd/events"
	"github.com/walletd/walletd/events/bus"
	"github.com/walletd/walletd/walletdtest"
	"github.com/walletd/walletd/webhooks"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

const siteURL = "https://shop.example"

// fastSchedule is the retry schedule scaled down for tests.
var fastSchedule = []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 150 * time.Millisecond, 200 * time.Millisecond, 250 * time.Millisecond}

// loopback allows the test receivers (plain http on 127.0.0.1).
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

// ---- an independent verifier of the WalletPro signature -----------------
//
// This follows the seed's PHP and Node examples, not walletd's code: the
// header must match ^t=(\d+),v1=([a-f0-9]+)$ (exactly one v1), t within
// 300 s of now, and hex HMAC-SHA256 of "{t}.{raw body}" compared in
// constant time.

var walletProHeader = regexp.MustCompile(`^t=(\d+),v1=([a-f0-9]+)$`)

func verifyWalletPro(secret string, rawBody []byte, header string, now time.Time) bool {
	m := walletProHeader.FindStringSubmatch(header)
	if m == nil {
		return false
	}
	ts, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || now.Unix()-ts > 300 || ts-now.Unix() > 300 {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(m[1] + "." + string(rawBody)))
	expected := hex.EncodeToString(mac.Sum(nil))
	return subtle.ConstantTimeCompare([]byte(expected), []byte(m[2])) == 1
}

// received is one request a receiver got.
type received struct {
	Header http.Header
	Body   []byte
	At     time.Time
	Status int // what the receiver answered
}

// env decodes the body as an envelope.
func (r *received) env(tb testing.TB) events.Envelope {
	tb.Helper()
	var e events.Envelope
	if err := json.Unmarshal(r.Body, &e); err != nil {
		tb.Fatalf("body %q: %v", r.Body, err)
	}
	return e
}

// verified checks the WalletPro signature with the seed's algorithm.
func (r *received) verified(secret string) bool {
	return verifyWalletPro(secret, r.Body, r.Header.Get("X-WalletPro-Signature"), r.At)
}

// receiver is a real HTTP server that records what it is sent.
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	got     []*received
	respond func(n int, r *http.Request) int // status for the n-th request (0-based); nil: 200
	hold    chan struct{}                    // if not nil, requests wait until it is closed
	// retryAfter is the Retry-After header of 429 answers.
	retryAfter string
}

func newReceiver(tb testing.TB) *receiver {
	tb.Helper()
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.serve))
	tb.Cleanup(rc.Close)
	return rc
}

func newTLSReceiver(tb testing.TB) *receiver {
	tb.Helper()
	rc := &receiver{}
	rc.Server = httptest.NewTLSServer(http.HandlerFunc(rc.serve))
	tb.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	hold, n, respond := rc.hold, len(rc.got), rc.respond
	rec := &received{Header: r.Header.Clone(), Body: body, At: time.Now()}
	rc.got = append(rc.got, rec)
	rc.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-r.Context().Done():
			return
		}
	}
	status := 200
	if respond != nil {
		status = respond(n, r)
	}
	rc.mu.Lock()
	rec.Status = status
	if status == http.StatusTooManyRequests && rc.retryAfter != "" {
		w.Header().Set("Retry-After", rc.retryAfter)
	}
	rc.mu.Unlock()
	if status == http.StatusFound {
		w.Header().Set("Location", "/elsewhere")
	}
	w.WriteHeader(status)
}

func (rc *receiver) setRespond(f func(n int, r *http.Request) int) {
	rc.mu.Lock()
	rc.respond = f
	rc.mu.Unlock()
}

// requests returns a copy of what was received so far.
func (rc *receiver) requests() []*received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]*received(nil), rc.got...)
}

// byEvent returns the requests whose envelope event is key.
func (rc *receiver) byEvent(tb testing.TB, key string) []*received {
	tb.Helper()
	var out []*received
	for _, r := range rc.requests() {
		var e events.Envelope
		if json.Unmarshal(r.Body, &e) == nil && e.Event == key {
			out = append(out, r)
		}
	}
	return out
}

// waitFor polls until the receiver got n requests of event key (any key
// when key is "") and returns them.
func (rc *receiver) waitFor(tb testing.TB, key string, n int) []*received {
	tb.Helper()
	var got []*received
	walletdtest.CheckFor(tb, 10*time.Second, 5*time.Millisecond, func() error {
		if key == "" {
			got = rc.requests()
		} else {
			got = rc.byEvent(tb, key)
		}
		if len(got) < n {
			return fmt.Errorf("%d %q requests, want %d", len(got), key, n)
		}
		return nil
	})
	return got
}

// ---- NATS, the service and the dispatcher -------------------------------

// natsEnv is an embedded JetStream with the WALLETD stream.
type natsEnv struct {
	*walletdtest.JetStream
	js jetstream.JetStream
}

func mustNATS(tb testing.TB) *natsEnv {
	tb.Helper()
	j := walletdtest.RunJetStream(tb)
	return &natsEnv{JetStream: j, js: j.JS}
}

// publish puts an event on the stream as the relay does and returns its
// envelope bytes.
func (e *natsEnv) publish(tb testing.TB, key string, data string) (string, []byte) {
	tb.Helper()
	env := events.Envelope{ID: events.NewID(), Event: key, APIVersion: "v1", CreatedAt: events.FormatTime(time.Now()),
		SiteURL: siteURL, Data: json.RawMessage(data)}
	body, _ := json.Marshal(env)
	msg := nats.NewMsg(events.Subject("walletd", "wal_test", key))
	msg.Data = body
	msg.Header.Set(bus.HeaderSeq, "1")
	msg.Header.Set(bus.HeaderIndex, "0")
	if _, err := e.js.PublishMsg(context.Background(), msg, jetstream.WithMsgID(env.ID)); err != nil {
		tb.Fatal(err)
	}
	return env.ID, body
}

// svcEnv is a webhooks.db with a running Service.
type svcEnv struct {
	dir  string
	key  []byte
	Svc  *webhooks.Service
	DB   *webhooks.DB
	logs *syncBuffer
	mods []func(*webhooks.Service)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// mustService opens webhooks.db in a temp dir and starts a Service that
// may reach loopback over http, with the fast schedule.
func mustService(tb testing.TB, mods ...func(*webhooks.Service)) *svcEnv {
	tb.Helper()
	e := &svcEnv{dir: tb.TempDir(), logs: &syncBuffer{}, mods: mods}
	key, err := webhooks.LoadOrCreateKey(filepath.Join(e.dir, "webhooks.key"))
	if err != nil {
		tb.Fatal(err)
	}
	e.key = key
	e.start(tb)
	return e
}

func (e *svcEnv) start(tb testing.TB) {
	tb.Helper()
	db, err := webhooks.Open(context.Background(), filepath.Join(e.dir, "webhooks.db"), e.key)
	if err != nil {
		tb.Fatal(err)
	}
	s := &webhooks.Service{
		DB: db, SiteURL: siteURL, Schedule: fastSchedule, Allow: loopback, Timeout: 2 * time.Second,
		Logger: slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, m := range e.mods {
		m(s)
	}
	if err := s.Open(); err != nil {
		tb.Fatal(err)
	}
	e.Svc, e.DB = s, db
	tb.Cleanup(e.stop)
}

// stop closes the service and the database; safe to call twice.
func (e *svcEnv) stop() {
	if e.Svc != nil {
		e.Svc.Close()
		e.DB.Close()
		e.Svc, e.DB = nil, nil
	}
}

// restart stops and starts the service on the same files.
func (e *svcEnv) restart(tb testing.TB) {
	tb.Helper()
	e.stop()
	e.start(tb)
}

// create makes an endpoint to url and returns it with its secret.
func (e *svcEnv) create(tb testing.TB, in walletd.WebhookEndpointInput) (*walletd.WebhookEndpoint, string) {
	tb.Helper()
	ep, secret, err := e.Svc.CreateEndpoint(context.Background(), in)
	if err != nil {
		tb.Fatal(err)
	}
	return ep, secret
}

// startDispatcher opens a dispatcher for the service; tb.Cleanup closes
// it (Close again is harmless).
func startDispatcher(tb testing.TB, svc *webhooks.Service, n *natsEnv, mods ...func(*webhooks.Dispatcher)) *webhooks.Dispatcher {
	tb.Helper()
	d := &webhooks.Dispatcher{Service: svc, JS: n.js, Logger: quiet, Idle: 50 * time.Millisecond}
	for _, m := range mods {
		m(d)
	}
	if err := d.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Close() })
	return d
}

// deliveries returns an endpoint's deliveries in state ("" for all).
func (e *svcEnv) deliveries(tb testing.TB, id, state string) []*walletd.WebhookDelivery {
	tb.Helper()
	ds, err := e.Svc.Deliveries(context.Background(), id, state)
	if err != nil {
		tb.Fatal(err)
	}
	return ds
}

func (e *svcEnv) attempts(tb testing.TB, id string) []*walletd.WebhookAttempt {
	tb.Helper()
	as, err := e.Svc.Attempts(context.Background(), id, 0)
	if err != nil {
		tb.Fatal(err)
	}
	return as
}

func (e *svcEnv) endpoint(tb testing.TB, id string) *walletd.WebhookEndpoint {
	tb.Helper()
	ep, err := e.Svc.Endpoint(context.Background(), id)
	if err != nil {
		tb.Fatal(err)
	}
	return ep
}

func rawDB(tb testing.TB, e *svcEnv) *sql.DB {
	tb.Helper()
	return webhooks.ReadDB(e.DB)
}
