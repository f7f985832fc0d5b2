package sqlitedb

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
)

// SetSoftHeapLimit sets SQLite's soft heap limit for the whole process
// (sqlite3_soft_heap_limit64, through PRAGMA soft_heap_limit) to bytes and
// returns the limit it replaced; 0 removes the limit.
//
// The limit bounds the memory SQLite allocates with its own allocator in
// this process, over every connection of every database: mostly page
// caches, which each connection otherwise grows to its PRAGMA cache_size
// (64 MiB for projections.db's write connection, 2 MiB for every other
// one). Past the limit, connections recycle their least recently used
// clean pages instead of allocating new ones; it is soft, so no statement
// ever fails for it (a statement that needs more than the limit still
// gets it). serve sets it from --sqlite-memory-mib (docs/scale.md).
func SetSoftHeapLimit(ctx context.Context, bytes int64) (old int64, err error) {
	if bytes < 0 {
		return 0, fmt.Errorf("sqlitedb: soft heap limit %d: want 0 (none) or more", bytes)
	}
	db, err := sql.Open("sqlite3", "file::memory:")
	if err != nil {
		return 0, fmt.Errorf("sqlitedb: soft heap limit: %w", err)
	}
	defer db.Close()
	if old, err = SoftHeapLimit(ctx, db); err != nil {
		return 0, err
	}
	var now int64
	if err := db.QueryRowContext(ctx, `PRAGMA soft_heap_limit = `+strconv.FormatInt(bytes, 10)).Scan(&now); err != nil {
		return 0, fmt.Errorf("sqlitedb: soft heap limit: %w", err)
	}
	if now != bytes {
		return 0, fmt.Errorf("sqlitedb: soft heap limit: set %d, SQLite reports %d", bytes, now)
	}
	return old, nil
}

// SoftHeapLimit returns SQLite's soft heap limit in bytes (0: none), as
// seen by a connection of db; it is the same for every connection of the
// process.
func SoftHeapLimit(ctx context.Context, db *sql.DB) (int64, error) {
	var n int64
	if err := db.QueryRowContext(ctx, `PRAGMA soft_heap_limit`).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlitedb: soft heap limit: %w", err)
	}
	return n, nil
}
