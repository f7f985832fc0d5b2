package http_test

import (
	"strings"
	"testing"

	"github.com/walletd/walletd"
)

// mustRewards sets the rewards of USD orders: cashback of 5% (at most
// 10.00) and of 1.5% from 1000.00, a lifetime-spend milestone of 100.00
// (reward 5.00), an order-count milestone of 2 (reward 3.00), referral
// rewards of 7.00 and 4.00, and bob's referral of alice. It checks each
// answer.
func (s *testServer) mustRewards(tb testing.TB) {
	tb.Helper()
	r := s.do(tb, "POST", "/v1/cashback-rules", `{"percent":"5","max_amount":"10"}`)
	r.expect(tb, 201, "")
	if !strings.Contains(string(r.Data), `"currency":"USD","percent":"5","max_amount":"10.00"`) {
		tb.Fatalf("cashback rule %s", r.Data)
	}
	s.do(tb, "POST", "/v1/cashback-rules", `{"percent":"1.5","min_order_total":"1000","currency":"USD"}`).expect(tb, 201, "")
	s.do(tb, "POST", "/v1/milestones", `{"name":"Big spender","metric":"lifetime_spend","threshold":"100","reward":"5"}`).expect(tb, 201, "")
	r = s.do(tb, "POST", "/v1/milestones", `{"name":"Second order","metric":"order_count","threshold":2,"reward":"3"}`)
	r.expect(tb, 201, "")
	if !strings.Contains(string(r.Data), `"metric":"order_count","threshold":"2","reward":"3.00"`) {
		tb.Fatalf("milestone %s", r.Data)
	}
	r = s.do(tb, "PUT", "/v1/settings/referrals", `{"referrer_reward":"7","referee_reward":"4"}`)
	r.expect(tb, 200, "")
	if !strings.Contains(string(r.Data), `"currency":"USD","referrer_reward":"7.00","referee_reward":"4.00"`) {
		tb.Fatalf("referral settings %s", r.Data)
	}
	s.do(tb, "GET", "/v1/settings/referrals", "").expect(tb, 200, "")
	r = s.do(tb, "POST", "/v1/referrals", `{"referrer_user_id":"bob","referee_user_id":"alice"}`)
	r.expect(tb, 201, "")
	if !strings.Contains(string(r.Data), `"referrer_user_id":"bob","referee_user_id":"alice","status":"pending"`) {
		tb.Fatalf("referral %s", r.Data)
	}
}

func TestRewards(t *testing.T) {
	s := mustServer(t)
	alice := s.mustWallet(t, "alice", "USD")
	bob := s.mustWallet(t, "bob", "USD")
	s.mustRewards(t)

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

	writer := s.bearer(t, walletd.ScopeWalletsWrite)
	cases := jsonCases("POST", "/v1/cashback-rules", "percent")
	cases = append(cases, jsonCases("POST", "/v1/milestones", "name")...)
	for _, c := range jsonCases("POST", "/v1/referrals", "referrer_user_id") {
		if c.name == "WrongType" { // user ids may be JSON integers: a boolean is the wrong type
			c.body, c.code = `{"referrer_user_id":true,"referee_user_id":"y"}`, "invalid_request"
		}
		cases = append(cases, c)
	}
	cases = append(cases, jsonCases("PUT", "/v1/settings/referrals", "referrer_reward")...)
	cases = append(cases, amountCases("POST", "/v1/milestones", `{"name":"m","metric":"lifetime_spend","threshold":"10","reward":"%AMOUNT%"}`)...)
	cases = append(cases,
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
		badCase{name: "ScopeRule", method: "POST", path: "/v1/cashback-rules", body: `{"percent":"5"}`, status: 403, code: "forbidden", headers: []string{"Authorization", writer}},
		badCase{name: "ScopeMilestones", method: "GET", path: "/v1/milestones", status: 403, code: "forbidden", headers: []string{"Authorization", writer}},
		badCase{name: "ScopeReferral", method: "POST", path: "/v1/referrals", body: `{"referrer_user_id":"x","referee_user_id":"y"}`, status: 403, code: "forbidden", headers: []string{"Authorization", writer}},
		badCase{name: "ScopeReferralSettings", method: "PUT", path: "/v1/settings/referrals", body: `{"referrer_reward":"1"}`, status: 403, code: "forbidden", headers: []string{"Authorization", writer}},
	)
	runBad(t, s, cases, alice.ID, bob.ID)
	s.verifies(t)
}
