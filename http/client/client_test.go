package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walletd/walletd"
	whttp "github.com/walletd/walletd/http"
	"github.com/walletd/walletd/http/client"
	"github.com/walletd/walletd/walletdtest"
	"github.com/walletd/walletd/webhooks"
)

// testServer is a real walletd API on a loopback port: a ledger on SQLite
// with its writer, a webhooks service (without NATS: endpoints, tests and
// pings work, events do not arrive), an admin token, and a receiver for
// the webhooks.
type testServer struct {
	URL    string
	Admin  string // admin token
	L      *walletdtest.Ledger
	Client *client.Client
	rcv    *receiver
}

// receiver is an endpoint that answers 200 and keeps the bodies.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []string
}

func (r *receiver) received() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.bodies...)
}

var quietLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// mustServer starts a testServer; withWebhooks false leaves the webhook
// routes answering 503.
func mustServer(tb testing.TB, withWebhooks bool) *testServer {
	tb.Helper()
	l := walletdtest.MustOpenLedger(tb, nil)
	k, token, err := walletd.NewAPIKey("admin", []string{walletd.ScopeAdmin}, time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	if err := l.DB.CreateAPIKey(context.Background(), k); err != nil {
		tb.Fatal(err)
	}
	rcv := &receiver{}
	rcv.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rcv.mu.Lock()
		rcv.bodies = append(rcv.bodies, string(b))
		rcv.mu.Unlock()
	}))
	tb.Cleanup(rcv.Close)

	s := &whttp.Server{Addr: "127.0.0.1:0", Writer: l.Writer, Ledger: l.DB, APIKeys: l.DB, Logger: quietLogger}
	var closeWebhooks func()
	if withWebhooks {
		db, err := webhooks.Open(context.Background(), filepath.Join(tb.TempDir(), "webhooks.db"), nil)
		if err != nil {
			tb.Fatal(err)
		}
		svc := &webhooks.Service{DB: db, SiteURL: "https://shop.example", Schedule: []time.Duration{20 * time.Millisecond},
			Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, Timeout: 2 * time.Second, Logger: quietLogger}
		if err := svc.Open(); err != nil {
			tb.Fatal(err)
		}
		s.Webhooks = svc
		closeWebhooks = func() { svc.Close(); db.Close() }
	}
	if err := s.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		s.Close()
		if closeWebhooks != nil {
			closeWebhooks()
		}
	})
	return &testServer{URL: s.URL(), Admin: token, L: l, Client: client.NewClient(s.URL(), token), rcv: rcv}
}

// rawData returns the data of the answer to GET path, byte for byte as the
// server encoded it.
func (s *testServer) rawData(tb testing.TB, path string) []byte {
	tb.Helper()
	req, _ := http.NewRequest("GET", s.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+s.Admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil || resp.StatusCode != 200 {
		tb.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
	}
	return env.Data
}

// encode returns v encoded as the server encodes its answers.
func encode(tb testing.TB, v any) []byte {
	tb.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		tb.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// expectError fails unless err is an *client.Error with status and code
// whose code walletd.ErrorCode also sees.
func expectError(tb testing.TB, err error, status int, code string) {
	tb.Helper()
	var ce *client.Error
	if !errors.As(err, &ce) {
		tb.Fatalf("got %v (%T), want an *client.Error %d %s", err, err, status, code)
	}
	if ce.StatusCode != status || ce.Code() != code || walletd.ErrorCode(err) != code {
		tb.Fatalf("got %d %q (ErrorCode %q): %v; want %d %q", ce.StatusCode, ce.Code(), walletd.ErrorCode(err), err, status, code)
	}
	if ce.Message() == "" || walletd.ErrorMessage(err) != ce.Message() {
		tb.Fatalf("message %q, ErrorMessage %q", ce.Message(), walletd.ErrorMessage(err))
	}
}

func TestClient_Errors(t *testing.T) {
	ctx := context.Background()

	t.Run("ErrUnauthorized", func(t *testing.T) {
		s := mustServer(t, false)
		c := client.NewClient(s.URL, "wdk_nope.nope")
		_, err := c.WebhookService().Endpoints(ctx)
		expectError(t, err, 401, whttp.EUnauthorized)
	})

	t.Run("ErrUnavailable", func(t *testing.T) {
		s := mustServer(t, false) // no webhooks service: its routes answer 503
		_, err := s.Client.WebhookService().Endpoints(ctx)
		expectError(t, err, 503, walletd.EUnavailable)
		if want := " (HTTP 503 unavailable)"; !strings.HasSuffix(err.Error(), want) {
			t.Fatalf("message %q does not end in %q", err, want)
		}
	})

	t.Run("ErrNotWalletd", func(t *testing.T) {
		for _, tc := range []struct {
			name, body string
			status     int
		}{
			{"HTML", "<html>Bad gateway</html>", 502},
			{"JSONWithoutCode", `{"error":"bad gateway"}`, 502},
			{"Redirect", "", 302},
			{"OKNotJSON", "ok", 200},
		} {
			t.Run(tc.name, func(t *testing.T) {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if tc.status == 302 {
						http.Redirect(w, r, "https://elsewhere.example/", http.StatusFound)
						return
					}
					w.WriteHeader(tc.status)
					io.WriteString(w, tc.body)
				}))
				defer srv.Close()
				_, err := client.NewClient(srv.URL+"/", "tok").WebhookService().Endpoint(ctx, "whe_1")
				var ce *client.Error
				if !errors.As(err, &ce) || ce.StatusCode != tc.status || ce.Err != nil || walletd.ErrorCode(err) != walletd.EInternal {
					t.Fatalf("got %#v", err)
				}
				if want := fmt.Sprintf("GET /v1/webhook-endpoints/whe_1: HTTP %d, not a walletd answer", tc.status); err.Error() != want {
					t.Fatalf("message %q, want %q", err, want)
				}
			})
		}
	})

	t.Run("ErrTransport", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		u := srv.URL
		srv.Close()
		_, err := client.NewClient(u, "tok").WebhookService().Endpoints(ctx)
		var ue *url.Error
		var ce *client.Error
		if !errors.As(err, &ue) || errors.As(err, &ce) || walletd.ErrorCode(err) != walletd.EInternal {
			t.Fatalf("got %#v", err)
		}
	})

	t.Run("Headers", func(t *testing.T) {
		var got http.Header
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got = r.Header.Clone()
			w.Header().Set("Idempotent-Replayed", "true")
			w.WriteHeader(201)
			io.WriteString(w, `{"success":true,"data":{"id":"wal_1","created_at":""}}`)
		}))
		defer srv.Close()
		c := client.NewClient(srv.URL, "wdk_a.b")
		res, err := c.WalletService().Submit(ctx, "k-1", newCreateWallet("u1"))
		if err != nil {
			t.Fatal(err)
		}
		if got.Get("Authorization") != "Bearer wdk_a.b" || got.Get("Idempotency-Key") != "k-1" || got.Get("Content-Type") != "application/json" {
			t.Fatalf("headers %v", got)
		}
		if !res.Replayed || res.Entries[0].WalletID != "wal_1" {
			t.Fatalf("result %+v", res)
		}
		c.WebhookService().Endpoints(ctx)
		if got.Get("Idempotency-Key") != "" || got.Get("Content-Type") != "" {
			t.Fatalf("a GET sent %v", got)
		}
	})
}
