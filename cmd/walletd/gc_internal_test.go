package main

import (
	"context"
	"database/sql"
	"flag"
	"io"
	"log/slog"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/walletd/walletd/sqlitedb"
)

// serve's memory flags: their defaults, the WALLETD_ variables, and what
// apply sets in the Go runtime and in SQLite. The settings are the
// process's, so the test puts back what it found.
func TestGCConfig_Apply(t *testing.T) {
	ctx := context.Background()
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	prevPercent := debug.SetGCPercent(100)
	prevLimit := debug.SetMemoryLimit(-1)
	prevSQLite, err := sqlitedb.SetSoftHeapLimit(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		debug.SetGCPercent(prevPercent)
		debug.SetMemoryLimit(prevLimit)
		if _, err := sqlitedb.SetSoftHeapLimit(ctx, prevSQLite); err != nil {
			t.Error(err)
		}
	})
	db, err := sql.Open("sqlite3", "file::memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))

	parse := func(t *testing.T, args ...string) gcConfig {
		t.Helper()
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		var c gcConfig
		gcFlags(fs, &c)
		if err := parseFlags(fs, args); err != nil {
			t.Fatal(err)
		}
		return c
	}
	check := func(t *testing.T, c gcConfig, percent int, limit, sqlite int64) {
		t.Helper()
		if err := c.apply(logger); err != nil {
			t.Fatal(err)
		}
		if got := debug.SetGCPercent(percent); got != percent {
			t.Errorf("GOGC %d, want %d", got, percent)
		}
		if got := debug.SetMemoryLimit(-1); got != limit {
			t.Errorf("memory limit %d, want %d", got, limit)
		}
		if got, err := sqlitedb.SoftHeapLimit(ctx, db); err != nil || got != sqlite {
			t.Errorf("SQLite soft heap limit %d, %v; want %d", got, err, sqlite)
		}
	}

	t.Run("defaults", func(t *testing.T) {
		c := parse(t)
		if c != (gcConfig{Percent: 400, MemoryLimit: 200, SQLiteMemory: 32}) {
			t.Fatalf("defaults %+v", c)
		}
		check(t, c, 400, 200<<20, 32<<20)
	})
	t.Run("flags", func(t *testing.T) {
		check(t, parse(t, "--gc-percent", "150", "--memory-limit-mib", "512", "--sqlite-memory-mib", "96"), 150, 512<<20, 96<<20)
	})
	t.Run("variables", func(t *testing.T) {
		t.Setenv("WALLETD_MEMORY_LIMIT_MIB", "300")
		t.Setenv("WALLETD_SQLITE_MEMORY_MIB", "8")
		check(t, parse(t), 400, 300<<20, 8<<20)
	})
	t.Run("zero turns the limits off", func(t *testing.T) {
		debug.SetMemoryLimit(123 << 20)
		if err := parse(t, "--memory-limit-mib", "0", "--sqlite-memory-mib", "0").apply(logger); err != nil {
			t.Fatal(err)
		}
		// 0 leaves the Go limit as the runtime has it (GOMEMLIMIT or none).
		if got := debug.SetMemoryLimit(-1); got != 123<<20 {
			t.Errorf("memory limit %d after --memory-limit-mib 0", got)
		}
		if got, err := sqlitedb.SoftHeapLimit(ctx, db); err != nil || got != 0 {
			t.Errorf("SQLite soft heap limit %d, %v; want 0", got, err)
		}
	})
	t.Run("GOGC and GOMEMLIMIT win", func(t *testing.T) {
		t.Setenv("GOGC", "100")
		t.Setenv("GOMEMLIMIT", "1GiB")
		debug.SetGCPercent(100)
		debug.SetMemoryLimit(1 << 30)
		check(t, parse(t), 100, 1<<30, 32<<20)
	})
	t.Run("negative limits are refused", func(t *testing.T) {
		if _, err := sqlitedb.SetSoftHeapLimit(ctx, 5<<20); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"--memory-limit-mib", "-1"}, {"--sqlite-memory-mib", "-5"}} {
			err := parse(t, args...).apply(logger)
			if err == nil || !strings.Contains(err.Error(), args[0]) {
				t.Errorf("%v: error %v, want one naming the flag", args, err)
			}
		}
		if got, _ := sqlitedb.SoftHeapLimit(ctx, db); got != 5<<20 {
			t.Errorf("a refused configuration changed the SQLite limit to %d", got)
		}
	})
}
