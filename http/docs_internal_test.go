package http

import (
	"context"
	"crypto/sha256"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/walletd/walletd"

	"github.com/gorilla/mux"
	"github.com/walletd/walletd/ledger"
	"go.yaml.in/yaml/v3"
)

// docsSpec parses the OpenAPI document served at GET /openapi.yaml: the
// embedded files, loaded, validated and bundled into one document.
func docsSpec(tb testing.TB) map[string]any {
	tb.Helper()
	spec, err := openAPIDocument()
	if err != nil {
		tb.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(spec, &doc); err != nil {
		tb.Fatalf("openapi.yaml: %v", err)
	}
	return doc
}

// OpenAPIDocument gives the external tests (package http_test) the
// document served at GET /openapi.yaml.
var OpenAPIDocument = openAPIDocument

// docsMap returns m[key] as a map, failing if it is not one.
func docsMap(tb testing.TB, m map[string]any, key string) map[string]any {
	tb.Helper()
	v, ok := m[key].(map[string]any)
	if !ok {
		tb.Fatalf("openapi.yaml: %q is not a mapping (%T)", key, m[key])
	}
	return v
}

// Fakes: just enough for every route to run without a ledger.

type docsFakeKeys struct{ keys map[string]*walletd.APIKey }

func (f *docsFakeKeys) CreateAPIKey(ctx context.Context, k *walletd.APIKey) error { return nil }
func (f *docsFakeKeys) APIKey(ctx context.Context, id string) (*walletd.APIKey, error) {
	if k, ok := f.keys[id]; ok {
		return k, nil
	}
	return nil, walletd.Errorf(walletd.ENotFound, "API key %q not found.", id)
}
func (f *docsFakeKeys) APIKeys(ctx context.Context) ([]*walletd.APIKey, error) { return nil, nil }
func (f *docsFakeKeys) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	return walletd.Errorf(walletd.ENotFound, "Active API key %q not found.", id)
}

type docsFakeLedger struct{}

func (docsFakeLedger) Wallet(ctx context.Context, id string) (*walletd.Wallet, error) {
	return nil, walletd.Errorf(walletd.ENotFound, "Wallet %q not found.", id)
}
func (docsFakeLedger) Wallets(ctx context.Context, userID, after string, limit int) ([]*walletd.Wallet, error) {
	return nil, nil
}
func (docsFakeLedger) Entries(ctx context.Context, afterSeq uint64, limit int) ([]*walletd.Entry, error) {
	return nil, nil
}
func (docsFakeLedger) Checkpoints(ctx context.Context, afterSeq uint64, limit int) ([]*walletd.Checkpoint, error) {
	return nil, nil
}
func (docsFakeLedger) Ping(ctx context.Context) error { return nil }
func (docsFakeLedger) Object(ctx context.Context, kind, id string) (any, error) {
	return nil, walletd.Errorf(walletd.ENotFound, "No %s %q.", kind, id)
}
func (docsFakeLedger) Objects(ctx context.Context, kind, after string, limit int) ([]any, error) {
	return nil, nil
}

type docsFakeWriter struct{}

func (docsFakeWriter) Submit(ctx context.Context, key string, cmd walletd.Command) (*walletd.Result, error) {
	return nil, walletd.Errorf(walletd.EUnavailable, "fake writer")
}

const docsSecret = "s3cret"

// docsTokens are bearer tokens of the fake key store, by the one scope
// their key holds.
var docsTokens = map[string]string{
	walletd.ScopeAdmin:        "wdk_admin." + docsSecret,
	walletd.ScopeWalletsRead:  "wdk_read." + docsSecret,
	walletd.ScopeWalletsWrite: "wdk_write." + docsSecret,
}

