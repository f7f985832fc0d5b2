package ledger

import (
	"fmt"
	"sync"
	"testing"
)

func TestKeyFilter(t *testing.T) {
	f := newKeyFilter(0)
	const n = 200_000
	for i := 0; i < n; i++ {
		f.add(fmt.Sprintf("order-%d", i))
	}
	for i := 0; i < n; i++ { // never a false "no"
		if !f.mayContain(fmt.Sprintf("order-%d", i)) {
			t.Fatalf("order-%d added but not found", i)
		}
	}
	fp := 0
	for i := 0; i < n; i++ {
		if f.mayContain(fmt.Sprintf("other-%d", i)) {
			fp++
		}
	}
	if rate := float64(fp) / n; rate > 0.01 {
		t.Fatalf("false positive rate %.4f at %d keys", rate, n)
	}
}

// Adds and lookups may run at once (the writer adds, callers ask).
func TestKeyFilter_Concurrent(t *testing.T) {
	f := newKeyFilter(0)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10_000; i++ {
				k := fmt.Sprintf("k-%d-%d", g, i)
				f.add(k)
				if !f.mayContain(k) {
					t.Errorf("%s lost", k)
					return
				}
			}
		}()
	}
	wg.Wait()
}
