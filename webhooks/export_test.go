package webhooks

import (
	"context"
	"database/sql"
	"time"
)

// Test access to internals.

// ReadDB returns the read-only pool of db.
func ReadDB(db *DB) *sql.DB { return db.read }

// SetCrashHooks makes the dispatcher stop, as a crash would, when
// beforeCommit or beforeAck returns an error.
func SetCrashHooks(d *Dispatcher, beforeCommit, beforeAck func(n int) error) {
	d.beforeCommit, d.beforeAck = beforeCommit, beforeAck
}

// ErrCrash is what Dispatcher.Close returns after a crash hook fired.
var ErrCrash = errCrash

// ParseRetryAfter is parseRetryAfter.
var ParseRetryAfter = parseRetryAfter

// Prune runs the retention clean-up with cutoff.
func Prune(db *DB, cutoff time.Time) (int64, error) { return db.prune(context.Background(), cutoff) }
