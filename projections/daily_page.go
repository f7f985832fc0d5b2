package projections

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/walletd/walletd"
)

// DailyTotalsPage returns at most limit totals of the UTC days from
// first to last (both included), of one currency or ("") of all, from
// the offset-th on, ordered by date, currency, kind and type; and how
// many totals the days hold. It keeps only the page in memory.
func (db *DB) DailyTotalsPage(ctx context.Context, first, last time.Time, currency string, offset, limit int) ([]walletd.DailyTotal, int, error) {
	where := ` FROM daily_totals WHERE date >= ? AND date <= ?`
	args := []any{first.UTC().Format(time.DateOnly), last.UTC().Format(time.DateOnly)}
	if currency != "" {
		where += ` AND currency = ?`
		args = append(args, currency)
	}
	// One read transaction: the count and the page of one snapshot.
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, 0, fmt.Errorf("projections: daily totals: %w", err)
	}
	defer tx.Rollback()
	var total int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*)`+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("projections: daily totals: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT date, currency, type, kind, count, total`+where+
		` ORDER BY date, currency, kind, type LIMIT ? OFFSET ?`, append(args, limit, offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("projections: daily totals: %w", err)
	}
	defer rows.Close()
	out := []walletd.DailyTotal{}
	for rows.Next() {
		var d walletd.DailyTotal
		if err := rows.Scan(&d.Date, &d.Currency, &d.Type, &d.Kind, &d.Count, &d.Total); err != nil {
			return nil, 0, fmt.Errorf("projections: daily totals: %w", err)
		}
		out = append(out, d)
	}
	return out, total, rows.Err()
}
