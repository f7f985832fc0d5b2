package http_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walletd/walletd"

	whttp "github.com/walletd/walletd/http"
	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/walletdtest"
)

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

// money is the part of a wallet the features move.
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

type topupData struct {
	ID            string `json:"id"`
	WalletID      string `json:"wallet_id"`
	Amount        string `json:"amount"`
	Currency      string `json:"currency"`
	Method        string `json:"method"`
	ExternalRef   string `json:"external_ref"`
	Origin        string `json:"origin"`
	Status        string `json:"status"`
	FailureReason string `json:"failure_reason"`
	TransactionID string `json:"transaction_id"`
	Seq           uint64 `json:"seq"`
	LedgerHash    string `json:"ledger_hash"`
	Transaction   *entry `json:"transaction"`
}

func TestTopups(t *testing.T) {
	s := mustServer(t)
	w := s.mustWallet(t, "u1", "USD")

	r := s.do(t, "POST", "/v1/wallets/"+w.ID+"/topups", `{"amount":"25","method":"card","external_ref":"pi_1"}`)
	r.expect(t, 201, "")
	var top topupData
	r.data(t, &top)
	if !strings.HasPrefix(top.ID, "top_") || top.Status != "pending" || top.Amount != "25.00" || top.Currency != "USD" ||
		top.Method != "card" || top.ExternalRef != "pi_1" || top.Origin != "api" || top.WalletID != w.ID ||
		top.Seq == 0 || len(top.LedgerHash) != 64 || top.TransactionID != "" {
		t.Fatalf("created top-up %s", r.Data)
	}
	s.wantMoney(t, w.ID, "0.00/0.00/0.00")

	r = s.do(t, "GET", "/v1/topups/"+top.ID, "")
	r.expect(t, 200, "")
	var got topupData
	r.data(t, &got)
	if got.ID != top.ID || got.Status != "pending" || got.Seq != 0 {
		t.Fatalf("GET top-up %s", r.Data)
	}

	r = s.do(t, "POST", "/v1/topups/"+top.ID+"/complete", ``)
	r.expect(t, 200, "")
	var done topupData
	r.data(t, &done)
	if done.Status != "completed" || done.Transaction == nil || done.Transaction.Kind != "credit" || done.Transaction.Type != "topup" ||
		done.Transaction.Amount != "25.00" || done.TransactionID != done.Transaction.TransactionID || done.Seq != done.Transaction.Seq {
		t.Fatalf("completed top-up %s", r.Data)
	}
	s.wantMoney(t, w.ID, "25.00/0.00/25.00")

	t.Run("ErrCompleteTwice", func(t *testing.T) {
		s.do(t, "POST", "/v1/topups/"+top.ID+"/complete", `{}`).expect(t, 409, "conflict")
		s.do(t, "POST", "/v1/topups/"+top.ID+"/fail", `{"reason":"late"}`).expect(t, 409, "conflict")
		s.wantMoney(t, w.ID, "25.00/0.00/25.00")
	})
	t.Run("Fail", func(t *testing.T) {
		r := s.do(t, "POST", "/v1/wallets/"+w.ID+"/topups", `{"amount":"5","method":"card"}`)
		r.expect(t, 201, "")
		var t2 topupData
		r.data(t, &t2)
		r = s.do(t, "POST", "/v1/topups/"+t2.ID+"/fail", `{"reason":"card declined"}`)
		r.expect(t, 200, "")
		r.data(t, &t2)
		if t2.Status != "failed" || t2.FailureReason != "card declined" || t2.Transaction != nil {
			t.Fatalf("failed top-up %s", r.Data)
		}
		s.do(t, "POST", "/v1/topups/"+t2.ID+"/complete", ``).expect(t, 409, "conflict")
		s.do(t, "POST", "/v1/topups/"+t2.ID+"/fail", ``).expect(t, 409, "conflict")
		s.wantMoney(t, w.ID, "25.00/0.00/25.00")
	})
	t.Run("IdempotentCreate", func(t *testing.T) {
		body := `{"amount":"7","method":"card"}`
		r1 := s.do(t, "POST", "/v1/wallets/"+w.ID+"/topups", body, "Idempotency-Key", "top-k1")
		r2 := s.do(t, "POST", "/v1/wallets/"+w.ID+"/topups", body, "Idempotency-Key", "top-k1")
		r1.expect(t, 201, "")
		r2.expect(t, 201, "")
		var a, b topupData
		r1.data(t, &a)
		r2.data(t, &b)
		if a.ID == "" || a.ID != b.ID || a.Seq != b.Seq || r2.Header.Get("Idempotent-Replayed") != "true" || string(r1.Data) != string(r2.Data) {
			t.Fatalf("replay differs:\n%s\n%s", r1.Data, r2.Data)
		}
		s.do(t, "POST", "/v1/wallets/"+w.ID+"/topups", `{"amount":"8","method":"card"}`, "Idempotency-Key", "top-k1").expect(t, 409, "idempotency_conflict")
		// Completing with a key: the replay answers the same completion.
		c1 := s.do(t, "POST", "/v1/topups/"+a.ID+"/complete", ``, "Idempotency-Key", "top-k1-done")
		c2 := s.do(t, "POST", "/v1/topups/"+a.ID+"/complete", ``, "Idempotency-Key", "top-k1-done")
		c1.expect(t, 200, "")
		c2.expect(t, 200, "")
		if string(c1.Data) != string(c2.Data) || c2.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("completion replay differs:\n%s\n%s", c1.Data, c2.Data)
		}
		s.wantMoney(t, w.ID, "32.00/0.00/32.00")
	})

	reader, writer := s.bearer(t, walletd.ScopeWalletsRead), s.bearer(t, walletd.ScopeWalletsWrite)
	path := "/v1/wallets/" + w.ID + "/topups"
	cases := append(jsonCases("POST", path, "amount"), amountCases("POST", path, `{"amount":"%AMOUNT%","method":"card"}`)...)
	cases = append(cases,
		badCase{name: "NumberAmount", method: "POST", path: path, body: `{"amount":25,"method":"card"}`, status: 400, code: "invalid_json"},
		badCase{name: "EmptyBody", method: "POST", path: path, body: ``, status: 400, code: "invalid_json"},
		badCase{name: "NoMethod", method: "POST", path: path, body: `{"amount":"5"}`, status: 400, code: "invalid_request"},
		badCase{name: "BadMethod", method: "POST", path: path, body: `{"amount":"5","method":"Credit Card"}`, status: 400, code: "invalid_request"},
		badCase{name: "UnknownWallet", method: "POST", path: "/v1/wallets/wal_nope/topups", body: `{"amount":"5","method":"card"}`, status: 404, code: "not_found"},
		badCase{name: "UnknownTopupGet", method: "GET", path: "/v1/topups/top_nope", status: 404, code: "not_found"},
		badCase{name: "UnknownTopupComplete", method: "POST", path: "/v1/topups/top_nope/complete", status: 404, code: "not_found"},
		badCase{name: "UnknownTopupFail", method: "POST", path: "/v1/topups/top_nope/fail", body: `{"reason":"x"}`, status: 404, code: "not_found"},
		badCase{name: "CompleteUnknownField", method: "POST", path: "/v1/topups/" + top.ID + "/complete", body: `{"force":true}`, status: 400, code: "invalid_json"},
		badCase{name: "FailWrongType", method: "POST", path: "/v1/topups/" + top.ID + "/fail", body: `{"reason":5}`, status: 400, code: "invalid_json"},
		badCase{name: "ScopeCreate", method: "POST", path: path, body: `{"amount":"5","method":"card"}`, status: 403, code: "forbidden", headers: []string{"Authorization", reader}},
		badCase{name: "ScopeComplete", method: "POST", path: "/v1/topups/" + top.ID + "/complete", status: 403, code: "forbidden", headers: []string{"Authorization", writer}},
		badCase{name: "ScopeFail", method: "POST", path: "/v1/topups/" + top.ID + "/fail", status: 403, code: "forbidden", headers: []string{"Authorization", writer}},
		badCase{name: "ScopeGet", method: "GET", path: "/v1/topups/" + top.ID, status: 403, code: "forbidden", headers: []string{"Authorization", writer}},
		badCase{name: "NoToken", method: "GET", path: "/v1/topups/" + top.ID, status: 401, code: "unauthorized", headers: []string{"Authorization", ""}},
	)
	runBad(t, s, cases, w.ID)
	s.do(t, "GET", "/v1/topups/"+top.ID, "", "Authorization", reader).expect(t, 200, "")
	s.verifies(t)
}

