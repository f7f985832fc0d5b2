package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/walletd/walletd"

	"github.com/shopspring/decimal"
	"github.com/walletd/walletd/events"
)

var _ walletd.ProjectionReader = (*DB)(nil)

const txnColumns = `transaction_id, seq, wallet_id, user_id, kind, type, amount, currency, balance_after,
	reason, order_id, ledger_hash, created_at`

// Balance returns the balances row of walletID.
// Returns ENotFound if the read models do not know the wallet (yet).
func (db *DB) Balance(ctx context.Context, walletID string) (*walletd.Balance, error) {
	var b walletd.Balance
	var created, updated string
	err := db.read.QueryRowContext(ctx, `SELECT wallet_id, user_id, user_email, currency, balance, status, last_seq,
		created_at, updated_at FROM balances WHERE wallet_id = ?`, walletID).Scan(&b.WalletID, &b.UserID, &b.UserEmail,
		&b.Currency, &b.Balance, &b.Status, &b.LastSeq, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, walletd.Errorf(walletd.ENotFound, "Wallet %s not found.", walletd.QuoteInput(walletID))
	} else if err != nil {
		return nil, fmt.Errorf("projections: balance: %w", err)
	}
	b.CreatedAt, _ = time.Parse(time.RFC3339, created)
	b.UpdatedAt, _ = time.Parse(time.RFC3339, updated)
	return &b, nil
}

// Transactions returns a page of a wallet's transactions, newest first (by
// creation time, then seq: the ledger's order while its clock does not go
// back). A wallet the read models do not know has no transactions.
func (db *DB) Transactions(ctx context.Context, q walletd.TransactionQuery) (*walletd.TransactionPage, error) {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	var where strings.Builder
	where.WriteString(`wallet_id = ?`)
	args := []any{q.WalletID}
	if q.Type != "" {
		where.WriteString(` AND type = ?`)
		args = append(args, q.Type)
	}
	if !q.From.IsZero() {
		op, bound := since(q.From)
		where.WriteString(` AND created_at ` + op + ` ?`)
		args = append(args, bound)
	}
	if !q.To.IsZero() {
		op, bound := before(q.To)
		where.WriteString(` AND created_at ` + op + ` ?`)
		args = append(args, bound)
	}
	if c := q.Cursor; c != nil {
		where.WriteString(` AND (created_at, seq) < (?, ?)`)
		args = append(args, events.FormatTime(c.CreatedAt), c.Seq)
	}
	args = append(args, q.Limit+1)
	items, err := db.queryTransactions(ctx, `SELECT `+txnColumns+` FROM transactions WHERE `+where.String()+
		` ORDER BY created_at DESC, seq DESC LIMIT ?`, args...)
	if err != nil {
		return nil, err
	}
	page := &walletd.TransactionPage{Items: items}
	if len(items) > q.Limit {
		page.Items = items[:q.Limit]
		page.Next = walletd.CursorAfter(&page.Items[q.Limit-1])
	}
	return page, nil
}

// Statement returns the statement of walletID (whose currency is currency)
// for [from, to). Returns EInvalid if to is not after from or the period
// holds more than MaxStatementEntries transactions.
func (db *DB) Statement(ctx context.Context, walletID, currency string, from, to time.Time) (*walletd.Statement, error) {
	if !to.After(from) {
		return nil, walletd.Errorf(walletd.EInvalid, "to must be after from.")
	}
	opening, err := db.balanceBefore(ctx, walletID, from)
	if err != nil {
		return nil, err
	}
	loOp, lo := since(from)
	hiOp, hi := before(to)
	entries, err := db.queryTransactions(ctx, `SELECT `+txnColumns+` FROM transactions
		WHERE wallet_id = ? AND created_at `+loOp+` ? AND created_at `+hiOp+` ? ORDER BY created_at, seq LIMIT ?`,
		walletID, lo, hi, walletd.MaxStatementEntries+1)
	if err != nil {
		return nil, err
	}
	if len(entries) > walletd.MaxStatementEntries {
		return nil, walletd.Errorf(walletd.EInvalid, "The period holds more than %d transactions: ask for a shorter one.", walletd.MaxStatementEntries)
	}
	st := &walletd.Statement{WalletID: walletID, Currency: currency, From: from.UTC(), To: to.UTC(), Entries: entries}
	scale := db.scale(currency)
	var credits, debits decimal.Decimal
	closing := opening
	for _, e := range entries {
		a, err := decimal.NewFromString(e.Amount)
		if err != nil {
			return nil, fmt.Errorf("projections: transaction %d: amount %q: %w", e.Seq, e.Amount, err)
		}
		if e.Kind == KindDebit {
			debits = debits.Add(a)
			st.Debits++
		} else {
			credits = credits.Add(a)
			st.Credits++
		}
		scale = max(scale, fracDigits(e.Amount))
		closing = e.BalanceAfter
	}
	if opening != "" {
		scale = max(scale, fracDigits(opening))
	}
	scale = max(scale, 0)
	st.OpeningBalance = formatOr(opening, scale)
	st.ClosingBalance = formatOr(closing, scale)
	st.TotalCredits = credits.StringFixed(scale)
	st.TotalDebits = debits.StringFixed(scale)
	return st, nil
}

