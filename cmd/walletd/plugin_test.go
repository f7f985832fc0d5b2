package main_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/walletd/walletd/events"
	"github.com/walletd/walletd/http/plugin"
	"github.com/walletd/walletd/walletdtest"
)

// TestServe_PluginSeedPHP runs the WeFund guide's PHP functions, copied
// verbatim with only their base URL changed, under small WordPress shims
// (testdata/wp_shims.php) with php-cli against a real walletd serve: a
// WooCommerce order and an EDD purchase are processed, the same order
// again is "already processed", and every failure path (a spent JWT, a
// wrong key, a connection refused, rate limiting) is what
// handle_wefund_api_error() expects. The processed orders reach NATS and
// a webhook endpoint that lists plugin.order.processed.
func TestServe_PluginSeedPHP(t *testing.T) {
	php, err := exec.LookPath("php")
	if err != nil {
		t.Skip("SKIPPING THE PHP RUN OF THE WEFUND GUIDE: php is not installed (Debian: apt-get install -y php-cli)")
	}
	var mu sync.Mutex
	var hooked []events.Envelope
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var env events.Envelope
		body, _ := io.ReadAll(r.Body)
		if json.Unmarshal(body, &env) == nil && env.Event == events.PluginOrderProcessed {
			mu.Lock()
			hooked = append(hooked, env)
			mu.Unlock()
		}
	}))
	defer recv.Close()

	dir := filepath.Join(t.TempDir(), "data")
	p := startServe(t, dir, "--webhook-allow-cidrs", "127.0.0.0/8")
	if _, err := p.call("POST", "/v1/webhook-endpoints", `{"name":"mt5","url":"`+recv.URL+`/hook","events":["plugin.order.processed"]}`, "", nil); err != nil {
		t.Fatal(err)
	}
	var key struct {
		ID        string `json:"id"`
		PluginKey string `json:"plugin_key"`
	}
	if st, err := p.call("POST", "/v1/plugin-keys", `{"plugin_name":"Your Plugin Name"}`, "", &key); err != nil || st != 201 {
		t.Fatalf("%d %v", st, err)
	}
	nc := p.natsSubscriber(t, "mt5", "walletd.w.*.*."+events.PluginOrderProcessed)
	defer nc.Close()
	msgs := make(chan *nats.Msg, 64)
	if _, err := nc.ChanSubscribe("walletd.w.*.*."+events.PluginOrderProcessed, msgs); err != nil {
		t.Fatal(err)
	}

	seed := filepath.Join(t.TempDir(), "wefund.php")
	if err := os.WriteFile(seed, []byte(plugin.PHPFor(p.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(php, "testdata/plugin_driver.php", seed)
	cmd.Env = append(os.Environ(), "WEFUND_API_KEY="+key.PluginKey, "WP_SITE_URL=https://shop.example.com",
		"WEFUND_GENERATE_URL="+p.URL+"/plugin/generate-token/")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("php: %v\n%s\n%s", err, out, stderr.String())
	}
	steps := map[string]json.RawMessage{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var s struct {
			Step  string
			Value json.RawMessage
		}
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatalf("driver output %q: %v", sc.Text(), err)
		}
		steps[s.Step] = s.Value
	}
	t.Logf("php error_log:\n%s", stderr.String())
	get := func(step string, v any) {
		t.Helper()
		if err := json.Unmarshal(steps[step], v); err != nil {
			t.Fatalf("step %s: %s: %v", step, steps[step], err)
		}
	}

	var tok struct {
		OK, Stored bool
		Refresh    string
	}
	get("token", &tok)
	if !tok.OK || !tok.Stored || !strings.HasPrefix(tok.Refresh, "wrt_") {
		t.Fatalf("token step %+v", tok)
	}
	var woo struct {
		Meta struct {
			OrderID   int64  `json:"wefund_order_id"`
			WebhookID string `json:"wefund_webhook_id"`
		}
		Notes []string
		Saved int
	}
	get("woo", &woo)
	if woo.Meta.OrderID <= 0 || !strings.HasPrefix(woo.Meta.WebhookID, "wph_") || woo.Saved != 1 ||
		len(woo.Notes) != 1 || woo.Notes[0] != fmt.Sprintf("WeFund order processed successfully. Order ID: %d", woo.Meta.OrderID) {
		t.Fatalf("woo step %s", steps["woo"])
	}
	var again struct {
		Message string
		OrderID int64 `json:"order_id"`
	}
	get("again", &again)
	if again.Message != "Order already processed" || again.OrderID != woo.Meta.OrderID {
		t.Fatalf("again step %s", steps["again"])
	}
	var edd struct {
		Meta  map[string]any `json:"_meta"`
		Notes []string       `json:"_notes"`
	}
	get("edd", &edd)
	if edd.Meta["wefund_order_id"] == nil || len(edd.Notes) != 1 || edd.Notes[0] != "WeFund order processed successfully." {
		t.Fatalf("edd step %s", steps["edd"])
	}
	var reuse struct {
		Code       int
		Handled    bool
		JWTDeleted bool `json:"jwt_deleted"`
		Body       map[string]any
	}
	get("reuse", &reuse)
	if reuse.Code != 401 || reuse.Handled || !reuse.JWTDeleted || reuse.Body["error"] != "Invalid, expired, or already used JWT token" {
		t.Fatalf("reuse step %s", steps["reuse"])
	}
	var bad struct{ Token, Process any }
	get("badkey", &bad)
	if bad.Token != false || bad.Process != false {
		t.Fatalf("badkey step %s", steps["badkey"])
	}
	if string(steps["down"]) != "false" {
		t.Fatalf("down step %s", steps["down"])
	}
	var rl struct {
		Code     int
		Attempts int
		Handled  bool
	}
	get("ratelimited", &rl)
	if rl.Code != 429 || rl.Handled || rl.Attempts > 10 {
		t.Fatalf("ratelimited step %s", steps["ratelimited"])
	}
	for _, want := range []string{"WeFund order processed successfully: ", "WeFund API: Token expired, will refresh on next request",
		"WeFund API Error (down)", "WeFund API: Rate limited, please retry later", "Failed to generate JWT token for WeFund order processing"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("the error log lacks %q", want)
		}
	}

	// Two orders processed: two plugin.order.processed events on NATS and
	// at the webhook endpoint, the first with the Woo order's webhook_id.
	var got []events.Envelope
	deadline := time.After(20 * time.Second)
	for len(got) < 2 {
		select {
		case m := <-msgs:
			var env events.Envelope
			if err := json.Unmarshal(m.Data, &env); err != nil {
				t.Fatal(err)
			}
			got = append(got, env)
		case <-deadline:
			t.Fatalf("%d plugin.order.processed events on NATS", len(got))
		}
	}
	var d events.PluginOrderData
	if err := json.Unmarshal(got[0].Data, &d); err != nil || got[0].ID != woo.Meta.WebhookID || d.OrderID != woo.Meta.OrderID ||
		!d.ProcessingOptions.CreateMT5Account || d.Products[0].ChallengeType != "standard" || d.SiteURL != "https://shop.example.com" {
		t.Fatalf("event %+v %s", got[0], got[0].Data)
	}
	walletdtest.CheckFor(t, 20*time.Second, 100*time.Millisecond, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(hooked) < 2 || hooked[0].ID != woo.Meta.WebhookID {
			return fmt.Errorf("%d webhook deliveries", len(hooked))
		}
		return nil
	})
	var report struct {
		OK bool `json:"ok"`
	}
	if _, err := p.call("GET", "/v1/ledger/verify", "", "", &report); err != nil || !report.OK {
		t.Fatalf("verify %+v %v", report, err)
	}
}