type withdrawalData struct {
	ID             string `json:"id"`
	WalletID       string `json:"wallet_id"`
	Amount         string `json:"amount"`
	Method         string `json:"method"`
	Destination    string `json:"destination"`
	Status         string `json:"status"`
	RejectReason   string `json:"reject_reason"`
	TransactionID  string `json:"transaction_id"`
	Seq            uint64 `json:"seq"`
	BalanceAfter   string `json:"balance_after"`
	HeldAfter      string `json:"held_after"`
	AvailableAfter string `json:"available_after"`
	Transaction    *entry `json:"transaction"`
}

func (s *testServer) mustWithdrawal(tb testing.TB, walletID, amount string) withdrawalData {
	tb.Helper()
	r := s.do(tb, "POST", "/v1/wallets/"+walletID+"/withdrawals", `{"amount":"`+amount+`","method":"bank","destination":"DE89 3704"}`)
	r.expect(tb, 201, "")
	var d withdrawalData
	r.data(tb, &d)
	return d
}

func TestWithdrawals(t *testing.T) {
	s := mustServer(t)
	w := s.mustWallet(t, "u1", "USD")
	s.mustCredit(t, w.ID, "100.00")

	d := s.mustWithdrawal(t, w.ID, "30")
	if !strings.HasPrefix(d.ID, "wdr_") || d.Status != "pending" || d.Amount != "30.00" || d.Destination != "DE89 3704" ||
		d.BalanceAfter != "100.00" || d.HeldAfter != "30.00" || d.AvailableAfter != "70.00" || d.Seq == 0 {
		t.Fatalf("requested withdrawal %+v", d)
	}
	s.wantMoney(t, w.ID, "100.00/30.00/70.00")
	s.do(t, "POST", "/v1/wallets/"+w.ID+"/debit", `{"amount":"70.01"}`).expect(t, 422, "insufficient_funds")

	r := s.do(t, "GET", "/v1/withdrawals/"+d.ID, "")
	r.expect(t, 200, "")
	var got withdrawalData
	r.data(t, &got)
	if got.ID != d.ID || got.Status != "pending" || got.BalanceAfter != "" {
		t.Fatalf("GET withdrawal %s", r.Data)
	}

	r = s.do(t, "POST", "/v1/withdrawals/"+d.ID+"/approve", ``)
	r.expect(t, 200, "")
	var ok withdrawalData
	r.data(t, &ok)
	if ok.Status != "approved" || ok.Transaction == nil || ok.Transaction.Kind != "settle" || ok.Transaction.Amount != "30.00" ||
		ok.TransactionID != ok.Transaction.TransactionID || ok.BalanceAfter != "70.00" || ok.HeldAfter != "0.00" {
		t.Fatalf("approved withdrawal %s", r.Data)
	}
	s.wantMoney(t, w.ID, "70.00/0.00/70.00")
	s.do(t, "POST", "/v1/withdrawals/"+d.ID+"/approve", ``).expect(t, 409, "conflict")
	s.do(t, "POST", "/v1/withdrawals/"+d.ID+"/reject", `{"reason":"late"}`).expect(t, 409, "conflict")

	t.Run("Reject", func(t *testing.T) {
		d := s.mustWithdrawal(t, w.ID, "20")
		s.wantMoney(t, w.ID, "70.00/20.00/50.00")
		r := s.do(t, "POST", "/v1/withdrawals/"+d.ID+"/reject", `{"reason":"name mismatch"}`)
		r.expect(t, 200, "")
		r.data(t, &d)
		if d.Status != "rejected" || d.RejectReason != "name mismatch" || d.HeldAfter != "0.00" || d.AvailableAfter != "70.00" {
			t.Fatalf("rejected withdrawal %s", r.Data)
		}
		s.wantMoney(t, w.ID, "70.00/0.00/70.00")
		s.do(t, "POST", "/v1/withdrawals/"+d.ID+"/approve", ``).expect(t, 409, "conflict")
	})

	t.Run("ApproveAgainstReject", func(t *testing.T) {
		for round := 0; round < 3; round++ {
			d := s.mustWithdrawal(t, w.ID, "1")
			before := s.wallet(t, w.ID).Balance
			statuses := race(20, func(i int) *response {
				if i%2 == 0 {
					return s.do(t, "POST", "/v1/withdrawals/"+d.ID+"/approve", ``)
				}
				return s.do(t, "POST", "/v1/withdrawals/"+d.ID+"/reject", `{"reason":"race"}`)
			})
			if statuses[200] != 1 || statuses[409] != 19 {
				t.Fatalf("statuses %v, want one 200 and 19 409", statuses)
			}
			after := s.wallet(t, w.ID)
			final := s.getWithdrawal(t, d.ID)
			want := before
			if final.Status == "approved" {
				want = map[string]string{"70.00": "69.00", "69.00": "68.00", "68.00": "67.00"}[before]
			}
			if after.Held != "0.00" || after.Balance != want || after.Available != want {
				t.Fatalf("withdrawal %s: wallet %+v, want balance %s", final.Status, after, want)
			}
		}
	})

	reader, writer := s.bearer(t, walletd.ScopeWalletsRead), s.bearer(t, walletd.ScopeWalletsWrite)
	path := "/v1/wallets/" + w.ID + "/withdrawals"
	cases := append(jsonCases("POST", path, "amount"), amountCases("POST", path, `{"amount":"%AMOUNT%","method":"bank"}`)...)
	cases = append(cases,
		badCase{name: "InsufficientFunds", method: "POST", path: path, body: `{"amount":"1000","method":"bank"}`, status: 422, code: "insufficient_funds"},
		badCase{name: "NoMethod", method: "POST", path: path, body: `{"amount":"1"}`, status: 400, code: "invalid_request"},
		badCase{name: "UnknownWallet", method: "POST", path: "/v1/wallets/wal_nope/withdrawals", body: `{"amount":"1","method":"bank"}`, status: 404, code: "not_found"},
		badCase{name: "UnknownGet", method: "GET", path: "/v1/withdrawals/wdr_nope", status: 404, code: "not_found"},
		badCase{name: "UnknownApprove", method: "POST", path: "/v1/withdrawals/wdr_nope/approve", status: 404, code: "not_found"},
		badCase{name: "UnknownReject", method: "POST", path: "/v1/withdrawals/wdr_nope/reject", status: 404, code: "not_found"},
		badCase{name: "RejectUnknownField", method: "POST", path: "/v1/withdrawals/" + d.ID + "/reject", body: `{"why":"x"}`, status: 400, code: "invalid_json"},
		badCase{name: "ScopeRequest", method: "POST", path: path, body: `{"amount":"1","method":"bank"}`, status: 403, code: "forbidden", headers: []string{"Authorization", reader}},
		badCase{name: "ScopeApprove", method: "POST", path: "/v1/withdrawals/" + d.ID + "/approve", status: 403, code: "forbidden", headers: []string{"Authorization", writer}},
		badCase{name: "ScopeReject", method: "POST", path: "/v1/withdrawals/" + d.ID + "/reject", status: 403, code: "forbidden", headers: []string{"Authorization", writer}},
	)
	runBad(t, s, cases, w.ID)
	s.verifies(t)
}

