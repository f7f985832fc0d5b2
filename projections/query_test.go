package projections

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/walletd/walletd"

	"github.com/shopspring/decimal"
	"github.com/walletd/walletd/ledger"
)

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed+1)) }

// addAmounts adds two fixed-scale amounts, keeping the larger scale.
func addAmounts(tb testing.TB, a, b string) string {
	tb.Helper()
	x, err1 := decimal.NewFromString(a)
	y, err2 := decimal.NewFromString(b)
	if err1 != nil || err2 != nil {
		tb.Fatalf("amounts %q %q", a, b)
	}
	return x.Add(y).StringFixed(max(fracDigits(a), fracDigits(b)))
}

// at submits cmd with the ledger clock at t.
func (e *env) at(tb testing.TB, t time.Time, cmd walletd.Command) *walletd.Entry {
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
func statementEnv(t *testing.T) (*env, *DB, string, string) {
	t.Helper()
	e := mustEnv(t)
	db := mustDB(t)
	e.startProjector(t, db, "projections")
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
	e.waitApplied(t, db)
	return e, db, usd, jpy
}

func TestDB_Statement(t *testing.T) {
	_, db, usd, jpy := statementEnv(t)
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
			st, err := db.Statement(ctx, w, cur, day(tc.from), day(tc.to))
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
		_, err := db.Statement(ctx, usd, "USD", day("2026-12-01T00:00:00Z"), day("2026-12-01T00:00:00Z"))
		if walletd.ErrorCode(err) != walletd.EInvalid {
			t.Fatalf("from = to: %v", err)
		}
	})
}

func TestDB_DailyTotals(t *testing.T) {
	_, db, _, _ := statementEnv(t)
	ctx := context.Background()
	render := func(ts []walletd.DailyTotal) string {
		s := ""
		for _, d := range ts {
			s += fmt.Sprintf("%s %s %s %s %d %s;", d.Date, d.Currency, d.Kind, d.Type, d.Count, d.Total)
		}
		return s
	}
	for _, tc := range []struct{ date, currency, want string }{
		{"2026-12-15", "", "2026-12-15 JPY credit cashback 1 500;2026-12-15 USD credit cashback 2 6.00;"},
		{"2026-12-15", "USD", "2026-12-15 USD credit cashback 2 6.00;"},
		{"2026-12-01", "", "2026-12-01 USD debit order_payment 1 30.00;"},
		{"2026-11-30", "", "2026-11-30 USD credit topup 1 100.00;"},
		{"2026-11-24", "", ""}, // opening wallets moves no money
		{"2026-12-15", "EUR", ""},
	} {
		got, err := db.DailyTotals(ctx, day(tc.date+"T00:00:00Z"), tc.currency)
		if err != nil {
			t.Fatal(err)
		}
		if render(got) != tc.want {
			t.Errorf("%s %s: %s, want %s", tc.date, tc.currency, render(got), tc.want)
		}
	}

	t.Run("EqualTheLedger", func(t *testing.T) {
		e := mustEnv(t)
		db := mustDB(t)
		e.startProjector(t, db, "projections")
		wallets := e.mustWallets(t, 6)
		e.workload(t, newRand(21), wallets, 300, 2*time.Hour)
		e.waitApplied(t, db)
		type key struct{ date, currency, kind, typ string }
		want := map[key]*walletd.DailyTotal{}
		var dates []string
		dated := map[string]bool{}
		for _, en := range e.ledgerEntries(t) {
			if en.Kind != walletd.KindCredit && en.Kind != walletd.KindDebit {
				continue
			}
			k := key{en.CreatedAt.UTC().Format(time.DateOnly), en.Currency, en.Kind, en.Type}
			d := want[k]
			if d == nil {
				d = &walletd.DailyTotal{Date: k.date, Currency: k.currency, Kind: k.kind, Type: k.typ, Total: "0"}
				want[k] = d
			}
			if !dated[k.date] {
				dated[k.date] = true
				dates = append(dates, k.date)
			}
			d.Count++
			d.Total = addAmounts(t, d.Total, en.Amount)
		}
		seen := 0
		for _, date := range dates {
			got, err := db.DailyTotals(ctx, day(date+"T00:00:00Z"), "")
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range got {
				w := want[key{g.Date, g.Currency, g.Kind, g.Type}]
				if w == nil || w.Count != g.Count || w.Total != g.Total {
					t.Fatalf("daily total %+v, want %+v", g, w)
				}
			}
			seen += len(got)
		}
		if seen != len(want) {
			t.Fatalf("%d daily totals projected, %d expected", seen, len(want))
		}
	})
}

