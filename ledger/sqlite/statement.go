package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"github.com/walletd/walletd"
)

// Statement returns the statement of walletID (whose currency is currency)
// for [from, to). Returns EInvalid if to is not after from or the period
// holds more than MaxStatementEntries transactions.
func (h *History) Statement(ctx context.Context, walletID, currency string, from, to time.Time) (*walletd.Statement, error) {
	var entries []walletd.Transaction
	st, err := h.StreamStatement(ctx, walletID, currency, from, to, func(*walletd.Statement) error { return nil },
		func(t *walletd.Transaction) error { entries = append(entries, *t); return nil })
	if err != nil {
		return nil, err
	}
	if entries == nil {
		entries = []walletd.Transaction{}
	}
	st.Entries = entries
	// The opening balance at the scale of the whole statement (the totals'),
	// which the rows may have made finer than when head saw it.
	st.OpeningBalance = formatOr(st.OpeningBalance, fracDigits(st.TotalCredits))
	return st, nil
}

// StreamStatement is Statement without holding the entries: it calls head
// with the statement's opening balance (before reading any entry), then row
// with each transaction of [from, to) oldest first, straight from the
// database cursor, and returns the statement with its closing balance and
// totals and no entries. The count, the opening balance and the rows are
// read in one read transaction: one snapshot of the ledger. The opening
// balance is at the currency's scale (or the stored balance's, if finer).
// Returns EInvalid if to is not after from or the period holds more than
// MaxStatementEntries transactions (counted before head is called, so a
// caller can still answer 400).
func (h *History) StreamStatement(ctx context.Context, walletID, currency string, from, to time.Time,
	head func(*walletd.Statement) error, row func(*walletd.Transaction) error) (*walletd.Statement, error) {
	if !to.After(from) {
		return nil, walletd.Errorf(walletd.EInvalid, "to must be after from.")
	}
	tx, err := h.DB.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("sqlite: statement: %w", err)
	}
	defer tx.Rollback()
	loOp, lo := since(from)
	hiOp, hi := before(to)
	cond := `wallet_id = ? AND ` + txnKinds + ` AND ` + second + ` ` + loOp + ` ? AND ` + second + ` ` + hiOp + ` ?`
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM entries WHERE `+cond+` LIMIT ?)`,
		walletID, lo, hi, walletd.MaxStatementEntries+1).Scan(&n); err != nil {
		return nil, fmt.Errorf("sqlite: statement count: %w", err)
	}
	if n > walletd.MaxStatementEntries {
		return nil, walletd.Errorf(walletd.EInvalid, "The period holds more than %d transactions: ask for a shorter one.", walletd.MaxStatementEntries)
	}
	opening, err := balanceBefore(ctx, tx, walletID, from)
	if err != nil {
		return nil, err
	}
	scale := max(h.scale(currency), 0)
	if opening != "" {
		scale = max(scale, fracDigits(opening))
	}
	st := &walletd.Statement{WalletID: walletID, Currency: currency, From: from.UTC(), To: to.UTC(),
		OpeningBalance: formatOr(opening, scale)}
	if err := head(st); err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+historyColumns+` FROM entries WHERE `+cond+
		` ORDER BY `+second+`, seq LIMIT ?`, walletID, lo, hi, walletd.MaxStatementEntries)
	if err != nil {
		return nil, fmt.Errorf("sqlite: statement: %w", err)
	}
	defer rows.Close()
	var credits, debits decimal.Decimal
	closing := opening
	var t walletd.Transaction
	var sc txnScanner
	for rows.Next() {
		if err := sc.scan(rows, &t); err != nil {
			return nil, fmt.Errorf("sqlite: statement: %w", err)
		}
		a, err := decimal.NewFromString(t.Amount)
		if err != nil {
			return nil, fmt.Errorf("sqlite: entry %d: amount %q: %w", t.Seq, t.Amount, err)
		}
		if t.Kind == walletd.KindDebit {
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
		return nil, fmt.Errorf("sqlite: statement: %w", err)
	}
	st.ClosingBalance = formatOr(closing, scale)
	st.TotalCredits = credits.StringFixed(scale)
	st.TotalDebits = debits.StringFixed(scale)
	return st, nil
}

// balanceBefore returns the balance after the wallet's last transaction
// created before t, or "" if there is none.
func balanceBefore(ctx context.Context, tx *sql.Tx, walletID string, t time.Time) (string, error) {
	var bal string
	op, bound := before(t)
	err := tx.QueryRowContext(ctx, `SELECT balance_after FROM entries WHERE wallet_id = ? AND `+txnKinds+` AND `+second+` `+op+` ?
		ORDER BY `+second+` DESC, seq DESC LIMIT 1`, walletID, bound).Scan(&bal)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	} else if err != nil {
		return "", fmt.Errorf("sqlite: opening balance: %w", err)
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

// fracDigits returns the number of digits after the dot of a plain decimal.
func fracDigits(s string) int32 {
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return int32(len(s) - i - 1)
	}
	return 0
}

// scale returns the minor-unit scale of currency, or -1 if unknown.
func (h *History) scale(currency string) int32 {
	c := h.Currencies
	if c == nil {
		c = defaultCurrencies
	}
	s, err := c.Scale(currency)
	if err != nil {
		return -1
	}
	return s
}

var defaultCurrencies = walletd.DefaultCurrencies()