func (s *testServer) getWithdrawal(tb testing.TB, id string) withdrawalData {
	tb.Helper()
	r := s.do(tb, "GET", "/v1/withdrawals/"+id, "")
	r.expect(tb, 200, "")
	var d withdrawalData
	r.data(tb, &d)
	return d
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

type limitsData struct {
	WalletID string `json:"wallet_id"`
	Currency string `json:"currency"`
	TimeZone string `json:"time_zone"`
	Seq      uint64 `json:"seq"`
	Limits   struct {
		PerTransaction string `json:"per_transaction"`
		Daily          string `json:"daily"`
		Monthly        string `json:"monthly"`
	} `json:"limits"`
	Spent struct {
		Day     string `json:"day"`
		Daily   string `json:"daily"`
		Month   string `json:"month"`
		Monthly string `json:"monthly"`
	} `json:"spent"`
}

func TestSpendingLimits(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 24, 23, 0, 0, 0, time.UTC)}
	s := mustClockServer(t, clk)
	w := s.mustWallet(t, "u1", "USD")
	s.mustCredit(t, w.ID, "100.00")
	other := s.mustWallet(t, "u2", "USD")

	r := s.do(t, "PUT", "/v1/wallets/"+w.ID+"/limits", `{"per_transaction":"10","daily":"15","monthly":null}`)
	r.expect(t, 200, "")
	var set limitsData
	r.data(t, &set)
	if set.WalletID != w.ID || set.Seq == 0 || set.Limits.PerTransaction != "10.00" || set.Limits.Daily != "15.00" || set.Limits.Monthly != "" {
		t.Fatalf("set limits %s", r.Data)
	}
	var wal struct{ Limits map[string]string }
	s.do(t, "GET", "/v1/wallets/"+w.ID, "").data(t, &wal)
	if wal.Limits["daily"] != "15.00" || wal.Limits["per_transaction"] != "10.00" || len(wal.Limits) != 2 {
		t.Fatalf("wallet limits %v", wal.Limits)
	}

	t.Run("ErrPerTransaction", func(t *testing.T) {
		s.do(t, "POST", "/v1/wallets/"+w.ID+"/debit", `{"amount":"10.01"}`).expect(t, 422, "spending_limit_exceeded")
		s.do(t, "POST", "/v1/wallets/"+w.ID+"/withdrawals", `{"amount":"11","method":"bank"}`).expect(t, 422, "spending_limit_exceeded")
		s.do(t, "POST", "/v1/transfers", mustJSON(map[string]string{"from_wallet_id": w.ID, "to_wallet_id": other.ID, "amount": "11"})).expect(t, 422, "spending_limit_exceeded")
		s.wantMoney(t, w.ID, "100.00/0.00/100.00")
		s.wantMoney(t, other.ID, "0.00/0.00/0.00")
	})
	s.do(t, "POST", "/v1/wallets/"+w.ID+"/debit", `{"amount":"10"}`).expect(t, 201, "")
	t.Run("ErrDaily", func(t *testing.T) {
		s.do(t, "POST", "/v1/wallets/"+w.ID+"/debit", `{"amount":"5.01"}`).expect(t, 422, "spending_limit_exceeded")
		s.wantMoney(t, w.ID, "90.00/0.00/90.00")
		// A replay of a refused request is refused again, with no new entry.
		s.do(t, "POST", "/v1/wallets/"+w.ID+"/debit", `{"amount":"6"}`, "Idempotency-Key", "lim-1").expect(t, 422, "spending_limit_exceeded")
		seq := s.wallet(t, w.ID).LastSeq
		s.do(t, "POST", "/v1/wallets/"+w.ID+"/debit", `{"amount":"6"}`, "Idempotency-Key", "lim-1").expect(t, 422, "spending_limit_exceeded")
		if got := s.wallet(t, w.ID).LastSeq; got != seq {
			t.Fatalf("a replayed refusal wrote seq %d", got)
		}
	})

	r = s.do(t, "GET", "/v1/wallets/"+w.ID+"/limits", "")
	r.expect(t, 200, "")
	var got limitsData
	r.data(t, &got)
	if got.Currency != "USD" || got.TimeZone != "UTC" || got.Limits.Daily != "15.00" || got.Spent.Day != "2026-11-24" ||
		got.Spent.Daily != "10.00" || got.Spent.Month != "2026-11" || got.Spent.Monthly != "10.00" {
		t.Fatalf("limits %s", r.Data)
	}

	// The next day the daily counter starts again.
	clk.Add(2 * time.Hour)
	r = s.do(t, "GET", "/v1/wallets/"+w.ID+"/limits", "")
	r.data(t, &got)
	if got.Spent.Day != "2026-11-25" || got.Spent.Daily != "0.00" || got.Spent.Monthly != "10.00" {
		t.Fatalf("limits the next day %s", r.Data)
	}
	s.do(t, "POST", "/v1/wallets/"+w.ID+"/debit", `{"amount":"10"}`).expect(t, 201, "")

	// An empty body clears every limit.
	r = s.do(t, "PUT", "/v1/wallets/"+w.ID+"/limits", `{}`)
	r.expect(t, 200, "")
	if !strings.Contains(string(r.Data), `"limits":{}`) {
		t.Fatalf("cleared limits %s", r.Data)
	}
	s.do(t, "POST", "/v1/wallets/"+w.ID+"/debit", `{"amount":"50"}`).expect(t, 201, "")

	reader := s.bearer(t, walletd.ScopeWalletsRead)
	path := "/v1/wallets/" + w.ID + "/limits"
	cases := jsonCases("PUT", path, "daily")
	for _, a := range badAmounts[:4] { // "" is no limit
		cases = append(cases, badCase{name: "Amount" + a.name, method: "PUT", path: path, body: `{"daily":"` + a.amount + `"}`, status: 400, code: "invalid_amount"})
	}
	cases = append(cases,
		badCase{name: "EmptyBody", method: "PUT", path: path, status: 400, code: "invalid_json"},
		badCase{name: "UnknownWallet", method: "PUT", path: "/v1/wallets/wal_nope/limits", body: `{}`, status: 404, code: "not_found"},
		badCase{name: "UnknownWalletGet", method: "GET", path: "/v1/wallets/wal_nope/limits", status: 404, code: "not_found"},
		badCase{name: "Scope", method: "PUT", path: path, body: `{}`, status: 403, code: "forbidden", headers: []string{"Authorization", reader}},
	)
	runBad(t, s, cases, w.ID)
	s.verifies(t)
}

