package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/walletd/walletd"
)

var _ walletd.HistoryReader = (*History)(nil)

// History serves a wallet's transaction history and statements from the
// ledger's own entries (a credit, debit or settle entry is one
// transaction: what wallet.credited and wallet.debited carry), on the read
// pool of ledger.db: WAL readers never block the writer. The index of
// migration 00005 orders a wallet's entries by the second of created_at,
// then seq, the order the API pages in.
//
// Every write is committed to ledger.db before it is answered, so a read
// after a write always sees it: min_seq is met at once (WaitForSeq).
type History struct {
	DB *DB
	// Currencies gives the scale of the amounts a statement computes (a
	// zero opening balance, an empty total); nil means
	// walletd.DefaultCurrencies().
	Currencies *walletd.Currencies

	head atomic.Uint64 // the last ledger head seen
}

// NewHistory returns the history of db's ledger.
func NewHistory(db *DB, currencies *walletd.Currencies) *History {
	return &History{DB: db, Currencies: currencies}
}

// txnKinds are the entry kinds that are transactions: settle is the debit
// that pays out a withdrawal.
const txnKinds = `kind IN ('credit', 'debit', 'settle')`

// second is the created_at of an entry to the second: the key of the
// index entries_wallet_time. Queries must spell it exactly so.
const second = `substr(created_at, 1, 19)`

const historyColumns = `seq, id, wallet_id, user_id, kind, type, amount, currency, balance_after, reason, order_id, hash, created_at`

// Transactions returns a page of a wallet's transactions, newest first (by
// the second of creation, then seq). A wallet without entries has none.
func (h *History) Transactions(ctx context.Context, q walletd.TransactionQuery) (*walletd.TransactionPage, error) {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	var where strings.Builder
	where.WriteString(`wallet_id = ? AND ` + txnKinds)
	args := []any{q.WalletID}
	if q.Type != "" {
		where.WriteString(` AND type = ?`)
		args = append(args, q.Type)
	}
	if !q.From.IsZero() {
		op, bound := since(q.From)
		where.WriteString(` AND ` + second + ` ` + op + ` ?`)
		args = append(args, bound)
	}
	if !q.To.IsZero() {
		op, bound := before(q.To)
		where.WriteString(` AND ` + second + ` ` + op + ` ?`)
		args = append(args, bound)
	}
	if c := q.Cursor; c != nil {
		// The first condition gives the index walk its start; the row
		// value alone would not.
		sec := storedSecond(c.CreatedAt)
		where.WriteString(` AND ` + second + ` <= ? AND (` + second + `, seq) < (?, ?)`)
		args = append(args, sec, sec, c.Seq)
	}
	args = append(args, q.Limit+1)
	rows, err := h.DB.read.QueryContext(ctx, `SELECT `+historyColumns+` FROM entries WHERE `+where.String()+
		` ORDER BY `+second+` DESC, seq DESC LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: transactions: %w", err)
	}
	defer rows.Close()
	items := []walletd.Transaction{}
	var sc txnScanner
	for rows.Next() {
		var t walletd.Transaction
		if err := sc.scan(rows, &t); err != nil {
			return nil, fmt.Errorf("sqlite: transactions: %w", err)
		}
		items = append(items, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: transactions: %w", err)
	}
	page := &walletd.TransactionPage{Items: items}
	if len(items) > q.Limit {
		page.Items = items[:q.Limit]
		page.Next = walletd.CursorAfter(&page.Items[q.Limit-1])
	}
	return page, nil
}

// txnScanner scans history rows, reusing its buffers.
type txnScanner struct {
	kind, created string
	hash          sql.RawBytes
}

func (s *txnScanner) scan(rows *sql.Rows, t *walletd.Transaction) error {
	if err := rows.Scan(&t.Seq, &t.TransactionID, &t.WalletID, &t.UserID, &s.kind, &t.Type, &t.Amount, &t.Currency,
		&t.BalanceAfter, &t.Reason, &t.OrderID, &s.hash, &s.created); err != nil {
		return err
	}
	if len(s.hash) != walletd.HashSize {
		return fmt.Errorf("entry %d: hash of %d bytes", t.Seq, len(s.hash))
	}
	t.LedgerHash = walletd.Hash(s.hash).String()
	t.Kind = walletd.KindCredit
	if s.kind != walletd.KindCredit {
		t.Kind = walletd.KindDebit // debit, or the settle of a withdrawal
	}
	if len(s.created) < 19 {
		return fmt.Errorf("entry %d: created_at %q", t.Seq, s.created)
	}
	c, err := time.Parse("2006-01-02T15:04:05", s.created[:19])
	if err != nil {
		return fmt.Errorf("entry %d: created_at %q: %w", t.Seq, s.created, err)
	}
	t.CreatedAt = c.UTC()
	return nil
}

// historyPoll is how often WaitForSeq looks at the ledger's head again.
const historyPoll = 25 * time.Millisecond

// WaitForSeq returns once the ledger holds seq, or ctx's error. A seq a
// write returned is already there: the write was committed before it was
// answered.
func (h *History) WaitForSeq(ctx context.Context, seq uint64) error {
	if h.head.Load() >= seq {
		return nil
	}
	var tick *time.Ticker
	for {
		var head sql.NullInt64
		if err := h.DB.read.QueryRowContext(ctx, `SELECT MAX(seq) FROM entries`).Scan(&head); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("sqlite: ledger head: %w", err)
		}
		if head.Valid && uint64(head.Int64) > h.head.Load() {
			h.head.Store(uint64(head.Int64))
		}
		if h.head.Load() >= seq {
			return nil
		}
		if tick == nil {
			tick = time.NewTicker(historyPoll)
			defer tick.Stop()
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// AppliedSeq returns the ledger head WaitForSeq last saw.
func (h *History) AppliedSeq() uint64 { return h.head.Load() }

// Stored created_at values are microseconds of years 1 to 9999 in one
// fixed-width form (walletd.TimeFormat), so the text of their second
// sorts as time does. The bounds below keep that true for any time a
// caller passes: they compare with a whole second inside that range,
// never with a rounded-up time that could reach year 10000, and move a
// fraction into the operator instead.
var (
	minStored = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxStored = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
)

// storedSecond is t's second as the index holds it.
func storedSecond(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05") }

// since returns the operator and text for "created at or after t": for a
// whole second c, c >= t means c > t's second when t has a fraction.
func since(t time.Time) (op, bound string) {
	t = t.UTC()
	switch {
	case t.After(maxStored):
		return ">", storedSecond(maxStored) // nothing is later
	case t.Before(minStored):
		return ">=", storedSecond(minStored) // everything is
	case t.Nanosecond() != 0:
		return ">", storedSecond(t.Truncate(time.Second))
	}
	return ">=", storedSecond(t)
}

// before returns the operator and text for "created before t": for a
// whole second c, c < t means c <= t's second when t has a fraction.
func before(t time.Time) (op, bound string) {
	t = t.UTC()
	switch {
	case t.After(maxStored):
		return "<=", storedSecond(maxStored) // everything is earlier
	case t.Before(minStored):
		return "<", storedSecond(minStored) // nothing is
	case t.Nanosecond() != 0:
		return "<=", storedSecond(t.Truncate(time.Second))
	}
	return "<", storedSecond(t)
}