// TestServe_PluginHealthNATS: the plugin API's health is 503 "degraded"
// naming nats while the NATS server is stopped, and healthy again once it
// is back.
func TestServe_PluginHealthNATS(t *testing.T) {
	js := walletdtest.RunJetStream(t)
	p := startServe(t, filepath.Join(t.TempDir(), "data"), "--nats-url", js.Server.ClientURL())
	health := func() (int, map[string]any) {
		resp, err := client.Get(p.URL + "/api/plugin/health/")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	if st, body := health(); st != 200 || body["status"] != "healthy" {
		t.Fatalf("%d %v", st, body)
	}
	js.Stop(t)
	walletdtest.CheckFor(t, 20*time.Second, 100*time.Millisecond, func() error {
		st, body := health()
		svc, _ := body["services"].(map[string]any)
		if st != 503 || body["status"] != "degraded" || svc["nats"] != "unavailable" || svc["ledger"] != "healthy" {
			return fmt.Errorf("%d %v", st, body)
		}
		return nil
	})
	js.Start(t)
	walletdtest.CheckFor(t, 30*time.Second, 200*time.Millisecond, func() error {
		if st, body := health(); st != 200 {
			return fmt.Errorf("%d %v", st, body)
		}
		return nil
	})
}

// TestCLI_PluginKey: walletd plugin-key create, list, revoke, and keys
// rotate-plugin-jwt-key, on a stopped data dir.
func TestCLI_PluginKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	p := startServe(t, dir)
	if err := p.stop(t, os.Interrupt); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, error) {
		cmd := exec.Command(binary, append(args, "--data-dir", dir)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		return string(out) + stderr.String(), err
	}
	out, err := run("plugin-key", "create", "--plugin-name", "Your Plugin Name")
	if err != nil {
		t.Fatalf("%v %s", err, out)
	}
	var key string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "wpk_") {
			key = line
		}
	}
	id, _, ok := strings.Cut(key, ".")
	if !ok {
		t.Fatalf("no key in %q", out)
	}
	if out, err := run("plugin-key", "list"); err != nil || !strings.Contains(out, id) || strings.Contains(out, key) || !strings.Contains(out, "Your Plugin Name") {
		t.Fatalf("list: %v %s", err, out)
	}
	if out, err := run("plugin-key", "create"); err == nil {
		t.Fatalf("create without a name: %s", out)
	}
	if out, err := run("plugin-key", "revoke", id); err != nil {
		t.Fatalf("revoke: %v %s", err, out)
	}
	if out, err := run("plugin-key", "revoke", id); err == nil {
		t.Fatalf("revoke twice: %s", out)
	}
	before, err := os.ReadFile(filepath.Join(dir, "plugin-jwt.json"))
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "plugin-jwt.json")); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode())
	}
	if out, err := run("keys", "rotate-plugin-jwt-key"); err != nil || !strings.Contains(out, "rotated plugin JWT key") {
		t.Fatalf("rotate: %v %s", err, out)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "plugin-jwt.json"))
	if bytes.Equal(before, after) {
		t.Fatal("the key file did not change")
	}
}