func TestKYC(t *testing.T) {
	s := mustServer(t)
	w := s.mustWallet(t, "u1", "USD")
	s.mustCredit(t, w.ID, "100.00")
	if wal := s.do(t, "GET", "/v1/wallets/"+w.ID, ""); !strings.Contains(string(wal.Data), `"kyc_status":"none"`) {
		t.Fatalf("new wallet %s", wal.Data)
	}
	s.do(t, "GET", "/v1/settings/kyc", "").expect(t, 404, "not_found")

	r := s.do(t, "PUT", "/v1/settings/kyc", `{"threshold":"50","cumulative_threshold":"500"}`)
	r.expect(t, 200, "")
	var ks struct {
		Currency, Threshold, CumulativeThreshold string
		Seq                                      uint64
	}
	r.data(t, &ks)
	r = s.do(t, "GET", "/v1/settings/kyc?currency=USD", "")
	r.expect(t, 200, "")
	if !strings.Contains(string(r.Data), `"currency":"USD","threshold":"50.00","cumulative_threshold":"500.00"`) {
		t.Fatalf("KYC settings %s", r.Data)
	}
	s.do(t, "GET", "/v1/settings/kyc?currency=EUR", "").expect(t, 404, "not_found")
	s.do(t, "GET", "/v1/settings/kyc?currency=XXX", "").expect(t, 400, "invalid_currency")

	t.Run("ErrKYCRequired", func(t *testing.T) {
		s.do(t, "POST", "/v1/wallets/"+w.ID+"/withdrawals", `{"amount":"60","method":"bank"}`).expect(t, 422, "kyc_required")
		s.do(t, "POST", "/v1/wallets/"+w.ID+"/debit", `{"amount":"50.01"}`).expect(t, 422, "kyc_required")
		s.wantMoney(t, w.ID, "100.00/0.00/100.00")
	})
	s.do(t, "POST", "/v1/wallets/"+w.ID+"/debit", `{"amount":"50"}`).expect(t, 201, "")

	r = s.do(t, "PUT", "/v1/wallets/"+w.ID+"/kyc", `{"status":"verified"}`)
	r.expect(t, 200, "")
	if !strings.Contains(string(r.Data), `"wallet_id":"`+w.ID+`","kyc_status":"verified","seq":`) {
		t.Fatalf("set KYC %s", r.Data)
	}
	s.do(t, "POST", "/v1/wallets/"+w.ID+"/withdrawals", `{"amount":"45","method":"bank"}`).expect(t, 201, "")
	s.wantMoney(t, w.ID, "50.00/45.00/5.00")
	if wal := s.do(t, "GET", "/v1/wallets/"+w.ID, ""); !strings.Contains(string(wal.Data), `"kyc_status":"verified"`) {
		t.Fatalf("verified wallet %s", wal.Data)
	}

	writer := s.bearer(t, walletd.ScopeWalletsWrite)
	cases := append(jsonCases("PUT", "/v1/wallets/"+w.ID+"/kyc", "status"), jsonCases("PUT", "/v1/settings/kyc", "threshold")...)
	cases = append(cases, amountCases("PUT", "/v1/settings/kyc", `{"threshold":"%AMOUNT%"}`)...)
	cases = append(cases,
		badCase{name: "BadStatus", method: "PUT", path: "/v1/wallets/" + w.ID + "/kyc", body: `{"status":"approved"}`, status: 400, code: "invalid_request"},
		badCase{name: "UnknownWallet", method: "PUT", path: "/v1/wallets/wal_nope/kyc", body: `{"status":"verified"}`, status: 404, code: "not_found"},
		badCase{name: "BadCurrency", method: "PUT", path: "/v1/settings/kyc", body: `{"threshold":"5","currency":"XXX"}`, status: 400, code: "invalid_currency"},
		badCase{name: "ScopeKYC", method: "PUT", path: "/v1/wallets/" + w.ID + "/kyc", body: `{"status":"verified"}`, status: 403, code: "forbidden", headers: []string{"Authorization", writer}},
		badCase{name: "ScopeSettings", method: "PUT", path: "/v1/settings/kyc", body: `{"threshold":"5"}`, status: 403, code: "forbidden", headers: []string{"Authorization", writer}},
		badCase{name: "ScopeSettingsGet", method: "GET", path: "/v1/settings/kyc", status: 403, code: "forbidden", headers: []string{"Authorization", writer}},
	)
	runBad(t, s, cases, w.ID)
	s.verifies(t)
}

