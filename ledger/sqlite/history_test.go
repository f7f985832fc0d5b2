package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/ledger/sqlite"
	"github.com/walletd/walletd/walletdtest"
)

// The cases below are those the projections' history was tested with
// (projections/query_test.go before migration 00002), with the same
// expected answers: the ledger-backed reader answers as they did.

// clock is a settable, goroutine-safe clock for the ledger writer.
type clock struct{ ns atomic.Int64 }

func (c *clock) Now() time.Time  { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Set(t time.Time) { c.ns.Store(t.UnixNano()) }

// histEnv is a ledger whose clock the test sets.
type histEnv struct {
	l     *walletdtest.Ledger
	clock *clock
}

func mustEnv(tb testing.TB) *histEnv {
	tb.Helper()
	e := &histEnv{clock: &clock{}}
	e.clock.Set(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC))
	e.l = walletdtest.MustOpenLedger(tb, func(c *ledger.WriterConfig) {
		c.Now, c.Logger = e.clock.Now, slog.New(slog.NewTextHandler(io.Discard, nil))
	})
	return e
}

// at submits cmd with the ledger clock at t.
func (e *histEnv) at(tb testing.TB, t time.Time, cmd walletd.Command) *walletd.Entry {
	tb.Helper()
	e.clock.Set(t)
	r, err := e.l.Writer.Submit(context.Background(), "", cmd)
	if err != nil {
		tb.Fatal(err)
	}
	return r.Entries[0]
}

func day(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func credit(w, amount, typ string) *ledger.Post {
	return &ledger.Post{WalletID: w, Kind: walletd.KindCredit, Amount: amount, Type: typ, Reason: "in"}
}

func debit(w, amount, typ string) *ledger.Post {
	return &ledger.Post{WalletID: w, Kind: walletd.KindDebit, Amount: amount, Type: typ, Reason: "out", OrderID: "1204"}
}

// statementEnv is a USD and a JPY wallet with transactions on both sides
// of month and day boundaries.
func statementEnv(t *testing.T) (*histEnv, *sqlite.History, string, string) {
	t.Helper()
	e := mustEnv(t)
	h := sqlite.NewHistory(e.l.DB, nil)
	e.clock.Set(day("2026-11-24T09:00:00Z"))
	usd := e.l.MustWallet(t, "u1", "USD")
	jpy := e.l.MustWallet(t, "u1", "JPY")
	e.at(t, day("2026-11-30T23:59:59Z"), credit(usd, "100.00", "topup"))
	e.at(t, day("2026-12-01T00:00:00Z"), debit(usd, "30.00", "order_payment")) // on the boundary: December
	e.at(t, day("2026-12-15T12:00:00.5Z"), credit(usd, "5.25", "cashback"))
	e.at(t, day("2026-12-15T18:30:00Z"), credit(usd, "0.75", "cashback"))
	e.at(t, day("2026-12-15T19:00:00Z"), credit(jpy, "500", "cashback"))
	e.at(t, day("2026-12-31T23:59:59Z"), debit(usd, "0.25", "fee"))
	e.at(t, day("2027-01-01T00:00:00Z"), credit(usd, "1.00", "topup"))
	return e, h, usd, jpy
}

func TestHistory_Statement(t *testing.T) {
	_, h, usd, jpy := statementEnv(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name, from, to                             string
		opening, closing, credits, debits, amounts string
		currency, wallet                           string
	}{
		{name: "December", from: "2026-12-01T00:00:00Z", to: "2027-01-01T00:00:00Z",
			opening: "100.00", closing: "75.75", credits: "6.00", debits: "30.25", amounts: "30.00 5.25 0.75 0.25"},
		{name: "November", from: "2026-11-01T00:00:00Z", to: "2026-12-01T00:00:00Z",
			opening: "0.00", closing: "100.00", credits: "100.00", debits: "0.00", amounts: "100.00"},
		{name: "OffsetBounds", from: "2026-12-01T01:00:00+01:00", to: "2026-12-15T11:59:59.2Z",
			opening: "100.00", closing: "70.00", credits: "0.00", debits: "30.00", amounts: "30.00"},
		{name: "FractionRoundsUp", from: "2026-12-15T12:00:00Z", to: "2026-12-15T12:00:00.1Z",
			opening: "70.00", closing: "75.25", credits: "5.25", debits: "0.00", amounts: "5.25"},
		{name: "Empty", from: "2027-02-01T00:00:00Z", to: "2027-03-01T00:00:00Z",
			opening: "76.75", closing: "76.75", credits: "0.00", debits: "0.00", amounts: ""},
		{name: "BeforeEverything", from: "2020-01-01T00:00:00Z", to: "2020-01-02T00:00:00Z",
			opening: "0.00", closing: "0.00", credits: "0.00", debits: "0.00", amounts: ""},
		{name: "JPY", wallet: jpy, currency: "JPY", from: "2026-12-01T00:00:00Z", to: "2027-01-01T00:00:00Z",
			opening: "0", closing: "500", credits: "500", debits: "0", amounts: "500"},
		// Issue 18: a bound in the last second of 9999 was rounded up to
		// "10000-…", which sorts before every stored time.
		{name: "ToLastSecondOf9999", from: "2026-12-01T00:00:00Z", to: "9999-12-31T23:59:59.5Z",
			opening: "100.00", closing: "76.75", credits: "7.00", debits: "30.25", amounts: "30.00 5.25 0.75 0.25 1.00"},
		{name: "ToEndOf9999", from: "0001-01-01T00:00:00Z", to: "9999-12-31T23:59:59.999999999Z",
			opening: "0.00", closing: "76.75", credits: "107.00", debits: "30.25", amounts: "100.00 30.00 5.25 0.75 0.25 1.00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, cur := usd, "USD"
			if tc.wallet != "" {
				w, cur = tc.wallet, tc.currency
			}
			st, err := h.Statement(ctx, w, cur, day(tc.from), day(tc.to))
			if err != nil {
				t.Fatal(err)
			}
			amounts := ""
			for i, e := range st.Entries {
				if i > 0 {
					amounts += " "
					if e.Seq <= st.Entries[i-1].Seq {
						t.Fatalf("entries not oldest first: %+v", st.Entries)
					}
				}
				amounts += e.Amount
			}
			if st.OpeningBalance != tc.opening || st.ClosingBalance != tc.closing || st.TotalCredits != tc.credits ||
				st.TotalDebits != tc.debits || amounts != tc.amounts || st.Currency != cur || st.WalletID != w {
				t.Fatalf("statement %+v (amounts %q), want opening %s closing %s credits %s debits %s amounts %q",
					st, amounts, tc.opening, tc.closing, tc.credits, tc.debits, tc.amounts)
			}
		})
	}
	t.Run("ErrInvalidPeriod", func(t *testing.T) {
		_, err := h.Statement(ctx, usd, "USD", day("2026-12-01T00:00:00Z"), day("2026-12-01T00:00:00Z"))
		if walletd.ErrorCode(err) != walletd.EInvalid {
			t.Fatalf("from = to: %v", err)
		}
	})
}

