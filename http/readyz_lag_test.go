package http_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walletd/walletd/health"
	whttp "github.com/walletd/walletd/http"
	"github.com/walletd/walletd/ledger/sqlite"
	"github.com/walletd/walletd/walletdtest"
)

// TestServer_ReadyzLag checks that /readyz is 503 with each part's lag
// while one is behind the ledger by more than the bound, 200 once it has
// caught up, and that /livez stays 200 throughout.
func TestServer_ReadyzLag(t *testing.T) {
	l := walletdtest.MustOpenLedger(t, nil)
	wal := l.MustWallet(t, "u1", "USD")
	for range 5 {
		l.MustCredit(t, wal, "1.00")
	}
	var projected atomic.Uint64
	relayed := func() uint64 { return 6 }
	db := l.DB
	s := &whttp.Server{Addr: "127.0.0.1:0", Writer: l.Writer, Ledger: db, APIKeys: db,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Lag: &health.Checker{
			Head: sqlite.NewOutbox(db, "").Head,
			CommittedAt: func(ctx context.Context, seq uint64) (time.Time, error) {
				es, err := db.Entries(ctx, seq-1, 1)
				if err != nil || len(es) == 0 {
					return time.Time{}, err
				}
				return es[0].CreatedAt, nil
			},
			Components:    []health.Component{{Name: "relay", Seq: relayed}, {Name: "projector", Seq: projected.Load}},
			MaxLagEntries: 3,
			MaxLag:        -1,
		}}
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	get := func(path string) (int, map[string]any) {
		t.Helper()
		resp, err := http.Get(s.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, body
	}

	projected.Store(2) // 4 entries behind, the bound is 3
	code, body := get("/readyz")
	if code != 503 || body["code"] != "unavailable" || !strings.Contains(body["message"].(string), "projector is 4 entries") {
		t.Fatalf("behind: %d %v", code, body)
	}
	lags := body["lag"].([]any)
	if len(lags) != 2 || lags[0].(map[string]any)["entries"] != 0.0 || lags[1].(map[string]any)["entries"] != 4.0 ||
		lags[1].(map[string]any)["seconds"].(float64) < 0 || lags[1].(map[string]any)["behind"] != true {
		t.Fatalf("lag: %v", lags)
	}
	if code, _ := get("/livez"); code != 200 {
		t.Fatalf("/livez while behind: %d", code)
	}

	projected.Store(3) // 3 behind: within the bound
	if code, body := get("/readyz"); code != 200 || body["data"].(map[string]any)["status"] != "ready" {
		t.Fatalf("within the bound: %d %v", code, body)
	}
	projected.Store(6)
	if code, _ := get("/readyz"); code != 200 {
		t.Fatalf("caught up: %d", code)
	}
	if code, _ := get("/livez"); code != 200 {
		t.Fatalf("/livez: %d", code)
	}
}
