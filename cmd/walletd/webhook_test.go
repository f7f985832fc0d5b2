package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walletd/walletd"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/walletd/walletd/events"
	whttp "github.com/walletd/walletd/http"
	"github.com/walletd/walletd/walletdtest"
	"github.com/walletd/walletd/webhooks"
)

var quietLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// cliEnv is an in-process walletd API with outbound webhooks (started by
// outboundWebhooks on an embedded JetStream), the admin token in a data dir,
// and a receiver.
type cliEnv struct {
	url, dataDir string
	js           jetstream.JetStream
	reg          *prometheus.Registry
	rcv          *httptest.Server
	svc          *webhooks.Service
	mu           sync.Mutex
	bodies       []string
}

func mustCLIEnv(t *testing.T) *cliEnv {
	t.Helper()
	e := &cliEnv{dataDir: t.TempDir()}
	e.rcv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		e.mu.Lock()
		e.bodies = append(e.bodies, string(b))
		e.mu.Unlock()
	}))
	t.Cleanup(e.rcv.Close)

	l := walletdtest.MustOpenLedger(t, nil)
	k, token, err := walletd.NewAPIKey("admin", []string{walletd.ScopeAdmin}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := l.DB.CreateAPIKey(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dataPaths(e.dataDir).AdminKey, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.js = walletdtest.RunJetStream(t).JS

	// The serve wiring: flags (with their defaults and env), then outboundWebhooks.
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var cfg webhookConfig
	webhookFlags(fs, &cfg)
	if err := parseFlags(fs, []string{"--webhook-allow-cidrs", "127.0.0.0/8", "--webhook-retry-schedule", "50ms,100ms"}); err != nil {
		t.Fatal(err)
	}
	cfg.SiteURL = "https://shop.example"
	metrics := whttp.NewMetrics()
	e.reg = metrics.Registry
	wh := &outboundWebhooks{Config: &cfg, DataDir: e.dataDir, JS: e.js, Stream: "WALLETD", Prefix: "walletd",
		Registerer: metrics.Registry, Logger: quietLogger}
	if err := wh.Open(); err != nil {
		t.Fatal(err)
	}
	svc := wh.Service()
	srv := &whttp.Server{Addr: "127.0.0.1:0", Writer: l.Writer, Ledger: l.DB, APIKeys: l.DB, Logger: quietLogger, Metrics: metrics, Webhooks: svc}
	if err := srv.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close(); wh.Close() })
	e.url = srv.URL()
	e.svc = svc.(*webhooks.Service)
	return e
}

func (e *cliEnv) received() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.bodies...)
}

// cli runs `walletd webhook args…` against the server and returns stdout.
func (e *cliEnv) cli(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errw bytes.Buffer
	all := append([]string{args[0], "--url", e.url, "--data-dir", e.dataDir}, args[1:]...)
	err := webhookMain(context.Background(), all, &out, &errw)
	return out.String(), err
}

func (e *cliEnv) mustCLI(t *testing.T, args ...string) string {
	t.Helper()
	out, err := e.cli(t, args...)
	if err != nil {
		t.Fatalf("walletd webhook %s: %v", strings.Join(args, " "), err)
	}
	return out
}

var fieldRE = func(name string) *regexp.Regexp { return regexp.MustCompile(`(?m)^` + name + `:\s+(\S+)$`) }

