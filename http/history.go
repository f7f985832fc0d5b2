package http

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/walletd/walletd"

	"github.com/gorilla/mux"
	"github.com/walletd/walletd/projections"
)

// EProjectionLagging answers a read whose min_seq the projections did not
// reach in time. It is a 503 with Retry-After.
const EProjectionLagging = "projection_lagging"

// DefaultProjectionWait is how long a read that passes min_seq waits for
// the projections by default.
const DefaultProjectionWait = 2 * time.Second

// MaxStatementPeriod bounds the period of one statement (366 days, a leap
// year), so that one request cannot read a wallet's whole history; with
// walletd.MaxStatementEntries it bounds what one statement holds.
const MaxStatementPeriod = 366 * 24 * time.Hour

// Rows of a JSON statement per answer: the default and the most a limit
// may ask for. offset and next_offset page through the rest; the totals
// are always the whole period's. (The CSV form streams every row.)
const (
	DefaultStatementRows = 1000
	MaxStatementRows     = 1000
)

// Projections configures the read endpoints: transaction history and
// statements from History (the ledger's entries), daily reports from
// Reader (the projections).
type Projections struct {
	Reader walletd.ProjectionReader
	// History serves transactions and statements (sqlite.History); nil
	// answers them 503.
	History walletd.HistoryReader
	// Wait bounds how long a read that passes min_seq waits for the read
	// models to reach it before answering 503 projection_lagging
	// (default DefaultProjectionWait).
	Wait time.Duration
}

func (s *Server) registerHistoryRoutes(handle handleFunc) {
	// Registered even when the server has no projections (they answer
	// 503), so that the API and its document have one shape.
	handle("GET", "/v1/wallets/{id}/transactions", walletd.ScopeWalletsRead, s.handleTransactions)
	handle("GET", "/v1/wallets/{id}/statement", walletd.ScopeWalletsRead, s.handleStatement)
	handle("GET", "/v1/reports/daily", walletd.ScopeWalletsRead, s.handleDailyReport)
}

// transactionJSON is a credit or debit as the history endpoints show it.
type transactionJSON struct {
	TransactionID string `json:"transaction_id"`
	Seq           uint64 `json:"seq"`
	WalletID      string `json:"wallet_id"`
	Type          string `json:"type"`
	Kind          string `json:"kind"`
	Amount        string `json:"amount"`
	Currency      string `json:"currency"`
	BalanceAfter  string `json:"balance_after"`
	Reason        string `json:"reason"`
	OrderID       string `json:"order_id"`
	LedgerHash    string `json:"ledger_hash"`
	CreatedAt     string `json:"created_at"`
}

func transactionToJSON(t *walletd.Transaction) transactionJSON {
	return transactionJSON{
		TransactionID: t.TransactionID, Seq: t.Seq, WalletID: t.WalletID, Type: t.Type, Kind: t.Kind,
		Amount: t.Amount, Currency: t.Currency, BalanceAfter: t.BalanceAfter, Reason: t.Reason,
		OrderID: t.OrderID, LedgerHash: t.LedgerHash, CreatedAt: t.CreatedAt.UTC().Format(time.RFC3339),
	}
}

// projectionReader returns the read models, or answers 503 when this
// server has none.
func (s *Server) projectionReader(w http.ResponseWriter, r *http.Request) walletd.ProjectionReader {
	if s.Projections == nil || s.Projections.Reader == nil {
		s.Error(w, r, walletd.Errorf(walletd.EUnavailable, "The read models are not served by this process."))
		return nil
	}
	return s.Projections.Reader
}

// historyReader returns the history, or answers 503 when this server
// has none.
func (s *Server) historyReader(w http.ResponseWriter, r *http.Request) walletd.HistoryReader {
	if s.Projections == nil || s.Projections.History == nil {
		s.Error(w, r, walletd.Errorf(walletd.EUnavailable, "Transaction history is not served by this process."))
		return nil
	}
	return s.Projections.History
}

// seqWaiter is what min_seq waits on: the projections, or the history
// (which the ledger backs, so that a seq a write returned is met at once).
type seqWaiter interface {
	WaitForSeq(ctx context.Context, seq uint64) error
	AppliedSeq() uint64
}

