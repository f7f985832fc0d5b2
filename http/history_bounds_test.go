package http_test

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestHistory_TimeBounds repeats the requests of issue 18: a fraction in
// the last second of year 9999 was rounded up to "10000-01-01T00:00:00Z",
// which sorts before "2026-…" as text, so ?to= found nothing, ?from= found
// everything and a statement came back empty with a zero closing balance.
// Such times are now refused with the allowed range, and fractions inside
// the range still count as the times they are.
func TestHistory_TimeBounds(t *testing.T) {
	s := mustHistoryServer(t, 2*time.Second)
	o := loadOpenAPI(t)
	w := s.mustWallet(t, "u1", "USD")
	s.at("2026-11-30T23:59:59Z")
	s.post(t, w.ID, "credit", "100.00", "topup", "")
	s.at("2026-12-01T00:00:00Z")
	last := s.post(t, w.ID, "debit", "30.00", "order_payment", "")
	minSeq := "&min_seq=" + strconv.FormatUint(last, 10)

	const rangeMsg = "must be from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z."
	for _, tc := range []struct{ name, path, param string }{
		{"TransactionsTo", "/transactions?to=", "to"},
		{"TransactionsFrom", "/transactions?from=", "from"},
		{"StatementTo", "/statement?from=2026-01-01&to=", "to"},
	} {
		t.Run("Err"+tc.name, func(t *testing.T) {
			for _, v := range []string{"9999-12-31T23:59:59.5Z", "9999-12-31T23:59:59.000000001Z", "9999-12-31T22:00:00-02:00"} {
				r := s.do(t, "GET", "/v1/wallets/"+w.ID+tc.path+url.QueryEscape(v)+minSeq, "")
				r.expect(t, 400, "invalid_request")
				if r.Message != tc.param+" "+rangeMsg {
					t.Errorf("%s%s: message %q", tc.path, v, r.Message)
				}
				specCheck(t, o, "/v1/wallets/{id}"+tc.path[:strings.Index(tc.path, "?")], r)
			}
		})
	}
	t.Run("ErrBeforeYear1", func(t *testing.T) {
		r := s.do(t, "GET", "/v1/wallets/"+w.ID+"/transactions?from="+url.QueryEscape("0001-01-01T00:00:00+01:00"), "")
		r.expect(t, 400, "invalid_request")
		if r.Message != "from "+rangeMsg {
			t.Errorf("message %q", r.Message)
		}
	})

	t.Run("Transactions", func(t *testing.T) {
		for _, tc := range []struct{ query, want string }{
			{"to=9999-12-31T23:59:59Z", "order_payment/30.00 topup/100.00 "},
			{"to=9999-12-31T23:59:58.5Z", "order_payment/30.00 topup/100.00 "},
			{"from=9999-12-31T23:59:59Z", ""},
			{"from=9999-12-31T23:59:58.5Z", ""},
			{"from=0001-01-01T00:00:00Z", "order_payment/30.00 topup/100.00 "},
			{"from=0001-01-01T00:00:00.5Z", "order_payment/30.00 topup/100.00 "},
			{"from=2026-11-30T23:59:58.5Z", "order_payment/30.00 topup/100.00 "},
			{"from=2026-11-30T23:59:59Z", "order_payment/30.00 topup/100.00 "},
			{"from=2026-11-30T23:59:59.5Z", "order_payment/30.00 "},
			{"to=2026-11-30T23:59:59Z", ""},
			{"to=2026-11-30T23:59:59.5Z", "topup/100.00 "},
			{"to=2026-12-01T00:00:00Z", "topup/100.00 "},
			{"to=2026-12-01T00:00:00.5Z", "order_payment/30.00 topup/100.00 "},
			{"from=2026-11-30T23:59:59.2Z&to=2026-11-30T23:59:59.7Z", ""}, // no whole second between
		} {
			r := s.do(t, "GET", "/v1/wallets/"+w.ID+"/transactions?"+strings.ReplaceAll(tc.query, "+", "%2B")+minSeq, "")
			r.expect(t, 200, "")
			var p transactionPage
			r.data(t, &p)
			if p.String() != tc.want {
				t.Errorf("%s: %q, want %q", tc.query, p.String(), tc.want)
			}
		}
	})
	t.Run("Statement", func(t *testing.T) {
		for _, tc := range []struct{ query, want string }{
			// Periods are at most 366 days (TestHistory_Limits), so the
			// fractions are checked inside one.
			{"from=2026-01-01&to=2027-01-01", "0.00 70.00 [100.00 30.00]"},
			{"from=2026-11-30T23:59:58.5Z&to=2027-01-01", "0.00 70.00 [100.00 30.00]"},
			{"from=2026-11-30T23:59:59.5Z&to=2027-01-01", "100.00 70.00 [30.00]"},
			{"from=2026-01-01&to=2026-12-01T00:00:00.5Z", "0.00 70.00 [100.00 30.00]"},
			{"from=2026-01-01&to=2026-12-01T00:00:00Z", "0.00 100.00 [100.00]"},
		} {
			r := s.do(t, "GET", "/v1/wallets/"+w.ID+"/statement?"+tc.query+minSeq, "")
			r.expect(t, 200, "")
			var st struct {
				OpeningBalance string        `json:"opening_balance"`
				ClosingBalance string        `json:"closing_balance"`
				Entries        []transaction `json:"entries"`
			}
			r.data(t, &st)
			var amounts []string
			for _, e := range st.Entries {
				amounts = append(amounts, e.Amount)
			}
			if got := fmt.Sprintf("%s %s %v", st.OpeningBalance, st.ClosingBalance, amounts); got != tc.want {
				t.Errorf("%s: %s, want %s", tc.query, got, tc.want)
			}
		}
	})
}

// TestHistory_Limits checks the caps of issue 15 item 6: a statement's
// period is at most 366 days and a page of transactions at most 200 rows;
// beyond either the answer is a 400 that says the limit.
func TestHistory_Limits(t *testing.T) {
	s := mustHistoryServer(t, 2*time.Second)
	o := loadOpenAPI(t)
	w := s.mustWallet(t, "u1", "USD")
	for _, tc := range []struct{ name, path, tpl, msg string }{
		{"StatementOverRange", "/statement?from=2026-01-01&to=2027-01-02T00:00:01Z", "/statement",
			"The period is longer than 366 days: ask for a shorter one."},
		{"StatementWholeRange", "/statement?from=0001-01-01&to=9999-12-31T23:59:59Z&format=csv", "/statement",
			"The period is longer than 366 days: ask for a shorter one."},
		{"TransactionsOverLimit", "/transactions?limit=201", "/transactions", "limit must be an integer from 1 to 200."},
		{"TransactionsZeroLimit", "/transactions?limit=0", "/transactions", "limit must be an integer from 1 to 200."},
	} {
		t.Run("Err"+tc.name, func(t *testing.T) {
			r := s.do(t, "GET", "/v1/wallets/"+w.ID+tc.path, "")
			r.expect(t, 400, "invalid_request")
			if r.Message != tc.msg {
				t.Errorf("message %q, want %q", r.Message, tc.msg)
			}
			specCheck(t, o, "/v1/wallets/{id}"+tc.tpl, r)
		})
	}
	t.Run("LeapYear", func(t *testing.T) { // 366 days exactly is allowed
		r := s.do(t, "GET", "/v1/wallets/"+w.ID+"/statement?from=2028-01-01&to=2029-01-01", "")
		r.expect(t, 200, "")
		specCheck(t, o, "/v1/wallets/{id}/statement", r)
	})
}
