package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/walletd/walletd"
)

// Checkpoints returns up to limit checkpoints with seq > afterSeq; limit 0
// returns them all.
func (db *DB) Checkpoints(ctx context.Context, afterSeq uint64, limit int) ([]*walletd.Checkpoint, error) {
	if limit <= 0 {
		limit = -1
	}
	return db.queryCheckpoints(ctx, db.read, `SELECT seq, ledger_id, head_hash, created_at, signature
		FROM checkpoints WHERE seq > ? ORDER BY seq LIMIT ?`, afterSeq, limit)
}

func (db *DB) queryCheckpoints(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string, args ...any) ([]*walletd.Checkpoint, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: query checkpoints: %w", err)
	}
	defer rows.Close()
	var out []*walletd.Checkpoint
	for rows.Next() {
		var cp walletd.Checkpoint
		var head []byte
		var created string
		if err := rows.Scan(&cp.Seq, &cp.LedgerID, &head, &created, &cp.Signature); err != nil {
			return nil, fmt.Errorf("sqlite: scan checkpoint: %w", err)
		}
		if len(head) != walletd.HashSize {
			return nil, fmt.Errorf("sqlite: checkpoint %d: head hash is %d bytes", cp.Seq, len(head))
		}
		copy(cp.HeadHash[:], head)
		if cp.CreatedAt, err = time.Parse(walletd.TimeFormat, created); err != nil {
			return nil, fmt.Errorf("sqlite: checkpoint %d: created_at: %w", cp.Seq, err)
		}
		out = append(out, &cp)
	}
	return out, rows.Err()
}
