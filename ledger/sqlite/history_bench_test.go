package sqlite

import (
	"fmt"
	"testing"
)

// benchWithoutHistoryIndex makes benchmarkWriter drop migration 00005's
// index, for BenchmarkWriterHistoryIndex.
var benchWithoutHistoryIndex bool

// BenchmarkWriterHistoryIndex measures what the history index
// (entries_wallet_time) costs the writer: the same credits with and
// without it, alternating within one run (docs/benchmarks.md, issue 16).
//
//	go test -run '^$' -bench BenchmarkWriterHistoryIndex -count 6 ./ledger/sqlite/
func BenchmarkWriterHistoryIndex(b *testing.B) {
	for _, c := range []struct {
		cap, workers int
		pipelined    bool
	}{{1000, 0, false}, {1000, 256, true}} {
		for _, index := range []bool{true, false} {
			b.Run(fmt.Sprintf("cap=%d/pipelined=%t/index=%t", c.cap, c.pipelined, index), func(b *testing.B) {
				benchWithoutHistoryIndex = !index
				defer func() { benchWithoutHistoryIndex = false }()
				benchmarkWriter(b, c.cap, false, c.workers, c.pipelined)
			})
		}
	}
}
