package plugin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/walletd/walletd"
	whttp "github.com/walletd/walletd/http"
	"github.com/walletd/walletd/http/plugin"
	"github.com/walletd/walletd/keyfile"
	"github.com/walletd/walletd/walletdtest"
)

// The test environment: a real ledger in t.TempDir(), the plugin API
// mounted by a real whttp.Server on loopback, a JWT key file, an
// injectable clock, and one plugin key for "Your Plugin Name".

const (
	testPlugin = "Your Plugin Name"
	testIssuer = "http://walletd.test"
	testSite   = "https://shop.example.com"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	L       *walletdtest.Ledger
	Srv     *whttp.Server
	URL     string
	Clock   *clock
	KeyPath string
	Keys    *keyfile.JWTKeyFile
	Key     string // the plugin key
	KeyID   string
	health  map[string]error
	hmu     sync.Mutex
}

// generous limits, so that only the rate-limit tests meet them.
var generous = plugin.Limits{PerIP: 10000, IPBurst: 10000, PerKey: 10000, KeyBurst: 10000}

func newEnv(t testing.TB, limits plugin.Limits) *env {
	t.Helper()
	e := &env{L: walletdtest.MustOpenLedger(t, nil), Clock: &clock{t: time.Now().UTC().Truncate(time.Second)}, health: map[string]error{}}
	e.KeyPath = filepath.Join(t.TempDir(), "plugin-jwt.json")
	if _, err := keyfile.LoadOrCreateJWTKeys(e.KeyPath, time.Now()); err != nil {
		t.Fatal(err)
	}
	e.Keys = &keyfile.JWTKeyFile{Path: e.KeyPath}
	check := func(name string) plugin.Check {
		return plugin.Check{Name: name, Check: func(context.Context) error {
			e.hmu.Lock()
			defer e.hmu.Unlock()
			return e.health[name]
		}}
	}
	api := plugin.New(plugin.Config{
		Store: e.L.DB, Writer: e.L.Writer, Keys: e.Keys, Issuer: testIssuer, BaseURL: "https://wallet.example.com",
		Health:  []plugin.Check{{Name: "ledger", Check: e.L.DB.Ping}, check("nats"), check("projections")},
		OpenAPI: whttp.OpenAPIYAML, Limits: limits, Now: e.Clock.Now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	e.Srv = &whttp.Server{Addr: "127.0.0.1:0", Writer: e.L.Writer, Ledger: e.L.DB, APIKeys: e.L.DB, Plugin: api, PluginKeys: e.L.DB,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := e.Srv.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Srv.Close() })
	e.URL = e.Srv.URL()
	e.KeyID, e.Key = e.newKey(t, testPlugin)
	return e
}

func (e *env) setHealth(name string, err error) {
	e.hmu.Lock()
	e.health[name] = err
	e.hmu.Unlock()
}

func (e *env) newKey(t testing.TB, name string) (string, string) {
	t.Helper()
	k, key, err := walletd.NewPluginKey(name, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.L.DB.CreatePluginKey(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	return k.ID, key
}

// reply is an answer of the plugin API.
type reply struct {
	Status int
	Header http.Header
	Raw    []byte
	Body   map[string]any
}

func (r *reply) str(key string) string { s, _ := r.Body[key].(string); return s }

func (r *reply) expect(t testing.TB, status int, errMsg string) *reply {
	t.Helper()
	if r.Status != status || (errMsg != "" && r.str("error") != errMsg) {
		t.Fatalf("got %d %s, want %d %q", r.Status, r.Raw, status, errMsg)
	}
	return r
}

func (e *env) do(t testing.TB, method, path, body string) *reply {
	t.Helper()
	req, err := http.NewRequest(method, e.URL+path, bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := &reply{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	if resp.Header.Get("Content-Type") == "application/json" {
		if err := json.Unmarshal(raw, &r.Body); err != nil {
			t.Fatalf("%s %s: body %q: %v", method, path, raw, err)
		}
	}
	return r
}

func (e *env) post(t testing.TB, path string, body any) *reply {
	t.Helper()
	s, ok := body.(string)
	if !ok {
		b, _ := json.Marshal(body)
		s = string(b)
	}
	return e.do(t, "POST", path, s)
}

// tokens generates a token pair for the env's key.
func (e *env) tokens(t testing.TB) (jwtText, refresh string) {
	t.Helper()
	r := e.post(t, "/plugin/generate-token/", map[string]any{"plugin_name": testPlugin, "plugin_key": e.Key,
		"plugin_version": "1.0.0", "site_url": testSite, "token_duration_hours": 24}).expect(t, 200, "")
	return r.str("jwt_token"), r.str("refresh_token")
}

// order returns the seed's order data with order id id.
func order(id any) map[string]any {
	return map[string]any{
		"order_id": id, "status": "completed", "total": "99.00", "currency": "USD",
		"customer": map[string]any{"email": "test@example.com", "first_name": "John", "last_name": "Doe", "phone": "+1234567890", "country": "US"},
		"products": []any{map[string]any{"name": "Challenge Account - $10,000", "account_size": "10000", "challenge_type": "standard", "price": "99.00"}},
	}
}

func process(token string, od any) map[string]any {
	return map[string]any{"jwt_token": token, "plugin_name": testPlugin, "order_data": od,
		"processing_options": map[string]any{"create_mt5_account": true, "send_email": true, "create_user": true}}
}
