package main

import (
	"flag"
	"log/slog"
	"os"
	"runtime/debug"
)

// gcConfig is the Go garbage collector's tuning for `walletd serve`.
type gcConfig struct {
	Percent     int   // --gc-percent: GOGC
	MemoryLimit int64 // --memory-limit-mib: GOMEMLIMIT, in MiB (0: none)
}

// Defaults of gcConfig. serve's live heap is small (tens of MB) but it
// allocates fast: at GOGC=100 the collector ran every few milliseconds
// under load and took ~15 µs of CPU per credit (docs/benchmarks.md).
// GOGC=400 lets the heap grow to five times the live heap between cycles;
// the soft memory limit makes the collector work harder before the heap
// passes it, so the larger GOGC cannot run the process out of memory.
const (
	defaultGCPercent     = 400
	defaultMemoryLimitMB = 1024
)

// gcFlags registers --gc-percent and --memory-limit-mib.
func gcFlags(fs *flag.FlagSet, c *gcConfig) {
	fs.IntVar(&c.Percent, "gc-percent", defaultGCPercent, "Go GC target percentage (GOGC), unless the GOGC variable is set; -1 turns the collector off")
	fs.Int64Var(&c.MemoryLimit, "memory-limit-mib", defaultMemoryLimitMB, "Go soft memory limit in MiB (GOMEMLIMIT), unless the GOMEMLIMIT variable is set; 0: none")
}

// apply sets the collector's tuning. The GOGC and GOMEMLIMIT variables,
// read by the runtime at start, win over the flags.
func (c gcConfig) apply(logger *slog.Logger) {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(c.Percent)
	}
	if os.Getenv("GOMEMLIMIT") == "" && c.MemoryLimit > 0 {
		debug.SetMemoryLimit(c.MemoryLimit << 20)
	}
	logger.Debug("gc tuning", "gc_percent", c.Percent, "memory_limit_mib", c.MemoryLimit,
		"env_gogc", os.Getenv("GOGC"), "env_gomemlimit", os.Getenv("GOMEMLIMIT"))
}
