package sqlite_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/walletd/walletd"
	"github.com/walletd/walletd/events"
	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/ledger/sqlite"
)

// projected is the transaction history as projections.db held it before
// projections migration 00002: the wallet.credited and wallet.debited
// events of one ledger, decoded as the projector decoded them, in the
// table and index it kept, read with the queries it answered with. It is
// the reference the ledger-backed reader must equal.
type projected struct{ db *sql.DB }

const projectedColumns = `transaction_id, seq, wallet_id, user_id, kind, type, amount, currency, balance_after,
	reason, order_id, ledger_hash, created_at`

func mustProject(tb testing.TB, entries []*walletd.Entry) *projected {
	tb.Helper()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(tb.TempDir(), "projections.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE transactions (seq INTEGER PRIMARY KEY, wallet_id TEXT NOT NULL,
		transaction_id TEXT NOT NULL, user_id TEXT NOT NULL, kind TEXT NOT NULL, type TEXT NOT NULL, amount TEXT NOT NULL,
		currency TEXT NOT NULL, balance_after TEXT NOT NULL, reason TEXT NOT NULL, order_id TEXT NOT NULL,
		ledger_hash TEXT NOT NULL, created_at TEXT NOT NULL);
		CREATE INDEX transactions_wallet ON transactions (wallet_id, created_at, seq, type)`); err != nil {
		tb.Fatal(err)
	}
	for _, e := range entries {
		for _, rec := range ledger.EntryEvents(e, ledger.Party{}, ledger.Party{}, "https://shop.example") {
			kind := "credit"
			switch rec.Envelope.Event {
			case events.WalletCredited:
			case events.WalletDebited:
				kind = "debit"
			default:
				continue
			}
			var d events.TransactionData
			if err := json.Unmarshal(rec.Envelope.Data, &d); err != nil {
				tb.Fatal(err)
			}
			created, err := time.Parse(time.RFC3339Nano, rec.Envelope.CreatedAt)
			if err != nil {
				tb.Fatal(err)
			}
			if _, err := db.Exec(`INSERT OR IGNORE INTO transactions (wallet_id, seq, transaction_id, user_id, kind, type,
				amount, currency, balance_after, reason, order_id, ledger_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				d.WalletID, d.Seq, d.TxnID, string(d.UserID), kind, d.Type, d.Amount, d.Currency, d.BalanceAfter, d.Reason,
				string(d.OrderID), d.LedgerHash, events.FormatTime(created)); err != nil {
				tb.Fatal(err)
			}
		}
	}
	return &projected{db}
}

// bound is the projections' since and before: a whole second in the
// stored form and the operator.
func bound(t time.Time, lower bool) (string, string) {
	t = t.UTC()
	if t.Nanosecond() != 0 {
		if lower {
			return ">", events.FormatTime(t.Truncate(time.Second))
		}
		return "<=", events.FormatTime(t.Truncate(time.Second))
	}
	if lower {
		return ">=", events.FormatTime(t)
	}
	return "<", events.FormatTime(t)
}

func (p *projected) query(tb testing.TB, q string, args ...any) []walletd.Transaction {
	tb.Helper()
	rows, err := p.db.Query(q, args...)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	out := []walletd.Transaction{}
	for rows.Next() {
		var t walletd.Transaction
		var created string
		if err := rows.Scan(&t.TransactionID, &t.Seq, &t.WalletID, &t.UserID, &t.Kind, &t.Type, &t.Amount, &t.Currency,
			&t.BalanceAfter, &t.Reason, &t.OrderID, &t.LedgerHash, &created); err != nil {
			tb.Fatal(err)
		}
		t.CreatedAt, _ = time.Parse(time.RFC3339, created)
		out = append(out, t)
	}
	return out
}

