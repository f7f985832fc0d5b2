package projections

import (
	"context"
	"fmt"
	"time"

	"github.com/walletd/walletd"
)

var _ walletd.ProjectionReader = (*DB)(nil)

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

// The times a period bound may name (ParseTime): created_at holds whole
// seconds of years 1 to 9999.
var (
	minStored = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxStored = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
)
