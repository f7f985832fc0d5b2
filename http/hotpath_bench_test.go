package http

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/walletd/walletd"
)

// benchSubmitter answers every command with one fixed credit entry, so
// that BenchmarkCreditRequest measures the request path alone.
type benchSubmitter struct{ e *walletd.Entry }

func (b benchSubmitter) Submit(ctx context.Context, key string, cmd walletd.Command) (*walletd.Result, error) {
	return &walletd.Result{Entries: []*walletd.Entry{b.e}}, nil
}

// benchKeys holds one API key.
type benchKeys struct{ k *walletd.APIKey }

func (b benchKeys) CreateAPIKey(context.Context, *walletd.APIKey) error { return nil }
func (b benchKeys) APIKey(_ context.Context, id string) (*walletd.APIKey, error) {
	if id == b.k.ID {
		return b.k, nil
	}
	return nil, walletd.Errorf(walletd.ENotFound, "no key")
}
func (b benchKeys) APIKeys(context.Context) ([]*walletd.APIKey, error) {
	return []*walletd.APIKey{b.k}, nil
}
func (b benchKeys) RevokeAPIKey(context.Context, string, time.Time) error { return nil }

func benchEntry() *walletd.Entry {
	return &walletd.Entry{Seq: 123456, ID: "txn_2Xb3Vq1v0Yk6cQ9d8zWm3oTqL1p", EventID: "wph_2Xb3Vq1v0Yk6cQ9d8zWm3oTqL1q",
		Kind: walletd.KindCredit, Type: "manual_credit", WalletID: "wal_2Xb3Vq1v0Yk6cQ9d8zWm3oTqL1r", UserID: "user-1",
		Currency: "USD", Amount: "1.00", BalanceAfter: "1234.00", HeldAfter: "0.00", IdempotencyKey: "k-123456",
		RequestHash: strings.Repeat("ab", 32), CreatedAt: time.Date(2026, 12, 3, 15, 0, 0, 123456000, time.UTC), KeyID: "k1"}
}

// BenchmarkCreditRequest is the server's work for one credit between
// net/http and the writer: routing, middleware, auth cache, decoding the
// body, rendering the answer.
func BenchmarkCreditRequest(b *testing.B) {
	k, token, err := walletd.NewAPIKey("bench", []string{walletd.ScopeAdmin}, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	s := &Server{Addr: "127.0.0.1:0", Writer: benchSubmitter{benchEntry()}, APIKeys: benchKeys{k},
		Logger: slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	if err := s.Open(); err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	h := s.Handler()
	body := `{"amount":"1.00"}`
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		r := httptest.NewRequest("POST", "/v1/wallets/wal_"+strconv.Itoa(i%1000)+"/credit", strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+token)
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Idempotency-Key", "k"+strconv.Itoa(i))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusCreated {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
	// CPU time, not wall time: on a shared machine the wall clock counts
	// other processes' turns.
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