func TestWebhookCLI(t *testing.T) {
	e := mustCLIEnv(t)
	out := e.mustCLI(t, "create", e.rcv.URL+"/hook", "--events=wallet.credited,wallet.debited", "--name", "ERP sync")
	id := fieldRE("id").FindStringSubmatch(out)[1]
	secret := fieldRE("secret").FindStringSubmatch(out)[1]
	if !strings.HasPrefix(id, "whe_") || !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("create printed:\n%s", out)
	}
	walletdtest.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		if len(e.received()) < 1 {
			return fmt.Errorf("no ping")
		}
		return nil
	})

	out = e.mustCLI(t, "list")
	if !strings.Contains(out, id) || !strings.Contains(out, "wallet.credited,wallet.debited") || !strings.Contains(out, "active") || strings.Contains(out, secret) {
		t.Fatalf("list:\n%s", out)
	}
	out = e.mustCLI(t, "get", id)
	if !strings.Contains(out, "ERP sync") || strings.Contains(out, secret) {
		t.Fatalf("get:\n%s", out)
	}
	out = e.mustCLI(t, "update", id, "--status=disabled", "--events", "")
	if !regexp.MustCompile(`(?m)^status:\s+disabled$`).MatchString(out) || !strings.Contains(out, "(all)") {
		t.Fatalf("update:\n%s", out)
	}
	e.mustCLI(t, "update", id, "--status", "active")

	// The seed's form of test: --endpoint= --event=.
	out = e.mustCLI(t, "test", "--endpoint="+id, "--event=wallet.transfer.sent")
	if !strings.Contains(out, "queued test event wallet.transfer.sent") {
		t.Fatalf("test: %s", out)
	}
	walletdtest.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		for _, b := range e.received() {
			if strings.Contains(b, `"wallet.transfer.sent"`) && strings.Contains(b, `"test":true`) {
				return nil
			}
		}
		return fmt.Errorf("no test event received")
	})

	// A live event through the dispatcher that outboundWebhooks started.
	env := events.Envelope{ID: events.NewID(), Event: events.WalletCredited, APIVersion: "v1", CreatedAt: events.FormatTime(time.Now()),
		SiteURL: "https://shop.example", Data: json.RawMessage(`{"amount":"25.00"}`)}
	msg := nats.NewMsg("walletd.wallet.credited")
	msg.Data, _ = json.Marshal(env)
	if _, err := e.js.PublishMsg(context.Background(), msg, jetstream.WithMsgID(env.ID)); err != nil {
		t.Fatal(err)
	}
	var logs string
	walletdtest.CheckFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		logs = e.mustCLI(t, "logs", id)
		if !strings.Contains(logs, env.ID) || !strings.Contains(logs, "wallet.transfer.sent (test)") {
			return fmt.Errorf("logs:\n%s", logs)
		}
		return nil
	})
	lines := strings.Split(strings.TrimSpace(logs), "\n")
	if !strings.HasPrefix(lines[0], "TIME (UTC)") || len(lines) != 4 { // header, event, test, ping
		t.Fatalf("logs:\n%s", logs)
	}
	var deliveryID string
	for _, l := range lines {
		if strings.Contains(l, env.ID) {
			deliveryID = regexp.MustCompile(`whd_\S+`).FindString(l)
			if !strings.Contains(l, " 200 ") || !strings.Contains(l, "succeeded") {
				t.Fatalf("log row: %s", l)
			}
		}
	}
	out = e.mustCLI(t, "retry", id, deliveryID)
	if !strings.Contains(out, "queued delivery "+deliveryID) {
		t.Fatalf("retry: %s", out)
	}
	walletdtest.CheckFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		n := 0
		for _, b := range e.received() {
			if b == string(msg.Data) {
				n++
			}
		}
		if n != 2 {
			return fmt.Errorf("the event was received %d times, want 2 (live + retry), byte for byte", n)
		}
		return nil
	})
	walletdtest.CheckFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if out := e.mustCLI(t, "logs", id, "--limit", "1"); len(strings.Split(strings.TrimSpace(out), "\n")) != 2 || !strings.Contains(out, "(manual)") {
			return fmt.Errorf("logs --limit 1:\n%s", out)
		}
		return nil
	})

	out = e.mustCLI(t, "rotate-secret", id)
	if s := strings.TrimSpace(out); !strings.HasPrefix(s, "whsec_") || s == secret {
		t.Fatalf("rotate-secret: %q", out)
	}
	out = e.mustCLI(t, "enable", id, "--deliver-held")
	if !strings.Contains(out, id+" is active; 0 held deliveries queued") {
		t.Fatalf("enable: %s", out)
	}
	out = e.mustCLI(t, "get", id, "--json")
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil || got["id"] != id {
		t.Fatalf("get --json: %s", out)
	}
	e.mustCLI(t, "delete", id)
	if _, err := e.cli(t, "get", id); err == nil || !strings.Contains(err.Error(), "not_found") {
		t.Fatalf("get after delete: %v", err)
	}

	// Metrics of the wiring are on the server's registry.
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, mf := range mfs {
		found = found || mf.GetName() == "walletd_webhook_attempts_total"
	}
	if !found {
		t.Fatal("walletd_webhook_attempts_total is not registered")
	}

	t.Run("Errors", func(t *testing.T) {
		for _, args := range [][]string{
			{"get"},
			{"retry", "whe_x"},
			{"update", "whe_x"},
			{"test"},
			{"create", "http://example.com/a", "http://example.com/b"},
			{"logs", "whe_x", "--limit", "500"},
		} {
			if _, err := e.cli(t, args...); err == nil {
				t.Errorf("%v: no error", args)
			}
		}
		if _, err := e.cli(t, "create", "ftp://example.com/x"); err == nil || !strings.Contains(err.Error(), "https") {
			t.Errorf("create ftp: %v", err)
		}
		var ee exitError
		if _, err := e.cli(t, "frobnicate"); !errors.As(err, &ee) {
			t.Errorf("unknown verb: %v", err)
		}
		var out, errw bytes.Buffer
		if err := webhookMain(context.Background(), []string{"list", "--url", e.url, "--data-dir", t.TempDir()}, &out, &errw); err == nil || !strings.Contains(err.Error(), "admin key") {
			t.Errorf("no token: %v", err)
		}
	})
}