// transactions is the projections' Transactions.
func (p *projected) transactions(tb testing.TB, q walletd.TransactionQuery) *walletd.TransactionPage {
	where, args := `wallet_id = ?`, []any{q.WalletID}
	if q.Type != "" {
		where, args = where+` AND type = ?`, append(args, q.Type)
	}
	if !q.From.IsZero() {
		op, b := bound(q.From, true)
		where, args = where+` AND created_at `+op+` ?`, append(args, b)
	}
	if !q.To.IsZero() {
		op, b := bound(q.To, false)
		where, args = where+` AND created_at `+op+` ?`, append(args, b)
	}
	if c := q.Cursor; c != nil {
		where, args = where+` AND (created_at, seq) < (?, ?)`, append(args, events.FormatTime(c.CreatedAt), c.Seq)
	}
	items := p.query(tb, `SELECT `+projectedColumns+` FROM transactions WHERE `+where+
		` ORDER BY created_at DESC, seq DESC LIMIT ?`, append(args, q.Limit+1)...)
	page := &walletd.TransactionPage{Items: items}
	if len(items) > q.Limit {
		page.Items = items[:q.Limit]
		page.Next = walletd.CursorAfter(&page.Items[q.Limit-1])
	}
	return page
}

// statement is the projections' Statement: the opening balance, the
// rows of the period and the closing balance, unformatted.
func (p *projected) statement(tb testing.TB, wallet string, from, to time.Time) (opening, closing string, rows []walletd.Transaction) {
	op, b := bound(from, false)
	before := p.query(tb, `SELECT `+projectedColumns+` FROM transactions WHERE wallet_id = ? AND created_at `+op+` ?
		ORDER BY created_at DESC, seq DESC LIMIT 1`, wallet, b)
	if len(before) == 1 {
		opening = before[0].BalanceAfter
	}
	loOp, lo := bound(from, true)
	hiOp, hi := bound(to, false)
	rows = p.query(tb, `SELECT `+projectedColumns+` FROM transactions WHERE wallet_id = ? AND created_at `+loOp+` ?
		AND created_at `+hiOp+` ? ORDER BY created_at, seq`, wallet, lo, hi)
	closing = opening
	if len(rows) > 0 {
		closing = rows[len(rows)-1].BalanceAfter
	}
	return opening, closing, rows
}

