package plugin_test

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	whttp "github.com/walletd/walletd/http"
	"github.com/walletd/walletd/http/plugin"
	"github.com/walletd/walletd/walletdtest"
)

func TestRefreshToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, generous)
	_, rt1 := e.tokens(t)
	refresh := func(tok string) *reply {
		return e.post(t, "/api/plugin/refresh-token/", map[string]any{"refresh_token": tok, "plugin_name": testPlugin})
	}
	r := refresh(rt1).expect(t, 200, "")
	rt2, jwt2 := r.str("refresh_token"), r.str("jwt_token")
	if rt2 == rt1 || r.str("token_type") != "Bearer" || r.str("plugin_name") != testPlugin {
		t.Fatalf("%s", r.Raw)
	}
	// A spent refresh token is refused, and revokes the family: the
	// token it was rotated into and the JWTs issued with it stop working.
	refresh(rt1).expect(t, 401, "Invalid or expired refresh token")
	refresh(rt2).expect(t, 401, "Invalid or expired refresh token")
	e.post(t, "/plugin/order/process/", process(jwt2, order("fam-1"))).expect(t, 401, "Invalid, expired, or already used JWT token")

	t.Run("OtherFamiliesLive", func(t *testing.T) {
		jwt3, rt3 := e.tokens(t)
		e.post(t, "/plugin/order/process/", process(jwt3, order("fam-2"))).expect(t, 201, "")
		refresh(rt3).expect(t, 200, "")
	})
	t.Run("Expired", func(t *testing.T) {
		_, rt := e.tokens(t)
		e.Clock.Add(plugin.RefreshLifetime)
		defer e.Clock.Add(-plugin.RefreshLifetime)
		refresh(rt).expect(t, 401, "Invalid or expired refresh token")
	})
	t.Run("NotYetExpired", func(t *testing.T) {
		_, rt := e.tokens(t)
		e.Clock.Add(plugin.RefreshLifetime - time.Minute)
		defer e.Clock.Add(-plugin.RefreshLifetime + time.Minute)
		refresh(rt).expect(t, 200, "")
	})
	t.Run("Unknown", func(t *testing.T) {
		refresh("wrt_unknown").expect(t, 401, "Invalid or expired refresh token")
		refresh("garbage").expect(t, 401, "Invalid or expired refresh token")
		refresh(strings.Repeat("wrt_", 100)).expect(t, 401, "Invalid or expired refresh token")
	})
	t.Run("WrongPlugin", func(t *testing.T) {
		_, rt := e.tokens(t)
		e.post(t, "/plugin/refresh-token/", map[string]any{"refresh_token": rt, "plugin_name": "Other"}).expect(t, 401, "Invalid or expired refresh token")
	})
	t.Run("RevokedKey", func(t *testing.T) {
		id, key := e.newKey(t, "Gone")
		r := e.post(t, "/plugin/generate-token/", map[string]any{"plugin_name": "Gone", "plugin_key": key, "plugin_version": "1", "site_url": testSite}).expect(t, 200, "")
		if err := e.L.DB.RevokePluginKey(t.Context(), id, time.Now()); err != nil {
			t.Fatal(err)
		}
		e.post(t, "/plugin/refresh-token/", map[string]any{"refresh_token": r.str("refresh_token"), "plugin_name": "Gone"}).expect(t, 401, "Invalid or expired refresh token")
	})
	t.Run("BadInput", func(t *testing.T) {
		e.post(t, "/plugin/refresh-token/", `{}`).expect(t, 400, "Missing required fields")
		e.post(t, "/plugin/refresh-token/", `{"refresh_token":1,"plugin_name":"x"}`).expect(t, 400, "")
		e.post(t, "/plugin/refresh-token/", `{"refresh_token":`).expect(t, 400, "")
		e.post(t, "/plugin/refresh-token/", map[string]any{"refresh_token": "wrt_x", "plugin_name": testPlugin, "token_duration_hours": 0}).expect(t, 400, "")
	})
}

func TestRateLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t, plugin.Limits{PerIP: 0.5, IPBurst: 10, PerKey: 0.5, KeyBurst: 3, FailCost: 4})
	t.Run("PerKey", func(t *testing.T) {
		b := map[string]any{"plugin_name": testPlugin, "plugin_key": e.Key}
		for range 3 {
			e.post(t, "/plugin/test/", b).expect(t, 200, "")
		}
		r := e.post(t, "/plugin/test/", b).expect(t, 429, "")
		if s, _ := strconv.Atoi(r.Header.Get("Retry-After")); s < 1 || r.str("error") == "" {
			t.Fatalf("%v %s", r.Header, r.Raw)
		}
		e.Clock.Add(2 * time.Second) // one token back
		e.post(t, "/plugin/test/", b).expect(t, 200, "")
	})
	t.Run("FailuresCostMore", func(t *testing.T) {
		e.Clock.Add(time.Minute) // the IP's bucket full again (10)
		bad := map[string]any{"plugin_name": testPlugin, "plugin_key": "wpk_x.nope"}
		// 1 + 4 per failure: two failures leave 0, the third request waits.
		e.post(t, "/plugin/test/", bad).expect(t, 401, "Invalid plugin key")
		e.post(t, "/plugin/test/", bad).expect(t, 401, "Invalid plugin key")
		r := e.do(t, "GET", "/plugin/test/", "").expect(t, 429, "")
		if r.Header.Get("Retry-After") == "" {
			t.Fatal("no Retry-After")
		}
		e.Clock.Add(2 * time.Second)
		e.do(t, "GET", "/plugin/test/", "").expect(t, 200, "")
	})
}

func TestHealth(t *testing.T) {
	t.Parallel()
	e := newEnv(t, generous)
	r := e.do(t, "GET", "/api/plugin/health/", "").expect(t, 200, "")
	svc, _ := r.Body["services"].(map[string]any)
	if r.str("status") != "healthy" || r.str("api_version") != "1.0" || r.str("timestamp") == "" || svc["ledger"] != "healthy" || svc["nats"] != "healthy" {
		t.Fatalf("%s", r.Raw)
	}
	e.setHealth("nats", errors.New("nats: disconnected"))
	r = e.do(t, "GET", "/plugin/health", "").expect(t, 503, "")
	svc, _ = r.Body["services"].(map[string]any)
	if r.str("status") != "degraded" || svc["nats"] != "unavailable" || svc["ledger"] != "healthy" {
		t.Fatalf("%s", r.Raw)
	}
	e.setHealth("nats", nil)
	e.do(t, "GET", "/plugin/health/", "").expect(t, 200, "")
}

func TestTestEndpoint(t *testing.T) {
	t.Parallel()
	e := newEnv(t, generous)
	for _, p := range []string{"/plugin/test/", "/plugin/test", "/api/plugin/test/", "/api/plugin/test"} {
		if r := e.do(t, "GET", p, "").expect(t, 200, ""); r.str("status") != "ok" {
			t.Fatalf("%s", r.Raw)
		}
	}
	r := e.post(t, "/api/plugin/test/", map[string]any{"plugin_name": testPlugin, "plugin_key": e.Key}).expect(t, 200, "")
	if r.Body["key_valid"] != true {
		t.Fatalf("%s", r.Raw)
	}
	e.post(t, "/api/plugin/test/", map[string]any{"plugin_name": testPlugin, "plugin_key": e.Key + "x"}).expect(t, 401, "Invalid plugin key")
	e.post(t, "/api/plugin/test/", map[string]any{"plugin_name": testPlugin}).expect(t, 400, "Missing required fields")
	e.post(t, "/api/plugin/test/", `nope`).expect(t, 400, "")
}

func TestDocsPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, generous)
	r := e.do(t, "GET", "/api/plugin/docs/", "")
	if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("%d %v", r.Status, r.Header)
	}
	page := string(r.Raw)
	for _, want := range []string{"function generate_wefund_jwt_token()", "function process_wefund_order($order_data)",
		"function handle_wefund_api_error", "https://wallet.example.com/plugin/generate-token/", "https://wallet.example.com/api/plugin/order/process/",
		"/api/plugin/order/process/", "Invalid, expired, or already used JWT token"} {
		if !strings.Contains(page, want) && !strings.Contains(page, htmlEscape(want)) {
			t.Errorf("the docs page lacks %q", want)
		}
	}
	if strings.Contains(page, "api.we-fund.com") || strings.Contains(page, "your-wefund-domain.com") {
		t.Error("the docs page still names the guide's hosts")
	}
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}

