package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/walletd/walletd/financing"
	"github.com/walletd/walletd/financing/financingtest"
	"github.com/walletd/walletd/walletdtest"
)

// freeAddr returns a loopback address no one listens on (for a serve
// whose --public-url must name its port).
func freeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// financingServe runs walletd serve with a public URL of its own port and
// webhooks allowed to loopback.
func financingServe(t *testing.T, dir, addr string) *proc {
	t.Helper()
	return startServe(t, dir, "--http-addr", addr, "--public-url", "http://"+addr, "--webhook-allow-cidrs", "127.0.0.0/8")
}

// The whole flow through the real program: settings by the CLI, an order,
// its financing request at the fake provider, the customer's approval on
// the fake's page, the order paid, the order.updated webhook delivered,
// and after a restart a resent postback that changes nothing.
func TestServe_Financing(t *testing.T) {
	fake := (&financingtest.Fake{MerchantID: "m-42", Username: "shop-user", Password: "s3cret-pass"}).Start()
	defer fake.Close()
	var mu sync.Mutex
	var orderEvents []string
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var env struct {
			Event string
			Data  struct{ Status string }
		}
		json.Unmarshal(body, &env)
		mu.Lock()
		orderEvents = append(orderEvents, env.Event+":"+env.Data.Status)
		mu.Unlock()
	}))
	defer recv.Close()

	dir := filepath.Join(t.TempDir(), "data")
	addr := freeAddr(t)
	p := financingServe(t, dir, addr)
	if _, err := p.call("POST", "/v1/webhook-endpoints", `{"name":"shop","url":"`+recv.URL+`/hook","events":["order.updated"]}`, "", nil); err != nil {
		t.Fatal(err)
	}

	// The CLI. Unconfigured, financing is not offered.
	cli := func(args ...string) (string, error) {
		var out bytes.Buffer
		cmd := exec.Command(binary, append([]string{"financing", "settings"}, append(args, "--url", p.URL, "--data-dir", dir)...)...)
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err
	}
	if out, err := cli("show"); err == nil || !strings.Contains(out, "not configured") {
		t.Fatalf("show before set: %v %s", err, out)
	}
	pw := filepath.Join(t.TempDir(), "password")
	os.WriteFile(pw, []byte("s3cret-pass\n"), 0o600)
	if out, err := cli("set", "--api-url", fake.URL(), "--merchant-id", "m-42", "--username", "shop-user", "--password-file", pw, "--max-amount", "5000"); err != nil {
		t.Fatalf("set: %v %s", err, out)
	}
	if out, err := cli("set", "--api-url", "ftp://x", "--merchant-id", "m-42", "--username", "shop-user"); err == nil || !strings.Contains(out, "api_url") {
		t.Fatalf("set with a bad URL: %v %s", err, out)
	}
	out, err := cli("show")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^postback_url:\s+http://`+regexp.QuoteMeta(addr)+`/v1/inbound/wegetfinancing$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^password_set:\s+true$`).MatchString(out) || !strings.Contains(out, "max_amount:    5000.00") || strings.Contains(out, "s3cret") {
		t.Fatalf("show:\n%s", out)
	}

	var order struct{ ID int64 }
	if _, err := p.call("POST", "/v1/orders", `{"currency":"USD","billing":{"first_name":"Jane","last_name":"Doe","email":"jane@example.com"},
		"lines":[{"name":"Super Widget","sku":"WID-001","price":"499.00"}]}`, "", &order); err != nil {
		t.Fatal(err)
	}
	var req struct {
		Href         string `json:"href"`
		RequestToken string `json:"request_token"`
	}
	if st, err := p.call("POST", fmt.Sprintf("/v1/orders/%d/financing", order.ID), "", "", &req); err != nil || st != http.StatusCreated {
		t.Fatalf("%d %v", st, err)
	}
	// The customer approves on the provider's page (the fake's form).
	resp, err := http.PostForm(fake.URL()+"/checkout/decide", map[string][]string{"token": {req.RequestToken}, "decision": {"approved"}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "financing application is complete") {
		t.Fatalf("after approving: %d %s", resp.StatusCode, page)
	}
	orderStatus := func() string {
		var o struct{ Status string }
		if _, err := p.call("GET", fmt.Sprintf("/v1/orders/%d", order.ID), "", "", &o); err != nil {
			t.Fatal(err)
		}
		return o.Status
	}
	walletdtest.CheckFor(t, 20*time.Second, 20*time.Millisecond, func() error {
		if st := orderStatus(); st != "processing" {
			return fmt.Errorf("order %s", st)
		}
		mu.Lock()
		defer mu.Unlock()
		for _, e := range orderEvents {
			if e == "order.updated:processing" {
				return nil
			}
		}
		return fmt.Errorf("webhooks %v", orderEvents)
	})
	metrics := func() string {
		resp, err := http.Get(p.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	m := metrics()
	for _, want := range []string{`walletd_financing_postbacks_total{status="approved"} 1`, `walletd_financing_requests_total{outcome="created"} 1`,
		`walletd_financing_postback_outcomes_total{state="applied"} 1`} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}

	// A restart, then the provider resends the postback: recorded as a
	// duplicate, nothing applied twice.
	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v\n%s", err, p.Logs())
	}
	p = financingServe(t, dir, addr)
	st, body, err := fake.Postback(context.Background(), req.RequestToken, financing.StatusApproved, "")
	if err != nil || st != 200 || body != "OK" {
		t.Fatalf("resend: %d %q %v", st, body, err)
	}
	var log struct {
		Items []struct {
			Duplicates int
			State      string
		}
	}
	if _, err := p.call("GET", "/v1/financing/postbacks", "", "", &log); err != nil {
		t.Fatal(err)
	}
	if len(log.Items) != 1 || log.Items[0].Duplicates != 1 || log.Items[0].State != "applied" {
		t.Fatalf("log %+v", log)
	}
	// The shared inbound log holds the request sent (direction out) and
	// the postback with its resend.
	var logs struct {
		Logs []struct {
			Direction string
			EventType string `json:"event_type"`
			Outcome   string
		}
	}
	if _, err := p.call("GET", "/v1/inbound/gateways/wegetfinancing/logs", "", "", &logs); err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, l := range logs.Logs {
		seen = append(seen, l.Direction+":"+l.EventType+":"+l.Outcome)
	}
	if strings.Join(seen, " ") != "in:approved:duplicate in:approved:accepted out:create_request:created" {
		t.Fatalf("inbound log %v", seen)
	}
	var o struct{ Payments []any }
	p.call("GET", fmt.Sprintf("/v1/orders/%d", order.ID), "", "", &o)
	if len(o.Payments) != 1 || orderStatus() != "processing" {
		t.Fatalf("order %+v", o)
	}
	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v\n%s", err, p.Logs())
	}
}

