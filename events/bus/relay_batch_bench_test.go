package bus_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
	"github.com/walletd/walletd/events/bus"
	"github.com/walletd/walletd/walletdtest"
)

// BenchmarkPublish_Batches publishes the same messages (about the size of
// a credit's envelope, with the relay's headers and a Nats-Msg-Id) into a
// file-stored stream with the stream's subject transform, in batches of
// 32, 128 and 512:
//
//   - async: asynchronous publishes with the expected stream and last
//     sequence on every message and one ack per message (what the relay
//     does);
//   - atomic: JetStream atomic batches (nats-server ≥ 2.12), the expected
//     last sequence on each batch's first message only;
//   - fast: JetStream fast-ingest batches (nats-server ≥ 2.14, ADR-50,
//     the stream's allow_batched), gap mode "fail", the expected stream
//     and last sequence on every message. The protocol is written here by hand
//     (the batch, its flow and gap mode, each message's batch sequence
//     and operation are in its reply subject): one reply subscription for
//     every batch and no wait for the first message's flow ack, so it is
//     the least a fast batch costs; orbit.go's FastPublisher subscribes
//     once per batch and waits for that ack, and measured dearer
//     (docs/benchmarks.md).
//
// It reports the process's CPU per message (client and server are in the
// one process).
func BenchmarkPublish_Batches(b *testing.B) {
	body := make([]byte, 600)
	for i := range body {
		body[i] = 'a' + byte(i%26)
	}
	for _, size := range []int{32, 128, 512} {
		b.Run("async/batch="+strconv.Itoa(size), func(b *testing.B) { benchAsync(b, body, size) })
		b.Run("atomic/batch="+strconv.Itoa(size), func(b *testing.B) { benchAtomic(b, body, size) })
		b.Run("fast/batch="+strconv.Itoa(size), func(b *testing.B) { benchFast(b, body, size) })
	}
}

// benchMsg is message i of the batch starting at n, with the relay's own
// headers (a MAC is 64 hex digits).
func benchMsg(body []byte, n, i int) *nats.Msg {
	m := nats.NewMsg(fmt.Sprintf("walletd.w.wal_%d.credit", i%50))
	m.Data = body
	m.Header.Set(bus.HeaderSeq, strconv.Itoa(n+i))
	m.Header.Set(bus.HeaderIndex, strconv.Itoa(i%3))
	m.Header.Set(bus.HeaderMAC, benchMAC)
	return m
}

var benchMAC = strings.Repeat("5f", 32)

func benchAsync(b *testing.B, body []byte, size int) {
	e := walletdtest.RunJetStream(b)
	base := uint64(0)
	b.ResetTimer()
	defer reportCPU(b)()
	for n := 0; n < b.N; n += size {
		futs := make([]jetstream.PubAckFuture, 0, size)
		for i := 0; i < size; i++ {
			f, err := e.JS.PublishMsgAsync(benchMsg(body, n, i), jetstream.WithMsgID(nuid.Next()), jetstream.WithExpectStream("WALLETD"), jetstream.WithExpectLastSequence(base+uint64(i)))
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
}

func benchAtomic(b *testing.B, body []byte, size int) {
	e := walletdtest.RunJetStream(b)
	allow(b, e, func(c *jetstream.StreamConfig) { c.AllowAtomicPublish = true })
	base := uint64(0)
	b.ResetTimer()
	defer reportCPU(b)()
	for n := 0; n < b.N; n += size {
		id := nuid.Next()
		var reply *nats.Msg
		var err error
		for i := 0; i < size; i++ {
			m := benchMsg(body, n, i)
			m.Header.Set(jetstream.MsgIDHeader, nuid.Next())
			m.Header.Set("Nats-Batch-Id", id)
			m.Header.Set("Nats-Batch-Sequence", strconv.Itoa(i+1))
			if i == 0 {
				m.Header.Set(jetstream.ExpectedLastSeqHeader, strconv.FormatUint(base, 10))
			}
			if i == size-1 {
				m.Header.Set("Nats-Batch-Commit", "1")
				if reply, err = e.Conn.RequestMsg(m, 5*time.Second); err != nil {
					b.Fatal(err)
				}
			} else if err := e.Conn.PublishMsg(m); err != nil {
				b.Fatal(err)
			}
		}
		base = batchAck(b, reply.Data, size)
	}
}

func benchFast(b *testing.B, body []byte, size int) {
	e := walletdtest.RunJetStream(b)
	allow(b, e, func(c *jetstream.StreamConfig) { c.AllowBatchPublish = true })
	inbox := e.Conn.NewInbox()
	replies := make(chan *nats.Msg, 1024)
	sub, err := e.Conn.ChanSubscribe(inbox+".>", replies)
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Unsubscribe()
	base := uint64(0)
	b.ResetTimer()
	defer reportCPU(b)()
	for n := 0; n < b.N; n += size {
		prefix := inbox + "." + nuid.Next() + ".500.fail."
		for i := 0; i < size; i++ {
			m := benchMsg(body, n, i)
			m.Header.Set(jetstream.MsgIDHeader, nuid.Next())
			m.Header.Set(jetstream.ExpectedStreamHeader, "WALLETD")
			m.Header.Set(jetstream.ExpectedLastSeqHeader, strconv.FormatUint(base+uint64(i), 10))
			op := 1
			switch i {
			case 0:
				op = 0
			case size - 1:
				op = 2
			}
			m.Reply = prefix + strconv.Itoa(i+1) + "." + strconv.Itoa(op) + ".$FI"
			if err := e.Conn.PublishMsg(m); err != nil {
				b.Fatal(err)
			}
		}
		for done := false; !done; {
			select {
			case r := <-replies:
				switch {
				case !strings.HasPrefix(r.Subject, prefix) || strings.Contains(string(r.Data), `"type":"ack"`):
					continue // a flow ack: messages persisted so far
				case strings.Contains(string(r.Data), `"type":`):
					b.Fatalf("batch: %s", r.Data) // "gap" or "err": the batch ends short
				}
				base, done = batchAck(b, r.Data, size), true
			case <-time.After(5 * time.Second):
				b.Fatal("no commit ack")
			}
		}
	}
}

// allow turns a batch mode on in the stream's configuration.
func allow(b testing.TB, e *walletdtest.JetStream, set func(*jetstream.StreamConfig)) {
	ctx := context.Background()
	s, err := e.JS.Stream(ctx, "WALLETD")
	if err != nil {
		b.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	set(&cfg)
	if _, err := e.JS.UpdateStream(ctx, cfg); err != nil {
		b.Fatal(err)
	}
}

// batchAck checks a batch's commit ack and returns its stream sequence.
func batchAck(b *testing.B, data []byte, size int) uint64 {
	var ack struct {
		Seq   uint64 `json:"seq"`
		Count int    `json:"count"`
		Error *struct{ Description string }
	}
	if err := json.Unmarshal(data, &ack); err != nil || ack.Error != nil || ack.Count != size {
		b.Fatalf("ack %s: %v", data, err)
	}
	return ack.Seq
}

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
