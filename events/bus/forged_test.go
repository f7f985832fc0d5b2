package bus_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/walletd/walletd/events"
	"github.com/walletd/walletd/events/bus"
	"github.com/walletd/walletd/ledger/sqlite"
	"github.com/walletd/walletd/walletdtest"
)

var testKey = bytes.Repeat([]byte{7}, 32)

// TestRelay_Forged publishes on the stream's subjects as an outsider would
// on a bus whose permissions are open, and checks that the relay raises
// its alert, keeps publishing the real records, and that a consumer with
// the relay's key never applies the forged message.
func TestRelay_Forged(t *testing.T) {
	for _, tc := range []struct {
		name  string
		forge func(tb testing.TB, l *walletdtest.Ledger, stream []*nats.Msg) *nats.Msg
	}{
		{"ForgedCredit", func(tb testing.TB, l *walletdtest.Ledger, _ []*nats.Msg) *nats.Msg {
			// A valid-looking wallet.credited with the next seq's headers.
			recs := expectedRecords(tb, l)
			last := recs[len(recs)-1]
			msg := nats.NewMsg(events.Subject("walletd", last.Wallet, last.Key()))
			msg.Data = bytes.ReplaceAll(last.Body(), []byte(`"2.00"`), []byte(`"1000000.00"`))
			msg.Header.Set(nats.MsgIdHdr, "evt_forged")
			msg.Header.Set(bus.HeaderSeq, strconv.FormatUint(last.Seq+1, 10))
			msg.Header.Set(bus.HeaderIndex, "0")
			msg.Header.Set(bus.HeaderMAC, fmt.Sprintf("%064x", 1))
			return msg
		}},
		{"HugeSeq", func(tb testing.TB, l *walletdtest.Ledger, _ []*nats.Msg) *nats.Msg {
			msg := nats.NewMsg("walletd.sys.wallet.credited")
			msg.Data = []byte(`{}`)
			msg.Header.Set(bus.HeaderSeq, strconv.FormatUint(1<<62, 10))
			msg.Header.Set(bus.HeaderIndex, "0")
			return msg
		}},
		{"NoHeaders", func(tb testing.TB, l *walletdtest.Ledger, _ []*nats.Msg) *nats.Msg {
			return &nats.Msg{Subject: "walletd.sys.wallet.credited", Data: []byte(`{}`)}
		}},
		{"ReplayedRealMessage", func(tb testing.TB, l *walletdtest.Ledger, stream []*nats.Msg) *nats.Msg {
			// A real message, MAC included, published again: the MAC is
			// bound to the stream sequence it was written at. (Without its
			// Nats-Msg-Id, which the duplicate window would swallow here,
			// as it would not after the window.)
			m := stream[0]
			h := nats.Header{}
			for _, k := range []string{bus.HeaderSeq, bus.HeaderIndex, bus.HeaderMAC} {
				h.Set(k, m.Header.Get(k))
			}
			return &nats.Msg{Subject: m.Subject, Header: h, Data: m.Data}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			e := walletdtest.RunJetStream(t)
			l := walletdtest.MustOpenLedger(t, nil)
			workload(t, l, 5)
			metrics := bus.NewRelayMetrics(nil)
			r := &bus.Relay{JS: e.JS, Stream: "WALLETD", Prefix: "walletd", Source: sqlite.NewOutbox(l.DB, "https://shop.example"),
				Logger: quiet, Idle: 20 * time.Millisecond, Metrics: metrics, Key: testKey}
			if err := r.Open(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Close() })
			walletdtest.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error { return checkProven(t, e, l) })

			a := &memApplier{}
			refused := prometheus.NewCounter(prometheus.CounterOpts{Name: "refused"})
			openConsumer(t, e, a, func(c *bus.Consumer) { c.Key, c.Metrics.Refused = testKey, refused })

			var real []*nats.Msg
			for _, m := range streamRecords(t, e) {
				real = append(real, &nats.Msg{Subject: m.Subject, Header: m.Header, Data: m.Data})
			}
			ack, err := e.JS.PublishMsg(ctx, tc.forge(t, l, real))
			if err != nil {
				t.Fatal(err)
			}
			forgedSeq := ack.Sequence

			walletdtest.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error {
				if r.Alert() == nil {
					return errors.New("no alert")
				}
				return nil
			})
			if !errors.Is(r.Alert(), bus.ErrForged) {
				t.Fatalf("alert: %v", r.Alert())
			}
			if v := counterValue(t, metrics.Forged); v < 1 {
				t.Fatalf("forged messages metric: %v", v)
			}

			// Later real credits still reach the stream and the consumer.
			workload(t, l, 5)
			walletdtest.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error { return checkProven(t, e, l) })
			s, err := e.JS.Stream(ctx, "WALLETD")
			if err != nil {
				t.Fatal(err)
			}
			info, err := s.Info(ctx)
			if err != nil {
				t.Fatal(err)
			}
			a.waitFor(t, info.State.LastSeq)
			a.mu.Lock()
			applied := slices.Clone(a.applied)
			a.mu.Unlock()
			if slices.Contains(applied, forgedSeq) {
				t.Fatalf("forged stream message %d applied", forgedSeq)
			}
			if got, want := len(applied), len(expectedRecords(t, l)); got != want {
				t.Fatalf("applied %d messages, want the %d real ones", got, want)
			}
			if v := counterValue(t, refused); v != 1 {
				t.Fatalf("refused metric: %v, want 1", v)
			}
		})
	}
}