func TestAutoReload(t *testing.T) {
	s := mustServer(t)
	w := s.mustWallet(t, "u1", "USD")
	s.mustCredit(t, w.ID, "30.00")

	r := s.do(t, "PUT", "/v1/wallets/"+w.ID+"/auto-reload", `{"threshold":"20","amount":"50","method":"card"}`)
	r.expect(t, 200, "")
	if !strings.Contains(string(r.Data), `"auto_reload":{"enabled":true,"threshold":"20.00","amount":"50.00","method":"card"}`) {
		t.Fatalf("set auto-reload %s", r.Data)
	}
	if wal := s.do(t, "GET", "/v1/wallets/"+w.ID, ""); !strings.Contains(string(wal.Data), `"auto_reload":{"enabled":true,"threshold":"20.00"`) {
		t.Fatalf("wallet %s", wal.Data)
	}

	// A debit below the threshold starts a pending top-up.
	s.do(t, "POST", "/v1/wallets/"+w.ID+"/debit", `{"amount":"15"}`).expect(t, 201, "")
	r = s.do(t, "GET", "/v1/wallets/"+w.ID+"/auto-reload", "")
	r.expect(t, 200, "")
	var ar struct {
		PendingTopupID string `json:"pending_topup_id"`
	}
	r.data(t, &ar)
	if !strings.HasPrefix(ar.PendingTopupID, "top_") {
		t.Fatalf("no pending top-up: %s", r.Data)
	}
	var top topupData
	s.do(t, "GET", "/v1/topups/"+ar.PendingTopupID, "").data(t, &top)
	if top.Status != "pending" || top.Origin != "auto_reload" || top.Amount != "50.00" || top.Method != "card" || top.WalletID != w.ID {
		t.Fatalf("reload top-up %+v", top)
	}
	// Another debit while it is pending starts no second one.
	s.do(t, "POST", "/v1/wallets/"+w.ID+"/debit", `{"amount":"1"}`).expect(t, 201, "")
	s.do(t, "POST", "/v1/topups/"+top.ID+"/complete", ``).expect(t, 200, "")
	s.wantMoney(t, w.ID, "64.00/0.00/64.00")
	if r := s.do(t, "GET", "/v1/wallets/"+w.ID+"/auto-reload", ""); strings.Contains(string(r.Data), "pending_topup_id") {
		t.Fatalf("still pending after completion: %s", r.Data)
	}

	r = s.do(t, "DELETE", "/v1/wallets/"+w.ID+"/auto-reload", "")
	r.expect(t, 200, "")
	if !strings.Contains(string(r.Data), `"auto_reload":{"enabled":false}`) {
		t.Fatalf("removed auto-reload %s", r.Data)
	}
	s.do(t, "DELETE", "/v1/wallets/"+w.ID+"/auto-reload", "").expect(t, 404, "not_found")
	s.do(t, "POST", "/v1/wallets/"+w.ID+"/debit", `{"amount":"60"}`).expect(t, 201, "")
	if r := s.do(t, "GET", "/v1/wallets/"+w.ID+"/auto-reload", ""); string(r.Data) != `{"wallet_id":"`+w.ID+`","auto_reload":{"enabled":false}}` {
		t.Fatalf("auto-reload after removal: %s", r.Data)
	}

	reader := s.bearer(t, walletd.ScopeWalletsRead)
	path := "/v1/wallets/" + w.ID + "/auto-reload"
	cases := append(jsonCases("PUT", path, "threshold"), amountCases("PUT", path, `{"threshold":"5","amount":"%AMOUNT%"}`)...)
	cases = append(cases,
		badCase{name: "NoThreshold", method: "PUT", path: path, body: `{"amount":"5"}`, status: 400, code: "invalid_amount"},
		badCase{name: "BadMethod", method: "PUT", path: path, body: `{"threshold":"5","amount":"5","method":"A B"}`, status: 400, code: "invalid_request"},
		badCase{name: "UnknownWallet", method: "PUT", path: "/v1/wallets/wal_nope/auto-reload", body: `{"threshold":"5","amount":"5"}`, status: 404, code: "not_found"},
		badCase{name: "UnknownWalletGet", method: "GET", path: "/v1/wallets/wal_nope/auto-reload", status: 404, code: "not_found"},
		badCase{name: "Scope", method: "PUT", path: path, body: `{"threshold":"5","amount":"5"}`, status: 403, code: "forbidden", headers: []string{"Authorization", reader}},
		badCase{name: "ScopeDelete", method: "DELETE", path: path, status: 403, code: "forbidden", headers: []string{"Authorization", reader}},
	)
	runBad(t, s, cases, w.ID)
	s.verifies(t)
}

type codeData struct {
	ID             string `json:"id"`
	Code           string `json:"code"`
	Amount         string `json:"amount"`
	Currency       string `json:"currency"`
	MaxRedemptions int    `json:"max_redemptions"`
	Redemptions    int    `json:"redemptions"`
	PerUserOnce    bool   `json:"per_user_once"`
	ExpiresAt      string `json:"expires_at"`
}

func (s *testServer) mustCode(tb testing.TB, body string) codeData {
	tb.Helper()
	r := s.do(tb, "POST", "/v1/redemption-codes", body)
	r.expect(tb, 201, "")
	var c codeData
	r.data(tb, &c)
	return c
}

