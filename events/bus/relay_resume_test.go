package bus_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/walletd/walletd/events"
	"github.com/walletd/walletd/events/bus"
	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/ledger/sqlite"
	"github.com/walletd/walletd/walletdtest"
)

// TestRelay_ResumesFromItsPositionRecord: a stream that dropped every
// message is resumed from relay.pos, not from the ledger's start, with no
// record published twice or passed over - also when the relay stopped
// after publishing and before recording (a crash), and when the stream was
// created again (from the ledger's head). A record that was tampered with
// raises the alert and publishes nothing.
func TestRelay_ResumesFromItsPositionRecord(t *testing.T) {
	ctx := context.Background()
	e := walletdtest.RunJetStream(t)
	// A checkpoint every 3 entries: checkpoint records inside the ranges
	// the relay resumes over too.
	l := walletdtest.MustOpenLedger(t, func(c *ledger.WriterConfig) { c.CheckpointEvery = 3 })
	file := filepath.Join(t.TempDir(), "relay.pos")
	open := func() *bus.Relay {
		t.Helper()
		r := &bus.Relay{JS: e.JS, Stream: "WALLETD", Prefix: "walletd", Source: sqliteOutbox(l), Logger: quiet,
			Idle: 20 * time.Millisecond, Key: testKey, PositionFile: file}
		if err := r.Open(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r
	}
	stream := func() *streamSnapshot { return snapshot(t, e) }
	// inOrder waits until the stream's last sequence is the ledger's record
	// count and checks that every message it holds at sequence s is the
	// record number s - offset: published once, none passed over.
	inOrder := func(offset int) {
		t.Helper()
		walletdtest.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
			want := expectedRecords(t, l)
			st := stream()
			if int(st.last) != len(want)+offset {
				return fmt.Errorf("stream last seq %d, want %d", st.last, len(want)+offset)
			}
			for _, m := range st.msgs {
				w := want[int(m.Sequence)-1-offset]
				if m.Header.Get("Nats-Msg-Id") != w.Envelope.ID || m.Header.Get(bus.HeaderSeq) != strconv.FormatUint(w.Seq, 10) {
					return fmt.Errorf("stream seq %d holds seq %s, want record %d (seq %d)", m.Sequence, m.Header.Get(bus.HeaderSeq), int(m.Sequence)-1-offset, w.Seq)
				}
			}
			return nil
		})
	}
	purge := func() {
		t.Helper()
		s, err := e.JS.Stream(ctx, "WALLETD")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Purge(ctx); err != nil {
			t.Fatal(err)
		}
	}

	r := open()
	waitResumed(t, r)
	workload(t, l, 10)
	inOrder(0)
	mustCloseRelay(t, r)
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("relay.pos: %v %v", fi, err)
	}
	purge()
	workload(t, l, 5)
	r = open()
	inOrder(0)
	if n := len(stream().msgs); n == 0 || n >= len(expectedRecords(t, l)) {
		t.Fatalf("the stream holds %d messages after the purge: want only those after it", n)
	}

	// A crash after publishing and before recording: the record is older
	// than the stream's last sequence.
	old, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	workload(t, l, 7)
	inOrder(0)
	mustCloseRelay(t, r)
	if err := os.WriteFile(file, old, 0o600); err != nil {
		t.Fatal(err)
	}
	purge()
	workload(t, l, 4)
	r = open()
	inOrder(0)
	mustCloseRelay(t, r)

	// A record tampered with: alert, nothing published.
	good, _ := os.ReadFile(file)
	forged := strings.Replace(string(good), `"stream_seq":`, `"stream_seq":1`, 1)
	if err := os.WriteFile(file, []byte(forged), 0o600); err != nil {
		t.Fatal(err)
	}
	purge()
	last := stream().last
	workload(t, l, 2)
	r = open()
	walletdtest.CheckFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		if err := r.Alert(); !errors.Is(err, bus.ErrForged) {
			return fmt.Errorf("alert %w", err)
		}
		return nil
	})
	if got := stream().last; got != last {
		t.Fatalf("published after a forged record: last seq %d, was %d", got, last)
	}
	mustCloseRelay(t, r)

	// The stream made again: the record is of the old one; from the
	// ledger's head.
	if err := os.WriteFile(file, good, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := e.JS.DeleteStream(ctx, "WALLETD"); err != nil {
		t.Fatal(err)
	}
	if _, err := bus.EnsureStream(ctx, e.JS, bus.StreamConfig{Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	before := len(expectedRecords(t, l))
	r = open()
	walletdtest.CheckFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		if seq, _ := r.Position(); seq != ledgerHead(t, l) {
			return fmt.Errorf("relay at %d, ledger head %d", seq, ledgerHead(t, l))
		}
		return nil
	})
	workload(t, l, 3)
	inOrder(-before)
	if st := stream(); st.first != 1 || int(st.last) != len(expectedRecords(t, l))-before {
		t.Fatalf("the new stream holds %d..%d, want only the %d records after its creation", st.first, st.last, len(expectedRecords(t, l))-before)
	}
}

func sqliteOutbox(l *walletdtest.Ledger) bus.Source {
	return sqlite.NewOutbox(l.DB, "https://shop.example")
}

func ledgerHead(tb testing.TB, l *walletdtest.Ledger) uint64 {
	tb.Helper()
	h, err := sqlite.NewOutbox(l.DB, "").Head(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

func mustCloseRelay(tb testing.TB, r *bus.Relay) {
	tb.Helper()
	if err := r.Close(); err != nil {
		tb.Fatal(err)
	}
}

type streamSnapshot struct {
	first, last uint64
	msgs        []*jetstream.RawStreamMsg
}

func snapshot(tb testing.TB, e *walletdtest.JetStream) *streamSnapshot {
	tb.Helper()
	info := streamInfo(tb, e)
	return &streamSnapshot{first: info.State.FirstSeq, last: info.State.LastSeq, msgs: streamRecords(tb, e)}
}

// waitResumed waits until a relay on an empty stream with no position
// record has positioned itself at the ledger's head (0 for an empty
// ledger): entries committed before that are not its to publish.
func waitResumed(tb testing.TB, r *bus.Relay) {
	tb.Helper()
	walletdtest.CheckFor(tb, 5*time.Second, 5*time.Millisecond, func() error {
		if _, index := r.Position(); index != events.CheckpointIndex {
			return fmt.Errorf("relay not resumed yet")
		}
		return nil
	})
}
