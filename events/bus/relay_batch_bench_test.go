package bus_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
	"github.com/walletd/walletd/walletdtest"
)

// BenchmarkPublish_AsyncVsAtomic publishes the same messages (about the
// size of a credit's envelope, each with a Nats-Msg-Id) into a file-stored
// stream with the stream's subject transform, two ways: asynchronous
// publishes with an expected last sequence on every message (what the
// relay does), and JetStream atomic batches with the expected last
// sequence on each batch's first message only.
func BenchmarkPublish_AsyncVsAtomic(b *testing.B) {
	body := make([]byte, 600)
	for i := range body {
		body[i] = 'a' + byte(i%26)
	}
	for _, size := range []int{32, 128, 512} {
		b.Run("async/batch="+strconv.Itoa(size), func(b *testing.B) {
			e := walletdtest.RunJetStream(b)
			ctx := context.Background()
			base := uint64(0)
			b.ResetTimer()
			defer reportCPU(b)()
			for n := 0; n < b.N; n += size {
				futs := make([]jetstream.PubAckFuture, 0, size)
				for i := 0; i < size; i++ {
					m := nats.NewMsg(fmt.Sprintf("walletd.w.wal_%d.credit", i%50))
					m.Data = body
					m.Header.Set("Walletd-Seq", strconv.Itoa(n+i))
					f, err := e.JS.PublishMsgAsync(m, jetstream.WithMsgID(nuid.Next()), jetstream.WithExpectLastSequence(base+uint64(i)))
					if err != nil {
						b.Fatal(err)
					}
					futs = append(futs, f)
				}
				for _, f := range futs {
					select {
					case a := <-f.Ok():
						base = a.Sequence
					case err := <-f.Err():
						b.Fatal(err)
					}
				}
			}
			_ = ctx
		})
		b.Run("atomic/batch="+strconv.Itoa(size), func(b *testing.B) {
			e := walletdtest.RunJetStream(b)
			ctx := context.Background()
			s, err := e.JS.Stream(ctx, "WALLETD")
			if err != nil {
				b.Fatal(err)
			}
			cfg := s.CachedInfo().Config
			cfg.AllowAtomicPublish = true
			if _, err := e.JS.UpdateStream(ctx, cfg); err != nil {
				b.Fatal(err)
			}
			base := uint64(0)
			b.ResetTimer()
			defer reportCPU(b)()
			for n := 0; n < b.N; n += size {
				id := nuid.Next()
				var reply *nats.Msg
				for i := 0; i < size; i++ {
					m := nats.NewMsg(fmt.Sprintf("walletd.w.wal_%d.credit", i%50))
					m.Data = body
					m.Header.Set("Walletd-Seq", strconv.Itoa(n+i))
					m.Header.Set(jetstream.MsgIDHeader, nuid.Next())
					m.Header.Set("Nats-Batch-Id", id)
					m.Header.Set("Nats-Batch-Sequence", strconv.Itoa(i+1))
					if i == 0 {
						m.Header.Set(jetstream.ExpectedLastSeqHeader, strconv.FormatUint(base, 10))
					}
					if i == size-1 {
						m.Header.Set("Nats-Batch-Commit", "1")
						reply, err = e.Conn.RequestMsg(m, 5*time.Second)
						if err != nil {
							b.Fatal(err)
						}
					} else if err := e.Conn.PublishMsg(m); err != nil {
						b.Fatal(err)
					}
				}
				var ack struct {
					Seq   uint64 `json:"seq"`
					Count int    `json:"count"`
					Error *struct{ Description string }
				}
				if err := jsonUnmarshal(reply.Data, &ack); err != nil || ack.Error != nil || ack.Count != size {
					b.Fatalf("ack %s: %v", reply.Data, err)
				}
				base = ack.Seq
			}
		})
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// reportCPU reports the process's CPU time (user + system) per op from
// now until the returned function is called: client and server run in
// the one process, so this is what a message costs both, whatever else
// the shared machine runs.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		b.ReportMetric(float64((cpuTime()-start).Microseconds())/float64(b.N), "cpu-µs/msg")
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
