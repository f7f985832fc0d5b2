// Package sqlitedb opens walletd's SQLite databases (ledger.db,
// projections.db, webhooks.db) the one way they are all opened, and turns
// SQLite's constraint failures into walletd errors (FormatError).
//
// Every database is one write connection and a pool of read-only
// connections; WAL lets the readers run beside the writer. The write
// connection is the only one in the process, so writers queue in
// database/sql rather than in SQLite's lock, and it begins its
// transactions IMMEDIATE, so that a write transaction takes the lock at
// BEGIN and never fails to upgrade it half-way. Open is the one place that
// sets the journal mode, foreign keys and the busy timeout, creates a new
// file with mode 0600 and applies the database's migrations (package
// migrations); what differs between the databases is in Options.
package sqlitedb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"strconv"

	_ "github.com/mattn/go-sqlite3" // the database/sql driver
	"github.com/walletd/walletd/migrations"
)

// Synchronous is a level of SQLite's PRAGMA synchronous, in WAL mode.
type Synchronous string

const (
	// SyncFull fsyncs the WAL at every commit: an acknowledged write
	// survives a power loss. It is the default.
	SyncFull Synchronous = "FULL"
	// SyncNormal fsyncs at checkpoints only: a power loss may undo the last
	// commits but never corrupts the file. For a database that can redo
	// what it loses.
	SyncNormal Synchronous = "NORMAL"
)

// DefaultReadConns is the size of the read-only pool when
// Options.ReadConns is 0.
const DefaultReadConns = 8

// busyTimeout is how long, in milliseconds, a connection waits for a lock
// held by another connection (another process's, or a checkpoint) before
// it fails with SQLITE_BUSY.
const busyTimeout = 10000

// Options are what differs between walletd's databases.
type Options struct {
	// Migrations names the set of package migrations to apply at open
	// ("ledger", "projections", "webhooks"); "" applies none.
	Migrations string

	// Synchronous is the durability of a commit; "" means SyncFull.
	Synchronous Synchronous

	// ReadConns is the size of the read-only pool; 0 means
	// DefaultReadConns.
	ReadConns int

	// CacheSize is the write connection's PRAGMA cache_size (a negative
	// number is KiB, a positive one pages); 0 keeps SQLite's default. The
	// readers keep the default: the operating system caches the file.
	CacheSize int

	// Pragmas are statements run once on the write connection after it
	// opens and before the migrations, such as
	// "PRAGMA wal_autocheckpoint = 10000".
	Pragmas []string

	// Logger is told when Open tightens the mode of an existing file;
	// nil means slog.Default().
	Logger *slog.Logger
}

// DB is an open database: its path, the write connection and the
// read-only pool.
type DB struct {
	// Path is the database file.
	Path string
	// Write is a pool of exactly one connection, the only one that writes.
	Write *sql.DB
	// Read is a pool of read-only connections (PRAGMA query_only).
	Read *sql.DB
}

// Open opens the database at path, creating it with mode 0600 if it does
// not exist (an existing one, and its -wal and -shm files, readable or
// writable by group or others are set to 0600 and a warning is logged),
// applies the pending migrations of opt.Migrations and returns
// it with its write connection and its read-only pool. It fails if path's
// directory does not exist, if the file is not a SQLite database or if a
// migration fails.
func Open(ctx context.Context, path string, opt Options) (*DB, error) {
	w, _, err := openWriter(ctx, path, opt)
	if err != nil {
		return nil, err
	}
	r, err := sql.Open("sqlite3", dsn(path, opt, false))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlitedb: open reader %s: %w", path, err)
	}
	n := opt.ReadConns
	if n <= 0 {
		n = DefaultReadConns
	}
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	return &DB{Path: path, Write: w, Read: r}, nil
}

// Migrate applies the pending migrations of opt.Migrations to the database
// at path, creating it as Open does, over a write connection of its own,
// and returns what it applied. Open applies them too; Migrate serves
// `walletd migrate`, which runs them ahead of a start.
func Migrate(ctx context.Context, path string, opt Options) (*migrations.Result, error) {
	if opt.Migrations == "" {
		return nil, fmt.Errorf("sqlitedb: migrate %s: no migrations named", path)
	}
	w, res, err := openWriter(ctx, path, opt)
	if err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("sqlitedb: migrate %s: close: %w", path, err)
	}
	return res, nil
}

