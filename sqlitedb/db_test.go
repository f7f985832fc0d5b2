package sqlitedb_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/walletd/walletd/sqlitedb"
)

// MustOpen opens a database at a new path in a temp dir with opt and
// closes it with the test.
func MustOpen(tb testing.TB, opt sqlitedb.Options) *sqlitedb.DB {
	tb.Helper()
	db, err := sqlitedb.Open(context.Background(), filepath.Join(tb.TempDir(), "test.db"), opt)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	queryPragma := func(t *testing.T, db *sqlitedb.DB, write bool, name string) string {
		t.Helper()
		pool := db.Read
		if write {
			pool = db.Write
		}
		var v string
		if err := pool.QueryRowContext(ctx, `PRAGMA `+name).Scan(&v); err != nil {
			t.Fatalf("PRAGMA %s: %v", name, err)
		}
		return v
	}

	t.Run("OK", func(t *testing.T) {
		db := MustOpen(t, sqlitedb.Options{Migrations: "webhooks"})
		for _, w := range []bool{true, false} {
			for name, want := range map[string]string{
				"journal_mode": "wal",
				"synchronous":  "2", // FULL
				"foreign_keys": "1",
				"busy_timeout": "10000",
			} {
				if got := queryPragma(t, db, w, name); got != want {
					t.Errorf("write=%v: PRAGMA %s = %s, want %s", w, name, got, want)
				}
			}
		}
		if got := queryPragma(t, db, false, "query_only"); got != "1" {
			t.Errorf("read pool: query_only = %s", got)
		}
		if got := queryPragma(t, db, true, "query_only"); got != "0" {
			t.Errorf("write connection: query_only = %s", got)
		}
		if n := db.Write.Stats().MaxOpenConnections; n != 1 {
			t.Errorf("write pool of %d connections", n)
		}
		if n := db.Read.Stats().MaxOpenConnections; n != sqlitedb.DefaultReadConns {
			t.Errorf("read pool of %d connections", n)
		}
		var tables int
		if err := db.Read.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE name = 'endpoints'`).Scan(&tables); err != nil || tables != 1 {
			t.Fatalf("the migrations were not applied: %d, %v", tables, err)
		}
		if _, err := db.Read.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('x', 'y')`); err == nil {
			t.Fatal("the read pool accepted a write")
		}
		if _, err := db.Write.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('x', 'y')`); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("Options", func(t *testing.T) {
		db := MustOpen(t, sqlitedb.Options{
			Synchronous: sqlitedb.SyncNormal,
			ReadConns:   3,
			CacheSize:   -4096,
			Pragmas:     []string{`PRAGMA wal_autocheckpoint = 1234`},
		})
		if got := queryPragma(t, db, true, "synchronous"); got != "1" {
			t.Errorf("synchronous = %s, want 1 (NORMAL)", got)
		}
		if got := queryPragma(t, db, true, "cache_size"); got != "-4096" {
			t.Errorf("write cache_size = %s", got)
		}
		if got := queryPragma(t, db, false, "cache_size"); got == "-4096" {
			t.Errorf("read cache_size = %s, want the default", got)
		}
		if got := queryPragma(t, db, true, "wal_autocheckpoint"); got != "1234" {
			t.Errorf("wal_autocheckpoint = %s", got)
		}
		if n := db.Read.Stats().MaxOpenConnections; n != 3 {
			t.Errorf("read pool of %d connections", n)
		}
	})

	t.Run("FileMode0600", func(t *testing.T) {
		db := MustOpen(t, sqlitedb.Options{Migrations: "ledger"})
		if _, err := db.Write.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('x', 'y')`); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{db.Path, db.Path + "-wal", db.Path + "-shm"} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if m := fi.Mode().Perm(); m != 0o600 {
				t.Errorf("%s has mode %o, want 600", filepath.Base(p), m)
			}
		}
	})

	t.Run("LooseModeTightened", func(t *testing.T) {
		// A database another process has open (so its -wal and -shm
		// exist), made readable by others: the next Open sets all three
		// files to 0600 and says so.
		path := filepath.Join(t.TempDir(), "loose.db")
		first, err := sqlitedb.Open(ctx, path, sqlitedb.Options{Migrations: "ledger"})
		if err != nil {
			t.Fatal(err)
		}
		defer first.Close()
		if _, err := first.Write.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('x', 'y')`); err != nil {
			t.Fatal(err)
		}
		files := []string{path, path + "-wal", path + "-shm"}
		for _, p := range files {
			if err := os.Chmod(p, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		var logs bytes.Buffer
		db, err := sqlitedb.Open(ctx, path, sqlitedb.Options{Migrations: "ledger", Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for _, p := range files {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if m := fi.Mode().Perm(); m != 0o600 {
				t.Errorf("%s has mode %o, want 600", filepath.Base(p), m)
			}
			if !strings.Contains(logs.String(), "path="+p+" mode=0644 new_mode=0600") {
				t.Errorf("no log line for %s:\n%s", filepath.Base(p), logs.String())
			}
		}
		// A file already 0600 is not logged again.
		logs.Reset()
		again, err := sqlitedb.Open(ctx, path, sqlitedb.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		again.Close()
		if logs.Len() != 0 {
			t.Errorf("logged on a 0600 database: %s", logs.String())
		}
	})

	t.Run("ExistingFileKept", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "kept.db")
		db, err := sqlitedb.Open(ctx, path, sqlitedb.Options{Migrations: "projections"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Write.ExecContext(ctx, `UPDATE position SET events = 7`); err != nil {
			t.Fatal(err)
		}
		db.Close()
		if db, err = sqlitedb.Open(ctx, path, sqlitedb.Options{Migrations: "projections"}); err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var n int
		if err := db.Read.QueryRowContext(ctx, `SELECT events FROM position`).Scan(&n); err != nil || n != 7 {
			t.Fatalf("reopened: events %d, %v", n, err)
		}
	})

	t.Run("ErrBadPath", func(t *testing.T) {
		if db, err := sqlitedb.Open(ctx, filepath.Join(t.TempDir(), "no", "such", "dir", "x.db"), sqlitedb.Options{}); err == nil {
			db.Close()
			t.Fatal("Open in a missing directory succeeded")
		}
	})
	t.Run("ErrNotADatabase", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "junk.db")
		if err := os.WriteFile(p, []byte(strings.Repeat("not sqlite ", 1000)), 0o600); err != nil {
			t.Fatal(err)
		}
		if db, err := sqlitedb.Open(ctx, p, sqlitedb.Options{Migrations: "ledger"}); err == nil {
			db.Close()
			t.Fatal("Open of a junk file succeeded")
		}
	})
	t.Run("ErrUnknownSynchronous", func(t *testing.T) {
		if db, err := sqlitedb.Open(ctx, filepath.Join(t.TempDir(), "x.db"), sqlitedb.Options{Synchronous: "OFF"}); err == nil {
			db.Close()
			t.Fatal("Open with synchronous OFF succeeded")
		}
	})
	t.Run("ErrBadPragma", func(t *testing.T) {
		if db, err := sqlitedb.Open(ctx, filepath.Join(t.TempDir(), "x.db"), sqlitedb.Options{Pragmas: []string{"NOT SQL"}}); err == nil {
			db.Close()
			t.Fatal("Open with a bad pragma succeeded")
		}
	})
	t.Run("ErrUnknownMigrations", func(t *testing.T) {
		if db, err := sqlitedb.Open(ctx, filepath.Join(t.TempDir(), "x.db"), sqlitedb.Options{Migrations: "nosuch"}); err == nil {
			db.Close()
			t.Fatal("Open with unknown migrations succeeded")
		}
	})
}

func TestMigrate(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ledger.db")
	opt := sqlitedb.Options{Migrations: "ledger"}
	res, err := sqlitedb.Migrate(ctx, path, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Applied) == 0 || res.Applied[0] != 1 || res.Current != res.Applied[len(res.Applied)-1] {
		t.Fatalf("migrating a fresh database: %+v", res)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the migrated file: %v, %v", fi, err)
	}
	again, err := sqlitedb.Migrate(ctx, path, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Applied) != 0 || again.Current != res.Current {
		t.Fatalf("migrating a migrated database: %+v", again)
	}
	t.Run("ErrNoMigrations", func(t *testing.T) {
		if _, err := sqlitedb.Migrate(ctx, path, sqlitedb.Options{}); err == nil {
			t.Fatal("Migrate without a migrations set succeeded")
		}
	})
}

func TestOpenReadOnly(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t, sqlitedb.Options{Migrations: "ledger"})
	if _, err := db.Write.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('x', 'y')`); err != nil {
		t.Fatal(err)
	}
	pool, err := sqlitedb.OpenReadOnly(db.Path, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var v string
	if err := pool.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'x'`).Scan(&v); err != nil || v != "y" {
		t.Fatalf("read %q, %v", v, err)
	}
	if _, err := pool.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('z', 'z')`); err == nil {
		t.Fatal("the read-only pool accepted a write")
	}
	t.Run("ErrMissingFile", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "missing.db")
		pool, err := sqlitedb.OpenReadOnly(p, 1)
		if err == nil {
			defer pool.Close()
			err = pool.PingContext(ctx)
		}
		if err == nil {
			t.Fatal("a read-only pool on a missing file answered")
		}
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Fatalf("OpenReadOnly created the file: %v", err)
		}
	})
}