// docsServer returns a Server set up as Open does, minus the listener,
// and its router. The router has the doc routes whether or not routes()
// registers them yet.
func docsServer(tb testing.TB) (*Server, *mux.Router) {
	tb.Helper()
	sum := sha256.Sum256([]byte(docsSecret))
	keys := &docsFakeKeys{keys: map[string]*walletd.APIKey{}}
	for scope, token := range docsTokens {
		id, _, _ := strings.Cut(token, ".")
		keys.keys[id] = &walletd.APIKey{ID: id, Name: scope, Scopes: []string{scope}, SecretHash: sum[:], CreatedAt: time.Now()}
	}
	s := &Server{
		Writer:     docsFakeWriter{},
		Ledger:     docsFakeLedger{},
		APIKeys:    keys,
		Currencies: walletd.DefaultCurrencies(),
		Verify: func(ctx context.Context) (*ledger.VerifyReport, error) {
			return &ledger.VerifyReport{OK: true}, nil
		},
		Metrics: NewMetrics(),
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:     time.Now,
	}
	s.auth = newAuthCache(s.APIKeys, s.Now)
	r := s.routes()
	registered := false
	for _, op := range docsRouterOps(tb, r) {
		registered = registered || op.path == specPath
	}
	if !registered {
		s.registerDocRoutes(r)
	}
	s.router = r
	return s, r
}

type docsOp struct {
	path   string // path template, OpenAPI style
	method string // upper case; "" when the route takes any method
}

var muxVarPattern = regexp.MustCompile(`\{([^{}:]+):[^{}]*\}`)

