package bus_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/walletd/walletd/events/bus"
	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/walletdtest"
)

// TestRepublish: history published again (the relay stopped, as walletd
// events republish runs) is the ledger's records of the range, each once,
// signed for its place in the stream and marked; the relay's own messages
// stay the outbox exactly once across restarts that find republished
// messages last in the stream, or the stream empty after them.
func TestRepublish(t *testing.T) {
	ctx := context.Background()
	e := walletdtest.RunJetStream(t)
	// A checkpoint every 3 entries: checkpoint records in the ranges too.
	l := walletdtest.MustOpenLedger(t, func(c *ledger.WriterConfig) { c.CheckpointEvery = 3 })
	file := filepath.Join(t.TempDir(), "relay.pos")
	open := func() *bus.Relay {
		r := &bus.Relay{JS: e.JS, Stream: "WALLETD", Prefix: "walletd", Source: sqliteOutbox(l), Logger: quiet,
			Idle: 20 * time.Millisecond, Key: testKey, PositionFile: file}
		if err := r.Open(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r
	}
	// A short duplicate window: records published a moment ago are in the
	// stream's window, and a republish of them stores nothing (checked
	// below); older ones are stored again.
	if _, err := bus.EnsureStream(ctx, e.JS, bus.StreamConfig{Duplicates: time.Second, Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	r := open()
	waitResumed(t, r)
	workload(t, l, 15)
	// own returns the relay's messages and the republished ones.
	split := func() (own, again []*streamMsg) {
		for _, m := range streamRecords(t, e) {
			if _, _, err := bus.VerifyMessage(testKey, "WALLETD", m.Sequence, m.Header, m.Data); err != nil {
				t.Fatalf("stream seq %d: %v", m.Sequence, err)
			}
			sm := &streamMsg{seq: m.Sequence, id: m.Header.Get("Nats-Msg-Id"), ledgerSeq: m.Header.Get(bus.HeaderSeq), body: string(m.Data)}
			if m.Header.Get(bus.HeaderRepublished) != "" {
				again = append(again, sm)
			} else {
				own = append(own, sm)
			}
		}
		return own, again
	}
	ownExactlyOnce := func() error {
		want := expectedRecords(t, l)
		own, _ := split()
		if len(own) != len(want) {
			return fmt.Errorf("the relay's messages: %d, the outbox %d", len(own), len(want))
		}
		for i, m := range own {
			if m.id != want[i].Envelope.ID || m.body != string(want[i].Body()) {
				return fmt.Errorf("relay message %d is %s, want %s", i, m.id, want[i].Envelope.ID)
			}
		}
		return nil
	}
	walletdtest.CheckFor(t, 10*time.Second, 20*time.Millisecond, ownExactlyOnce)
	head := ledgerHead(t, l)
	if n, dups, err := bus.Republish(ctx, e.JS, "WALLETD", "walletd", testKey, sqliteOutbox(l), head, head, "", nil); err != nil || n != 0 || dups == 0 {
		t.Fatalf("republishing what the stream just stored: %d published, %d duplicates, %v", n, dups, err)
	}
	time.Sleep(1100 * time.Millisecond) // past the window

	from, to := uint64(5), uint64(20)
	mustCloseRelay(t, r)
	n, dups, err := bus.Republish(ctx, e.JS, "WALLETD", "walletd", testKey, sqliteOutbox(l), from, to, file, nil)
	if err != nil || dups != 0 {
		t.Fatal(dups, err)
	}
	r = open()
	workload(t, l, 10)
	var want []string
	for _, rec := range expectedRecords(t, l) {
		if rec.Seq >= from && rec.Seq <= to {
			want = append(want, rec.Envelope.ID+" "+strconv.FormatUint(rec.Seq, 10)+" "+string(rec.Body()))
		}
	}
	if n != len(want) {
		t.Fatalf("republished %d, want %d", n, len(want))
	}
	walletdtest.CheckFor(t, 10*time.Second, 20*time.Millisecond, ownExactlyOnce)
	_, again := split()
	if len(again) != len(want) {
		t.Fatalf("%d republished messages in the stream, want %d", len(again), len(want))
	}
	for i, m := range again {
		if got := m.id + " " + m.ledgerSeq + " " + m.body; got != want[i] {
			t.Fatalf("republished %d:\n%s\nwant\n%s", i, got, want[i])
		}
	}

	// Republished messages last in the stream: a restarted relay resumes
	// after its own last message, and publishes nothing twice; the same
	// when the stream then dropped every message.
	mustCloseRelay(t, r)
	time.Sleep(1100 * time.Millisecond)
	if _, _, err := bus.Republish(ctx, e.JS, "WALLETD", "walletd", testKey, sqliteOutbox(l), 1, 3, file, nil); err != nil {
		t.Fatal(err)
	}
	r = open()
	workload(t, l, 3)
	walletdtest.CheckFor(t, 10*time.Second, 20*time.Millisecond, ownExactlyOnce)
	mustCloseRelay(t, r)
	if _, _, err := bus.Republish(ctx, e.JS, "WALLETD", "walletd", testKey, sqliteOutbox(l), 2, 6, file, nil); err != nil {
		t.Fatal(err)
	}
	s, err := e.JS.Stream(ctx, "WALLETD")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	before := streamInfo(t, e).State.LastSeq
	beforeRecs := len(expectedRecords(t, l))
	r = open()
	workload(t, l, 2)
	walletdtest.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		own, _ := split()
		want := expectedRecords(t, l)[beforeRecs:]
		if len(own) != len(want) {
			return fmt.Errorf("after the purge the relay published %d, want the %d new records", len(own), len(want))
		}
		for i, m := range own {
			if m.id != want[i].Envelope.ID || m.seq != before+uint64(i)+1 {
				return fmt.Errorf("message %d at stream seq %d is %s, want %s at %d", i, m.seq, m.id, want[i].Envelope.ID, before+uint64(i)+1)
			}
		}
		return nil
	})
	if r.Alert() != nil {
		t.Fatalf("alert: %v", r.Alert())
	}
}

type streamMsg struct {
	seq           uint64
	id, ledgerSeq string
	body          string
}
