package bus_test

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/walletd/walletd/events"
	"github.com/walletd/walletd/events/bus"
	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/ledger/sqlite"
	"github.com/walletd/walletd/walletdtest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// startRelay opens a relay from l's outbox to the stream; tb.Cleanup
// closes it.
func startRelay(tb testing.TB, e *walletdtest.JetStream, l *walletdtest.Ledger, metrics *bus.RelayMetrics) *bus.Relay {
	tb.Helper()
	r := &bus.Relay{JS: e.JS, Stream: "WALLETD", Prefix: "walletd", Source: sqlite.NewOutbox(l.DB, "https://shop.example"),
		Logger: quiet, Idle: 20 * time.Millisecond, Metrics: metrics}
	if err := r.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { r.Close() })
	return r
}

// streamRecords reads every message of the stream in order.
func streamRecords(tb testing.TB, e *walletdtest.JetStream) []*jetstream.RawStreamMsg {
	tb.Helper()
	msgs, err := tryStreamRecords(e)
	if err != nil {
		tb.Fatal(err)
	}
	return msgs
}

func tryStreamRecords(e *walletdtest.JetStream) ([]*jetstream.RawStreamMsg, error) {
	ctx := context.Background()
	s, err := e.JS.Stream(ctx, "WALLETD")
	if err != nil {
		return nil, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, err
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			continue
		}
		out = append(out, m)
	}
	return out, nil
}

// expectedRecords is every record the outbox holds.
func expectedRecords(tb testing.TB, l *walletdtest.Ledger) []events.Record {
	tb.Helper()
	recs, err := sqlite.NewOutbox(l.DB, "https://shop.example").After(context.Background(), 0, -1, 1<<30)
	if err != nil {
		tb.Fatal(err)
	}
	return recs
}

// checkExactlyOnce fails unless the stream holds every outbox record once,
// in order, with the right subject, id and body.
func checkExactlyOnce(tb testing.TB, e *walletdtest.JetStream, l *walletdtest.Ledger) error {
	want := expectedRecords(tb, l)
	got, err := tryStreamRecords(e)
	if err != nil {
		return err
	}
	if len(got) != len(want) {
		return fmt.Errorf("stream holds %d messages, outbox %d records", len(got), len(want))
	}
	for i, m := range got {
		w := want[i]
		if m.Subject != storedSubject(w) || m.Header.Get("Nats-Msg-Id") != w.Envelope.ID ||
			m.Header.Get(bus.HeaderSeq) != strconv.FormatUint(w.Seq, 10) || string(m.Data) != string(w.Body()) {
			return fmt.Errorf("message %d: %s %s seq=%s, want %s %s seq=%d", i, m.Subject, m.Header.Get("Nats-Msg-Id"), m.Header.Get(bus.HeaderSeq), storedSubject(w), w.Envelope.ID, w.Seq)
		}
	}
	return nil
}

// storedSubject is the subject the stream stores a record under:
// <prefix>.w.<partition>.<wallet>.<key>, the partition of the wallet among
// bus.DefaultPartitions worked out here as NATS documents partition(): the
// FNV-1a 32-bit hash of the token, modulo N; <prefix>.sys.<key> for a
// record of no wallet.
func storedSubject(rec events.Record) string {
	if rec.Wallet == "" {
		return "walletd.sys." + rec.Key()
	}
	h := fnv.New32a()
	h.Write([]byte(rec.Wallet))
	return fmt.Sprintf("walletd.w.%d.%s.%s", h.Sum32()%bus.DefaultPartitions, rec.Wallet, rec.Key())
}