// waitForSeq serves min_seq: it waits until the read models reflect the
// ledger seq a write returned, up to the configured wait, and answers 503
// projection_lagging with Retry-After if they do not. It reports whether
// the handler may go on.
func (s *Server) waitForSeq(w http.ResponseWriter, r *http.Request, pr seqWaiter, minSeq uint64) bool {
	if minSeq == 0 {
		return true
	}
	wait := s.Projections.Wait
	if wait <= 0 {
		wait = DefaultProjectionWait
	}
	ctx, cancel := context.WithTimeout(r.Context(), wait)
	defer cancel()
	err := pr.WaitForSeq(ctx, minSeq)
	switch {
	case err == nil:
		return true
	case r.Context().Err() != nil:
		s.Error(w, r, r.Context().Err())
	case errors.Is(err, context.DeadlineExceeded):
		w.Header().Set("Retry-After", "1")
		s.Error(w, r, walletd.Errorf(EProjectionLagging,
			"The read models reflect the ledger up to seq %d, not yet %d: retry shortly.", pr.AppliedSeq(), minSeq))
	default:
		s.Error(w, r, err)
	}
	return false
}

// historyParams are the query parameters the history endpoints share.
type historyParams struct {
	minSeq   uint64
	from, to time.Time // zero when absent
}

// parseHistoryParams parses min_seq, from and to; required makes from and
// to mandatory.
func parseHistoryParams(r *http.Request, required bool) (*historyParams, error) {
	q := r.URL.Query()
	var p historyParams
	var err error
	if p.minSeq, err = parseSeq("min_seq", q.Get("min_seq")); err != nil {
		return nil, err
	}
	for _, b := range []struct {
		name string
		dst  *time.Time
	}{{"from", &p.from}, {"to", &p.to}} {
		v := q.Get(b.name)
		if v == "" {
			if required {
				return nil, walletd.Errorf(walletd.EInvalid, "%s is required.", b.name)
			}
			continue
		}
		if *b.dst, err = projections.ParseTime(b.name, v); err != nil {
			return nil, err
		}
	}
	if !p.from.IsZero() && !p.to.IsZero() && !p.to.After(p.from) {
		return nil, walletd.Errorf(walletd.EInvalid, "to must be after from (from is inclusive, to exclusive).")
	}
	return &p, nil
}

func checkTypeFilter(s string) error {
	if len(s) > walletd.MaxTypeLen {
		return walletd.Errorf(walletd.EInvalid, "type is longer than %d characters.", walletd.MaxTypeLen)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return walletd.Errorf(walletd.EInvalid, "type may hold only a-z, 0-9 and _.")
		}
	}
	return nil
}

func (s *Server) handleTransactions(w http.ResponseWriter, r *http.Request) {
	pr := s.historyReader(w, r)
	if pr == nil {
		return
	}
	p, err := parseHistoryParams(r, false)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	q := r.URL.Query()
	tq := walletd.TransactionQuery{WalletID: mux.Vars(r)["id"], Type: q.Get("type"), From: p.from, To: p.to}
	if err := checkTypeFilter(tq.Type); err != nil {
		s.Error(w, r, err)
		return
	}
	if c := q.Get("cursor"); c != "" {
		if tq.Cursor, err = walletd.ParseCursor(c); err != nil {
			s.Error(w, r, err)
			return
		}
	}
	if tq.Limit, err = parseLimit(q.Get("limit"), 50, 200); err != nil {
		s.Error(w, r, err)
		return
	}
	if _, err := s.Ledger.Wallet(r.Context(), tq.WalletID); err != nil {
		s.Error(w, r, err)
		return
	}
	if !s.waitForSeq(w, r, pr, p.minSeq) {
		return
	}
	page, err := pr.Transactions(r.Context(), tq)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	items := make([]transactionJSON, 0, len(page.Items))
	for i := range page.Items {
		items = append(items, transactionToJSON(&page.Items[i]))
	}
	next := ""
	if page.Next != nil {
		next = page.Next.String()
	}
	writeData(w, http.StatusOK, map[string]any{"items": items, "next_cursor": next})
}

