package http_test

import (
	"context"
	"encoding/json"
	"fmt"
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

// wantSettingUnchanged sends a setting that wallet id already has, with
// each key of keys, and checks every answer: 200 with want as its data
// (the answer of the change that set it, or the setting with the seq and
// hash of the wallet's last entry), no Idempotent-Replayed, and nothing
// appended to the ledger.
func wantSettingUnchanged(t *testing.T, s *testServer, method, path, body, id, want string, keys ...string) {
	t.Helper()
	head := func() (n uint64) {
		if err := s.L.DB.ReadDB().QueryRow(`SELECT COALESCE(MAX(seq), 0) FROM entries`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before, last := head(), s.wallet(t, id).LastSeq
	for _, key := range keys {
		r := s.do(t, method, path, body, "Idempotency-Key", key)
		r.expect(t, 200, "")
		if string(r.Data) != want || r.Header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("key %q: %s (replayed %q), want %s", key, r.Data, r.Header.Get("Idempotent-Replayed"), want)
		}
	}
	if after := head(); after != before || s.wallet(t, id).LastSeq != last {
		t.Fatalf("head %d → %d, wallet seq %d → %d", before, after, last, s.wallet(t, id).LastSeq)
	}
}

// lastEntry returns the seq and hash of wallet id's last entry.
func lastEntry(t *testing.T, s *testServer, id string) entry {
	t.Helper()
	seq := s.wallet(t, id).LastSeq
	es, err := s.L.DB.Entries(context.Background(), seq-1, 1)
	if err != nil || len(es) != 1 {
		t.Fatalf("entry %d: %v", seq, err)
	}
	return entry{Seq: seq, LedgerHash: es[0].Hash.String()}
}

// withWritten returns data, the JSON answer of a change of a setting, with
// the seq and ledger_hash of e instead of its own.
func withWritten(t *testing.T, data []byte, e entry) string {
	t.Helper()
	var d struct {
		WalletID   string          `json:"wallet_id"`
		Limits     json.RawMessage `json:"limits,omitempty"`
		KYCStatus  string          `json:"kyc_status,omitempty"`
		AutoReload json.RawMessage `json:"auto_reload,omitempty"`
		Seq        uint64          `json:"seq"`
		LedgerHash string          `json:"ledger_hash"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	d.Seq, d.LedgerHash = e.Seq, e.LedgerHash
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSetLimits_Unchanged(t *testing.T) {
	s := mustServer(t)
	w := s.mustWallet(t, "u1", "USD")
	path := "/v1/wallets/" + w.ID + "/limits"
	set := s.do(t, "PUT", path, `{"per_transaction":"10","daily":"15.00"}`)
	set.expect(t, 200, "")

	t.Run("SameLimits", func(t *testing.T) {
		// The same amounts written otherwise, with a key or without,
		// answer what the change answered: its entry is the wallet's last.
		wantSettingUnchanged(t, s, "PUT", path, `{"per_transaction":"10.00","daily":"15","monthly":null}`, w.ID, string(set.Data), "", "k-limits", "k-limits")
	})
	t.Run("AfterOtherEntries", func(t *testing.T) {
		// The answer names the wallet's last entry, from which the read
		// models show the limits.
		e := s.mustCredit(t, w.ID, "5.00")
		wantSettingUnchanged(t, s, "PUT", path, `{"per_transaction":"10","daily":"15"}`, w.ID, withWritten(t, set.Data, e), "", "k-limits-2")
	})
	t.Run("NeverSet", func(t *testing.T) {
		// No limits: the answer names the entry that opened the wallet.
		other := s.mustWallet(t, "u2", "USD")
		open := lastEntry(t, s, other.ID)
		want := fmt.Sprintf(`{"wallet_id":%q,"limits":{},"seq":%d,"ledger_hash":%q}`, other.ID, open.Seq, open.LedgerHash)
		wantSettingUnchanged(t, s, "PUT", "/v1/wallets/"+other.ID+"/limits", `{}`, other.ID, want, "")
	})
	t.Run("Changed", func(t *testing.T) {
		r := s.do(t, "PUT", path, `{"per_transaction":"11"}`)
		r.expect(t, 200, "")
		var got limitsData
		r.data(t, &got)
		if got.Seq != s.wallet(t, w.ID).LastSeq || got.Limits.PerTransaction != "11.00" || got.Limits.Daily != "" {
			t.Fatalf("change %s", r.Data)
		}
	})
	s.verifies(t)
}
