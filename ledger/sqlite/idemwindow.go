package sqlite

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// FirstSeqSince returns the seq of the first entry committed at or after
// since, or the head seq + 1 when there is none. Entries are committed in
// seq order with the writer's clock, so created_at rises with seq; it
// binary-searches the seq range with point reads (about 24 for ten million
// entries) instead of scanning.
func (db *DB) FirstSeqSince(ctx context.Context, since time.Time) (uint64, error) {
	var head uint64
	if err := db.write.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM entries`).Scan(&head); err != nil {
		return 0, fmt.Errorf("sqlite: first seq since: %w", err)
	}
	lo, hi := uint64(1), head+1 // the answer is in [lo, hi]
	for lo < hi {
		mid := lo + (hi-lo)/2
		var created string
		err := db.write.QueryRowContext(ctx, `SELECT created_at FROM entries WHERE seq = ?`, mid).Scan(&created)
		if err != nil {
			return 0, fmt.Errorf("sqlite: first seq since: entry %d: %w", mid, err)
		}
		t, err := parseEntryTime(created)
		if err != nil {
			return 0, &BadEntryError{Seq: mid, Err: fmt.Errorf("created_at: %w", err)}
		}
		if t.Before(since) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo, nil
}

// IdempotencyKeysSince calls yield with every idempotency key of the
// entries committed at or after since, once each: the keys of the writer's
// idempotency window (ledger.WriterConfig.IdempotencyWindow). It reads
// only the entries of the window, and returns how many rows it read.
func (db *DB) IdempotencyKeysSince(ctx context.Context, since time.Time, yield func(key string)) (rows int, err error) {
	first, err := db.FirstSeqSince(ctx, since)
	if err != nil {
		return 0, err
	}
	rs, err := db.write.QueryContext(ctx, `SELECT idempotency_key FROM entries WHERE seq >= ?`, first)
	if err != nil {
		return 0, fmt.Errorf("sqlite: list idempotency keys: %w", err)
	}
	defer rs.Close()
	prev := ""
	for rs.Next() {
		var k string
		if err := rs.Scan(&k); err != nil {
			return rows, fmt.Errorf("sqlite: list idempotency keys: %w", err)
		}
		rows++
		if k != "" && k != prev { // a request's entries are adjacent
			yield(k)
		}
		prev = k
	}
	return rows, rs.Err()
}

// IdempotencyKeysIn calls yield with the idempotency key of every entry
// with seq from..to (inclusive) that has one, a request's adjacent entries
// once, and returns how many rows it read. It reads on the read pool, one
// range of the primary key, so the writer's key filter is built from it
// in pages while the writer commits (walletd.LedgerStore). The keys come
// back as one string, joined by SQLite: a row per key through
// database/sql would cost more than the reading (keys are printable ASCII
// without spaces, so a newline separates them).
func (db *DB) IdempotencyKeysIn(ctx context.Context, from, to uint64, yield func(key string)) (rows int, err error) {
	if from > to {
		return 0, nil
	}
	var keys string
	err = db.read.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(group_concat(NULLIF(idempotency_key, ''), char(10)), '')
		FROM (SELECT idempotency_key FROM entries WHERE seq BETWEEN ? AND ? ORDER BY seq)`, from, to).Scan(&rows, &keys)
	if err != nil {
		return 0, fmt.Errorf("sqlite: list idempotency keys %d..%d: %w", from, to, err)
	}
	prev := ""
	for keys != "" {
		k := keys
		if i := strings.IndexByte(keys, '\n'); i >= 0 {
			k, keys = keys[:i], keys[i+1:]
		} else {
			keys = ""
		}
		if k != prev { // a request's entries are adjacent
			yield(k)
		}
		prev = k
	}
	return rows, nil
}
