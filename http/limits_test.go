package http_test

import (
	"strings"
	"testing"
	"time"

	"github.com/walletd/walletd"
)

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
