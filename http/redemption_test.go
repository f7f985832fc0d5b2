package http_test

import (
	"strings"
	"testing"
	"time"

	"github.com/walletd/walletd"
)

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