// statementJSON is a statement as the API shows it.
type statementJSON struct {
	WalletID       string            `json:"wallet_id"`
	Currency       string            `json:"currency"`
	From           string            `json:"from"`
	To             string            `json:"to"`
	OpeningBalance string            `json:"opening_balance"`
	ClosingBalance string            `json:"closing_balance"`
	TotalCredits   string            `json:"total_credits"`
	TotalDebits    string            `json:"total_debits"`
	Entries        []transactionJSON `json:"entries"`
	// EntryCount is how many transactions the period holds; NextOffset
	// is the offset of the next page, null on the last one.
	EntryCount int  `json:"entry_count"`
	NextOffset *int `json:"next_offset"`
}

func (s *Server) handleStatement(w http.ResponseWriter, r *http.Request) {
	pr := s.historyReader(w, r)
	if pr == nil {
		return
	}
	p, err := parseHistoryParams(r, true)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "csv" {
		s.Error(w, r, walletd.Errorf(walletd.EInvalid, "format must be json or csv."))
		return
	}
	limit, offset, err := statementPage(r, format)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	if p.to.Sub(p.from) > MaxStatementPeriod {
		s.Error(w, r, walletd.Errorf(walletd.EInvalid, "The period is longer than %d days: ask for a shorter one.",
			int(MaxStatementPeriod/(24*time.Hour))))
		return
	}
	wal, err := s.Ledger.Wallet(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		s.Error(w, r, err)
		return
	}
	if !s.waitForSeq(w, r, pr, p.minSeq) {
		return
	}
	if ss, ok := pr.(statementStreamer); ok && format == "csv" {
		s.streamStatementCSV(w, r, ss, wal.ID, wal.Currency, p.from, p.to)
		return
	}
	if format == "csv" {
		st, err := pr.Statement(r.Context(), wal.ID, wal.Currency, p.from, p.to)
		if err != nil {
			s.Error(w, r, err)
			return
		}
		s.writeStatementCSV(w, st)
		return
	}
	out, err := statementPageJSON(r.Context(), pr, wal, p.from, p.to, limit, offset)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeData(w, http.StatusOK, out)
}

// statementPage parses the JSON statement's limit and offset; the CSV
// form takes neither. Returns EInvalid.
func statementPage(r *http.Request, format string) (limit, offset int, err error) {
	q := r.URL.Query()
	if format == "csv" && (q.Has("limit") || q.Has("offset")) {
		return 0, 0, walletd.Errorf(walletd.EInvalid, "limit and offset page the JSON statement; the CSV form holds every row.")
	}
	if limit, err = parseLimit(q.Get("limit"), DefaultStatementRows, MaxStatementRows); err != nil {
		return 0, 0, err
	}
	if v := q.Get("offset"); v != "" {
		if offset, err = strconv.Atoi(v); err != nil || offset < 0 || offset > walletd.MaxStatementEntries {
			return 0, 0, walletd.Errorf(walletd.EInvalid, "offset must be an integer from 0 to %d.", walletd.MaxStatementEntries)
		}
	}
	return limit, offset, nil
}

// statementPageJSON returns the rows [offset, offset+limit) of a
// statement with the whole period's balances and totals. A reader that
// streams (sqlite.History) keeps only those rows in memory.
func statementPageJSON(ctx context.Context, pr walletd.HistoryReader, wal *walletd.Wallet, from, to time.Time, limit, offset int) (*statementJSON, error) {
	page := make([]transactionJSON, 0, min(limit, 64))
	n := 0
	keep := func(t *walletd.Transaction) {
		if n >= offset && n < offset+limit {
			page = append(page, transactionToJSON(t))
		}
		n++
	}
	var st *walletd.Statement
	var err error
	if ss, ok := pr.(statementStreamer); ok {
		st, err = ss.StreamStatement(ctx, wal.ID, wal.Currency, from, to, func(*walletd.Statement) error { return nil },
			func(t *walletd.Transaction) error { keep(t); return nil })
	} else if st, err = pr.Statement(ctx, wal.ID, wal.Currency, from, to); err == nil {
		for i := range st.Entries {
			keep(&st.Entries[i])
		}
	}
	if err != nil {
		return nil, err
	}
	out := &statementJSON{
		WalletID: st.WalletID, Currency: st.Currency,
		From: st.From.Format(time.RFC3339Nano), To: st.To.Format(time.RFC3339Nano),
		OpeningBalance: st.OpeningBalance, ClosingBalance: st.ClosingBalance,
		TotalCredits: st.TotalCredits, TotalDebits: st.TotalDebits,
		Entries: page, EntryCount: n,
	}
	if next := offset + limit; next < n {
		out.NextOffset = &next
	}
	return out, nil
}