func TestWebhookFlags_Invalid(t *testing.T) {
	for _, args := range [][]string{
		{"--webhook-retry-schedule", "soon"},
		{"--webhook-allow-cidrs", "localhost"},
	} {
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		var cfg webhookConfig
		webhookFlags(fs, &cfg)
		if err := parseFlags(fs, args); err != nil {
			t.Fatal(err)
		}
		w := &outboundWebhooks{Config: &cfg, DataDir: t.TempDir(), Stream: "WALLETD", Prefix: "walletd", Logger: quietLogger}
		if err := w.Open(); err == nil {
			w.Close()
			t.Errorf("%v: started", args)
		}
	}
	// --webhooks=false: the endpoint API only; no dispatcher, no senders
	// (walletd dispatcher sends).
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var cfg webhookConfig
	webhookFlags(fs, &cfg)
	t.Setenv("WALLETD_WEBHOOKS", "false")
	if err := parseFlags(fs, nil); err != nil {
		t.Fatal(err)
	}
	w := &outboundWebhooks{Config: &cfg, DataDir: t.TempDir(), Stream: "WALLETD", Prefix: "walletd", Logger: quietLogger}
	if err := w.Open(); err != nil || w.Service() == nil || w.dispatcher != nil || !w.service.APIOnly {
		t.Fatalf("--webhooks=false: service %v, dispatcher %v, %v", w.Service() != nil, w.dispatcher != nil, err)
	}
	w.Close()
}

// TestWebhookCLI_RetryScheduleFlag runs the retry schedule given by
// --webhook-retry-schedule (50ms,100ms) to suspension, then enables the
// endpoint from the command line and gets what was held.
func TestWebhookCLI_RetryScheduleFlag(t *testing.T) {
	e := mustCLIEnv(t)
	var mu sync.Mutex
	failing := true
	var got []time.Time
	var bodies []string
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if strings.Contains(string(b), `"wallet.credited"`) {
			got = append(got, time.Now())
			bodies = append(bodies, string(b))
		}
		if failing {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer rc.Close()
	out := e.mustCLI(t, "create", "--endpoint-url", rc.URL, "--events", "wallet.credited")
	id := fieldRE("id").FindStringSubmatch(out)[1]
	publish := func() string {
		env := events.Envelope{ID: events.NewID(), Event: events.WalletCredited, APIVersion: "v1", CreatedAt: events.FormatTime(time.Now()),
			SiteURL: "https://shop.example", Data: json.RawMessage(`{}`)}
		msg := nats.NewMsg("walletd.wallet.credited")
		msg.Data, _ = json.Marshal(env)
		if _, err := e.js.PublishMsg(context.Background(), msg, jetstream.WithMsgID(env.ID)); err != nil {
			t.Fatal(err)
		}
		return env.ID
	}
	publish()
	walletdtest.CheckFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if out := e.mustCLI(t, "get", id); !strings.Contains(out, "suspended") {
			return fmt.Errorf("get:\n%s", out)
		}
		return nil
	})
	mu.Lock()
	if len(got) != 3 || got[1].Sub(got[0]) < 49*time.Millisecond || got[2].Sub(got[1]) < 99*time.Millisecond {
		t.Fatalf("attempts at %v, want 3 spaced by 50ms then 100ms", got)
	}
	failing = false
	mu.Unlock()
	held := publish()
	walletdtest.CheckFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if ds, _ := e.svc.Deliveries(context.Background(), id, webhooks.StateHeld); len(ds) != 1 {
			return fmt.Errorf("%d held", len(ds))
		}
		return nil
	})
	if out := e.mustCLI(t, "enable", id, "--deliver-held"); !strings.Contains(out, "1 held deliveries queued") {
		t.Fatalf("enable: %s", out)
	}
	walletdtest.CheckFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(bodies) < 4 || !strings.Contains(bodies[len(bodies)-1], held) {
			return fmt.Errorf("the held event was not delivered after enable")
		}
		return nil
	})
}