func TestRedemptionCodes(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)}
	s := mustClockServer(t, clk)
	w := s.mustWallet(t, "u1", "USD")
	eur := s.mustWallet(t, "u1", "EUR")

	c := s.mustCode(t, `{"code":" welcome-10 ","amount":"10","currency":"USD","max_redemptions":100,"per_user_once":true,"expires_at":"2026-11-25T12:00:00Z"}`)
	if !strings.HasPrefix(c.ID, "rdc_") || c.Code != "WELCOME-10" || c.Amount != "10.00" || c.MaxRedemptions != 100 || !c.PerUserOnce ||
		c.ExpiresAt != "2026-11-25T12:00:00Z" || c.Redemptions != 0 {
		t.Fatalf("created code %+v", c)
	}
	r := s.do(t, "POST", "/v1/wallets/"+w.ID+"/redeem", `{"code":"Welcome-10"}`)
	r.expect(t, 201, "")
	var e entry
	r.data(t, &e)
	if e.Kind != "credit" || e.Type != "redemption" || e.Amount != "10.00" || e.BalanceAfter != "10.00" {
		t.Fatalf("redemption %s", r.Data)
	}
	var got codeData
	s.do(t, "GET", "/v1/redemption-codes/"+c.ID, "").data(t, &got)
	if got.Redemptions != 1 || got.Code != "WELCOME-10" {
		t.Fatalf("code after one redemption %+v", got)
	}
	gen := s.mustCode(t, `{"amount":"5","currency":"USD","max_redemptions":1}`)
	if len(gen.Code) < 12 || gen.ExpiresAt != "" || gen.PerUserOnce {
		t.Fatalf("generated code %+v", gen)
	}

	t.Run("ErrAlreadyRedeemed", func(t *testing.T) {
		s.do(t, "POST", "/v1/wallets/"+w.ID+"/redeem", `{"code":"WELCOME-10"}`).expect(t, 422, "code_already_redeemed")
		s.wantMoney(t, w.ID, "10.00/0.00/10.00")
	})
	t.Run("ErrCurrencyMismatch", func(t *testing.T) {
		s.do(t, "POST", "/v1/wallets/"+eur.ID+"/redeem", `{"code":"WELCOME-10"}`).expect(t, 422, "currency_mismatch")
	})
	t.Run("ErrExhausted", func(t *testing.T) {
		s.do(t, "POST", "/v1/wallets/"+w.ID+"/redeem", `{"code":"`+gen.Code+`"}`).expect(t, 201, "")
		s.do(t, "POST", "/v1/wallets/"+w.ID+"/redeem", `{"code":"`+gen.Code+`"}`).expect(t, 422, "code_exhausted")
		s.wantMoney(t, w.ID, "15.00/0.00/15.00")
	})
	t.Run("ErrExpired", func(t *testing.T) {
		other := s.mustWallet(t, "u2", "USD")
		clk.Add(24 * time.Hour)
		s.do(t, "POST", "/v1/wallets/"+other.ID+"/redeem", `{"code":"WELCOME-10"}`).expect(t, 422, "code_expired")
		s.wantMoney(t, other.ID, "0.00/0.00/0.00")
	})

	t.Run("ConcurrentRedemptions", func(t *testing.T) {
		c := s.mustCode(t, `{"code":"RUSH-5","amount":"2","currency":"USD","max_redemptions":5}`)
		wallets := make([]string, 30)
		for i := range wallets {
			wallets[i] = s.mustWallet(t, "rush"+string(rune('a'+i)), "USD").ID
		}
		statuses := race(len(wallets), func(i int) *response {
			return s.do(t, "POST", "/v1/wallets/"+wallets[i]+"/redeem", `{"code":"rush-5"}`)
		})
		if statuses[201] != 5 || statuses[422] != 25 {
			t.Fatalf("statuses %v, want five 201 and 25 422", statuses)
		}
		credited := 0
		for _, id := range wallets {
			if s.wallet(t, id).Balance == "2.00" {
				credited++
			}
		}
		var got codeData
		s.do(t, "GET", "/v1/redemption-codes/"+c.ID, "").data(t, &got)
		if credited != 5 || got.Redemptions != 5 {
			t.Fatalf("%d wallets credited, code redeemed %d times; want 5", credited, got.Redemptions)
		}
	})

	writer := s.bearer(t, walletd.ScopeWalletsWrite)
	reader := s.bearer(t, walletd.ScopeWalletsRead)
	cases := append(jsonCases("POST", "/v1/redemption-codes", "code"), amountCases("POST", "/v1/redemption-codes", `{"amount":"%AMOUNT%","currency":"USD","max_redemptions":1}`)...)
	cases = append(cases, jsonCases("POST", "/v1/wallets/"+w.ID+"/redeem", "code")...)
	cases = append(cases,
		badCase{name: "MaxRedemptionsString", method: "POST", path: "/v1/redemption-codes", body: `{"amount":"1","currency":"USD","max_redemptions":"5"}`, status: 400, code: "invalid_json"},
		badCase{name: "MaxRedemptionsZero", method: "POST", path: "/v1/redemption-codes", body: `{"amount":"1","currency":"USD"}`, status: 400, code: "invalid_request"},
		badCase{name: "ShortCode", method: "POST", path: "/v1/redemption-codes", body: `{"code":"ab","amount":"1","currency":"USD","max_redemptions":1}`, status: 400, code: "invalid_request"},
		badCase{name: "DuplicateCode", method: "POST", path: "/v1/redemption-codes", body: `{"code":"welcome-10","amount":"1","currency":"USD","max_redemptions":1}`, status: 409, code: "conflict"},
		badCase{name: "PastExpiry", method: "POST", path: "/v1/redemption-codes", body: `{"amount":"1","currency":"USD","max_redemptions":1,"expires_at":"2020-01-01T00:00:00Z"}`, status: 400, code: "invalid_request"},
		badCase{name: "BadExpiry", method: "POST", path: "/v1/redemption-codes", body: `{"amount":"1","currency":"USD","max_redemptions":1,"expires_at":"tomorrow"}`, status: 400, code: "invalid_request"},
		badCase{name: "BadCurrency", method: "POST", path: "/v1/redemption-codes", body: `{"amount":"1","currency":"usd","max_redemptions":1}`, status: 400, code: "invalid_currency"},
		badCase{name: "UnknownCode", method: "POST", path: "/v1/wallets/" + w.ID + "/redeem", body: `{"code":"NOPE-NOPE"}`, status: 404, code: "not_found"},
		badCase{name: "EmptyCode", method: "POST", path: "/v1/wallets/" + w.ID + "/redeem", body: `{"code":""}`, status: 400, code: "invalid_request"},
		badCase{name: "UnknownWallet", method: "POST", path: "/v1/wallets/wal_nope/redeem", body: `{"code":"WELCOME-10"}`, status: 404, code: "not_found"},
		badCase{name: "UnknownGet", method: "GET", path: "/v1/redemption-codes/rdc_nope", status: 404, code: "not_found"},
		badCase{name: "ScopeCreate", method: "POST", path: "/v1/redemption-codes", body: `{"amount":"1","currency":"USD","max_redemptions":1}`, status: 403, code: "forbidden", headers: []string{"Authorization", writer}},
		badCase{name: "ScopeGet", method: "GET", path: "/v1/redemption-codes/" + c.ID, status: 403, code: "forbidden", headers: []string{"Authorization", writer}},
		badCase{name: "ScopeRedeem", method: "POST", path: "/v1/wallets/" + w.ID + "/redeem", body: `{"code":"WELCOME-10"}`, status: 403, code: "forbidden", headers: []string{"Authorization", reader}},
	)
	runBad(t, s, cases, w.ID)
	s.verifies(t)
}

type orderData struct {
	OrderID  string `json:"order_id"`
	UserID   string `json:"user_id"`
	WalletID string `json:"wallet_id"`
	Total    string `json:"total"`
	Status   string `json:"status"`
	Awards   []struct {
		Kind, TransactionID, WalletID, Amount, Ref string
	} `json:"awards"`
	Seq          uint64          `json:"seq"`
	Transactions []entry         `json:"transactions"`
	Items        json.RawMessage `json:"items"`
}

// awards returns an order's awards as "kind amount" strings.
func (o orderData) awards() string {
	var out []string
	for _, a := range o.Awards {
		out = append(out, a.Kind+" "+a.Amount)
	}
	return strings.Join(out, ", ")
}

// withoutWrite removes what only a write answers: seq, ledger_hash and
// transactions.
func withoutWrite(tb testing.TB, raw json.RawMessage) string {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		tb.Fatal(err)
	}
	delete(m, "seq")
	delete(m, "ledger_hash")
	delete(m, "transactions")
	return mustJSON(m)
}

