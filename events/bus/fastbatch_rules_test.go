package bus_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
	"github.com/walletd/walletd/walletdtest"
)

// TestFastBatch_ServerRules pins down what the embedded nats-server does
// with a JetStream fast-ingest batch (stream config allow_batched, gap mode
// "fail"), which docs/benchmarks.md relies on in weighing it for the
// relay: every message may carry Nats-Expected-Last-Sequence and a failed
// check ends the batch there (the stream keeps the messages before it, the
// commit's ack counts them); a lost message ends the batch the same way; a
// Nats-Msg-Id already stored is skipped without ending the batch.
func TestFastBatch_ServerRules(t *testing.T) {
	t.Run("expected last sequence on a later message", func(t *testing.T) {
		f := newFastBatcher(t)
		for i := 1; i <= 5; i++ {
			expect := uint64(i - 1)
			if i == 3 {
				expect = 7 // wrong: the stream's last sequence is 2
			}
			f.send(t, i, 5, nuid.Next(), &expect)
		}
		ack, notes := f.commitAck(t)
		if ack.Count != 2 || ack.Seq != 2 || !hasNote(notes, `"type":"err"`) {
			t.Fatalf("ack %+v, notes %q: want the batch ended at message 2 with an error note", ack, notes)
		}
		f.wantStream(t, 2)
	})
	t.Run("a lost message ends the batch", func(t *testing.T) {
		f := newFastBatcher(t)
		for _, i := range []int{1, 2, 4, 5} {
			f.send(t, i, 5, nuid.Next(), nil)
		}
		ack, notes := f.commitAck(t)
		if ack.Count != 2 || ack.Seq != 2 || !hasNote(notes, `"type":"gap"`) {
			t.Fatalf("ack %+v, notes %q: want the batch ended at message 2 with a gap note", ack, notes)
		}
		f.wantStream(t, 2)
	})
	t.Run("a duplicate message id is skipped", func(t *testing.T) {
		f := newFastBatcher(t)
		if _, err := f.js.JS.Publish(t.Context(), "walletd.sys.x", []byte("x"), jetstream.WithMsgID("dup")); err != nil {
			t.Fatal(err)
		}
		for i, id := range []string{nuid.Next(), "dup", nuid.Next()} {
			f.send(t, i+1, 3, id, nil)
		}
		ack, _ := f.commitAck(t)
		if ack.Count != 3 || ack.Seq != 3 {
			t.Fatalf("ack %+v: want all 3 batch messages counted, the stream at 3", ack)
		}
		f.wantStream(t, 3) // the plain publish and two of the batch's three
	})
}

type fastBatcher struct {
	js      *walletdtest.JetStream
	prefix  string
	replies chan *nats.Msg
}

func newFastBatcher(t *testing.T) *fastBatcher {
	e := walletdtest.RunJetStream(t)
	allow(t, e, func(c *jetstream.StreamConfig) { c.AllowBatchPublish = true })
	inbox := e.Conn.NewInbox()
	f := &fastBatcher{js: e, prefix: inbox + "." + nuid.Next() + ".100.fail.", replies: make(chan *nats.Msg, 64)}
	sub, err := e.Conn.ChanSubscribe(inbox+".>", f.replies)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return f
}

// send publishes batch message i of n (the last one commits).
func (f *fastBatcher) send(t *testing.T, i, n int, id string, expect *uint64) {
	m := nats.NewMsg("walletd.sys.batch")
	m.Data = []byte("message " + strconv.Itoa(i))
	m.Header.Set(jetstream.MsgIDHeader, id)
	if expect != nil {
		m.Header.Set(jetstream.ExpectedLastSeqHeader, strconv.FormatUint(*expect, 10))
	}
	op := 1
	switch i {
	case 1:
		op = 0
	case n:
		op = 2
	}
	m.Reply = f.prefix + strconv.Itoa(i) + "." + strconv.Itoa(op) + ".$FI"
	if err := f.js.Conn.PublishMsg(m); err != nil {
		t.Fatal(err)
	}
}

type fastAck struct {
	Seq   uint64 `json:"seq"`
	Count int    `json:"count"`
	Error *struct {
		Description string `json:"description"`
	} `json:"error"`
}

// commitAck waits for the batch's commit ack; notes are the flow, gap and
// error messages that came before it.
func (f *fastBatcher) commitAck(t *testing.T) (fastAck, []string) {
	var notes []string
	for {
		select {
		case r := <-f.replies:
			if strings.Contains(string(r.Data), `"type":`) {
				notes = append(notes, string(r.Data))
				continue
			}
			var ack fastAck
			if err := json.Unmarshal(r.Data, &ack); err != nil || ack.Error != nil {
				t.Fatalf("commit ack %s: %v", r.Data, err)
			}
			return ack, notes
		case <-time.After(10 * time.Second):
			t.Fatalf("no commit ack; notes %q", notes)
		}
	}
}

func (f *fastBatcher) wantStream(t *testing.T, msgs uint64) {
	s, err := f.js.JS.Stream(t.Context(), "WALLETD")
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != msgs || info.State.LastSeq != msgs {
		t.Fatalf("stream holds %d messages, last %d: want %d", info.State.Msgs, info.State.LastSeq, msgs)
	}
}

func hasNote(notes []string, kind string) bool {
	for _, n := range notes {
		if strings.Contains(n, kind) {
			return true
		}
	}
	return false
}