// TestPostmanCollection validates the collection against the Postman v2.1
// schema (testdata, from postmanlabs/schemas) and checks that every route
// of the table is in it.
func TestPostmanCollection(t *testing.T) {
	t.Parallel()
	e := newEnv(t, generous)
	r := e.do(t, "GET", "/plugin/postman-collection/", "").expect(t, 200, "")
	c := jsonschema.NewCompiler()
	sch, err := c.Compile("testdata/postman-collection-v2.1.0.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(r.Raw)))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(doc); err != nil {
		t.Fatalf("the collection is not a valid Postman v2.1 collection: %v", err)
	}
	// The schema is strict enough to catch a broken collection.
	if err := sch.Validate(map[string]any{"info": map[string]any{"name": "x", "schema": plugin.PostmanSchema}, "item": "no"}); err == nil {
		t.Fatal("the schema accepts a broken collection")
	}
	var col struct {
		Info struct{ Schema string }
		Item []struct {
			Name    string
			Request struct {
				Method string
				URL    struct{ Raw string }
				Body   *struct{ Raw string }
			}
		}
	}
	if err := json.Unmarshal(r.Raw, &col); err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, it := range col.Item {
		have[it.Request.Method+" "+it.Request.URL.Raw] = true
		if it.Request.Method == http.MethodPost && (it.Request.Body == nil || !json.Valid([]byte(it.Request.Body.Raw))) {
			t.Errorf("%s: no JSON body", it.Name)
		}
	}
	api := plugin.New(plugin.Config{})
	for _, rt := range api.Routes() {
		if !have[rt.Method+" {{base_url}}/api/plugin"+rt.Path] {
			t.Errorf("route %s %s is not in the collection (%v)", rt.Method, rt.Path, have)
		}
	}
	if len(col.Item) != len(api.Routes()) || col.Info.Schema != plugin.PostmanSchema {
		t.Errorf("%d items for %d routes, schema %q", len(col.Item), len(api.Routes()), col.Info.Schema)
	}
}

// TestRefreshToken_Race: one refresh token sent 20 times at once is
// spent once; the other 19 are reuse, which revokes the family.
func TestRefreshToken_Race(t *testing.T) {
	t.Parallel()
	e := newEnv(t, generous)
	_, rt := e.tokens(t)
	const n = 20
	codes := make(chan int, n)
	for range n {
		go func() {
			codes <- e.post(t, "/plugin/refresh-token/", map[string]any{"refresh_token": rt, "plugin_name": testPlugin}).Status
		}()
	}
	count := map[int]int{}
	for range n {
		count[<-codes]++
	}
	if count[200] != 1 || count[401] != n-1 {
		t.Fatalf("statuses %v", count)
	}
}

// TestUnconfigured: a server without the plugin API answers its routes
// 503 in the API's error shape; an API without the OpenAPI document
// answers postman-collection 503.
func TestUnconfigured(t *testing.T) {
	t.Parallel()
	l := walletdtest.MustOpenLedger(t, nil)
	s := &whttp.Server{Addr: "127.0.0.1:0", Writer: l.Writer, Ledger: l.DB, APIKeys: l.DB, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, p := range []string{"/plugin/health/", "/api/plugin/order/process", "/plugin/generate-token/"} {
		method := "GET"
		if !strings.Contains(p, "health") {
			method = "POST"
		}
		req, _ := http.NewRequest(method, s.URL()+p, strings.NewReader(`{}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != 503 || body["error"] == nil {
			t.Errorf("%s: %d %v", p, resp.StatusCode, body)
		}
	}

	api := plugin.New(plugin.Config{})
	for _, rt := range api.Routes() {
		if rt.Path != "/postman-collection/" {
			continue
		}
		rec := httptest.NewRecorder()
		rt.Handler(rec, httptest.NewRequest("GET", "/plugin/postman-collection/", nil))
		if rec.Code != 503 || !strings.Contains(rec.Body.String(), `"error"`) {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
}

// TestRateLimits_GuessesSpareTheKey: failed checks naming a shop's key id
// charge the guesser's IP, not the key: the shop keeps its own bucket.
func TestRateLimits_GuessesSpareTheKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t, plugin.Limits{PerIP: 1000, IPBurst: 1000, PerKey: 0.01, KeyBurst: 2})
	for range 5 {
		e.post(t, "/plugin/test/", map[string]any{"plugin_name": testPlugin, "plugin_key": e.KeyID + ".guess"}).expect(t, 401, "Invalid plugin key")
	}
	good := map[string]any{"plugin_name": testPlugin, "plugin_key": e.Key}
	e.post(t, "/plugin/test/", good).expect(t, 200, "")
	e.post(t, "/plugin/test/", good).expect(t, 200, "")
	e.post(t, "/plugin/test/", good).expect(t, 429, "")
}