// statementCSVHeader names the columns of a CSV statement. The first row
// after it is the opening balance, the last the closing balance.
var statementCSVHeader = []string{"line", "created_at", "seq", "transaction_id", "kind", "type", "amount",
	"balance_after", "currency", "reason", "order_id"}

// writeStatementCSV writes st as CSV (RFC 4180): a header row, an
// "opening" row, one "entry" row per transaction (oldest first) and a
// "closing" row.
func (s *Server) writeStatementCSV(w http.ResponseWriter, st *walletd.Statement) {
	name := fmt.Sprintf("statement-%s-%s-%s.csv", st.WalletID, st.From.Format("20060102T150405Z"), st.To.Format("20060102T150405Z"))
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+csvFileName(name)+`"`)
	w.WriteHeader(http.StatusOK)
	cw := csv.NewWriter(w)
	cw.Write(statementCSVHeader)
	cw.Write([]string{"opening", st.From.Format(time.RFC3339Nano), "", "", "", "", "", st.OpeningBalance, st.Currency, "", ""})
	for _, e := range st.Entries {
		cw.Write([]string{"entry", e.CreatedAt.UTC().Format(time.RFC3339), strconv.FormatUint(e.Seq, 10), e.TransactionID,
			e.Kind, e.Type, e.Amount, e.BalanceAfter, e.Currency, csvSafe(e.Reason), csvSafe(e.OrderID)})
	}
	cw.Write([]string{"closing", st.To.Format(time.RFC3339Nano), "", "", "", "", "", st.ClosingBalance, st.Currency, "", ""})
	cw.Flush()
}

// statementStreamer is implemented by readers that can stream a
// statement's rows from the database (sqlite.History); the CSV form then
// holds one row at a time instead of the whole period.
type statementStreamer interface {
	StreamStatement(ctx context.Context, walletID, currency string, from, to time.Time,
		head func(*walletd.Statement) error, row func(*walletd.Transaction) error) (*walletd.Statement, error)
}

// streamStatementCSV writes the same CSV as writeStatementCSV, one row at a
// time as the database yields it. Errors before the header rows are
// answered as usual; after them the response is cut short (no closing
// row), which a reader detects.
func (s *Server) streamStatementCSV(w http.ResponseWriter, r *http.Request, ss statementStreamer, walletID, currency string, from, to time.Time) {
	var cw *csv.Writer
	rec := make([]string, len(statementCSVHeader))
	st, err := ss.StreamStatement(r.Context(), walletID, currency, from, to, func(st *walletd.Statement) error {
		name := fmt.Sprintf("statement-%s-%s-%s.csv", st.WalletID, st.From.Format("20060102T150405Z"), st.To.Format("20060102T150405Z"))
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+csvFileName(name)+`"`)
		w.WriteHeader(http.StatusOK)
		cw = csv.NewWriter(w)
		cw.Write(statementCSVHeader)
		return cw.Write([]string{"opening", st.From.Format(time.RFC3339Nano), "", "", "", "", "", st.OpeningBalance, st.Currency, "", ""})
	}, func(e *walletd.Transaction) error {
		rec[0], rec[1], rec[2], rec[3] = "entry", e.CreatedAt.UTC().Format(time.RFC3339), strconv.FormatUint(e.Seq, 10), e.TransactionID
		rec[4], rec[5], rec[6], rec[7] = e.Kind, e.Type, e.Amount, e.BalanceAfter
		rec[8], rec[9], rec[10] = e.Currency, csvSafe(e.Reason), csvSafe(e.OrderID)
		return cw.Write(rec)
	})
	if err != nil {
		if cw == nil {
			s.Error(w, r, err)
		}
		return
	}
	cw.Write([]string{"closing", st.To.Format(time.RFC3339Nano), "", "", "", "", "", st.ClosingBalance, st.Currency, "", ""})
	cw.Flush()
}