// checkProven fails unless the messages of the stream that carry a valid
// MAC are every outbox record, once, in order; other messages are ignored.
func checkProven(tb testing.TB, e *walletdtest.JetStream, l *walletdtest.Ledger) error {
	want := expectedRecords(tb, l)
	msgs, err := tryStreamRecords(e)
	if err != nil {
		return err
	}
	var got []string
	for _, m := range msgs {
		if _, _, err := bus.VerifyMessage(testKey, "WALLETD", m.Sequence, m.Header, m.Data); err == nil {
			got = append(got, m.Header.Get(nats.MsgIdHdr)+" "+string(m.Data))
		}
	}
	if len(got) != len(want) {
		return fmt.Errorf("stream holds %d proven messages, outbox %d records", len(got), len(want))
	}
	for i, w := range want {
		if got[i] != w.Envelope.ID+" "+string(w.Body()) {
			return fmt.Errorf("message %d is not record seq %d index %d", i, w.Seq, w.Index)
		}
	}
	return nil
}

// TestVerifyMessage checks that the MAC binds every field it covers.
func TestVerifyMessage(t *testing.T) {
	ctx := context.Background()
	e := walletdtest.RunJetStream(t)
	l := walletdtest.MustOpenLedger(t, nil)
	workload(t, l, 1)
	r := &bus.Relay{JS: e.JS, Stream: "WALLETD", Prefix: "walletd", Source: sqlite.NewOutbox(l.DB, "https://shop.example"),
		Logger: quiet, Idle: 20 * time.Millisecond, Key: testKey}
	if err := r.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	walletdtest.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error { return checkProven(t, e, l) })
	s, err := e.JS.Stream(ctx, "WALLETD")
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.GetMsg(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := bus.VerifyMessage(testKey, "WALLETD", 1, m.Header, m.Data); err != nil {
		t.Fatalf("real message: %v", err)
	}
	for name, change := range map[string]func(h nats.Header) ([]byte, string, uint64, []byte){
		"OtherKey":       func(h nats.Header) ([]byte, string, uint64, []byte) { return []byte("k"), "WALLETD", 1, m.Data },
		"OtherStream":    func(h nats.Header) ([]byte, string, uint64, []byte) { return testKey, "OTHER", 1, m.Data },
		"OtherStreamSeq": func(h nats.Header) ([]byte, string, uint64, []byte) { return testKey, "WALLETD", 2, m.Data },
		"OtherBody": func(h nats.Header) ([]byte, string, uint64, []byte) {
			return testKey, "WALLETD", 1, append(m.Data, ' ')
		},
		"OtherMsgID": func(h nats.Header) ([]byte, string, uint64, []byte) {
			h.Set(nats.MsgIdHdr, "evt_other")
			return testKey, "WALLETD", 1, m.Data
		},
		"OtherSeq": func(h nats.Header) ([]byte, string, uint64, []byte) {
			h.Set(bus.HeaderSeq, "99")
			return testKey, "WALLETD", 1, m.Data
		},
		"OtherIndex": func(h nats.Header) ([]byte, string, uint64, []byte) {
			h.Set(bus.HeaderIndex, "5")
			return testKey, "WALLETD", 1, m.Data
		},
		"NoMAC": func(h nats.Header) ([]byte, string, uint64, []byte) {
			h.Del(bus.HeaderMAC)
			return testKey, "WALLETD", 1, m.Data
		},
	} {
		t.Run(name, func(t *testing.T) {
			h := nats.Header{}
			for k, v := range m.Header {
				h[k] = slices.Clone(v)
			}
			key, stream, seq, body := change(h)
			if _, _, err := bus.VerifyMessage(key, stream, seq, h, body); !errors.Is(err, bus.ErrForged) {
				t.Fatalf("err = %v, want ErrForged", err)
			}
		})
	}
}

// TestRelay_NothingProvable checks that a stream holding messages but none
// the relay can prove it wrote stops publishing, with the alert raised,
// rather than publish the outbox again after them.
func TestRelay_NothingProvable(t *testing.T) {
	ctx := context.Background()
	e := walletdtest.RunJetStream(t)
	l := walletdtest.MustOpenLedger(t, nil)
	workload(t, l, 2)
	if _, err := e.JS.PublishMsg(ctx, &nats.Msg{Subject: "walletd.sys.wallet.credited", Data: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	metrics := bus.NewRelayMetrics(nil)
	r := &bus.Relay{JS: e.JS, Stream: "WALLETD", Prefix: "walletd", Source: sqlite.NewOutbox(l.DB, "https://shop.example"),
		Logger: quiet, Idle: 20 * time.Millisecond, Metrics: metrics, Key: testKey}
	if err := r.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	walletdtest.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		if counterValue(t, metrics.Errors) < 2 {
			return errors.New("the relay has not retried yet")
		}
		return nil
	})
	if r.Alert() == nil {
		t.Fatal("no alert")
	}
	if n := len(streamRecords(t, e)); n != 1 {
		t.Fatalf("stream holds %d messages, want only the forged one", n)
	}
}
