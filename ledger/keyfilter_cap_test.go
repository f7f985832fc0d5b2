package ledger

import (
	"strconv"
	"testing"
)

// The filter is sized for twice the keys, 16 bits each, rounded up to a
// power of two, and never beyond its cap.
func TestKeyFilter_Size(t *testing.T) {
	for _, c := range []struct {
		keys, maxBytes, want int
	}{
		{0, defaultFilterMaxBytes, 2 << 20},          // at least 2 million keys' bits: 2^24
		{3_000_000, defaultFilterMaxBytes, 16 << 20}, // 96M bits → 2^27
		{10_000_000, defaultFilterMaxBytes, 32 << 20},
		{1 << 40, defaultFilterMaxBytes, 32 << 20},
		{10_000_000, 5 << 20, 4 << 20}, // a cap is rounded down to a power of two
		{10_000_000, 1, 8},
	} {
		if got := newKeyFilterMax(c.keys, c.maxBytes).size(); got != c.want {
			t.Errorf("%d keys, cap %d: %d bytes, want %d", c.keys, c.maxBytes, got, c.want)
		}
	}
	// A capped filter still never answers a false "no".
	f := newKeyFilterMax(10_000_000, 1<<10)
	for i := range 50_000 {
		f.add(strconv.Itoa(i))
	}
	for i := range 50_000 {
		if !f.mayContain(strconv.Itoa(i)) {
			t.Fatalf("key %d lost in a full filter", i)
		}
	}
}
