package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walletd/walletd"

	whttp "github.com/walletd/walletd/http"
	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/walletdtest"
)

// testServer is a real Server on a loopback port over a real ledger.
type testServer struct {
	*whttp.Server
	L     *walletdtest.Ledger
	Admin string // admin token
	URL   string
}

func mustServer(tb testing.TB) *testServer {
	tb.Helper()
	l := walletdtest.MustOpenLedger(tb, nil)
	k, token, err := walletd.NewAPIKey("admin", []string{walletd.ScopeAdmin}, time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	if err := l.DB.CreateAPIKey(context.Background(), k); err != nil {
		tb.Fatal(err)
	}
	s := &whttp.Server{
		Addr:    "127.0.0.1:0",
		Writer:  l.Writer,
		Ledger:  l.DB,
		APIKeys: l.DB,
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	s.PluginKeys = l.DB
	s.Verify = func(ctx context.Context) (*ledger.VerifyReport, error) {
		it, err := l.DB.IterateEntries(ctx)
		if err != nil {
			return nil, err
		}
		defer it.Close()
		cps, err := l.DB.Checkpoints(ctx, 0, 0)
		if err != nil {
			return nil, err
		}
		return ledger.Verify(ctx, it, cps, ledger.VerifyOptions{Keyring: l.Keyring, PublicKey: l.Pub, LedgerID: l.DB.LedgerID()})
	}
	if err := s.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return &testServer{Server: s, L: l, Admin: token, URL: s.URL()}
}

// response is a decoded API answer.
type response struct {
	Status  int
	Header  http.Header
	Success bool            `json:"success"`
	Code    string          `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
	Raw     []byte
}

// do sends a request with the admin token unless headers say otherwise.
func (s *testServer) do(tb testing.TB, method, path, body string, headers ...string) *response {
	tb.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.Admin)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := &response{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	if len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, out); err != nil {
			tb.Fatalf("%s %s: bad JSON %q: %v", method, path, raw, err)
		}
	}
	return out
}

func (r *response) data(tb testing.TB, v any) {
	tb.Helper()
	if err := json.Unmarshal(r.Data, v); err != nil {
		tb.Fatalf("data %s: %v", r.Data, err)
	}
}

func (r *response) expect(tb testing.TB, status int, code string) {
	tb.Helper()
	if r.Status != status || r.Code != code {
		tb.Fatalf("got %d %q (%s), want %d %q", r.Status, r.Code, r.Raw, status, code)
	}
	if status >= 400 && (r.Success || r.Message == "") {
		tb.Fatalf("error body lacks success=false or a message: %s", r.Raw)
	}
}

type wallet struct {
	ID        string `json:"id"`
	UserID    string `json:"user_id"`
	Email     string `json:"email"`
	Currency  string `json:"currency"`
	Balance   string `json:"balance"`
	Held      string `json:"held"`
	Available string `json:"available"`
	Status    string `json:"status"`
	LastSeq   uint64 `json:"last_seq"`
}

type entry struct {
	TransactionID string            `json:"transaction_id"`
	Seq           uint64            `json:"seq"`
	LedgerHash    string            `json:"ledger_hash"`
	PrevHash      string            `json:"prev_hash"`
	Amount        string            `json:"amount"`
	BalanceAfter  string            `json:"balance_after"`
	Type          string            `json:"type"`
	Kind          string            `json:"kind"`
	OrderID       string            `json:"order_id"`
	Metadata      map[string]string `json:"metadata"`
}

func (s *testServer) mustWallet(tb testing.TB, user, currency string) wallet {
	tb.Helper()
	r := s.do(tb, "POST", "/v1/wallets", `{"user_id":"`+user+`","email":"`+user+`@example.com","currency":"`+currency+`"}`)
	r.expect(tb, 201, "")
	var w wallet
	r.data(tb, &w)
	return w
}

func (s *testServer) mustCredit(tb testing.TB, id, amount string) entry {
	tb.Helper()
	r := s.do(tb, "POST", "/v1/wallets/"+id+"/credit", `{"amount":"`+amount+`","type":"topup","reason":"test"}`)
	r.expect(tb, 201, "")
	var e entry
	r.data(tb, &e)
	return e
}

func (s *testServer) wallet(tb testing.TB, id string) wallet {
	tb.Helper()
	r := s.do(tb, "GET", "/v1/wallets/"+id, "")
	r.expect(tb, 200, "")
	var w wallet
	r.data(tb, &w)
	return w
}

func mustJSON(v any) string {
	var buf bytes.Buffer
	json.NewEncoder(&buf).Encode(v)
	return buf.String()
}

// clock is a settable time for the writer and the server.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// mustClockServer is mustServer with the writer and the server on clk.
func mustClockServer(tb testing.TB, clk *clock) *testServer {
	tb.Helper()
	l := walletdtest.MustOpenLedger(tb, func(c *ledger.WriterConfig) { c.Now = clk.Now })
	k, token, err := walletd.NewAPIKey("admin", []string{walletd.ScopeAdmin}, time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	if err := l.DB.CreateAPIKey(context.Background(), k); err != nil {
		tb.Fatal(err)
	}
	s := &whttp.Server{Addr: "127.0.0.1:0", Writer: l.Writer, Ledger: l.DB, APIKeys: l.DB, Now: clk.Now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := s.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return &testServer{Server: s, L: l, Admin: token, URL: s.URL()}
}

// bearer makes an API key with scopes and returns its Authorization value.
func (s *testServer) bearer(tb testing.TB, scopes ...string) string {
	tb.Helper()
	r := s.do(tb, "POST", "/v1/api-keys", mustJSON(map[string]any{"name": "test", "scopes": scopes}))
	r.expect(tb, 201, "")
	var k struct{ Token string }
	r.data(tb, &k)
	return "Bearer " + k.Token
}

// money is the part of a wallet that top-ups, withdrawals, orders and
// the other flows move.
func (s *testServer) money(tb testing.TB, id string) string {
	tb.Helper()
	w := s.wallet(tb, id)
	return w.Balance + "/" + w.Held + "/" + w.Available
}

func (s *testServer) wantMoney(tb testing.TB, id, want string) {
	tb.Helper()
	if got := s.money(tb, id); got != want {
		tb.Fatalf("wallet %s: balance/held/available %s, want %s", id, got, want)
	}
}

func (s *testServer) verifies(tb testing.TB) {
	tb.Helper()
	if rep := s.L.Verify(tb); !rep.OK {
		tb.Fatalf("ledger does not verify: %+v", rep)
	}
}

// badCase is one refused request and the status and code it must get.
type badCase struct {
	name, method, path, body string
	status                   int
	code                     string
	headers                  []string
}

// runBad runs each case as a subtest and checks that none of them changed
// the money of the watched wallets.
func runBad(t *testing.T, s *testServer, cases []badCase, watch ...string) {
	t.Helper()
	for _, tc := range cases {
		t.Run("Err"+tc.name, func(t *testing.T) {
			before := make([]string, len(watch))
			for i, id := range watch {
				before[i] = s.money(t, id)
			}
			s.do(t, tc.method, tc.path, tc.body, tc.headers...).expect(t, tc.status, tc.code)
			for i, id := range watch {
				if after := s.money(t, id); after != before[i] {
					t.Fatalf("a refused request changed wallet %s: %s → %s", id, before[i], after)
				}
			}
		})
	}
}

// badAmounts are the refused amount strings every amount field shares
// (USD).
var badAmounts = []struct{ name, amount string }{
	{"Exponent", "1e400"}, {"NegativeZero", "-0"}, {"TooPrecise", "0.001"}, {"NaN", "NaN"}, {"Empty", ""},
}

// amountCases returns a refused case per bad amount, with body made from
// a template holding %AMOUNT%.
func amountCases(method, path, tpl string) []badCase {
	var out []badCase
	for _, a := range badAmounts {
		out = append(out, badCase{name: "Amount" + a.name, method: method, path: path,
			body: strings.ReplaceAll(tpl, "%AMOUNT%", a.amount), status: 400, code: "invalid_amount"})
	}
	return out
}

// jsonCases returns the malformed-body cases of an endpoint whose body
// has a string field named field.
func jsonCases(method, path, field string) []badCase {
	return []badCase{
		{name: "MalformedJSON", method: method, path: path, body: `{"` + field + `":`, status: 400, code: "invalid_json"},
		{name: "WrongType", method: method, path: path, body: `{"` + field + `":5}`, status: 400, code: "invalid_json"},
		{name: "UnknownField", method: method, path: path, body: `{"` + field + `":"1","admin":true}`, status: 400, code: "invalid_json"},
		{name: "NotAnObject", method: method, path: path, body: `["` + field + `"]`, status: 400, code: "invalid_json"},
	}
}

// race runs fn from n goroutines at once and counts the statuses.
func race(n int, fn func(i int) *response) map[int]int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			st := fn(i).Status
			mu.Lock()
			statuses[st]++
			mu.Unlock()
		}(i)
	}
	close(start)
	wg.Wait()
	return statuses
}