func workload(tb testing.TB, l *walletdtest.Ledger, n int) {
	tb.Helper()
	a := l.MustWallet(tb, fmt.Sprintf("a%d", time.Now().UnixNano()), "USD")
	b := l.MustWallet(tb, fmt.Sprintf("b%d", time.Now().UnixNano()), "USD")
	for i := 0; i < n; i++ {
		l.MustCredit(tb, a, "2.00")
		if i%3 == 0 {
			if _, err := l.Writer.Submit(context.Background(), "", &ledger.Transfer{FromWalletID: a, ToWalletID: b, Amount: "1.00", Note: "split"}); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

func TestRelay_SubscriberSeesEnvelopes(t *testing.T) {
	e := walletdtest.RunJetStream(t)
	l := walletdtest.MustOpenLedger(t, nil)
	sub, err := e.Conn.SubscribeSync("walletd.>")
	if err != nil {
		t.Fatal(err)
	}
	startRelay(t, e, l, nil)
	a := l.MustWallet(t, "103", "USD")
	b := l.MustWallet(t, "207", "USD")
	credit := l.MustCredit(t, a, "25.00")
	if _, err := l.Writer.Submit(context.Background(), "", &ledger.Transfer{FromWalletID: a, ToWalletID: b, Amount: "10.00", Note: "Splitting lunch"}); err != nil {
		t.Fatal(err)
	}
	var subjects []string
	var envs []events.Envelope
	for len(subjects) < 7 {
		m, err := sub.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatalf("after %v: %v", subjects, err)
		}
		var env events.Envelope
		if err := json.Unmarshal(m.Data, &env); err != nil {
			t.Fatal(err)
		}
		subjects = append(subjects, m.Subject)
		envs = append(envs, env)
	}
	// Live subscribers see the subjects as published: the wallet's branch,
	// before the stream puts the partition in.
	wa, wb := "walletd.w._."+a+".", "walletd.w._."+b+"."
	want := []string{wa + "wallet.created", wb + "wallet.created", wa + "wallet.credited", wa + "wallet.debited",
		wa + "wallet.transfer.sent", wb + "wallet.credited", wb + "wallet.transfer.received"}
	if fmt.Sprint(subjects) != fmt.Sprint(want) {
		t.Fatalf("subjects %v, want %v", subjects, want)
	}
	c := envs[2]
	if c.ID != credit.EventID || c.Event != "wallet.credited" || c.APIVersion != "v1" || c.SiteURL != "https://shop.example" || c.Test {
		t.Fatalf("envelope %+v", c)
	}
	var data events.TransactionData
	json.Unmarshal(c.Data, &data)
	if data.TransactionID != credit.Seq || data.TxnID != credit.ID || data.UserID != "103" || data.UserEmail != "103@example.com" || data.Amount != "25.00" ||
		data.BalanceAfter != "25.00" || data.Type != "topup" || data.LedgerHash != credit.Hash.String() || data.Seq != credit.Seq {
		t.Fatalf("data %+v", data)
	}
	var tr events.TransferData
	json.Unmarshal(envs[4].Data, &tr)
	if tr.SenderID != "103" || tr.RecipientID != "207" || tr.RecipientEmail != "207@example.com" || tr.Amount != "10.00" || tr.Note != "Splitting lunch" {
		t.Fatalf("transfer data %+v", tr)
	}
	if _, err := time.Parse(time.RFC3339, c.CreatedAt); err != nil || c.CreatedAt[len(c.CreatedAt)-1] != 'Z' {
		t.Fatalf("created_at %q", c.CreatedAt)
	}
}

func TestRelay_ExactlyOnce(t *testing.T) {
	t.Run("RestartMidStream", func(t *testing.T) {
		e := walletdtest.RunJetStream(t)
		l := walletdtest.MustOpenLedger(t, nil)
		workload(t, l, 300)
		r := startRelay(t, e, l, nil)
		walletdtest.CheckFor(t, 10*time.Second, 5*time.Millisecond, func() error {
			if n := len(streamRecords(t, e)); n < 50 {
				return fmt.Errorf("%d published", n)
			}
			return nil
		})
		r.Close() // killed part way: no bookkeeping besides the stream
		workload(t, l, 50)
		startRelay(t, e, l, nil)
		walletdtest.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error { return checkExactlyOnce(t, e, l) })
	})
	t.Run("PublishedButNotRecorded", func(t *testing.T) {
		// A relay that crashed after the stream stored messages but before
		// it learnt so: here the first records are put in the stream by
		// hand, past any duplicate window the relay could lean on.
		e := walletdtest.RunJetStream(t)
		l := walletdtest.MustOpenLedger(t, nil)
		workload(t, l, 30)
		for _, rec := range expectedRecords(t, l)[:17] {
			msg := nats.NewMsg(events.Subject("walletd", rec.Wallet, rec.Key()))
			msg.Data = rec.Body()
			msg.Header.Set(bus.HeaderSeq, strconv.FormatUint(rec.Seq, 10))
			msg.Header.Set(bus.HeaderIndex, strconv.Itoa(rec.Index))
			if _, err := e.JS.PublishMsg(context.Background(), msg); err != nil { // no Nats-Msg-Id at all
				t.Fatal(err)
			}
		}
		startRelay(t, e, l, nil)
		walletdtest.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
			want, got := expectedRecords(t, l), streamRecords(t, e)
			if len(got) != len(want) {
				return fmt.Errorf("%d in stream, want %d", len(got), len(want))
			}
			return nil
		})
	})
	t.Run("NATSDownDuringWrites", func(t *testing.T) {
		e := walletdtest.RunJetStream(t)
		l := walletdtest.MustOpenLedger(t, nil)
		startRelay(t, e, l, nil)
		workload(t, l, 20)
		walletdtest.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error { return checkExactlyOnce(t, e, l) })
		e.Stop(t)
		workload(t, l, 100)                // writes go on while NATS is away
		time.Sleep(300 * time.Millisecond) // an outage that lasts: not a poll
		e.Start(t)
		workload(t, l, 10)
		walletdtest.CheckFor(t, 20*time.Second, 50*time.Millisecond, func() error { return checkExactlyOnce(t, e, l) })
	})
	t.Run("JetStreamLostItsTail", func(t *testing.T) {
		e := walletdtest.RunJetStream(t)
		l := walletdtest.MustOpenLedger(t, nil)
		r := startRelay(t, e, l, nil)
		workload(t, l, 40)
		walletdtest.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error { return checkExactlyOnce(t, e, l) })
		// Snapshot the store, publish more, then bring JetStream back from
		// the snapshot: it restarts without its last messages.
		e.Stop(t)
		snap := filepath.Join(t.TempDir(), "snap")
		if out, err := exec.Command("cp", "-a", e.StoreDir(), snap).CombinedOutput(); err != nil {
			t.Fatalf("%v %s", err, out)
		}
		e.Start(t)
		workload(t, l, 40)
		walletdtest.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error { return checkExactlyOnce(t, e, l) })
		r.Close()
		e.Stop(t)
		os.RemoveAll(e.StoreDir())
		if out, err := exec.Command("cp", "-a", snap, e.StoreDir()).CombinedOutput(); err != nil {
			t.Fatalf("%v %s", err, out)
		}
		e.Start(t)
		var restored []*jetstream.RawStreamMsg
		walletdtest.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() (err error) {
			restored, err = tryStreamRecords(e)
			return err
		})
		if n := len(restored); n >= len(expectedRecords(t, l)) {
			t.Fatalf("the restored stream should have lost messages, has %d", n)
		}
		startRelay(t, e, l, nil)
		workload(t, l, 5)
		walletdtest.CheckFor(t, 20*time.Second, 50*time.Millisecond, func() error { return checkExactlyOnce(t, e, l) })
	})
}
