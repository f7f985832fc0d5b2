package projections

import (
	"context"
	"fmt"
	"math/rand/v2"
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