// docsRouterOps walks r and returns every route's path template and method.
func docsRouterOps(tb testing.TB, r *mux.Router) []docsOp {
	tb.Helper()
	type seen struct {
		route *mux.Route
		ops   []docsOp
	}
	var all []seen
	parents := map[*mux.Route]bool{}
	err := r.Walk(func(route *mux.Route, _ *mux.Router, ancestors []*mux.Route) error {
		for _, a := range ancestors {
			parents[a] = true
		}
		tpl, err := route.GetPathTemplate()
		if err != nil {
			return nil // no path matcher
		}
		tpl = muxVarPattern.ReplaceAllString(tpl, "{$1}")
		methods, err := route.GetMethods()
		if err != nil {
			methods = []string{""}
		}
		sn := seen{route: route}
		for _, m := range methods {
			sn.ops = append(sn.ops, docsOp{path: tpl, method: strings.ToUpper(m)})
		}
		all = append(all, sn)
		return nil
	})
	if err != nil {
		tb.Fatalf("walk: %v", err)
	}
	var ops []docsOp
	for _, sn := range all {
		if !parents[sn.route] { // a subrouter's own route is no endpoint
			ops = append(ops, sn.ops...)
		}
	}
	return ops
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// TestOpenAPI_CoversEveryRoute fails when a route is added without being
// documented, or the document describes a route that does not exist.
func TestOpenAPI_CoversEveryRoute(t *testing.T) {
	doc := docsSpec(t)
	paths := docsMap(t, doc, "paths")
	_, r := docsServer(t)
	ops := docsRouterOps(t, r)
	if len(ops) < 20 {
		t.Fatalf("walked only %d routes: %v", len(ops), ops)
	}
	routed := map[docsOp]bool{}
	for _, op := range ops {
		routed[op] = true
		item, ok := paths[op.path].(map[string]any)
		if !ok {
			t.Errorf("route %s %s is not in openapi.yaml paths", op.method, op.path)
			continue
		}
		if op.method == "" {
			continue // any method: the path being documented is all we can ask
		}
		if _, ok := item[strings.ToLower(op.method)].(map[string]any); !ok {
			t.Errorf("route %s %s: openapi.yaml documents the path but not the method", op.method, op.path)
		}
	}
	for path, v := range paths {
		item, _ := v.(map[string]any)
		for _, m := range httpMethods {
			if _, ok := item[m]; !ok {
				continue
			}
			op := docsOp{path: path, method: strings.ToUpper(m)}
			if !routed[op] && !routed[docsOp{path: path}] {
				t.Errorf("openapi.yaml documents %s %s, which no route serves", op.method, op.path)
			}
		}
	}
}

var muxVarAny = regexp.MustCompile(`\{[^{}]+\}`)

// TestOpenAPI_Scopes checks each operation's documented security against
// what the router enforces: public routes answer without a token; others
// answer 401 without one, accept a key holding only the documented scope
// (x-required-scope) and refuse one that lacks it.
func TestOpenAPI_Scopes(t *testing.T) {
	doc := docsSpec(t)
	paths := docsMap(t, doc, "paths")
	if _, ok := doc["security"]; ok {
		t.Fatal("openapi.yaml has a global security requirement; declare it per operation")
	}
	_, r := docsServer(t)
	do := func(method, path, token string) int {
		req := httptest.NewRequest(method, path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		return rec.Code
	}
	for _, op := range docsRouterOps(t, r) {
		if op.method == "" {
			continue
		}
		item, _ := paths[op.path].(map[string]any)
		spec, _ := item[strings.ToLower(op.method)].(map[string]any)
		if spec == nil {
			continue // reported by TestOpenAPI_CoversEveryRoute
		}
		name := op.method + " " + op.path
		url := muxVarAny.ReplaceAllString(op.path, "x1")
		scope, _ := spec["x-required-scope"].(string)
		sec, _ := spec["security"].([]any)
		if scope == "" {
			if len(sec) != 0 {
				t.Errorf("%s: security without x-required-scope", name)
			}
			if st := do(op.method, url, ""); st == http.StatusUnauthorized || st == http.StatusForbidden {
				t.Errorf("%s: documented as public but answers %d without a token", name, st)
			}
			continue
		}
		if len(sec) != 1 {
			t.Errorf("%s: x-required-scope %q but security is %v", name, scope, spec["security"])
		} else if req, _ := sec[0].(map[string]any); req == nil || req["bearerAuth"] == nil {
			t.Errorf("%s: security %v does not name bearerAuth", name, sec)
		}
		if !strings.Contains(spec["description"].(string), "Scope: `"+scope+"`") {
			t.Errorf("%s: description does not state \"Scope: `%s`\"", name, scope)
		}
		token, ok := docsTokens[scope]
		if !ok {
			t.Errorf("%s: unknown x-required-scope %q", name, scope)
			continue
		}
		if st := do(op.method, url, ""); st != http.StatusUnauthorized {
			t.Errorf("%s: answers %d without a token, want 401", name, st)
		}
		if st := do(op.method, url, token); st == http.StatusUnauthorized || st == http.StatusForbidden {
			t.Errorf("%s: a key with only %q gets %d", name, scope, st)
		}
		for other, tok := range docsTokens {
			if other == scope || other == walletd.ScopeAdmin {
				continue
			}
			if st := do(op.method, url, tok); st != http.StatusForbidden {
				t.Errorf("%s: documented scope %q, but a key with only %q gets %d, not 403", name, scope, other, st)
			}
		}
		if scope != walletd.ScopeAdmin {
			if st := do(op.method, url, docsTokens[walletd.ScopeAdmin]); st == http.StatusUnauthorized || st == http.StatusForbidden {
				t.Errorf("%s: admin key gets %d", name, st)
			}
		}
	}
}

// TestOpenAPI_ErrorCodes checks the ErrorCode schema against the codes
// table: the same codes, each with the same status.
func TestOpenAPI_ErrorCodes(t *testing.T) {
	doc := docsSpec(t)
	schemas := docsMap(t, docsMap(t, doc, "components"), "schemas")
	ec := docsMap(t, schemas, "ErrorCode")
	enum := map[string]bool{}
	for _, v := range ec["enum"].([]any) {
		enum[v.(string)] = true
	}
	statuses := docsMap(t, ec, "x-status-by-code")
	desc, _ := ec["description"].(string)
	for code, status := range codes {
		if !enum[code] {
			t.Errorf("error code %q (HTTP %d) is missing from the ErrorCode enum", code, status)
		}
		if got, _ := statuses[code].(int); got != status {
			t.Errorf("x-status-by-code[%q] = %v, the codes table says %d", code, statuses[code], status)
		}
		row := regexp.MustCompile("(?m)^\\| `" + regexp.QuoteMeta(code) + "` \\| (\\d{3}) \\|").FindStringSubmatch(desc)
		if row == nil {
			t.Errorf("the ErrorCode description table lacks a row for %q", code)
		} else if row[1] != strconv.Itoa(status) {
			t.Errorf("the ErrorCode description gives %q status %s, the codes table %d", code, row[1], status)
		}
	}
	for code := range enum {
		if _, ok := codes[code]; !ok {
			t.Errorf("the ErrorCode enum has %q, which the codes table lacks", code)
		}
	}
	if len(statuses) != len(codes) {
		t.Errorf("x-status-by-code has %d codes, the codes table %d", len(statuses), len(codes))
	}
	// Every code is described by one of the shared error responses.
	responses := docsMap(t, docsMap(t, doc, "components"), "responses")
	var text strings.Builder
	for _, v := range responses {
		text.WriteString(v.(map[string]any)["description"].(string))
	}
	for code := range codes {
		if !strings.Contains(text.String(), "`"+code+"`") {
			t.Errorf("no component response describes error code %q", code)
		}
	}
}

// TestDocs_Served checks the document and the viewer over HTTP.
func TestDocs_Served(t *testing.T) {
	_, r := docsServer(t)
	ts := httptest.NewServer(r)
	defer ts.Close()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := noRedirect.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(b)
	}

	spec, err := openAPIDocument()
	if err != nil {
		t.Fatal(err)
	}
	resp, body := get("/openapi.yaml")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/yaml" || body != string(spec) {
		t.Fatalf("/openapi.yaml: %d %q, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
	}
	if resp.Header.Get("X-Request-Id") == "" {
		t.Error("/openapi.yaml: no X-Request-Id")
	}

	resp, _ = get("/docs")
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/docs/" {
		t.Fatalf("/docs: %d Location %q, want 301 to /docs/", resp.StatusCode, resp.Header.Get("Location"))
	}

	resp, body = get("/docs/")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("/docs/: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if !strings.Contains(strings.ToLower(body), "swagger") || !strings.Contains(body, "/openapi.yaml") {
		t.Fatalf("/docs/ is not the Swagger UI page for /openapi.yaml:\n%s", body)
	}
	if resp.Header.Get("X-Request-Id") == "" {
		t.Error("/docs/: no X-Request-Id")
	}
	// Every asset the page loads is ours, under /docs/: nothing from a CDN.
	assets := regexp.MustCompile(`(?:src|href)="([^"]*)"`).FindAllStringSubmatch(body, -1)
	if len(assets) < 3 {
		t.Fatalf("/docs/ loads only %v", assets)
	}
	for _, a := range assets {
		u := a[1]
		if !strings.HasPrefix(u, "/docs/") {
			t.Errorf("/docs/ loads %q, not an embedded asset under /docs/", u)
			continue
		}
		resp, body := get(u)
		if resp.StatusCode != 200 || len(body) == 0 {
			t.Errorf("asset %s: %d, %d bytes", u, resp.StatusCode, len(body))
		}
		if strings.HasSuffix(u, ".js") && !strings.Contains(resp.Header.Get("Content-Type"), "javascript") {
			t.Errorf("asset %s: Content-Type %q", u, resp.Header.Get("Content-Type"))
		}
	}

	resp, _ = get("/docs/nope.js")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("/docs/nope.js: %d, want 404", resp.StatusCode)
	}
	req, _ := http.NewRequest("POST", ts.URL+"/openapi.yaml", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("POST /openapi.yaml: %d, want 405", resp.StatusCode)
		}
	}
}

// TestDocs_Metrics checks the doc routes are counted under their route.
func TestDocs_Metrics(t *testing.T) {
	s, r := docsServer(t)
	for _, p := range []string{"/openapi.yaml", "/docs/", "/docs/swagger-ui.css"} {
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, httptest.NewRequest("GET", p, nil))
	}
	rec := httptest.NewRecorder()
	s.Metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	var lines []string
	for _, l := range strings.Split(rec.Body.String(), "\n") {
		if strings.HasPrefix(l, "walletd_http_requests_total{") {
			lines = append(lines, l)
		}
	}
	sort.Strings(lines)
	want := []string{
		`walletd_http_requests_total{method="GET",route="/docs/",status="200"} 2`,
		`walletd_http_requests_total{method="GET",route="/openapi.yaml",status="200"} 1`,
	}
	for _, w := range want {
		found := false
		for _, l := range lines {
			found = found || l == w
		}
		if !found {
			t.Errorf("metrics lack %s; have %v", w, lines)
		}
	}
}
