package projections

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/walletd/walletd/events"
)

// benchEvents makes the envelopes of n ledger entries after seq over
// wallets wallets: first each wallet's wallet.created, then credits and
// debits (with a transfer leg's extra event now and then), as the relay
// publishes them.
type benchStream struct {
	wallets  int
	seq      uint64 // ledger seq of the last entry made
	stream   uint64 // stream seq of the last message made
	balances []int64
	t        time.Time
}

func (s *benchStream) next(n int) []message {
	out := make([]message, 0, n)
	add := func(index int, key string, data any) {
		b, _ := json.Marshal(data)
		env, _ := json.Marshal(events.Envelope{ID: events.NewID(), Event: key, APIVersion: "v1",
			CreatedAt: events.FormatTime(s.t), SiteURL: "https://shop.example", Data: b})
		s.stream++
		out = append(out, message{key: key, streamSeq: s.stream, ledgerSeq: s.seq, index: index, positioned: true, data: env})
	}
	for len(out) < n {
		s.seq++
		s.t = s.t.Add(time.Second)
		w := int(s.seq % uint64(s.wallets))
		id := fmt.Sprintf("wal_%06d", w)
		if s.seq <= uint64(s.wallets) {
			add(0, events.WalletCreated, events.WalletData{WalletID: id, UserID: events.StorefrontID(fmt.Sprint(w)), UserEmail: "u@example.com",
				Currency: "USD", Status: "active", Seq: s.seq})
			continue
		}
		key, typ, amount := events.WalletCredited, "topup", int64(s.seq%5000+1)
		if s.seq%3 == 0 && s.balances[w] >= amount {
			key, typ = events.WalletDebited, "order_payment"
			s.balances[w] -= amount
		} else {
			s.balances[w] += amount
		}
		add(0, key, events.TransactionData{TransactionID: s.seq, TxnID: fmt.Sprintf("txn_%d", s.seq), UserID: events.StorefrontID(fmt.Sprint(w)),
			UserEmail: "u@example.com", Amount: cents(amount), Currency: "USD", BalanceAfter: cents(s.balances[w]),
			Type: typ, Reason: "benchmark", LedgerHash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
			Seq: s.seq, WalletID: id})
		if s.seq%10 == 0 {
			add(1, events.TransferSent, events.TransferData{TransferID: s.seq, Amount: cents(amount), Currency: "USD", Seq: s.seq})
		}
	}
	return out
}

func cents(n int64) string { return fmt.Sprintf("%d.%02d", n/100, n%100) }

// BenchmarkProjector_Apply measures the apply path of the projector:
// decoding envelopes and writing the read models and the position, one
// transaction per batch, into a projections.db on disk. Each iteration
// applies the same stream of 100,000 messages (the first ones opening the
// wallets, then credits and debits, one message in ten an ignored transfer
// event) to a new database, as a rebuild does, over 100 or 10,000 wallets,
// in batches of 1000 or 5000 messages (the projector's largest by default:
// it takes what has arrived, up to that). NATS is left out. Reports
// events/s: stream messages applied per second.
func BenchmarkProjector_Apply(b *testing.B) {
	const total = 100000
	for _, bc := range []struct{ wallets, batchSize int }{{100, 1000}, {10000, 1000}, {100, 5000}, {10000, 5000}} {
		b.Run(fmt.Sprintf("wallets=%d/batch=%d", bc.wallets, bc.batchSize), func(b *testing.B) {
			s := &benchStream{wallets: bc.wallets, balances: make([]int64, bc.wallets), t: time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)}
			stream := s.next(total)
			ctx := context.Background()
			var elapsed time.Duration
			applied := 0
			for b.Loop() {
				b.StopTimer()
				db := mustDB(b)
				b.StartTimer()
				start := time.Now()
				var pos uint64
				for i := 0; i < len(stream); i += bc.batchSize {
					res, _, err := db.apply(ctx, "WALLETD", pos, stream[i:min(i+bc.batchSize, len(stream))], time.Now())
					if err != nil {
						b.Fatal(err)
					}
					pos = res.pos.StreamSeq
				}
				elapsed += time.Since(start)
				applied += len(stream)
				b.StopTimer()
				db.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(applied)/elapsed.Seconds(), "events/s")
		})
	}
}