func TestOrders(t *testing.T) {
	s := mustServer(t)
	alice := s.mustWallet(t, "alice", "USD")
	bob := s.mustWallet(t, "bob", "USD")

	// The rules.
	r := s.do(t, "POST", "/v1/cashback-rules", `{"percent":"5","max_amount":"10"}`)
	r.expect(t, 201, "")
	if !strings.Contains(string(r.Data), `"currency":"USD","percent":"5","max_amount":"10.00"`) {
		t.Fatalf("cashback rule %s", r.Data)
	}
	s.do(t, "POST", "/v1/cashback-rules", `{"percent":"1.5","min_order_total":"1000","currency":"USD"}`).expect(t, 201, "")
	s.do(t, "POST", "/v1/milestones", `{"name":"Big spender","metric":"lifetime_spend","threshold":"100","reward":"5"}`).expect(t, 201, "")
	r = s.do(t, "POST", "/v1/milestones", `{"name":"Second order","metric":"order_count","threshold":2,"reward":"3"}`)
	r.expect(t, 201, "")
	if !strings.Contains(string(r.Data), `"metric":"order_count","threshold":"2","reward":"3.00"`) {
		t.Fatalf("milestone %s", r.Data)
	}
	r = s.do(t, "PUT", "/v1/settings/referrals", `{"referrer_reward":"7","referee_reward":"4"}`)
	r.expect(t, 200, "")
	if !strings.Contains(string(r.Data), `"currency":"USD","referrer_reward":"7.00","referee_reward":"4.00"`) {
		t.Fatalf("referral settings %s", r.Data)
	}
	s.do(t, "GET", "/v1/settings/referrals", "").expect(t, 200, "")
	r = s.do(t, "POST", "/v1/referrals", `{"referrer_user_id":"bob","referee_user_id":"alice"}`)
	r.expect(t, 201, "")
	if !strings.Contains(string(r.Data), `"referrer_user_id":"bob","referee_user_id":"alice","status":"pending"`) {
		t.Fatalf("referral %s", r.Data)
	}

	t.Run("Lists", func(t *testing.T) {
		for _, path := range []string{"/v1/cashback-rules", "/v1/milestones"} {
			var page struct {
				Items      []map[string]any `json:"items"`
				NextCursor string           `json:"next_cursor"`
			}
			s.do(t, "GET", path+"?limit=1", "").data(t, &page)
			if len(page.Items) != 1 || page.NextCursor == "" {
				t.Fatalf("%s first page: %+v", path, page)
			}
			first, cursor := page.Items[0]["id"], page.NextCursor
			if cursor != first {
				t.Fatalf("%s: next_cursor %q is not the last id %v", path, cursor, first)
			}
			page.NextCursor, page.Items = "", nil
			s.do(t, "GET", path+"?limit=1&cursor="+cursor, "").data(t, &page)
			if len(page.Items) != 1 || page.Items[0]["id"] == first || page.NextCursor != "" {
				t.Fatalf("%s second page: %+v", path, page)
			}
		}
		s.do(t, "GET", "/v1/milestones?limit=0", "").expect(t, 400, "invalid_request")
	})

	// The first order: 5% cashback, the lifetime milestone, both
	// referral rewards.
	body := `{"user_id":"alice","total":"120","currency":"USD","items":[ {"sku":"A1", "qty":2} ]}`
	r = s.do(t, "POST", "/v1/orders/1001/complete", body)
	r.expect(t, 201, "")
	var o orderData
	r.data(t, &o)
	if o.OrderID != "1001" || o.Status != "completed" || o.Total != "120.00" || o.WalletID != alice.ID || string(o.Items) != `[{"sku":"A1","qty":2}]` ||
		o.awards() != "cashback 6.00, milestone 5.00, referral_referee 4.00, referral_referrer 7.00" || len(o.Transactions) != 5 ||
		o.Transactions[0].Type != "order_completed" || o.Seq != o.Transactions[4].Seq {
		t.Fatalf("completed order %s", r.Data)
	}
	s.wantMoney(t, alice.ID, "15.00/0.00/15.00")
	s.wantMoney(t, bob.ID, "7.00/0.00/7.00")
	var ref struct{ Status, OrderID string }
	s.do(t, "GET", "/v1/referrals/alice", "").data(t, &ref)
	if ref.Status != "rewarded" {
		t.Fatalf("referral %+v", ref)
	}

	t.Run("Repeat", func(t *testing.T) {
		r2 := s.do(t, "POST", "/v1/orders/1001/complete", `{"user_id":"alice","total":"120.00","currency":"USD","items":[{"sku":"A1","qty":2}]}`)
		r2.expect(t, 200, "")
		if r2.Header.Get("Idempotent-Replayed") != "true" || withoutWrite(t, r2.Data) != withoutWrite(t, r.Data) || !strings.Contains(string(r2.Data), `"transactions":[]`) {
			t.Fatalf("repeat:\n%s\nfirst:\n%s", r2.Data, r.Data)
		}
		s.wantMoney(t, alice.ID, "15.00/0.00/15.00")
		s.do(t, "POST", "/v1/orders/1001/complete", `{"user_id":"alice","total":"121","currency":"USD"}`).expect(t, 409, "conflict")
		get := s.do(t, "GET", "/v1/orders/1001", "")
		get.expect(t, 200, "")
		if withoutWrite(t, get.Data) != withoutWrite(t, r.Data) {
			t.Fatalf("GET order:\n%s\nfirst:\n%s", get.Data, r.Data)
		}
	})

	// The second order reaches the order_count milestone; the referral
	// and the lifetime milestone were awarded already.
	r = s.do(t, "POST", "/v1/orders/1002/complete", `{"user_id":"alice","total":"20","currency":"USD"}`)
	r.expect(t, 201, "")
	r.data(t, &o)
	if o.awards() != "cashback 1.00, milestone 3.00" {
		t.Fatalf("second order %s", r.Data)
	}
	s.wantMoney(t, alice.ID, "19.00/0.00/19.00")

	t.Run("ConcurrentCompletion", func(t *testing.T) {
		statuses := race(10, func(int) *response {
			return s.do(t, "POST", "/v1/orders/1003/complete", `{"user_id":"alice","total":"40","currency":"USD"}`)
		})
		if statuses[201] != 1 || statuses[200] != 9 {
			t.Fatalf("statuses %v, want one 201 and nine 200", statuses)
		}
		s.wantMoney(t, alice.ID, "21.00/0.00/21.00") // one 2.00 cashback
	})

	t.Run("Refund", func(t *testing.T) {
		r := s.do(t, "POST", "/v1/orders/1001/refund", `{"reason":"returned"}`)
		r.expect(t, 200, "")
		var o orderData
		r.data(t, &o)
		if o.Status != "refunded" || len(o.Transactions) != 2 || o.Transactions[1].Type != "cashback_reversal" || o.Transactions[1].Amount != "6.00" ||
			!strings.HasSuffix(o.awards(), ", cashback_reversal 6.00") {
			t.Fatalf("refunded order %s", r.Data)
		}
		s.wantMoney(t, alice.ID, "15.00/0.00/15.00")
		s.wantMoney(t, bob.ID, "7.00/0.00/7.00")
		s.do(t, "POST", "/v1/orders/1001/refund", ``).expect(t, 409, "conflict")
		// A refund without a body.
		s.do(t, "POST", "/v1/orders/1002/refund", ``).expect(t, 200, "")
		s.wantMoney(t, alice.ID, "14.00/0.00/14.00")
	})

	writer := s.bearer(t, walletd.ScopeWalletsWrite)
	cases := append(jsonCases("POST", "/v1/orders/2001/complete", "user_id"), amountCases("POST", "/v1/orders/2001/complete", `{"user_id":"alice","total":"%AMOUNT%","currency":"USD"}`)...)
	cases = append(cases, jsonCases("POST", "/v1/cashback-rules", "percent")...)
	cases = append(cases, jsonCases("POST", "/v1/milestones", "name")...)
	cases = append(cases, jsonCases("POST", "/v1/referrals", "referrer_user_id")...)
	cases = append(cases, jsonCases("PUT", "/v1/settings/referrals", "referrer_reward")...)
	cases = append(cases, amountCases("POST", "/v1/milestones", `{"name":"m","metric":"lifetime_spend","threshold":"10","reward":"%AMOUNT%"}`)...)
	cases = append(cases,
		badCase{name: "NoWallet", method: "POST", path: "/v1/orders/2001/complete", body: `{"user_id":"carol","total":"5","currency":"USD"}`, status: 404, code: "not_found"},
		badCase{name: "BadCurrency", method: "POST", path: "/v1/orders/2001/complete", body: `{"user_id":"alice","total":"5","currency":"XXX"}`, status: 400, code: "invalid_currency"},
		badCase{name: "ItemsMalformed", method: "POST", path: "/v1/orders/2001/complete", body: `{"user_id":"alice","total":"5","currency":"USD","items":[1,}`, status: 400, code: "invalid_json"},
		badCase{name: "UnknownOrderRefund", method: "POST", path: "/v1/orders/nope/refund", status: 404, code: "not_found"},
		badCase{name: "UnknownOrderGet", method: "GET", path: "/v1/orders/nope", status: 404, code: "not_found"},
		badCase{name: "RefundUnknownField", method: "POST", path: "/v1/orders/1003/refund", body: `{"amount":"1"}`, status: 400, code: "invalid_json"},
		badCase{name: "PercentZero", method: "POST", path: "/v1/cashback-rules", body: `{"percent":"0"}`, status: 400, code: "invalid_request"},
		badCase{name: "PercentTooHigh", method: "POST", path: "/v1/cashback-rules", body: `{"percent":"100.5"}`, status: 400, code: "invalid_request"},
		badCase{name: "PercentNumber", method: "POST", path: "/v1/cashback-rules", body: `{"percent":5}`, status: 400, code: "invalid_json"},
		badCase{name: "BadMetric", method: "POST", path: "/v1/milestones", body: `{"name":"m","metric":"visits","threshold":"3","reward":"1"}`, status: 400, code: "invalid_request"},
		badCase{name: "NumberThresholdOfSpend", method: "POST", path: "/v1/milestones", body: `{"name":"m","metric":"lifetime_spend","threshold":100,"reward":"1"}`, status: 400, code: "invalid_json"},
		badCase{name: "FractionalOrderCount", method: "POST", path: "/v1/milestones", body: `{"name":"m","metric":"order_count","threshold":2.5,"reward":"1"}`, status: 400, code: "invalid_request"},
		badCase{name: "BoolThreshold", method: "POST", path: "/v1/milestones", body: `{"name":"m","metric":"order_count","threshold":true,"reward":"1"}`, status: 400, code: "invalid_json"},
		badCase{name: "SelfReferral", method: "POST", path: "/v1/referrals", body: `{"referrer_user_id":"bob","referee_user_id":"bob"}`, status: 400, code: "invalid_request"},
		badCase{name: "ReferredTwice", method: "POST", path: "/v1/referrals", body: `{"referrer_user_id":"carol","referee_user_id":"alice"}`, status: 409, code: "conflict"},
		badCase{name: "UnknownReferral", method: "GET", path: "/v1/referrals/nobody", status: 404, code: "not_found"},
		badCase{name: "ZeroRewards", method: "PUT", path: "/v1/settings/referrals", body: `{"referrer_reward":"0","referee_reward":"0"}`, status: 400, code: "invalid_amount"},
		badCase{name: "NoReferralSettings", method: "GET", path: "/v1/settings/referrals?currency=EUR", status: 404, code: "not_found"},
		badCase{name: "ScopeComplete", method: "POST", path: "/v1/orders/2001/complete", body: `{"user_id":"alice","total":"5","currency":"USD"}`, status: 403, code: "forbidden", headers: []string{"Authorization", writer}},
		badCase{name: "ScopeRefund", method: "POST", path: "/v1/orders/1003/refund", status: 403, code: "forbidden", headers: []string{"Authorization", writer}},
		badCase{name: "ScopeGetOrder", method: "GET", path: "/v1/orders/1003", status: 403, code: "forbidden", headers: []string{"Authorization", writer}},
		badCase{name: "ScopeRule", method: "POST", path: "/v1/cashback-rules", body: `{"percent":"5"}`, status: 403, code: "forbidden", headers: []string{"Authorization", writer}},
		badCase{name: "ScopeMilestones", method: "GET", path: "/v1/milestones", status: 403, code: "forbidden", headers: []string{"Authorization", writer}},
		badCase{name: "ScopeReferral", method: "POST", path: "/v1/referrals", body: `{"referrer_user_id":"x","referee_user_id":"y"}`, status: 403, code: "forbidden", headers: []string{"Authorization", writer}},
		badCase{name: "ScopeReferralSettings", method: "PUT", path: "/v1/settings/referrals", body: `{"referrer_reward":"1"}`, status: 403, code: "forbidden", headers: []string{"Authorization", writer}},
	)
	runBad(t, s, cases, alice.ID, bob.ID)
	s.verifies(t)
}

func TestWallets_FeatureFields(t *testing.T) {
	s := mustServer(t)
	r := s.do(t, "POST", "/v1/wallets", `{"user_id":"u1","email":"u1@example.com","currency":"USD"}`)
	r.expect(t, 201, "")
	const want = `"kyc_status":"none","limits":{},"auto_reload":{"enabled":false}}`
	if !strings.HasSuffix(string(r.Data), want) {
		t.Fatalf("created wallet %s", r.Data)
	}
	var w wallet
	r.data(t, &w)
	if got := s.do(t, "GET", "/v1/wallets/"+w.ID, ""); !strings.HasSuffix(string(got.Data), want) {
		t.Fatalf("wallet %s", got.Data)
	}
	if got := s.do(t, "GET", "/v1/wallets?user_id=u1", ""); !strings.Contains(string(got.Data), want) {
		t.Fatalf("wallet list %s", got.Data)
	}
}