func TestHistory_Transactions(t *testing.T) {
	e, h, usd, _ := statementEnv(t)
	ctx := context.Background()
	seqs := func(p *walletd.TransactionPage) string {
		s := ""
		for _, it := range p.Items {
			s += fmt.Sprintf("%s/%s ", it.Type, it.Amount)
		}
		return s
	}
	for _, tc := range []struct {
		name string
		q    walletd.TransactionQuery
		want string
	}{
		{"All", walletd.TransactionQuery{}, "topup/1.00 fee/0.25 cashback/0.75 cashback/5.25 order_payment/30.00 topup/100.00 "},
		{"Type", walletd.TransactionQuery{Type: "cashback"}, "cashback/0.75 cashback/5.25 "},
		{"From", walletd.TransactionQuery{From: day("2026-12-15T12:00:00Z")}, "topup/1.00 fee/0.25 cashback/0.75 cashback/5.25 "},
		{"To", walletd.TransactionQuery{To: day("2026-12-01T00:00:00Z")}, "topup/100.00 "},
		{"FromTo", walletd.TransactionQuery{From: day("2026-12-01T00:00:00Z"), To: day("2026-12-15T18:30:00Z")}, "cashback/5.25 order_payment/30.00 "},
		{"TypeAndPeriod", walletd.TransactionQuery{Type: "topup", From: day("2026-12-01T00:00:00Z")}, "topup/1.00 "},
		{"UnknownType", walletd.TransactionQuery{Type: "nope"}, ""},
		{"ToLastSecondOf9999", walletd.TransactionQuery{To: day("9999-12-31T23:59:59.5Z")}, "topup/1.00 fee/0.25 cashback/0.75 cashback/5.25 order_payment/30.00 topup/100.00 "},
		{"FromLastSecondOf9999", walletd.TransactionQuery{From: day("9999-12-31T23:59:59.5Z")}, ""},
		{"ToFraction", walletd.TransactionQuery{To: day("2026-12-15T12:00:00.5Z")}, "cashback/5.25 order_payment/30.00 topup/100.00 "},
		{"FromFraction", walletd.TransactionQuery{From: day("2026-12-15T12:00:00.5Z")}, "topup/1.00 fee/0.25 cashback/0.75 "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.q.WalletID = usd
			p, err := h.Transactions(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if seqs(p) != tc.want || p.Next != nil {
				t.Fatalf("got %q next %v, want %q", seqs(p), p.Next, tc.want)
			}
		})
	}
	t.Run("Pages", func(t *testing.T) {
		q := walletd.TransactionQuery{WalletID: usd, Limit: 2}
		p1, _ := h.Transactions(ctx, q)
		if seqs(p1) != "topup/1.00 fee/0.25 " || p1.Next == nil || p1.Next.Seq != p1.Items[1].Seq {
			t.Fatalf("page 1: %q next %v", seqs(p1), p1.Next)
		}
		// A new transaction does not move the pages that follow.
		e.at(t, day("2027-01-02T00:00:00Z"), credit(usd, "9.00", "topup"))
		q.Cursor = p1.Next
		p2, _ := h.Transactions(ctx, q)
		q.Cursor = p2.Next
		p3, _ := h.Transactions(ctx, q)
		if seqs(p2) != "cashback/0.75 cashback/5.25 " || seqs(p3) != "order_payment/30.00 topup/100.00 " || p3.Next != nil {
			t.Fatalf("pages 2, 3: %q %q next %v", seqs(p2), seqs(p3), p3.Next)
		}
	})
	t.Run("SameSecond", func(t *testing.T) {
		// Several transactions in one second page by seq.
		jpy := e.l.MustWallet(t, "u2", "JPY")
		for i := 1; i <= 5; i++ {
			e.at(t, day("2027-02-01T10:00:00.5Z"), credit(jpy, fmt.Sprint(i), "topup"))
		}
		var got string
		q := walletd.TransactionQuery{WalletID: jpy, Limit: 2}
		for {
			p, err := h.Transactions(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			got += seqs(p)
			if p.Next == nil {
				break
			}
			q.Cursor = p.Next
		}
		if got != "topup/5 topup/4 topup/3 topup/2 topup/1 " {
			t.Fatalf("pages %q", got)
		}
	})
	t.Run("UnknownWallet", func(t *testing.T) {
		p, err := h.Transactions(ctx, walletd.TransactionQuery{WalletID: "wal_nope"})
		if err != nil || len(p.Items) != 0 {
			t.Fatalf("%+v %v", p, err)
		}
	})
}

func TestHistory_StreamStatement(t *testing.T) {
	_, h, usd, jpy := statementEnv(t)
	ctx := context.Background()
	for _, tc := range []struct{ wallet, currency, from, to string }{
		{usd, "USD", "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"},
		{usd, "USD", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z"},
		{usd, "USD", "2026-12-15T12:00:00Z", "2026-12-15T12:00:00.1Z"},
		{usd, "USD", "2027-02-01T00:00:00Z", "2027-03-01T00:00:00Z"},
		{usd, "USD", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z"},
		{jpy, "JPY", "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"},
	} {
		t.Run(tc.from+"/"+tc.to, func(t *testing.T) {
			want, err := h.Statement(ctx, tc.wallet, tc.currency, day(tc.from), day(tc.to))
			if err != nil {
				t.Fatal(err)
			}
			var opening string
			var rows []walletd.Transaction
			got, err := h.StreamStatement(ctx, tc.wallet, tc.currency, day(tc.from), day(tc.to),
				func(st *walletd.Statement) error { opening = st.OpeningBalance; return nil },
				func(e *walletd.Transaction) error { rows = append(rows, *e); return nil })
			if err != nil {
				t.Fatal(err)
			}
			got.Entries = rows
			if opening != want.OpeningBalance {
				t.Fatalf("opening %s, want %s", opening, want.OpeningBalance)
			}
			if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
				t.Fatalf("stream %+v\nwant %+v", got, want)
			}
		})
	}
	t.Run("ErrInvalidPeriod", func(t *testing.T) {
		_, err := h.StreamStatement(ctx, usd, "USD", day("2026-12-01T00:00:00Z"), day("2026-12-01T00:00:00Z"),
			func(*walletd.Statement) error { return nil }, func(*walletd.Transaction) error { return nil })
		if walletd.ErrorCode(err) != walletd.EInvalid {
			t.Fatalf("from = to: %v", err)
		}
	})
}

// TestHistory_StreamStatement_Memory checks that streaming holds one row at a
// time: the live heap at the last row is not larger than at the first by
// anything like the rows read (no timing involved).
func TestHistory_StreamStatement_Memory(t *testing.T) {
	if testing.Short() {
		t.Skip("posts 2000 entries")
	}
	e := mustEnv(t)
	h := sqlite.NewHistory(e.l.DB, nil)
	e.clock.Set(day("2026-11-24T09:00:00Z"))
	usd := e.l.MustWallet(t, "u1", "USD")
	const n = 2000
	for i := range n {
		e.at(t, day("2026-12-01T00:00:00Z").Add(time.Duration(i)*time.Second), credit(usd, "1.00", "topup"))
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	var first, last uint64
	var count int
	st, err := h.StreamStatement(context.Background(), usd, "USD", day("2026-12-01T00:00:00Z"), day("2027-01-01T00:00:00Z"),
		func(*walletd.Statement) error { return nil },
		func(*walletd.Transaction) error {
			count++
			switch count {
			case 1:
				first = heap()
			case n:
				last = heap()
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if count != n || st.ClosingBalance != "2000.00" || st.TotalCredits != "2000.00" || st.OpeningBalance != "0.00" {
		t.Fatalf("%d rows, statement %+v", count, st)
	}
	// 2000 transactions held in memory take well over 500 KB.
	if last > first && last-first > 256<<10 {
		t.Fatalf("live heap grew by %d bytes over %d rows", last-first, n)
	}
}

// TestHistory_WaitForSeq: a seq the ledger holds is met at once; one past
// its head waits until a write reaches it, or ends with ctx.
func TestHistory_WaitForSeq(t *testing.T) {
	e := mustEnv(t)
	h := sqlite.NewHistory(e.l.DB, nil)
	ctx := context.Background()
	w := e.l.MustWallet(t, "u1", "USD")
	head := e.l.MustCredit(t, w, "1.00").Seq
	if err := h.WaitForSeq(ctx, head); err != nil || h.AppliedSeq() != head {
		t.Fatalf("WaitForSeq(head %d): %v, applied %d", head, err, h.AppliedSeq())
	}
	short, cancel := context.WithTimeout(ctx, 60*time.Millisecond)
	defer cancel()
	if err := h.WaitForSeq(short, head+1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitForSeq past the head: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- h.WaitForSeq(ctx, head+1) }()
	e.l.MustCredit(t, w, "1.00")
	select {
	case err := <-done:
		if err != nil || h.AppliedSeq() != head+1 {
			t.Fatalf("WaitForSeq after the write: %v, applied %d", err, h.AppliedSeq())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("WaitForSeq did not see the write")
	}
}

// TestHistory_TooManyEntries: a statement over more than
// MaxStatementEntries transactions is refused before head is called. The
// entries are written straight into ledger.db (the reader does not check
// the chain; the writer is not used after).
func TestHistory_TooManyEntries(t *testing.T) {
	e := mustEnv(t)
	h := sqlite.NewHistory(e.l.DB, nil)
	ctx := context.Background()
	raw, err := sql.Open("sqlite3", "file:"+e.l.DB.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i <= ?)
		INSERT INTO entries (seq, id, event_id, kind, type, wallet_id, user_id, email, currency, amount, balance_after,
			held_after, reason, order_id, transfer_id, counterparty, metadata, idempotency_key, request_hash, created_at,
			key_id, prev_hash, hash)
		SELECT 1000 + i, 'txn_' || i, 'wph_' || i, 'credit', 'topup', 'wal_many', 'u', 'u@x', 'JPY', '1', i, '0', '', '',
			'', '', '', '', '', '2026-12-01T00:00:00.000000Z', 'k', zeroblob(32), zeroblob(32) FROM c`,
		walletd.MaxStatementEntries); err != nil {
		t.Fatal(err)
	}
	from, to := day("2026-01-01T00:00:00Z"), day("2027-01-01T00:00:00Z")
	called := false
	_, err = h.StreamStatement(ctx, "wal_many", "JPY", from, to, func(*walletd.Statement) error { called = true; return nil },
		func(*walletd.Transaction) error { return nil })
	if walletd.ErrorCode(err) != walletd.EInvalid || called {
		t.Fatalf("%d+1 entries: %v (head called: %v)", walletd.MaxStatementEntries, err, called)
	}
	if _, err := h.Statement(ctx, "wal_many", "JPY", from, to); walletd.ErrorCode(err) != walletd.EInvalid {
		t.Fatalf("Statement: %v", err)
	}
	// One second holds them all: the pages go by seq, newest first.
	p, err := h.Transactions(ctx, walletd.TransactionQuery{WalletID: "wal_many", Limit: 2})
	if err != nil || len(p.Items) != 2 || p.Items[0].Seq != 1000+walletd.MaxStatementEntries+1 || p.Next == nil {
		t.Fatalf("%+v %v", p, err)
	}
	// One fewer fits.
	if _, err := raw.Exec(`DELETE FROM entries WHERE seq = 1001`); err != nil {
		t.Fatal(err)
	}
	st, err := h.StreamStatement(ctx, "wal_many", "JPY", from, to, func(*walletd.Statement) error { return nil },
		func(*walletd.Transaction) error { return nil })
	if err != nil || st.Credits != walletd.MaxStatementEntries || st.ClosingBalance != fmt.Sprint(walletd.MaxStatementEntries+1) {
		t.Fatalf("%d entries: %+v %v", walletd.MaxStatementEntries, st, err)
	}
}
