package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeWalletd speaks the slice of the /v1 contract that bench uses: every
// third debit is refused with insufficient_funds.
type fakeWalletd struct {
	token   string
	wallets atomic.Int64
	debits  atomic.Int64
	mu      sync.Mutex
	seen    map[string]int // "POST /v1/transfers" → count
	idem    map[string]bool
	dupIdem int
}

func (f *fakeWalletd) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reply := func(status int, body any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(body)
	}
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		reply(401, map[string]any{"success": false, "code": "unauthorized", "message": "bad token"})
		return
	}
	var body map[string]string
	if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&body) != nil {
		reply(400, map[string]any{"success": false, "code": "invalid_request", "message": "bad request"})
		return
	}
	route := r.URL.Path
	if strings.HasPrefix(route, "/v1/wallets/wal_") {
		route = "/v1/wallets/{id}/" + route[strings.LastIndexByte(route, '/')+1:]
	}
	f.mu.Lock()
	f.seen[route]++
	if k := r.Header.Get("Idempotency-Key"); k != "" {
		if f.idem[k] {
			f.dupIdem++
		}
		f.idem[k] = true
	}
	f.mu.Unlock()
	switch route {
	case "/v1/wallets":
		if body["user_id"] == "" || body["currency"] != "USD" {
			reply(400, map[string]any{"success": false, "code": "invalid_request", "message": "user_id"})
			return
		}
		reply(201, map[string]any{"success": true, "data": map[string]any{"id": fmt.Sprintf("wal_%d", f.wallets.Add(1))}})
	case "/v1/wallets/{id}/credit":
		reply(201, map[string]any{"success": true, "data": map[string]any{"amount": body["amount"]}})
	case "/v1/wallets/{id}/debit":
		if f.debits.Add(1)%3 == 0 {
			reply(422, map[string]any{"success": false, "code": "insufficient_funds", "message": "no money"})
			return
		}
		reply(201, map[string]any{"success": true, "data": map[string]any{"amount": body["amount"]}})
	case "/v1/transfers":
		if body["from_wallet_id"] == body["to_wallet_id"] || body["amount"] != "0.25" {
			reply(400, map[string]any{"success": false, "code": "invalid_request", "message": "transfer"})
			return
		}
		reply(201, map[string]any{"success": true, "data": map[string]any{"transfer_id": "tfr_1"}})
	default:
		reply(404, map[string]any{"success": false, "code": "not_found", "message": route})
	}
}

func newFakeWalletd(t *testing.T) (*fakeWalletd, *httptest.Server) {
	f := &fakeWalletd{token: "tok_test", seen: map[string]int{}, idem: map[string]bool{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func TestBench(t *testing.T) {
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		f, srv := newFakeWalletd(t)
		var out bytes.Buffer
		start := time.Now()
		err := benchMain(ctx, []string{"--url", srv.URL, "--token", f.token, "--wallets", "5", "--concurrency", "4",
			"--duration", "300ms"}, &out, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("took %v", d)
		}
		for _, want := range []string{"ops/s:", "p99=", "p99.9=", "422 insufficient_funds=", "concurrency=4", "wallets=5",
			"mix=credit=70,debit=20,transfer=10"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("output lacks %q:\n%s", want, out.String())
			}
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.seen["/v1/wallets"] != 5 || f.seen["/v1/transfers"] == 0 || f.seen["/v1/wallets/{id}/debit"] == 0 {
			t.Errorf("requests seen: %v", f.seen)
		}
		if f.dupIdem != 0 {
			t.Errorf("%d Idempotency-Keys were reused", f.dupIdem)
		}
	})

	t.Run("JSON", func(t *testing.T) {
		f, srv := newFakeWalletd(t)
		var out bytes.Buffer
		err := benchMain(ctx, []string{"--url", srv.URL, "--token", f.token, "--wallets", "3", "--concurrency", "2",
			"--duration", "200ms", "--mix", "debit=1", "--json"}, &out, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		var rep benchReport
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
		if rep.OK == 0 || rep.OKByOp["debit"] != rep.OK || rep.Errors["422 insufficient_funds"] == 0 ||
			rep.Requests != rep.OK+rep.Errors["422 insufficient_funds"] || rep.OpsPerSec <= 0 || rep.LatencyMS["p50"] <= 0 && rep.LatencyMS["max"] <= 0 {
			t.Fatalf("report %+v", rep)
		}
	})

	t.Run("TokenFromDataDir", func(t *testing.T) {
		f, srv := newFakeWalletd(t)
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "admin.key"), []byte(f.token+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		err := benchMain(ctx, []string{"--url", srv.URL, "--data-dir", dir, "--wallets", "2", "--concurrency", "2",
			"--duration", "100ms"}, io.Discard, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
	})

	t.Run("Canceled", func(t *testing.T) {
		f, srv := newFakeWalletd(t)
		cctx, cancel := context.WithCancel(ctx)
		time.AfterFunc(200*time.Millisecond, cancel)
		start := time.Now()
		var out bytes.Buffer
		err := benchMain(cctx, []string{"--url", srv.URL, "--token", f.token, "--wallets", "2", "--duration", "1h"}, &out, io.Discard)
		if err != nil {
			t.Fatal(err)
		} else if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("a canceled run took %v", d)
		} else if !strings.Contains(out.String(), "interrupted") {
			t.Fatalf("output %s", out.String())
		}
	})

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"ErrBadToken", []string{"--token", "nope"}, "401 unauthorized"},
		{"ErrBadMix", []string{"--token", "tok_test", "--mix", "refund=5"}, "unknown operation"},
		{"ErrZeroMix", []string{"--token", "tok_test", "--mix", "credit=0"}, "no operation"},
		{"ErrOneWalletTransfers", []string{"--token", "tok_test", "--wallets", "1"}, "--wallets"},
		{"ErrNoToken", []string{"--data-dir", "/nonexistent-walletd-dir"}, "admin key"},
		{"ErrBadURL", []string{"--token", "tok_test", "--url", "ftp://example"}, "--url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, srv := newFakeWalletd(t)
			args := append([]string{"--url", srv.URL, "--duration", "100ms"}, tc.args...)
			err := benchMain(ctx, args, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error mentioning %q, got %v", tc.want, err)
			}
		})
	}
}

func TestLatencyHistogram(t *testing.T) {
	h := newLatencyHistogram()
	for i := 1; i <= 10000; i++ {
		h.record(time.Duration(i) * time.Microsecond * 10) // 10 µs … 100 ms
	}
	for _, tc := range []struct{ q, want float64 }{{0.5, 50}, {0.99, 99}, {0.999, 99.9}, {1, 100}} {
		got := h.quantile(tc.q)
		if got < tc.want*0.995 || got > tc.want*1.005 {
			t.Errorf("quantile(%v) = %vms, want about %vms", tc.q, got, tc.want)
		}
	}
	if m := h.max(); m != 100 {
		t.Errorf("max = %v", m)
	}
	for us := uint64(0); us < 1<<24; us = us*3/2 + 1 {
		if i := latencyBucket(us); bucketUpper(i) < us || (i > 0 && bucketUpper(i-1) >= us) {
			t.Fatalf("%d µs falls in bucket %d (upper %d, previous upper %d)", us, i, bucketUpper(i), bucketUpper(i-1))
		}
	}
}
