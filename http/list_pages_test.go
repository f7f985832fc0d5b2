package http_test

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The lists that page by limit and offset or cursor (API keys, plugin
// keys, reset-fee keys, the variation mapping, the daily report): every
// page holds at most its limit, walking the pages gives the whole list
// once in order, and bad paging input is a 400 that changes nothing.

// listPage is a page of any of these lists.
type listPage struct {
	Items      []map[string]any `json:"items"`
	NextOffset *int             `json:"next_offset"`
	NextCursor *string          `json:"next_cursor"`
}

// getPage GETs path, checks the answer against the document (operation
// tpl) and decodes it.
func getPage(t *testing.T, s *testServer, o *openAPI, tpl, path string) listPage {
	t.Helper()
	r := s.do(t, "GET", path, "")
	r.expect(t, 200, "")
	specCheck(t, o, tpl, r)
	var p listPage
	r.data(t, &p)
	return p
}

// rowKeys returns field of each row, as text.
func rowKeys(p listPage, field string) []string {
	var out []string
	for _, it := range p.Items {
		out = append(out, fmt.Sprint(it[field]))
	}
	return out
}

// walkPages reads the list at path page by page with limit, following
// next_offset or next_cursor, and returns field of every row.
func walkPages(t *testing.T, s *testServer, o *openAPI, tpl, path, field string, limit int) []string {
	t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	var all []string
	q := sep + "limit=" + strconv.Itoa(limit)
	for n := 0; ; n++ {
		if n > 100 {
			t.Fatalf("%s: more than 100 pages", path)
		}
		p := getPage(t, s, o, tpl, path+q)
		if len(p.Items) > limit {
			t.Fatalf("%s%s: %d rows, limit %d", path, q, len(p.Items), limit)
		}
		all = append(all, rowKeys(p, field)...)
		switch {
		case p.NextOffset != nil:
			if len(p.Items) != limit {
				t.Fatalf("%s%s: a page of %d before the last", path, q, len(p.Items))
			}
			q = sep + "limit=" + strconv.Itoa(limit) + "&offset=" + strconv.Itoa(*p.NextOffset)
		case p.NextCursor != nil && *p.NextCursor != "":
			q = sep + "limit=" + strconv.Itoa(limit) + "&cursor=" + *p.NextCursor
		default:
			return all
		}
	}
}

// badPaging is the refused paging input every one of these lists shares.
var badPaging = []struct{ name, query, msg string }{
	{"LimitZero", "limit=0", "limit must be an integer from 1 to 1000."},
	{"LimitNegative", "limit=-1", "limit must be an integer from 1 to 1000."},
	{"LimitExponent", "limit=1e9", "limit must be an integer from 1 to 1000."},
	{"LimitHuge", "limit=1000000000", "limit must be an integer from 1 to 1000."},
	{"LimitOver", "limit=1001", "limit must be an integer from 1 to 1000."},
	{"LimitWord", "limit=abc", "limit must be an integer from 1 to 1000."},
}

var badOffsets = []struct{ name, query, msg string }{
	{"OffsetNegative", "offset=-1", "offset must be an integer from 0 to 1073741824."},
	{"OffsetWord", "offset=abc", "offset must be an integer from 0 to 1073741824."},
	{"OffsetExponent", "offset=1e9", "offset must be an integer from 0 to 1073741824."},
	{"OffsetHuge", "offset=99999999999", "offset must be an integer from 0 to 1073741824."},
}

// checkBadPaging sends each bad query to path and checks the 400, its
// message, and that the whole list reads the same afterwards.
func checkBadPaging(t *testing.T, s *testServer, o *openAPI, tpl, path, field string, bad []struct{ name, query, msg string }) {
	t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	before := strings.Join(rowKeys(getPage(t, s, o, tpl, path), field), " ")
	for _, tc := range bad {
		t.Run("Err"+tc.name, func(t *testing.T) {
			r := s.do(t, "GET", path+sep+tc.query, "")
			r.expect(t, 400, "invalid_request")
			specCheck(t, o, tpl, r)
			if tc.msg != "" && r.Message != tc.msg {
				t.Fatalf("message %q, want %q", r.Message, tc.msg)
			}
			if after := strings.Join(rowKeys(getPage(t, s, o, tpl, path), field), " "); after != before {
				t.Fatalf("the list changed: %s → %s", before, after)
			}
		})
	}
}

func TestAPIKeys_Pages(t *testing.T) {
	s := mustServer(t)
	o := loadOpenAPI(t)
	const tpl = "/v1/api-keys"
	for i := 0; i < 6; i++ {
		s.do(t, "POST", "/v1/api-keys", `{"name":"k`+strconv.Itoa(i)+`","scopes":["wallets:read"]}`).expect(t, 201, "")
	}
	whole := getPage(t, s, o, tpl, tpl)
	if len(whole.Items) != 7 || whole.NextOffset != nil { // the admin key and six
		t.Fatalf("default page: %d keys, next %v", len(whole.Items), whole.NextOffset)
	}
	want := strings.Join(rowKeys(whole, "id"), " ")
	for _, limit := range []int{1, 2, 3, 7, 1000} {
		if got := strings.Join(walkPages(t, s, o, tpl, tpl, "id", limit), " "); got != want {
			t.Fatalf("limit %d: %s, want %s", limit, got, want)
		}
	}
	bad := append(append(badPaging, badOffsets...),
		struct{ name, query, msg string }{"OffsetPastTheEnd", "offset=7", "offset 7 is past the end: there are 7 rows."},
		struct{ name, query, msg string }{"OffsetFarPastTheEnd", "offset=1000", "offset 1000 is past the end: there are 7 rows."})
	checkBadPaging(t, s, o, tpl, tpl, "id", bad)
}

func TestPluginKeys_Pages(t *testing.T) {
	s := mustServer(t)
	o := loadOpenAPI(t)
	const tpl = "/v1/plugin-keys"
	if p := getPage(t, s, o, tpl, tpl+"?offset=0"); len(p.Items) != 0 || p.NextOffset != nil {
		t.Fatalf("no keys: %+v", p)
	}
	s.do(t, "GET", tpl+"?offset=1", "").expect(t, 400, "invalid_request")
	for i := 0; i < 5; i++ {
		s.do(t, "POST", tpl, `{"plugin_name":"p`+strconv.Itoa(i)+`"}`).expect(t, 201, "")
	}
	whole := getPage(t, s, o, tpl, tpl)
	if len(whole.Items) != 5 || whole.NextOffset != nil {
		t.Fatalf("default page: %d keys, next %v", len(whole.Items), whole.NextOffset)
	}
	want := strings.Join(rowKeys(whole, "id"), " ")
	for _, limit := range []int{1, 2, 4, 5} {
		if got := strings.Join(walkPages(t, s, o, tpl, tpl, "id", limit), " "); got != want {
			t.Fatalf("limit %d: %s, want %s", limit, got, want)
		}
	}
	bad := append(append(badPaging, badOffsets...),
		struct{ name, query, msg string }{"OffsetPastTheEnd", "offset=5", "offset 5 is past the end: there are 5 rows."})
	checkBadPaging(t, s, o, tpl, tpl, "id", bad)
}

func TestResetFeeKeys_Pages(t *testing.T) {
	s := mustServer(t)
	o := loadOpenAPI(t)
	const tpl = "/v1/reset-fee/keys"
	if p := getPage(t, s, o, tpl, tpl); len(p.Items) != 0 || p.NextCursor == nil || *p.NextCursor != "" {
		t.Fatalf("no keys: %+v", p)
	}
	var ids []string
	for i := 0; i < 5; i++ {
		var k struct{ ID string }
		r := s.do(t, "POST", tpl, `{"name":"b`+strconv.Itoa(i)+`"}`)
		r.expect(t, 201, "")
		r.data(t, &k)
		ids = append(ids, k.ID)
	}
	sort.Strings(ids)
	want := strings.Join(ids, " ") // id order
	if got := strings.Join(rowKeys(getPage(t, s, o, tpl, tpl), "id"), " "); got != want {
		t.Fatalf("default page: %s, want %s", got, want)
	}
	for _, limit := range []int{1, 2, 4, 5} {
		if got := strings.Join(walkPages(t, s, o, tpl, tpl, "id", limit), " "); got != want {
			t.Fatalf("limit %d: %s, want %s", limit, got, want)
		}
	}
	bad := append(badPaging,
		struct{ name, query, msg string }{"CursorUnknown", "cursor=rfk_2lQ0u8nNq6X3cXN1y8GkQZ2v9Ab", "cursor must be the next_cursor of a page."},
		struct{ name, query, msg string }{"CursorWord", "cursor=abc", "cursor must be the next_cursor of a page."},
		struct{ name, query, msg string }{"CursorHuge", "cursor=" + strings.Repeat("x", 5000), "cursor must be the next_cursor of a page."})
	checkBadPaging(t, s, o, tpl, tpl, "id", bad)
}

func TestVariations_Pages(t *testing.T) {
	s := mustServer(t)
	o := loadOpenAPI(t)
	const tpl = "/v1/products/variations.json"
	var vs []string
	for i := 0; i < 7; i++ {
		vs = append(vs, fmt.Sprintf(`{"challenge_type":"%d Step","account_size":"$100,000","price":"4%d.00"}`, i+1, i))
	}
	s.do(t, "POST", "/v1/products", `{"name":"Reset","currency":"USD","variations":[`+strings.Join(vs, ",")+`]}`).expect(t, 201, "")
	whole := getPage(t, s, o, tpl, tpl)
	if len(whole.Items) != 7 || whole.NextCursor == nil || *whole.NextCursor != "" {
		t.Fatalf("default page: %+v", whole)
	}
	want := strings.Join(rowKeys(whole, "variation_id"), " ")
	// A disabled variation is left out of every page, so that a page may
	// read past rows it does not answer.
	s.do(t, "PATCH", "/v1/products/1/variations/3", `{"enabled":false}`).expect(t, 200, "")
	want = strings.Replace(want, "3 ", "", 1)
	for _, limit := range []int{1, 2, 3, 6} {
		if got := strings.Join(walkPages(t, s, o, tpl, tpl, "variation_id", limit), " "); got != want {
			t.Fatalf("limit %d: %s, want %s", limit, got, want)
		}
	}
	// The CSV, the seed's table, is the whole mapping whatever its size.
	r := s.do(t, "GET", "/v1/products/variations.csv", "")
	if lines := strings.Split(strings.TrimSpace(string(r.Raw)), "\n"); r.Status != 200 || len(lines) != 7 || lines[0] != "Variation ID,Challenge Type,Account Size" {
		t.Fatalf("CSV: %d %q", r.Status, r.Raw)
	}
	bad := append(badPaging,
		struct{ name, query, msg string }{"CursorWord", "cursor=abc", "cursor must be the next_cursor of a page."},
		struct{ name, query, msg string }{"CursorZero", "cursor=0", "cursor must be the next_cursor of a page."},
		struct{ name, query, msg string }{"CursorNegative", "cursor=-1", "cursor must be the next_cursor of a page."},
		struct{ name, query, msg string }{"CursorExponent", "cursor=1e9", "cursor must be the next_cursor of a page."})
	checkBadPaging(t, s, o, tpl, tpl, "variation_id", bad)
}

func TestHistory_DailyReportPages(t *testing.T) {
	s := mustHistoryServer(t, 2*time.Second)
	o := loadOpenAPI(t)
	const tpl = "/v1/reports/daily"
	w := s.mustWallet(t, "u1", "USD")
	var last uint64
	for d := 1; d <= 5; d++ {
		s.at(fmt.Sprintf("2026-12-%02dT10:00:00Z", d))
		for _, typ := range []string{"topup", "cashback", "bonus"}[:1+d%3] {
			last = s.post(t, w.ID, "credit", "1.00", typ, "")
		}
	}
	ms := "min_seq=" + strconv.FormatUint(last, 10)
	rows := func(p listPage) string {
		var out []string
		for _, it := range p.Items {
			out = append(out, fmt.Sprint(it["date"], "/", it["type"]))
		}
		return strings.Join(out, " ")
	}
	whole := getPage(t, s.testServer, o, tpl, tpl+"?from=2026-12-01&to=2026-12-31&"+ms)
	want := "2026-12-01/cashback 2026-12-01/topup 2026-12-02/bonus 2026-12-02/cashback 2026-12-02/topup 2026-12-03/topup " +
		"2026-12-04/cashback 2026-12-04/topup 2026-12-05/bonus 2026-12-05/cashback 2026-12-05/topup"
	if got := rows(whole); got != want || whole.NextOffset != nil {
		t.Fatalf("range: %s (next %v), want %s", got, whole.NextOffset, want)
	}
	if p := getPage(t, s.testServer, o, tpl, tpl+"?date=2026-12-02&"+ms); rows(p) != "2026-12-02/bonus 2026-12-02/cashback 2026-12-02/topup" {
		t.Fatalf("one day: %s", rows(p))
	}
	if p := getPage(t, s.testServer, o, tpl, tpl+"?from=2026-12-02&to=2026-12-02&"+ms); rows(p) != "2026-12-02/bonus 2026-12-02/cashback 2026-12-02/topup" {
		t.Fatalf("a range of one day: %s", rows(p))
	}
	for _, limit := range []int{1, 2, 4, 11} {
		got := walkPages(t, s.testServer, o, tpl, tpl+"?from=2026-12-01&to=2026-12-31&"+ms, "date", limit)
		if len(got) != 11 || !sort.StringsAreSorted(got) {
			t.Fatalf("limit %d: %d rows, in date order %v", limit, len(got), sort.StringsAreSorted(got))
		}
	}
	// 31 days is the most one report covers.
	getPage(t, s.testServer, o, tpl, tpl+"?from=2026-12-01&to=2026-12-31")
	getPage(t, s.testServer, o, tpl, tpl+"?from=2026-02-01&to=2026-03-03") // 31 days across February
	path := tpl + "?from=2026-12-01&to=2026-12-31&" + ms
	bad := append(append(badPaging, badOffsets...),
		struct{ name, query, msg string }{"OffsetPastTheEnd", "offset=11", "offset 11 is past the end: there are 11 rows."})
	checkBadPaging(t, s.testServer, o, tpl, path, "date", bad)
	for _, tc := range []struct{ name, query, msg string }{
		{"RangeTooLong", "from=2026-12-01&to=2027-01-01", "The report covers 32 days, more than 31: ask for a shorter range."},
		{"RangeYears", "from=0001-01-01&to=9999-12-31", "The report covers 3652059 days, more than 31: ask for a shorter range."},
		{"RangeBackwards", "from=2026-12-02&to=2026-12-01", "to must not be before from (both days are included)."},
		{"FromOnly", "from=2026-12-01", "to must be a date such as 2026-11-24."},
		{"ToOnly", "to=2026-12-01", "from must be a date such as 2026-11-24."},
		{"DateAndRange", "date=2026-12-01&from=2026-12-01&to=2026-12-02", "Give date, or from and to, not both."},
		{"BadFrom", "from=2026-13-01&to=2026-12-01", "from must be a date such as 2026-11-24."},
		{"NoDays", "", "date is required (or from and to)."},
	} {
		t.Run("Err"+tc.name, func(t *testing.T) {
			r := s.do(t, "GET", tpl+"?"+tc.query, "")
			r.expect(t, 400, "invalid_request")
			specCheck(t, o, tpl, r)
			if r.Message != tc.msg {
				t.Fatalf("message %q, want %q", r.Message, tc.msg)
			}
		})
	}
}
