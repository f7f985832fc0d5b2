// Package projections builds walletd's read models from the events on the
// WALLETD JetStream stream: the daily totals, in projections.db. (A
// wallet's balance, transaction history and statements are served from
// the ledger's own tables: sqlite.History.)
//
// The read models and the position they reflect (the stream sequence and
// the ledger position of the last event applied) are written in one SQLite
// transaction per batch, so a batch either counts entirely or not at all,
// and an event delivered again is skipped: the effect is exactly once.
// The position of record lives in projections.db, not in NATS: deleting the
// file (or Reset) and running the Projector again rebuilds everything from
// the stream.
package projections

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/walletd/walletd/migrations"
	"github.com/walletd/walletd/sqlitedb"
)

// DB is an open projections.db: one write connection (the projector's) and
// a pool of read-only connections for the API. WAL lets readers run beside
// the writer.
type DB struct {
	Path string

	pools *sqlitedb.DB
	write *sql.DB // pools.Write
	read  *sql.DB // pools.Read

	applyMu sync.Mutex    // one batch at a time
	applied atomic.Uint64 // ledger seq of the last event applied (this process's view)
	mu      sync.Mutex
	changed chan struct{} // closed and replaced after every commit and reset
}

// Position is where the read models stand.
type Position struct {
	Stream      string    // the stream the position refers to ("" before the first batch)
	StreamSeq   uint64    // last stream sequence applied or skipped
	LedgerSeq   uint64    // Walletd-Seq of the last event applied
	LedgerIndex int       // Walletd-Index of that event; -1 before the first
	Events      uint64    // events applied since the database was created or reset
	UpdatedAt   time.Time // when the last batch was committed (zero if never)
}

// options opens projections.db with synchronous=NORMAL, not FULL: a power
// loss may undo the last batches, but the position is undone with them,
// so they are simply applied again. The write connection has a 64 MiB
// page cache (the readers keep the default: the OS caches the file) and a
// long WAL between checkpoints, so that a page rewritten by many batches
// is copied back to the database (and fsynced) once, not once per batch.
var options = sqlitedb.Options{
	Migrations:  "projections",
	Synchronous: sqlitedb.SyncNormal,
	CacheSize:   -65536,
	Pragmas:     []string{`PRAGMA wal_autocheckpoint = 10000`, `PRAGMA journal_size_limit = 67108864`},
}

// Open opens (creating if needed, mode 0600) the projections database at path and
// applies its migrations.
func Open(ctx context.Context, path string) (*DB, error) {
	pools, err := sqlitedb.Open(ctx, path, options)
	if err != nil {
		return nil, err // it names the operation and the path
	}
	db := &DB{Path: path, pools: pools, write: pools.Write, read: pools.Read, changed: make(chan struct{})}
	pos, err := db.Position(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	db.applied.Store(pos.LedgerSeq)
	return db, nil
}

// Migrate applies pending migrations to the projections database at path
// and returns what it applied.
func Migrate(ctx context.Context, path string) (*migrations.Result, error) {
	return sqlitedb.Migrate(ctx, path, options)
}

// Close closes both connection pools.
func (db *DB) Close() error { return db.pools.Close() }

// Ping checks that the database answers, for readiness probes.
func (db *DB) Ping(ctx context.Context) error { return db.read.PingContext(ctx) }

// Position returns the committed position of the read models.
func (db *DB) Position(ctx context.Context) (*Position, error) {
	return readPosition(ctx, db.read)
}

type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func readPosition(ctx context.Context, q queryRower) (*Position, error) {
	var p Position
	var updated string
	err := q.QueryRowContext(ctx, `SELECT stream, stream_seq, ledger_seq, ledger_index, events, updated_at
		FROM position WHERE id = 1`).Scan(&p.Stream, &p.StreamSeq, &p.LedgerSeq, &p.LedgerIndex, &p.Events, &updated)
	if err != nil {
		return nil, fmt.Errorf("projections: read position: %w", err)
	}
	if updated != "" {
		p.UpdatedAt, _ = time.Parse(time.RFC3339Nano, updated)
	}
	return &p, nil
}

// AppliedSeq returns the ledger seq of the last event this process has
// applied or read from the position.
func (db *DB) AppliedSeq() uint64 { return db.applied.Load() }

// waitPoll is how often WaitForSeq re-reads the position from disk, for
// the case where another process (walletd projector) writes the file.
const waitPoll = 25 * time.Millisecond

// WaitForSeq returns once the read models reflect ledger seq (every event
// of every entry up to seq that the projections use), or ctx's error when
// ctx ends first. It serves read-your-writes: a write answers with the seq
// it produced, a read passes it as min_seq. It notices batches applied in
// this process at once, and those of another process within waitPoll.
func (db *DB) WaitForSeq(ctx context.Context, seq uint64) error {
	var tick *time.Ticker
	defer func() {
		if tick != nil {
			tick.Stop()
		}
	}()
	for {
		db.mu.Lock()
		ch := db.changed
		db.mu.Unlock()
		if db.applied.Load() >= seq {
			return nil
		}
		if tick == nil {
			// Another process may write the file: look at the disk too.
			if pos, err := db.Position(ctx); err == nil && pos.LedgerSeq >= seq {
				return nil
			}
			tick = time.NewTicker(waitPoll)
		}
		select {
		case <-ch:
		case <-tick.C:
			pos, err := db.Position(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return err
			}
			if pos.LedgerSeq >= seq {
				return nil
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// notify records the new applied seq and wakes WaitForSeq callers.
func (db *DB) notify(seq uint64) {
	db.applied.Store(seq)
	db.mu.Lock()
	close(db.changed)
	db.changed = make(chan struct{})
	db.mu.Unlock()
}

// Reset empties every read model and the position, in one transaction. A
// Projector running on db notices (its next batch finds the position moved)
// and replays the stream from the start; otherwise run one to rebuild.
// Readers see empty or partial read models until the rebuild catches up;
// reads that pass min_seq wait for it.
func (db *DB) Reset(ctx context.Context) error {
	db.applyMu.Lock()
	defer db.applyMu.Unlock()
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("projections: reset: %w", err)
	}
	defer tx.Rollback()
	for _, q := range []string{
		`DELETE FROM daily_totals`,
		`UPDATE position SET stream = '', stream_seq = 0, ledger_seq = 0, ledger_index = -1, events = 0, updated_at = ''`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("projections: reset: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("projections: reset: %w", err)
	}
	db.notify(0)
	return nil
}

// rewind sets the stored stream sequence from `from` to `to`, keeping the
// ledger position: for a stream that lost its tail, whose next messages
// take sequences the read models had already passed. Returns
// errPositionMoved if the stored sequence is not `from`.
func (db *DB) rewind(ctx context.Context, from, to uint64) error {
	db.applyMu.Lock()
	defer db.applyMu.Unlock()
	res, err := db.write.ExecContext(ctx, `UPDATE position SET stream_seq = ? WHERE id = 1 AND stream_seq = ?`, to, from)
	if err != nil {
		return fmt.Errorf("projections: rewind: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("%w: stored stream seq is not %d", errPositionMoved, from)
	}
	return nil
}