func TestDB_Transactions(t *testing.T) {
	e, db, usd, _ := statementEnv(t)
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
			p, err := db.Transactions(ctx, tc.q)
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
		p1, _ := db.Transactions(ctx, q)
		if seqs(p1) != "topup/1.00 fee/0.25 " || p1.Next == nil || p1.Next.Seq != p1.Items[1].Seq {
			t.Fatalf("page 1: %q next %v", seqs(p1), p1.Next)
		}
		// A new transaction does not move the pages that follow.
		e.at(t, day("2027-01-02T00:00:00Z"), credit(usd, "9.00", "topup"))
		e.waitApplied(t, db)
		q.Cursor = p1.Next
		p2, _ := db.Transactions(ctx, q)
		q.Cursor = p2.Next
		p3, _ := db.Transactions(ctx, q)
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
		e.waitApplied(t, db)
		var got string
		q := walletd.TransactionQuery{WalletID: jpy, Limit: 2}
		for {
			p, err := db.Transactions(ctx, q)
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
		p, err := db.Transactions(ctx, walletd.TransactionQuery{WalletID: "wal_nope"})
		if err != nil || len(p.Items) != 0 {
			t.Fatalf("%+v %v", p, err)
		}
		if _, err := db.Balance(ctx, "wal_nope"); walletd.ErrorCode(err) != walletd.ENotFound {
			t.Fatalf("Balance: %v", err)
		}
	})
}

func TestDB_StreamStatement(t *testing.T) {
	_, db, usd, jpy := statementEnv(t)
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
			want, err := db.Statement(ctx, tc.wallet, tc.currency, day(tc.from), day(tc.to))
			if err != nil {
				t.Fatal(err)
			}
			var opening string
			var rows []walletd.Transaction
			got, err := db.StreamStatement(ctx, tc.wallet, tc.currency, day(tc.from), day(tc.to),
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
		_, err := db.StreamStatement(ctx, usd, "USD", day("2026-12-01T00:00:00Z"), day("2026-12-01T00:00:00Z"),
			func(*walletd.Statement) error { return nil }, func(*walletd.Transaction) error { return nil })
		if walletd.ErrorCode(err) != walletd.EInvalid {
			t.Fatalf("from = to: %v", err)
		}
	})
}

// TestDB_StreamStatement_Memory checks that streaming holds one row at a
// time: the live heap at the last row is not larger than at the first by
// anything like the rows read (no timing involved).
func TestDB_StreamStatement_Memory(t *testing.T) {
	if testing.Short() {
		t.Skip("posts 2000 entries")
	}
	e := mustEnv(t)
	db := mustDB(t)
	e.startProjector(t, db, "projections")
	e.clock.Set(day("2026-11-24T09:00:00Z"))
	usd := e.l.MustWallet(t, "u1", "USD")
	const n = 2000
	for i := range n {
		e.at(t, day("2026-12-01T00:00:00Z").Add(time.Duration(i)*time.Second), credit(usd, "1.00", "topup"))
	}
	e.waitApplied(t, db)
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	var first, last uint64
	var count int
	st, err := db.StreamStatement(context.Background(), usd, "USD", day("2026-12-01T00:00:00Z"), day("2027-01-01T00:00:00Z"),
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
