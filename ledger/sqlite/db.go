// Package sqlite stores the ledger in SQLite (github.com/mattn/go-sqlite3):
// the walletd.LedgerStore the writer commits through, and the
// walletd.LedgerReader and walletd.APIKeyService behind the API. Its files
// follow the root package's: wallet.go, entry.go, checkpoint.go,
// object.go, apikey.go, store.go (Commit), state.go (what the writer
// restores at start-up) and outbox.go (the events of committed entries).
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/migrations"
	"github.com/walletd/walletd/sqlitedb"
)

var _ walletd.LedgerReader = (*DB)(nil)

// DB is an open ledger.db: one write connection (the writer's, used also by
// rare administrative writes) and a pool of read-only connections. WAL lets
// readers run beside the writer.
type DB struct {
	// Path is the database file.
	Path     string
	pools    *sqlitedb.DB
	write    *sql.DB // pools.Write
	read     *sql.DB // pools.Read
	ledgerID string

	insEntry   *sql.Stmt
	upsWallet  *sql.Stmt
	upsObject  *sql.Stmt
	byIdem     *sql.Stmt
	byIdemRead *sql.Stmt // the same query on the read pool

	wal *walFile // OpenPipelined's handle for Sync; nil for Open
	ro  *sql.DB  // OpenReadOnly's pool (read is the same); nil otherwise
}

// options opens ledger.db with synchronous=FULL: an acknowledged write
// survives a power loss.
var options = sqlitedb.Options{Migrations: "ledger", Synchronous: sqlitedb.SyncFull}

// Open opens (creating if needed, mode 0600) the ledger database at path, applies the
// migrations and makes sure it has a ledger id.
func Open(ctx context.Context, path string) (*DB, error) {
	return open(ctx, path, options)
}

func open(ctx context.Context, path string, options sqlitedb.Options) (*DB, error) {
	pools, err := sqlitedb.Open(ctx, path, options)
	if err != nil {
		return nil, err // it names the operation and the path
	}
	db := &DB{Path: path, pools: pools, write: pools.Write, read: pools.Read}
	if err := db.ensureLedgerID(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.prepare(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Migrate applies pending migrations to the ledger database at path and
// returns what it applied.
func Migrate(ctx context.Context, path string) (*migrations.Result, error) {
	return sqlitedb.Migrate(ctx, path, options)
}

func (db *DB) ensureLedgerID(ctx context.Context) error {
	err := db.write.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'ledger_id'`).Scan(&db.ledgerID)
	if errors.Is(err, sql.ErrNoRows) {
		db.ledgerID = walletd.NewID("ldg")
		_, err = db.write.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('ledger_id', ?)`, db.ledgerID)
	}
	if err != nil {
		return fmt.Errorf("sqlite: ledger id: %w", err)
	}
	return nil
}

// LedgerID returns the id of this ledger, made at its first start.
func (db *DB) LedgerID() string { return db.ledgerID }

func (db *DB) prepare(ctx context.Context) (err error) {
	if db.insEntry, err = db.write.PrepareContext(ctx, `INSERT INTO entries (`+entryColumns+`) VALUES (`+placeholders(23)+`)`); err != nil {
		return fmt.Errorf("sqlite: prepare: %w", err)
	}
	if db.upsWallet, err = db.write.PrepareContext(ctx, `INSERT INTO wallets
		(id, user_id, email, currency, balance, held, status, created_at, updated_at, last_seq, features)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET balance = excluded.balance, held = excluded.held,
		status = excluded.status, updated_at = excluded.updated_at, last_seq = excluded.last_seq,
		features = excluded.features`); err != nil {
		return fmt.Errorf("sqlite: prepare: %w", err)
	}
	if db.upsObject, err = db.write.PrepareContext(ctx, `INSERT INTO objects (kind, id, data, seq) VALUES (?, ?, ?, ?)
		ON CONFLICT (kind, id) DO UPDATE SET data = excluded.data, seq = excluded.seq`); err != nil {
		return fmt.Errorf("sqlite: prepare: %w", err)
	}
	const byIdem = `SELECT ` + entryColumns + ` FROM entries WHERE idempotency_key = ? AND idempotency_key <> '' ORDER BY seq`
	if db.byIdem, err = db.write.PrepareContext(ctx, byIdem); err != nil {
		return fmt.Errorf("sqlite: prepare: %w", err)
	}
	if db.byIdemRead, err = db.read.PrepareContext(ctx, byIdem); err != nil {
		return fmt.Errorf("sqlite: prepare: %w", err)
	}
	return nil
}

// Close closes the prepared statements and both connection pools.
func (db *DB) Close() error {
	var errs []error
	for _, s := range []*sql.Stmt{db.insEntry, db.upsWallet, db.upsObject, db.byIdem, db.byIdemRead} {
		if s != nil {
			errs = append(errs, s.Close())
		}
	}
	if db.wal != nil {
		errs = append(errs, db.wal.close())
	}
	if db.pools != nil {
		errs = append(errs, db.pools.Close())
	}
	if db.ro != nil {
		errs = append(errs, db.ro.Close())
	}
	return errors.Join(errs...)
}

// Ping checks that the database answers, for readiness probes.
func (db *DB) Ping(ctx context.Context) error { return db.read.PingContext(ctx) }

// ReadDB exposes the read-only pool to tests and tools in this module.
func (db *DB) ReadDB() *sql.DB { return db.read }

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// OpenReadOnly opens the existing ledger database at path for reading
// only, as walletd verify does: it neither creates, migrates nor writes
// the file, so it may run beside serve or on a copy someone else owns.
// Only the methods that read may be used (Checkpoints, Entries,
// IterateEntries, Wallet, Wallets …); the writer's need OpenPipelined or
// Open.
func OpenReadOnly(ctx context.Context, path string) (*DB, error) {
	return OpenReadOnlyConns(ctx, path, 2)
}

// OpenReadOnlyConns is OpenReadOnly with a pool of conns connections.
// serve reads history and statements through a pool of their own, so that
// long statement downloads never hold the connections the writer reads
// wallets with.
func OpenReadOnlyConns(ctx context.Context, path string, conns int) (*DB, error) {
	pool, err := sqlitedb.OpenReadOnly(path, conns)
	if err != nil {
		return nil, err
	}
	db := &DB{Path: path, read: pool, ro: pool}
	if err := pool.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'ledger_id'`).Scan(&db.ledgerID); err != nil {
		pool.Close()
		return nil, fmt.Errorf("sqlite: %s is not a walletd ledger: %w", path, err)
	}
	return db, nil
}
