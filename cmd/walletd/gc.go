package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/walletd/walletd/sqlitedb"
)

// gcConfig is serve's memory tuning: the Go garbage collector's and
// SQLite's (docs/scale.md, "Serve's memory").
type gcConfig struct {
	Percent      int   // --gc-percent: GOGC
	MemoryLimit  int64 // --memory-limit-mib: GOMEMLIMIT, in MiB (0: none)
	SQLiteMemory int64 // --sqlite-memory-mib: SQLite's soft heap limit, in MiB (0: none)
}

// Defaults of gcConfig, chosen so that serve's resident memory stays
// within about 300 MB under load (issue 17) at the least cost in
// throughput (issue 16); the measurements are in docs/benchmarks.md.
//
// serve's live Go heap is small (60 – 120 MB under load at 10M entries,
// most of it the embedded NATS server's block buffers and subject index)
// but it allocates fast:
// at GOGC=100 the collector ran every few milliseconds under load and
// took ~15 µs of CPU per credit. GOGC=400 lets the heap grow to five times
// the live heap between cycles while that is below the soft memory limit;
// near the limit the collector runs as often as it must to stay under it.
// The limit covers all of Go's memory (heap, stacks, the runtime's own);
// SQLite's page caches are outside it and have their own soft limit, and
// the mapped executable (about 36 MB of RSS) comes on top:
// 200 MiB + 32 MiB + 36 MB ≈ 280 MB. The bound costs throughput as the
// live heap grows (19 % fewer credits/s at ~110 MB live than with the
// 1 GiB limit before); --memory-limit-mib buys it back with memory.
const (
	defaultGCPercent      = 400
	defaultMemoryLimitMB  = 200
	defaultSQLiteMemoryMB = 32
)

// gcFlags registers --gc-percent, --memory-limit-mib and
// --sqlite-memory-mib.
func gcFlags(fs *flag.FlagSet, c *gcConfig) {
	fs.IntVar(&c.Percent, "gc-percent", defaultGCPercent, "Go GC target percentage (GOGC), unless the GOGC variable is set; -1 turns the collector off")
	fs.Int64Var(&c.MemoryLimit, "memory-limit-mib", defaultMemoryLimitMB, "Go soft memory limit in MiB (GOMEMLIMIT), unless the GOMEMLIMIT variable is set; 0: none")
	fs.Int64Var(&c.SQLiteMemory, "sqlite-memory-mib", defaultSQLiteMemoryMB, "soft limit in MiB of the memory SQLite allocates in this process, mostly page caches of all databases (PRAGMA soft_heap_limit); 0: none")
}

// apply sets the collector's tuning and SQLite's soft heap limit. The
// GOGC and GOMEMLIMIT variables, read by the runtime at start, win over
// the flags.
func (c gcConfig) apply(logger *slog.Logger) error {
	if c.MemoryLimit < 0 {
		return fmt.Errorf("--memory-limit-mib %d: want 0 (none) or more", c.MemoryLimit)
	}
	if c.SQLiteMemory < 0 {
		return fmt.Errorf("--sqlite-memory-mib %d: want 0 (none) or more", c.SQLiteMemory)
	}
	if _, err := sqlitedb.SetSoftHeapLimit(context.Background(), c.SQLiteMemory<<20); err != nil {
		return fmt.Errorf("--sqlite-memory-mib: %w", err)
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(c.Percent)
	}
	if os.Getenv("GOMEMLIMIT") == "" && c.MemoryLimit > 0 {
		debug.SetMemoryLimit(c.MemoryLimit << 20)
	}
	logger.Debug("memory tuning", "gc_percent", c.Percent, "memory_limit_mib", c.MemoryLimit, "sqlite_memory_mib", c.SQLiteMemory,
		"env_gogc", os.Getenv("GOGC"), "env_gomemlimit", os.Getenv("GOMEMLIMIT"))
	return nil
}
