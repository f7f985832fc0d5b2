package http_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestHistory_StatementPages: the JSON statement pages its entries with
// limit and offset, every page carrying the whole period's balances,
// totals and entry count; bad page parameters are 400 and change nothing.
func TestHistory_StatementPages(t *testing.T) {
	s := mustHistoryServer(t, 200*time.Millisecond)
	o := loadOpenAPI(t)
	const tpl = "/v1/wallets/{id}/statement"
	w := s.mustWallet(t, "u1", "USD")
	var last uint64
	for i := 0; i < 7; i++ {
		s.at(fmt.Sprintf("2026-12-%02dT10:00:00Z", i+1))
		last = s.post(t, w.ID, "credit", strconv.Itoa(i+1)+".00", "topup", "")
	}
	base := "/v1/wallets/" + w.ID + "/statement?from=2026-12-01&to=2027-01-01&min_seq=" + strconv.FormatUint(last, 10)
	type page struct {
		OpeningBalance string        `json:"opening_balance"`
		ClosingBalance string        `json:"closing_balance"`
		TotalCredits   string        `json:"total_credits"`
		Entries        []transaction `json:"entries"`
		EntryCount     int           `json:"entry_count"`
		NextOffset     *int          `json:"next_offset"`
	}
	get := func(t *testing.T, query string) page {
		t.Helper()
		r := s.do(t, "GET", base+query, "")
		r.expect(t, 200, "")
		specCheck(t, o, tpl, r)
		var p page
		r.data(t, &p)
		if p.OpeningBalance != "0.00" || p.ClosingBalance != "28.00" || p.TotalCredits != "28.00" || p.EntryCount != 7 {
			t.Fatalf("%s: the whole period's figures: %+v", query, p)
		}
		return p
	}
	t.Run("Default", func(t *testing.T) {
		if p := get(t, ""); len(p.Entries) != 7 || p.NextOffset != nil {
			t.Fatalf("%d entries, next %v", len(p.Entries), p.NextOffset)
		}
	})
	t.Run("Pages", func(t *testing.T) {
		var amounts []string
		q := "&limit=3"
		for n := 0; ; n++ {
			p := get(t, q)
			for _, e := range p.Entries {
				amounts = append(amounts, e.Amount)
			}
			if p.NextOffset == nil {
				break
			}
			if n > 5 || len(p.Entries) != 3 {
				t.Fatalf("page %d: %d entries", n, len(p.Entries))
			}
			q = "&limit=3&offset=" + strconv.Itoa(*p.NextOffset)
		}
		if got := strings.Join(amounts, " "); got != "1.00 2.00 3.00 4.00 5.00 6.00 7.00" {
			t.Fatalf("pages gave %s", got)
		}
	})
	t.Run("PastTheEnd", func(t *testing.T) {
		if p := get(t, "&offset=7"); len(p.Entries) != 0 || p.NextOffset != nil {
			t.Fatalf("%+v", p)
		}
	})
	for _, tc := range []struct{ name, query, msg string }{
		{"LimitZero", "&limit=0", "limit must be an integer from 1 to 1000."},
		{"LimitOver", "&limit=1001", "limit must be an integer from 1 to 1000."},
		{"LimitWord", "&limit=ten", "limit must be an integer from 1 to 1000."},
		{"OffsetNegative", "&offset=-1", "offset must be an integer from 0 to 100000."},
		{"OffsetOver", "&offset=100001", "offset must be an integer from 0 to 100000."},
		{"OffsetHuge", "&offset=1e400", "offset must be an integer from 0 to 100000."},
		{"PagedCSV", "&format=csv&limit=10", "limit and offset page the JSON statement; the CSV form holds every row."},
	} {
		t.Run("Err"+tc.name, func(t *testing.T) {
			r := s.do(t, "GET", base+tc.query, "")
			r.expect(t, 400, "invalid_request")
			if r.Message != tc.msg {
				t.Fatalf("message %q, want %q", r.Message, tc.msg)
			}
			specCheck(t, o, tpl, r)
		})
	}
}
