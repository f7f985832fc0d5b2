package webhooks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walletd/walletd"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/walletd/walletd/events"
	"github.com/walletd/walletd/events/bus"
	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/walletdtest"
	"github.com/walletd/walletd/webhooks"
)

// countingReceiver answers 200 to everything and counts the events.
type countingReceiver struct {
	*httptest.Server
	n atomic.Int64
}

func newCountingReceiver(tb testing.TB, onBody func(body []byte, at time.Time)) *countingReceiver {
	rc := &countingReceiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if onBody != nil {
			onBody(b, time.Now())
		}
		rc.n.Add(1)
	}))
	tb.Cleanup(rc.Close)
	return rc
}

// BenchmarkWebhooks_Throughput measures first-attempt deliveries per
// second to one loopback receiver: b.N events wait in the stream, then the
// dispatcher and the senders start, and the clock runs until the receiver
// has them all. Run with -benchtime 20000x.
func BenchmarkWebhooks_Throughput(b *testing.B) {
	n := mustNATS(b)
	e := mustService(b, func(s *webhooks.Service) { s.Logger = quiet })
	rc := newCountingReceiver(b, nil)
	e.create(b, walletd.WebhookEndpointInput{URL: rc.URL, Events: []string{events.WalletCredited}})
	walletdtest.CheckFor(b, 5*time.Second, time.Millisecond, func() error {
		if rc.n.Load() < 1 {
			return fmt.Errorf("no ping")
		}
		return nil
	})
	body := `{"transaction_id":"txn_x","user_id":"103","user_email":"jane@example.com","amount":"25.00","currency":"USD","balance_after":"75.00","type":"topup","reason":"bench","order_id":"","ledger_hash":"a3f9c2e0d1b4a3f9c2e0d1b4a3f9c2e0d1b4a3f9c2e0d1b4a3f9c2e0d1b4a3f9","seq":1,"wallet_id":"wal_x"}`
	var futs []jetstream.PubAckFuture
	for i := 0; i < b.N; i++ {
		env := events.Envelope{ID: events.NewID(), Event: events.WalletCredited, APIVersion: "v1",
			CreatedAt: events.FormatTime(time.Now()), SiteURL: siteURL, Data: json.RawMessage(body)}
		msg := nats.NewMsg("walletd.wallet.credited")
		msg.Data, _ = json.Marshal(env)
		f, err := n.js.PublishMsgAsync(msg, jetstream.WithMsgID(env.ID))
		if err != nil {
			b.Fatal(err)
		}
		futs = append(futs, f)
	}
	for _, f := range futs {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	start := time.Now()
	startDispatcher(b, e.Svc, n)
	want := int64(b.N) + 1
	for rc.n.Load() < want {
		time.Sleep(time.Millisecond)
	}
	d := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/d.Seconds(), "deliveries/s")
}

// BenchmarkWebhooks_CommitToDelivery drives the whole path: credits
// committed by the ledger writer, published by the relay, recorded by the
// dispatcher and posted to a loopback receiver. It reports the rate and
// the latency from the commit (the entry's time) to the receiver, at full
// load (32 concurrent writers) and at a steady 1,000 credits/s. Run with
// -benchtime 20000x.
func BenchmarkWebhooks_CommitToDelivery(b *testing.B) {
	for _, rate := range []int{0, 1000} {
		name := "rate=max"
		if rate > 0 {
			name = fmt.Sprintf("rate=%d/s", rate)
		}
		b.Run(name, func(b *testing.B) { benchCommitToDelivery(b, rate) })
	}
}

func benchCommitToDelivery(b *testing.B, rate int) {
	n := mustNATS(b)
	// The relay is woken on every commit, as walletd serve does.
	var relay atomic.Pointer[bus.Relay]
	l := walletdtest.MustOpenLedger(b, func(c *ledger.WriterConfig) {
		c.Logger = quiet
		c.OnCommit = func(int, int, time.Duration, error) {
			if r := relay.Load(); r != nil {
				r.Notify()
			}
		}
	})
	relay.Store(startRelay(b, n, l))
	e := mustService(b, func(s *webhooks.Service) { s.Logger = quiet })
	var mu sync.Mutex
	committed := map[uint64]time.Time{}
	var lat []time.Duration
	var pendingLat []struct {
		seq uint64
		at  time.Time
	}
	rc := newCountingReceiver(b, func(body []byte, at time.Time) {
		var env struct {
			Data struct {
				Seq uint64 `json:"seq"`
			} `json:"data"`
		}
		if json.Unmarshal(body, &env) != nil || env.Data.Seq == 0 {
			return
		}
		mu.Lock()
		if c, ok := committed[env.Data.Seq]; ok {
			lat = append(lat, at.Sub(c))
		} else {
			pendingLat = append(pendingLat, struct {
				seq uint64
				at  time.Time
			}{env.Data.Seq, at})
		}
		mu.Unlock()
	})
	e.create(b, walletd.WebhookEndpointInput{URL: rc.URL, Events: []string{events.WalletCredited}})
	startDispatcher(b, e.Svc, n)
	wallets := make([]string, 32)
	for i := range wallets {
		wallets[i] = l.MustWallet(b, fmt.Sprintf("u%d", i), "USD")
	}
	walletdtest.CheckFor(b, 5*time.Second, time.Millisecond, func() error {
		if rc.n.Load() < 1 {
			return fmt.Errorf("no ping")
		}
		return nil
	})
	base := rc.n.Load()

	b.ResetTimer()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	var tick <-chan time.Time
	if rate > 0 {
		t := time.NewTicker(time.Second / time.Duration(rate))
		defer t.Stop()
		tick = t.C
	}
	work := make(chan struct{}, 1024)
	for w := 0; w < len(wallets); w++ {
		wg.Add(1)
		go func(wallet string) {
			defer wg.Done()
			for range work {
				res, err := l.Writer.Submit(context.Background(), "", &ledger.Post{WalletID: wallet, Kind: walletd.KindCredit, Amount: "1.00", Type: "topup"})
				if err != nil {
					b.Error(err)
					return
				}
				en := res.Entries[0]
				mu.Lock()
				committed[en.Seq] = en.CreatedAt
				mu.Unlock()
			}
		}(wallets[w])
	}
	for i := 0; i < b.N; i++ {
		if tick != nil {
			<-tick
		}
		next.Add(1)
		work <- struct{}{}
	}
	close(work)
	wg.Wait()
	want := base + int64(b.N)
	for rc.n.Load() < want {
		time.Sleep(time.Millisecond)
	}
	d := time.Since(start)
	b.StopTimer()
	mu.Lock()
	for _, p := range pendingLat { // received before the writer's answer was recorded
		if c, ok := committed[p.seq]; ok {
			lat = append(lat, p.at.Sub(c))
		}
	}
	slices.Sort(lat)
	mu.Unlock()
	if len(lat) == 0 {
		b.Fatal("no latencies")
	}
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(float64(b.N)/d.Seconds(), "deliveries/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(pct(1), "max-ms")
}