// Close closes the read-only pool, then the write connection. Closing a nil
// *DB does nothing.
func (db *DB) Close() error {
	if db == nil {
		return nil
	}
	var errs []error
	if db.Read != nil {
		errs = append(errs, db.Read.Close())
	}
	if db.Write != nil {
		errs = append(errs, db.Write.Close())
	}
	return errors.Join(errs...)
}

// OpenReadOnly opens a pool of up to conns read-only connections (mode=ro)
// to the existing database at path, for long scans. It neither creates nor
// migrates the file. Its connections run without SQLite's per-connection
// mutex (multi-thread mode), which saves a lock per call: database/sql
// hands a connection to one goroutine at a time, which is all that mode
// asks.
func OpenReadOnly(path string, conns int) (*sql.DB, error) {
	q := url.Values{}
	q.Set("mode", "ro")
	q.Set("_mutex", "no")
	q.Set("_busy_timeout", strconv.Itoa(busyTimeout))
	pool, err := sql.Open("sqlite3", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlitedb: open read-only %s: %w", path, err)
	}
	pool.SetMaxOpenConns(conns)
	pool.SetMaxIdleConns(conns)
	return pool, nil
}

// openWriter creates the file if needed, opens the write connection, runs
// opt.Pragmas and applies the migrations. On error it closes what it
// opened.
func openWriter(ctx context.Context, path string, opt Options) (*sql.DB, *migrations.Result, error) {
	switch opt.Synchronous {
	case "", SyncFull, SyncNormal:
	default:
		return nil, nil, fmt.Errorf("sqlitedb: open %s: unknown synchronous level %q", path, opt.Synchronous)
	}
	logger := opt.Logger
	if logger == nil {
		logger = slog.Default()
	}
	if err := create(path, logger); err != nil {
		return nil, nil, fmt.Errorf("sqlitedb: open %s: %w", path, err)
	}
	w, err := sql.Open("sqlite3", dsn(path, opt, true))
	if err != nil {
		return nil, nil, fmt.Errorf("sqlitedb: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, nil, fmt.Errorf("sqlitedb: open %s: %w", path, err)
	}
	for _, p := range opt.Pragmas {
		if _, err := w.ExecContext(ctx, p); err != nil {
			w.Close()
			return nil, nil, fmt.Errorf("sqlitedb: open %s: %s: %w", path, p, err)
		}
	}
	res := &migrations.Result{}
	if opt.Migrations != "" {
		if res, err = migrations.Up(ctx, w, opt.Migrations); err != nil {
			w.Close()
			return nil, nil, fmt.Errorf("sqlitedb: open %s: %w", path, err)
		}
	}
	return w, res, nil
}

// create makes an empty file at path with mode 0600 unless a file is
// there already (an empty file is an empty SQLite database). SQLite itself
// would create it 0644 less the umask, yet the databases hold balances,
// API key hashes and webhook secrets; SQLite gives the -wal and -shm files
// the mode of the database file. An existing database, -wal or -shm file
// that group or others may read or write (one made by an older walletd,
// or copied in) is set to 0600, and logged.
func create(path string, logger *slog.Logger) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		return f.Close()
	} else if !errors.Is(err, fs.ErrExist) {
		return err
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return err
		}
		if mode := fi.Mode().Perm(); mode&0o077 != 0 {
			if err := os.Chmod(p, 0o600); err != nil {
				return err
			}
			logger.Warn("tightened the mode of a database file", "path", p, "mode", fmt.Sprintf("%04o", mode), "new_mode", "0600")
		}
	}
	return nil
}

// dsn returns the go-sqlite3 data source name of a write connection or of
// a read-only one.
func dsn(path string, opt Options, write bool) string {
	sync := opt.Synchronous
	if sync == "" {
		sync = SyncFull
	}
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", string(sync))
	q.Set("_foreign_keys", "on")
	q.Set("_busy_timeout", strconv.Itoa(busyTimeout))
	if write {
		q.Set("_txlock", "immediate")
		if opt.CacheSize != 0 {
			q.Set("_cache_size", strconv.Itoa(opt.CacheSize))
		}
	} else {
		q.Set("_query_only", "true")
	}
	return "file:" + path + "?" + q.Encode()
}
