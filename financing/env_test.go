package financing_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/walletd/walletd"
	"github.com/walletd/walletd/financing"
	"github.com/walletd/walletd/financing/financingtest"
	"github.com/walletd/walletd/financing/gateway"
	whttp "github.com/walletd/walletd/http"
	"github.com/walletd/walletd/walletdtest"
	"github.com/walletd/walletd/webhooks"
	"github.com/walletd/walletd/webhooks/inbound"
)

// env is a serve-like walletd for the financing flow: a real ledger and
// writer, the HTTP server on loopback, the financing store and the
// inbound pipeline in a webhooks.db of their own (the postbacks go
// through the pipeline, as in serve), and the fake provider.
type env struct {
	l         *walletdtest.Ledger
	fake      *financingtest.Fake
	svc       *financing.Service
	store     *financing.Store
	storePath string
	seal      *webhooks.Sealer
	addr      string
	url       string
	token     string
	metrics   *financing.Metrics
	applier   financing.Applier
	opt       envOptions

	idb *inbound.DB
	p   *inbound.Pipeline
	srv *whttp.Server
}

type envOptions struct {
	timeout, lease time.Duration
	applier        func(financing.Applier) financing.Applier // wraps the ledger applier
	noConfigure    bool
	shape          string
	// maxAttempts bounds the pipeline's attempts (default 3).
	maxAttempts int
}

var quietLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

func newEnv(t *testing.T, opt envOptions) *env {
	t.Helper()
	e := &env{l: walletdtest.MustOpenLedger(t, nil), opt: opt}
	k, token, err := walletd.NewAPIKey("admin", []string{walletd.ScopeAdmin}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.l.DB.CreateAPIKey(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	e.token = token
	e.fake = (&financingtest.Fake{MerchantID: "m-42", Username: "shop-user", Password: "s3cret-pass", Shape: opt.shape}).Start()
	t.Cleanup(e.fake.Close)
	key := make([]byte, 32)
	rand.Read(key)
	if e.seal, err = webhooks.NewSealer(key); err != nil {
		t.Fatal(err)
	}
	e.storePath = filepath.Join(t.TempDir(), "webhooks.db")
	if e.store, err = financing.OpenStore(context.Background(), e.storePath, e.seal); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.store.Close() })
	e.metrics = financing.NewMetrics(prometheus.NewRegistry())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = ln.Addr().String()
	ln.Close()
	e.svc = &financing.Service{Store: e.store, Writer: e.l.Writer, Ledger: e.l.DB, Metrics: e.metrics, Timeout: opt.timeout, Lease: opt.lease,
		Logger: quietLogger, PublicURL: "http://" + e.addr}
	e.applier = &financing.LedgerApplier{Service: e.svc}
	if opt.applier != nil {
		e.applier = opt.applier(e.applier)
	}
	e.start(t, e.applier)
	t.Cleanup(e.stop)
	if !opt.noConfigure {
		e.mustDo(t, "PUT", "/v1/financing/settings", e.settings(""), http.StatusOK)
	}
	return e
}

// start opens the inbound pipeline (its adapters and wegetfinancing's,
// applying with a) and the HTTP server: a start of walletd, which first
// applies the postbacks left pending.
func (e *env) start(t *testing.T, a financing.Applier) {
	t.Helper()
	var err error
	if e.idb, err = inbound.OpenDB(context.Background(), e.storePath, e.seal); err != nil {
		t.Fatal(err)
	}
	e.svc.Inbound = gateway.Log{DB: e.idb}
	adapters := inbound.NewAdapters(inbound.AdapterOptions{})
	adapters[financing.GatewayName] = &gateway.Adapter{Service: e.svc, Applier: a, Logger: quietLogger}
	e.p = &inbound.Pipeline{DB: e.idb, Writer: e.l.Writer, Ledger: e.l.DB, Adapters: adapters, Logger: quietLogger,
		PollInterval: 20 * time.Millisecond, RetryBase: 20 * time.Millisecond, MaxAttempts: e.opt.maxAttempts}
	if err := e.p.Open(); err != nil {
		t.Fatal(err)
	}
	e.srv = &whttp.Server{Addr: e.addr, Writer: e.l.Writer, Ledger: e.l.DB, APIKeys: e.l.DB, Financing: e.svc, Inbound: e.p, Logger: quietLogger}
	if err := e.srv.Open(); err != nil {
		t.Fatal(err)
	}
	e.url = e.srv.URL()
}

