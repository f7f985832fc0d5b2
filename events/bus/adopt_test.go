package bus_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/walletd/walletd/events/bus"
	"github.com/walletd/walletd/ledger/sqlite"
	"github.com/walletd/walletd/walletdtest"
)

// TestCheckUnsigned_Adopt walks the migration of a stream written before
// walletd signed its messages: a signing relay refuses to go on after it;
// CheckUnsigned refuses it while it holds an unsigned message that is not
// the ledger's (a copy with another body, one without headers), and adopts
// it once those are removed; a relay and a consumer given the mark then
// take the old messages and refuse unsigned ones published after it.
func TestCheckUnsigned_Adopt(t *testing.T) {
	ctx := context.Background()
	e := walletdtest.RunJetStream(t)
	l := walletdtest.MustOpenLedger(t, nil)
	// A short duplicate window, so that a copy of a real message (same
	// Nats-Msg-Id) is stored, as it would be after the window.
	if _, err := bus.EnsureStream(ctx, e.JS, bus.StreamConfig{Duplicates: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	publish := func(m *nats.Msg) uint64 {
		t.Helper()
		var seq uint64
		walletdtest.CheckFor(t, 10*time.Second, 50*time.Millisecond, func() error {
			ack, err := e.JS.PublishMsg(ctx, m)
			if err != nil {
				return err
			}
			if ack.Duplicate {
				return errors.New("within the duplicate window")
			}
			seq = ack.Sequence
			return nil
		})
		return seq
	}
	workload(t, l, 3)
	old := startRelay(t, e, l, nil) // an earlier walletd: no Key
	walletdtest.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error { return checkExactlyOnce(t, e, l) })
	old.Close()
	src := sqlite.NewOutbox(l.DB, "https://other.example") // --public-url changed since: site_url differs
	newRelay := func(through uint64, metrics *bus.RelayMetrics) *bus.Relay {
		r := &bus.Relay{JS: e.JS, Stream: "WALLETD", Prefix: "walletd", Source: src, Logger: quiet, Idle: 20 * time.Millisecond,
			Key: testKey, UnsignedThrough: through, Metrics: metrics}
		if err := r.Open(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r
	}

	t.Run("ErrNotAdopted", func(t *testing.T) {
		r := newRelay(0, nil)
		walletdtest.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error {
			if r.Alert() == nil {
				return errors.New("no alert")
			}
			return nil
		})
		r.Close()
	})

	real := streamRecords(t, e)
	credit := real[0]
	for _, m := range real {
		if strings.Contains(string(m.Data), `"wallet.credited"`) {
			credit = m
		}
	}
	s, err := e.JS.Stream(ctx, "WALLETD")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		msg  *nats.Msg
	}{
		{"ErrOtherBody", &nats.Msg{Subject: credit.Subject, Header: walletdHeaders(credit.Header),
			Data: []byte(strings.Replace(string(credit.Data), `"2.00"`, `"2000.00"`, 1))}},
		{"ErrRepeated", &nats.Msg{Subject: real[1].Subject, Header: walletdHeaders(real[1].Header), Data: real[1].Data}},
		{"ErrNoHeaders", &nats.Msg{Subject: "walletd.sys.wallet.credited", Data: real[1].Data}},
		{"ErrOtherID", func() *nats.Msg {
			h := walletdHeaders(real[1].Header)
			h.Set(nats.MsgIdHdr, "wph_other")
			return &nats.Msg{Subject: real[1].Subject, Header: h, Data: real[1].Data}
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seq := publish(tc.msg)
			if mark, err := bus.CheckUnsigned(ctx, e.JS, "WALLETD", src); err == nil || !errors.Is(err, bus.ErrForged) ||
				!strings.Contains(err.Error(), " message "+strconv.FormatUint(seq, 10)+":") {
				t.Fatalf("CheckUnsigned = %+v, %v; want a refusal naming message %d", mark, err, seq)
			}
			if err := s.DeleteMsg(ctx, seq); err != nil { // what an operator does: nats stream rmm
				t.Fatal(err)
			}
		})
	}

	mark, err := bus.CheckUnsigned(ctx, e.JS, "WALLETD", src)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if mark.Through != info.State.LastSeq || mark.Unsigned != len(real) || !mark.Applies(info) {
		t.Fatalf("mark %+v, stream last seq %d, %d messages", mark, info.State.LastSeq, len(real))
	}
	other := *info
	other.Created = other.Created.Add(time.Second)
	if mark.Applies(&other) {
		t.Fatal("the mark applies to a stream made again")
	}

	// The relay resumes after the adopted messages and signs what follows.
	metrics := bus.NewRelayMetrics(nil)
	r := newRelay(mark.Through, metrics)
	workload(t, l, 3)
	walletdtest.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		want := expectedRecords(t, l)
		got := streamRecords(t, e)
		if len(got) != len(want) {
			return errors.New("not published yet")
		}
		for i, m := range got {
			if m.Header.Get(nats.MsgIdHdr) != want[i].Envelope.ID {
				return errors.New("the stream is not the outbox")
			}
			_, _, err := bus.VerifyMessage(testKey, "WALLETD", m.Sequence, m.Header, m.Data)
			if signed := err == nil; signed != (m.Sequence > mark.Through) {
				return errors.New("message " + strconv.FormatUint(m.Sequence, 10) + ": signed " + map[bool]string{true: "yes", false: "no"}[signed])
			}
		}
		return nil
	})
	if r.Alert() != nil {
		t.Fatalf("alert after the adoption: %v", r.Alert())
	}

	// A consumer with the mark applies every real message, old and new,
	// and refuses an unsigned one published after the mark.
	forged := publish(&nats.Msg{Subject: real[0].Subject, Header: walletdHeaders(real[0].Header), Data: real[0].Data})
	a := &memApplier{}
	refused := prometheus.NewCounter(prometheus.CounterOpts{Name: "refused"})
	openConsumer(t, e, a, func(c *bus.Consumer) { c.Key, c.UnsignedThrough, c.Metrics.Refused = testKey, mark.Through, refused })
	workload(t, l, 1) // the relay goes on after the forged message
	var lastSeq uint64
	walletdtest.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		got := streamRecords(t, e)
		if len(got) != len(expectedRecords(t, l))+1 {
			return errors.New("not published yet")
		}
		lastSeq = got[len(got)-1].Sequence
		return nil
	})
	a.waitFor(t, lastSeq)
	a.mu.Lock()
	applied := append([]uint64(nil), a.applied...)
	a.mu.Unlock()
	if len(applied) != len(expectedRecords(t, l)) || counterValue(t, refused) != 1 {
		t.Fatalf("applied %v (want the %d real messages), refused %v (want 1)", applied, len(expectedRecords(t, l)), counterValue(t, refused))
	}
	for _, seq := range applied {
		if seq == forged {
			t.Fatal("the unsigned message after the mark was applied")
		}
	}
	walletdtest.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		if r.Alert() == nil {
			return errors.New("no alert for the unsigned message after the mark")
		}
		return nil
	})
}

// walletdHeaders copies the headers the relay sets (without the
// expected-last-sequence one, which would refuse the copy).
func walletdHeaders(h nats.Header) nats.Header {
	out := nats.Header{}
	for _, k := range []string{nats.MsgIdHdr, bus.HeaderSeq, bus.HeaderIndex, bus.HeaderMAC} {
		if v := h.Get(k); v != "" {
			out.Set(k, v)
		}
	}
	return out
}
