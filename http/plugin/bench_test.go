package plugin_test

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkProcessOrder: the guide's flow per order over loopback — a
// generate-token (a refresh token stored), then an order/process that
// spends the token (a committed insert) and records the order through the
// writer (a group commit) — one client at a time.
func BenchmarkProcessOrder(b *testing.B) {
	e := newEnv(b, generous)
	start := time.Now()
	n := 0
	for b.Loop() {
		tok, _ := e.tokens(b)
		if r := e.post(b, "/plugin/order/process/", process(tok, order(fmt.Sprint("bench-", n)))); r.Status != 201 {
			b.Fatalf("%d %s", r.Status, r.Raw)
		}
		n++
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "orders/s")
}
