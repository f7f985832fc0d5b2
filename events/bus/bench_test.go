package bus_test

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/walletd/walletd"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/walletd/walletd/events/bus"
	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/ledger/sqlite"
	"github.com/walletd/walletd/walletdtest"
)

// BenchmarkRelay_Lag drives credits at a fixed rate (5,000/s) for three
// seconds per iteration through the real writer, SQLite and the relay into
// an embedded JetStream, and reports the commit → stream-ack lag.
func BenchmarkRelay_Lag(b *testing.B) {
	const rate = 5000
	const dur = 3 * time.Second
	e := walletdtest.RunJetStream(b)
	var mu sync.Mutex
	var lags []time.Duration
	r := &bus.Relay{JS: e.JS, Stream: "WALLETD", Prefix: "walletd", Logger: quiet,
		Metrics: &bus.RelayMetrics{Lag: prometheus.ObserverFunc(func(seconds float64) {
			mu.Lock()
			lags = append(lags, time.Duration(seconds*float64(time.Second)))
			mu.Unlock()
		})}}
	// Wake the relay on every commit, as walletd serve does.
	l := walletdtest.MustOpenLedger(b, func(c *ledger.WriterConfig) {
		c.OnCommit = func(int, int, time.Duration, error) { r.Notify() }
	})
	r.Source = sqlite.NewOutbox(l.DB, "https://shop.example")
	wallets := make([]string, 50)
	for i := range wallets {
		wallets[i] = l.MustWallet(b, "bench"+string(rune('a'+i%26))+time.Now().Format("150405.000000000"), "USD")
	}
	if err := r.Open(); err != nil {
		b.Fatal(err)
	}
	defer r.Close()

	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		mu.Lock()
		lags = lags[:0]
		mu.Unlock()
		tick := time.NewTicker(time.Millisecond)
		var wg sync.WaitGroup
		end := time.Now().Add(dur)
		sent := 0
		for now := range tick.C {
			if now.After(end) {
				break
			}
			// Keep to the rate: submit what is due by now.
			due := int(float64(rate) * time.Since(end.Add(-dur)).Seconds())
			for ; sent < due; sent++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					l.Writer.Submit(context.Background(), "", &ledger.Post{WalletID: wallets[i%len(wallets)], Kind: walletd.KindCredit, Amount: "1.00", Type: "topup"})
				}(sent)
			}
		}
		tick.Stop()
		wg.Wait()
		walletdtest.CheckFor(b, 30*time.Second, 10*time.Millisecond, func() error {
			mu.Lock()
			defer mu.Unlock()
			if len(lags) < sent {
				return walletdtest.Errorf("%d of %d acknowledged", len(lags), sent)
			}
			return nil
		})
		mu.Lock()
		sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
		b.ReportMetric(float64(lags[len(lags)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lags[len(lags)*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(sent)/dur.Seconds(), "ops/s")
		mu.Unlock()
	}
}