// csvSafe defuses text a spreadsheet would take for a formula: a leading
// =, +, -, @, tab or carriage return gets a ' in front (OWASP's advice).
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// csvFileName keeps a file name to characters safe in a quoted header.
func csvFileName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, s)
}

// dailyTotalJSON is one row of the daily report.
type dailyTotalJSON struct {
	Date     string `json:"date"`
	Currency string `json:"currency"`
	Type     string `json:"type"`
	Kind     string `json:"kind"`
	Count    int64  `json:"count"`
	Total    string `json:"total"`
}

// MaxReportDays is the most days one daily report covers (from and to
// both included).
const MaxReportDays = 31

// dailyTotalsPager is a read model that reads one page of the daily
// totals of a range of days (projections.DB); another is read a day at a
// time and paged in memory.
type dailyTotalsPager interface {
	DailyTotalsPage(ctx context.Context, first, last time.Time, currency string, offset, limit int) ([]walletd.DailyTotal, int, error)
}

// reportDays parses the days of a daily report: date (one day), or from
// and to (both included, at most MaxReportDays). Returns EInvalid.
func reportDays(q url.Values) (first, last time.Time, err error) {
	if q.Has("date") {
		if q.Has("from") || q.Has("to") {
			return first, last, walletd.Errorf(walletd.EInvalid, "Give date, or from and to, not both.")
		}
		first, err = projections.ParseDate("date", q.Get("date"))
		return first, first, err
	}
	if !q.Has("from") && !q.Has("to") {
		return first, last, walletd.Errorf(walletd.EInvalid, "date is required (or from and to).")
	}
	if first, err = projections.ParseDate("from", q.Get("from")); err != nil {
		return first, last, err
	}
	if last, err = projections.ParseDate("to", q.Get("to")); err != nil {
		return first, last, err
	}
	if last.Before(first) {
		return first, last, walletd.Errorf(walletd.EInvalid, "to must not be before from (both days are included).")
	}
	if days := (last.Unix()-first.Unix())/86400 + 1; days > MaxReportDays { // not Sub: it saturates at 292 years
		return first, last, walletd.Errorf(walletd.EInvalid, "The report covers %d days, more than %d: ask for a shorter range.", days, MaxReportDays)
	}
	return first, last, nil
}

func (s *Server) handleDailyReport(w http.ResponseWriter, r *http.Request) {
	pr := s.projectionReader(w, r)
	if pr == nil {
		return
	}
	q := r.URL.Query()
	minSeq, err := parseSeq("min_seq", q.Get("min_seq"))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	first, last, err := reportDays(q)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	limit, offset, err := parseOffsetPage(q.Get("limit"), q.Get("offset"))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	currency := q.Get("currency")
	if currency != "" {
		if _, err := s.Currencies.Scale(currency); err != nil {
			s.Error(w, r, err)
			return
		}
	}
	if !s.waitForSeq(w, r, pr, minSeq) {
		return
	}
	var totals []walletd.DailyTotal
	var n int
	if pg, ok := pr.(dailyTotalsPager); ok {
		totals, n, err = pg.DailyTotalsPage(r.Context(), first, last, currency, offset, limit)
	} else {
		var all []walletd.DailyTotal
		for d := first; !d.After(last) && err == nil; d = d.AddDate(0, 0, 1) {
			var day []walletd.DailyTotal
			day, err = pr.DailyTotals(r.Context(), d, currency)
			all = append(all, day...)
		}
		totals, n = pageOf(all, offset, limit)
	}
	if err != nil {
		s.Error(w, r, err)
		return
	}
	if err := checkOffset(offset, n); err != nil {
		s.Error(w, r, err)
		return
	}
	items := make([]dailyTotalJSON, 0, len(totals))
	for _, t := range totals {
		items = append(items, dailyTotalJSON{Date: t.Date, Currency: t.Currency, Type: t.Type, Kind: t.Kind, Count: t.Count, Total: t.Total})
	}
	out := map[string]any{"items": items, "next_offset": nextOffset(offset, len(items), n)}
	if q.Has("date") {
		out["date"] = first.Format(time.DateOnly)
	} else {
		out["from"], out["to"] = first.Format(time.DateOnly), last.Format(time.DateOnly)
	}
	writeData(w, http.StatusOK, out)
}