// TestHistory_SameAsTheProjections builds one ledger, with a clock that
// steps back now and then (within a second and across seconds), transfers,
// withdrawals (a settle is a debit; holds and releases are not
// transactions), freezes and several currencies, and checks that
// sqlite.History answers every page, filter, cursor and statement exactly
// as the projections did for the same ledger.
func TestHistory_SameAsTheProjections(t *testing.T) {
	e := mustEnv(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(16, 3))
	now := day("2026-11-30T22:00:00Z")
	e.clock.Set(now)
	var wallets []string
	for i := range 6 {
		cur := []string{"USD", "USD", "JPY"}[i%3]
		wallets = append(wallets, e.l.MustWallet(t, fmt.Sprint("u", i), cur))
	}
	amount := func(w string) string {
		if wal, _ := e.l.DB.Wallet(ctx, w); wal.Currency == "JPY" {
			return fmt.Sprint(1 + rng.IntN(900))
		}
		return fmt.Sprintf("%d.%02d", rng.IntN(90), rng.IntN(100))
	}
	types := []string{"topup", "cashback", "order_payment", "fee"}
	for i := range 600 {
		switch r := rng.IntN(100); {
		case r < 3:
			now = now.Add(-time.Duration(rng.IntN(3000)) * time.Millisecond) // the wall clock steps back
		case r < 50:
			now = now.Add(time.Duration(rng.IntN(400)) * time.Millisecond)
		default:
			now = now.Add(time.Duration(rng.IntN(4*3600)) * time.Second)
		}
		e.clock.Set(now)
		w := wallets[rng.IntN(len(wallets))]
		var cmd walletd.Command
		switch r := rng.IntN(20); {
		case r < 9:
			cmd = &ledger.Post{WalletID: w, Kind: walletd.KindCredit, Amount: amount(w), Type: types[rng.IntN(2)], Reason: "in " + fmt.Sprint(i)}
		case r < 15:
			cmd = &ledger.Post{WalletID: w, Kind: walletd.KindDebit, Amount: amount(w), Type: types[2+rng.IntN(2)], Reason: "=out", OrderID: fmt.Sprint(1000 + i)}
		case r < 17:
			to := wallets[rng.IntN(len(wallets))]
			cmd = &ledger.Transfer{FromWalletID: w, ToWalletID: to, Amount: amount(w), Note: "split"}
		case r < 19:
			res, err := e.l.Writer.Submit(ctx, "", &ledger.RequestWithdrawal{WalletID: w, Amount: amount(w), Method: "bank"})
			if err != nil {
				continue // not enough money, say
			}
			d := res.Object.(*walletd.Withdrawal)
			if rng.IntN(2) == 0 {
				cmd = &ledger.ApproveWithdrawal{WithdrawalID: d.ID}
			} else {
				cmd = &ledger.RejectWithdrawal{WithdrawalID: d.ID, Reason: "no"}
			}
		default:
			cmd = &ledger.SetStatus{WalletID: w, Frozen: rng.IntN(2) == 0, Reason: "check"}
		}
		e.l.Writer.Submit(ctx, "", cmd) // refusals (funds, frozen, same currency) are part of the ledger too
	}
	entries, err := e.l.DB.Entries(ctx, 0, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, en := range entries {
		kinds[en.Kind]++
	}
	if kinds[walletd.KindSettle] == 0 || kinds[walletd.KindRelease] == 0 || kinds[walletd.KindDebit] == 0 {
		t.Fatalf("the workload lacks a kind: %v", kinds)
	}
	ref := mustProject(t, entries)
	h := sqlite.NewHistory(e.l.DB, nil)
	render := func(p *walletd.TransactionPage) string {
		b, _ := json.Marshal(p)
		return string(b)
	}
	start, end := day("2026-11-30T00:00:00Z"), now.Add(time.Hour)
	randTime := func() time.Time {
		t := start.Add(time.Duration(rng.Int64N(int64(end.Sub(start)))))
		if rng.IntN(3) == 0 {
			t = t.Truncate(time.Second)
		}
		return t
	}
	pages, rowsSeen := 0, 0
	for _, w := range append(wallets, "wal_unknown") {
		for round := range 12 {
			q := walletd.TransactionQuery{WalletID: w, Limit: 1 + rng.IntN(40)}
			if round%3 == 1 {
				q.Type = types[rng.IntN(len(types))]
			}
			if round%4 >= 2 {
				q.From = randTime()
				q.To = q.From.Add(time.Duration(rng.Int64N(int64(end.Sub(q.From)))) + time.Nanosecond)
			}
			for {
				want := ref.transactions(t, q)
				got, err := h.Transactions(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				if render(got) != render(want) {
					t.Fatalf("query %+v:\nledger      %s\nprojections %s", q, render(got), render(want))
				}
				pages++
				rowsSeen += len(got.Items)
				if got.Next == nil {
					break
				}
				q.Cursor = got.Next
			}
		}
		for range 15 {
			from := randTime()
			to := from.Add(time.Duration(1 + rng.Int64N(int64(end.Sub(from)))))
			cur := "USD"
			if wal, err := e.l.DB.Wallet(ctx, w); err == nil {
				cur = wal.Currency
			}
			scale := int32(2)
			if cur == "JPY" {
				scale = 0
			}
			opening, closing, rows := ref.statement(t, w, from, to)
			st, err := h.Statement(ctx, w, cur, from, to)
			if err != nil {
				t.Fatal(err)
			}
			credits, debits := decimal.Zero, decimal.Zero
			for _, r := range rows {
				if r.Kind == walletd.KindDebit {
					debits = debits.Add(decimal.RequireFromString(r.Amount))
				} else {
					credits = credits.Add(decimal.RequireFromString(r.Amount))
				}
			}
			fix := func(s string) string {
				if s == "" {
					return decimal.Zero.StringFixed(scale)
				}
				return decimal.RequireFromString(s).StringFixed(scale)
			}
			gotRows, _ := json.Marshal(st.Entries)
			wantRows, _ := json.Marshal(rows)
			if string(gotRows) != string(wantRows) || st.OpeningBalance != fix(opening) || st.ClosingBalance != fix(closing) ||
				st.TotalCredits != credits.StringFixed(scale) || st.TotalDebits != debits.StringFixed(scale) ||
				st.Credits+st.Debits != len(rows) {
				t.Fatalf("statement of %s for [%v, %v):\nledger %+v\nprojections opening %s closing %s credits %s debits %s rows %s",
					w, from, to, st, opening, closing, credits, debits, wantRows)
			}
		}
	}
	if rowsSeen < 1000 || !strings.Contains(fmt.Sprint(kinds), "settle") {
		t.Fatalf("%d pages, %d rows compared: too few", pages, rowsSeen)
	}
	t.Logf("%d pages (%d rows) and %d statements compared over %d entries %v", pages, rowsSeen, 15*(len(wallets)+1), len(entries), kinds)
}