// stop stops the server and the pipeline (what is recorded and not yet
// applied stays pending) and closes its database.
func (e *env) stop() {
	if e.srv == nil {
		return
	}
	e.srv.Close()
	e.p.Close()
	e.idb.Close()
	e.srv = nil
}

// restart stops and starts again, applying with a.
func (e *env) restart(t *testing.T, a financing.Applier) {
	t.Helper()
	e.stop()
	e.start(t, a)
}

// settings is a settings body for the fake, with extra fields.
func (e *env) settings(extra string) string {
	s := `{"api_url": "` + e.fake.URL() + `", "merchant_id": "m-42", "username": "shop-user", "password": "s3cret-pass"`
	if extra != "" {
		s += ", " + extra
	}
	return s + "}"
}

// do sends a request with the admin key and returns the status and body.
func (e *env) do(t *testing.T, method, path, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// mustDo is do that expects status and decodes the data of the answer.
func (e *env) mustDo(t *testing.T, method, path, body string, status int) map[string]any {
	t.Helper()
	st, b := e.do(t, method, path, body)
	if st != status {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, st, status, b)
	}
	var env struct {
		Data map[string]any `json:"data"`
	}
	if status < 300 {
		if err := json.Unmarshal(b, &env); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return env.Data
}

// wantError expects an error answer with status and code.
func (e *env) wantError(t *testing.T, method, path, body string, status int, code string) string {
	t.Helper()
	st, b := e.do(t, method, path, body)
	var eb struct{ Code, Message string }
	json.Unmarshal(b, &eb)
	if st != status || eb.Code != code {
		t.Fatalf("%s %s %s: %d %s, want %d %s", method, path, walletd.QuoteInput(body), st, b, status, code)
	}
	return eb.Message
}

// order creates a pending order of total 499.00 (or of the lines given)
// and returns its id.
func (e *env) order(t *testing.T, external string, extra string) int64 {
	t.Helper()
	body := `{"source": "shop", "external_id": "` + external + `", "currency": "USD", "customer_id": "jane",
		"billing": {"first_name": "Jane", "last_name": "Doe", "email": "jane@example.com", "phone": "2125551234",
		            "address_1": "123 Main St", "city": "New York", "state": "NY", "postcode": "10001", "country": "US"},
		"lines": [{"name": "Super Widget", "sku": "WID-001", "price": "499.00", "quantity": 1}]` + extra + `}`
	d := e.mustDo(t, "POST", "/v1/orders", body, http.StatusCreated)
	return int64(d["id"].(float64))
}

func (e *env) getOrder(t *testing.T, id int64) *walletd.ShopOrder {
	t.Helper()
	st, b := e.do(t, "GET", fmt.Sprintf("/v1/orders/%d", id), "")
	if st != http.StatusOK {
		t.Fatalf("get order %d: %d %s", id, st, b)
	}
	var env struct{ Data walletd.ShopOrder }
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatal(err)
	}
	return &env.Data
}

// request creates the financing request of an order and returns its token.
func (e *env) request(t *testing.T, id int64) string {
	t.Helper()
	d := e.mustDo(t, "POST", fmt.Sprintf("/v1/orders/%d/financing", id), "", http.StatusCreated)
	return d["request_token"].(string)
}

// postback sends a signed postback for token through the fake and
// expects 200 OK.
func (e *env) postback(t *testing.T, token, status, amount string) {
	t.Helper()
	st, body, err := e.fake.Postback(context.Background(), token, status, amount)
	if err != nil || st != http.StatusOK || body != "OK" {
		t.Fatalf("postback %s: %d %q %v", status, st, body, err)
	}
}

// send posts a raw body signed with the fake's credentials.
func (e *env) send(t *testing.T, body []byte) (int, string) {
	t.Helper()
	st, b, err := e.fake.Send(context.Background(), e.url+financing.PostbackPath, body)
	if err != nil {
		t.Fatal(err)
	}
	return st, b
}

// waitState waits until the newest postback of the log is in state.
func (e *env) waitState(t *testing.T, state string) *walletd.FinancingPostback {
	t.Helper()
	var last *walletd.FinancingPostback
	walletdtest.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		ps, err := e.svc.Postbacks(context.Background(), 1)
		if err != nil {
			return err
		} else if len(ps) == 0 || ps[0].State != state {
			return fmt.Errorf("postbacks %+v, want the newest %s", ps, state)
		}
		last = ps[0]
		return nil
	})
	return last
}

// count returns a counter of the financing metrics.
func count(c *prometheus.CounterVec, label string) float64 {
	return testutil.ToFloat64(c.WithLabelValues(label))
}
