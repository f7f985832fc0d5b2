package ledger

import (
	"hash/maphash"
	"math/bits"
	"sync/atomic"
)

// keyFilter is a Bloom filter of the idempotency keys the ledger holds.
// "No" is certain: a request whose key the filter has never seen needs no
// database lookup. "Maybe" falls back to the lookup, so a false positive
// costs one query and never a wrong answer.
//
// The writer goroutine adds the keys of each commit before it counts the
// commit (Writer.gen); a caller that reads gen and then asks the filter
// therefore sees every key committed up to that gen, and the writer's
// memory of recent keys covers the commits after it, exactly as for a
// database lookup. Bits are set and read atomically, so callers ask while
// the writer adds.
//
// It is sized at start-up for twice the entries then inside the
// idempotency window (an upper bound on their keys; at least a million),
// at 16 bits a key with 4 probes: about 0.2 % false positives. That is 4
// bytes per key of the window, 4 – 8 after rounding the bit count up to a
// power of two, and never more than WriterConfig.IdempotencyFilterMaxBytes
// (default 32 MiB: full accuracy up to about 8 million keys, 0.04 % false
// positives at 10 million, 8 % at 50 million). Past its size the rate
// rises but answers stay right; a restart sizes it anew.
//
// built says the filter holds every key the ledger held when the writer
// started (keyfilter_build.go). Until then its "no" proves nothing, and
// every key is looked up (Writer.mayHoldKey).
type keyFilter struct {
	seed  maphash.Seed
	mask  uint64 // bit count − 1, a power of two minus one
	bits  []atomic.Uint64
	built atomic.Bool
}

// defaultFilterMaxBytes caps the key filter when
// WriterConfig.IdempotencyFilterMaxBytes is 0.
const defaultFilterMaxBytes = 32 << 20

func newKeyFilter(keys int) *keyFilter { return newKeyFilterMax(keys, defaultFilterMaxBytes) }

// newKeyFilterMax sizes a filter for keys, in at most maxBytes (rounded
// down to a power of two, at least 8 bytes).
func newKeyFilterMax(keys, maxBytes int) *keyFilter {
	want := uint64(max(2*keys, 1<<20)) * 16
	n := uint64(1) << bits.Len64(want-1) // bits, a power of two
	if limit := (uint64(1) << (bits.Len64(uint64(max(maxBytes, 8))) - 1)) * 8; n > limit {
		n = limit
	}
	return &keyFilter{seed: maphash.MakeSeed(), mask: n - 1, bits: make([]atomic.Uint64, n/64)}
}

// size returns the bytes the filter's bits take.
func (f *keyFilter) size() int { return len(f.bits) * 8 }

// probes returns the four bit positions of key: double hashing over one
// 64-bit hash.
func (f *keyFilter) probes(key string) [4]uint64 {
	h := maphash.String(f.seed, key)
	a, b := h, h>>32|h<<32|1
	return [4]uint64{a & f.mask, (a + b) & f.mask, (a + 2*b) & f.mask, (a + 3*b) & f.mask}
}

func (f *keyFilter) add(key string) {
	for _, p := range f.probes(key) {
		f.bits[p/64].Or(1 << (p % 64))
	}
}

// mayContain reports whether key may have been added; false is certain.
func (f *keyFilter) mayContain(key string) bool {
	for _, p := range f.probes(key) {
		if f.bits[p/64].Load()&(1<<(p%64)) == 0 {
			return false
		}
	}
	return true
}