// StreamStatement is Statement without holding the entries: it calls head
// with the statement's opening balance (before reading any entry), then row
// with each transaction of [from, to) oldest first, straight from the
// database cursor, and returns the statement with its closing balance and
// totals and no entries. Memory stays constant however many rows the
// period holds. The opening balance is at the currency's scale (or the
// stored balance's, if finer). Returns EInvalid if to is not after from or
// the period holds more than MaxStatementEntries transactions (counted
// before head is called, so a caller can still answer 400).
func (db *DB) StreamStatement(ctx context.Context, walletID, currency string, from, to time.Time,
	head func(*walletd.Statement) error, row func(*walletd.Transaction) error) (*walletd.Statement, error) {
	if !to.After(from) {
		return nil, walletd.Errorf(walletd.EInvalid, "to must be after from.")
	}
	loOp, lo := since(from)
	hiOp, hi := before(to)
	cond := `wallet_id = ? AND created_at ` + loOp + ` ? AND created_at ` + hiOp + ` ?`
	var n int
	if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM transactions WHERE `+cond+` LIMIT ?)`,
		walletID, lo, hi, walletd.MaxStatementEntries+1).Scan(&n); err != nil {
		return nil, fmt.Errorf("projections: statement count: %w", err)
	}
	if n > walletd.MaxStatementEntries {
		return nil, walletd.Errorf(walletd.EInvalid, "The period holds more than %d transactions: ask for a shorter one.", walletd.MaxStatementEntries)
	}
	opening, err := db.balanceBefore(ctx, walletID, from)
	if err != nil {
		return nil, err
	}
	scale := max(db.scale(currency), 0)
	if opening != "" {
		scale = max(scale, fracDigits(opening))
	}
	st := &walletd.Statement{WalletID: walletID, Currency: currency, From: from.UTC(), To: to.UTC(),
		OpeningBalance: formatOr(opening, scale)}
	if err := head(st); err != nil {
		return nil, err
	}
	rows, err := db.read.QueryContext(ctx, `SELECT `+txnColumns+` FROM transactions WHERE `+cond+
		` ORDER BY created_at, seq LIMIT ?`, walletID, lo, hi, walletd.MaxStatementEntries)
	if err != nil {
		return nil, fmt.Errorf("projections: statement: %w", err)
	}
	defer rows.Close()
	var credits, debits decimal.Decimal
	closing := opening
	var t walletd.Transaction
	var created string
	for rows.Next() {
		if err := rows.Scan(&t.TransactionID, &t.Seq, &t.WalletID, &t.UserID, &t.Kind, &t.Type, &t.Amount, &t.Currency,
			&t.BalanceAfter, &t.Reason, &t.OrderID, &t.LedgerHash, &created); err != nil {
			return nil, fmt.Errorf("projections: statement: %w", err)
		}
		t.CreatedAt, _ = time.Parse(time.RFC3339, created)
		a, err := decimal.NewFromString(t.Amount)
		if err != nil {
			return nil, fmt.Errorf("projections: transaction %d: amount %q: %w", t.Seq, t.Amount, err)
		}
		if t.Kind == KindDebit {
			debits = debits.Add(a)
			st.Debits++
		} else {
			credits = credits.Add(a)
			st.Credits++
		}
		scale = max(scale, fracDigits(t.Amount))
		closing = t.BalanceAfter
		if err := row(&t); err != nil {
			return nil, err
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("projections: statement: %w", err)
	}
	st.ClosingBalance = formatOr(closing, scale)
	st.TotalCredits = credits.StringFixed(scale)
	st.TotalDebits = debits.StringFixed(scale)
	return st, nil
}

// balanceBefore returns the balance after the wallet's last transaction
// created before t, or "" if there is none.
func (db *DB) balanceBefore(ctx context.Context, walletID string, t time.Time) (string, error) {
	var bal string
	op, bound := before(t)
	err := db.read.QueryRowContext(ctx, `SELECT balance_after FROM transactions WHERE wallet_id = ? AND created_at `+op+` ?
		ORDER BY created_at DESC, seq DESC LIMIT 1`, walletID, bound).Scan(&bal)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	} else if err != nil {
		return "", fmt.Errorf("projections: opening balance: %w", err)
	}
	return bal, nil
}

// formatOr returns the balance s at scale, or zero at scale when s is "".
func formatOr(s string, scale int32) string {
	if s == "" {
		return decimal.Zero.StringFixed(scale)
	}
	if d, err := decimal.NewFromString(s); err == nil {
		return d.StringFixed(scale)
	}
	return s
}

// DailyTotals returns the totals of the UTC day of date, of one currency
// or ("" ) of all, ordered by currency, kind and type.
func (db *DB) DailyTotals(ctx context.Context, date time.Time, currency string) ([]walletd.DailyTotal, error) {
	q := `SELECT date, currency, type, kind, count, total FROM daily_totals WHERE date = ?`
	args := []any{date.UTC().Format(time.DateOnly)}
	if currency != "" {
		q += ` AND currency = ?`
		args = append(args, currency)
	}
	rows, err := db.read.QueryContext(ctx, q+` ORDER BY currency, kind, type`, args...)
	if err != nil {
		return nil, fmt.Errorf("projections: daily totals: %w", err)
	}
	defer rows.Close()
	out := []walletd.DailyTotal{}
	for rows.Next() {
		var d walletd.DailyTotal
		if err := rows.Scan(&d.Date, &d.Currency, &d.Type, &d.Kind, &d.Count, &d.Total); err != nil {
			return nil, fmt.Errorf("projections: daily totals: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

func (db *DB) queryTransactions(ctx context.Context, query string, args ...any) ([]walletd.Transaction, error) {
	rows, err := db.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("projections: transactions: %w", err)
	}
	defer rows.Close()
	out := []walletd.Transaction{}
	for rows.Next() {
		var t walletd.Transaction
		var created string
		if err := rows.Scan(&t.TransactionID, &t.Seq, &t.WalletID, &t.UserID, &t.Kind, &t.Type, &t.Amount, &t.Currency,
			&t.BalanceAfter, &t.Reason, &t.OrderID, &t.LedgerHash, &created); err != nil {
			return nil, fmt.Errorf("projections: transactions: %w", err)
		}
		t.CreatedAt, _ = time.Parse(time.RFC3339, created)
		out = append(out, t)
	}
	return out, rows.Err()
}

// Stored created_at values are whole seconds of years 1 to 9999 in one
// fixed-width form (events.FormatTime), so text order is time order. The
// bounds below keep that true for any time a caller passes: they compare
// with the stored form of a whole second inside that range, never with a
// rounded-up time that could reach year 10000 (whose 21-character text
// sorts before "2026-…"), and move the fraction into the operator instead.
var (
	minStored = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxStored = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
)

// since returns the operator and text for the condition "created at or
// after t": for a whole second c, c >= t means c > t's second when t has a
// fraction.
func since(t time.Time) (op, bound string) {
	t = t.UTC()
	switch {
	case t.After(maxStored):
		return ">", events.FormatTime(maxStored) // nothing is later
	case t.Before(minStored):
		return ">=", events.FormatTime(minStored) // everything is
	case t.Nanosecond() != 0:
		return ">", events.FormatTime(t.Truncate(time.Second))
	}
	return ">=", events.FormatTime(t)
}

// before returns the operator and text for the condition "created before
// t": for a whole second c, c < t means c <= t's second when t has a
// fraction.
func before(t time.Time) (op, bound string) {
	t = t.UTC()
	switch {
	case t.After(maxStored):
		return "<=", events.FormatTime(maxStored) // everything is earlier
	case t.Before(minStored):
		return "<", events.FormatTime(minStored) // nothing is
	case t.Nanosecond() != 0:
		return "<=", events.FormatTime(t.Truncate(time.Second))
	}
	return "<", events.FormatTime(t)
}
