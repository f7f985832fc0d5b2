package sqlite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/walletd/walletd/sqlitedb"
)

// pipelinedOptions opens ledger.db with synchronous=NORMAL: a commit is
// atomic but reaches the disk only at the next Sync (or checkpoint).
var pipelinedOptions = sqlitedb.Options{Migrations: "ledger", Synchronous: sqlitedb.SyncNormal}

// OpenPipelined opens the ledger database like Open, for a writer that
// pipelines its group commit (ledger.WriterConfig.Sync): Commit writes a
// batch in one transaction without waiting for the disk, and Sync makes
// every transaction committed before it durable. The writer answers
// nobody before that Sync, so an acknowledged write survives a power loss
// exactly as with Open; what changes is that the next batch is written
// while the disk syncs the last one.
//
// Readers may see a committed batch before its Sync returns (for a few
// milliseconds): the writer makes an idempotency replay wait for it, and
// the relay publishes only what the writer handed it as durable.
//
// OpenPipelined syncs once before it returns: commits that a stopped
// process left in the page cache become durable before anything is
// answered or published from them.
func OpenPipelined(ctx context.Context, path string) (*DB, error) {
	db, err := open(ctx, path, pipelinedOptions)
	if err != nil {
		return nil, err
	}
	db.wal = &walFile{path: path + "-wal"}
	if err := db.Sync(); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Sync makes every transaction committed on the database durable: it
// fsyncs the write-ahead log, which holds every commit since the last
// checkpoint (SQLite syncs the log before a checkpoint copies it into the
// database file, and the file after). On a database opened by Open, whose
// every commit is synced already, it does nothing.
func (db *DB) Sync() error {
	if db.wal == nil {
		return nil
	}
	return db.wal.sync()
}

// walFile is an open handle on the -wal file, for fsync. On Linux fsync
// flushes a file's dirty pages whoever wrote them, so SQLite's writes are
// made durable through this handle.
type walFile struct {
	path string
	mu   sync.Mutex
	f    *os.File
	fi   os.FileInfo
}

func (w *walFile) sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	// SQLite keeps the log while a connection is open (the write one
	// always is) but may create it anew: follow the path if it changed.
	fi, err := os.Stat(w.path)
	if os.IsNotExist(err) {
		return nil // no log: every commit is in the database file, synced by SQLite's checkpoint
	} else if err != nil {
		return fmt.Errorf("sqlite: sync: %w", err)
	}
	if w.f == nil || !os.SameFile(fi, w.fi) {
		if w.f != nil {
			w.f.Close()
			w.f = nil
		}
		f, err := os.Open(w.path)
		if err != nil {
			return fmt.Errorf("sqlite: sync: %w", err)
		}
		// A new log's directory entry must be durable too (SQLite syncs
		// the directory at the first sync of a log it created).
		if err := syncDir(filepath.Dir(w.path)); err != nil {
			f.Close()
			return fmt.Errorf("sqlite: sync: %w", err)
		}
		w.f, w.fi = f, fi
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("sqlite: sync %s: %w", w.path, err)
	}
	return nil
}

func (w *walFile) close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