// docExample returns the shell block of docs/financing.md that follows
// the marker line.
func docExample(tb testing.TB, marker string) string {
	tb.Helper()
	b, err := os.ReadFile("../../docs/financing.md")
	if err != nil {
		tb.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), marker)
	if !ok {
		tb.Fatalf("docs/financing.md has no %s", marker)
	}
	_, rest, _ = strings.Cut(rest, "```sh\n")
	block, _, ok := strings.Cut(rest, "```")
	if !ok {
		tb.Fatal("unterminated example")
	}
	return block
}

// The curl examples of docs/financing.md, run as they are against a
// running walletd and the fake provider.
func TestDocs_FinancingExamples(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq", "sha256sum"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the docs' examples need %s: %v", tool, err)
		}
	}
	fake := (&financingtest.Fake{MerchantID: "1234", Username: "shop-api-user", Password: "shop-api-password"}).Start()
	defer fake.Close()
	dir := filepath.Join(t.TempDir(), "data")
	addr := freeAddr(t)
	p := financingServe(t, dir, addr)
	script := "set -euo pipefail\n" + docExample(t, "<!-- example: setup -->") + docExample(t, "<!-- example: order -->") +
		docExample(t, "<!-- example: postback -->") + `
test "$(curl -s $API/v1/orders/$ORDER -H "Authorization: Bearer $TOKEN" | jq -r .data.status)" = processing || { echo not paid; exit 1; }
`
	cmd := exec.Command("bash", "-c", script)
	cmd.Env = append(os.Environ(), "API="+p.URL, "TOKEN="+p.Token, "WGF_API="+fake.URL())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the example failed: %v\n%s", err, out)
	}
	walletdtest.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		var o struct{ Status string }
		p.call("GET", "/v1/orders/1", "", "", &o)
		if o.Status != "processing" {
			return fmt.Errorf("order %s", o.Status)
		}
		return nil
	})
}
