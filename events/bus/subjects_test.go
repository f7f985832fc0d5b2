package bus_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/walletd/walletd"
	"github.com/walletd/walletd/events"
	"github.com/walletd/walletd/events/bus"
	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/walletdtest"
)

// docWallet is the wallet id docs/events.md uses in its examples.
const docWallet = "wal_36FtpZ3Lr2Yf8o1m3f0U1M8aQXs"

// docSub is one `nats sub` line of docs/events.md.
type docSub struct {
	line    string
	all     bool // --all: from the stream, not live
	subject string
}

// documentedSubscriptions returns the `nats sub` lines of the block that
// follows the subscriptions marker in docs/events.md.
func documentedSubscriptions(tb testing.TB) []docSub {
	tb.Helper()
	doc, err := os.ReadFile("../../docs/events.md")
	if err != nil {
		tb.Fatal(err)
	}
	_, after, ok := bytes.Cut(doc, []byte("<!-- subscriptions:"))
	if !ok {
		tb.Fatal("docs/events.md has no subscriptions marker")
	}
	re := regexp.MustCompile(`^nats sub (--all )?'([^']+)'\s+# `)
	var out []docSub
	sc := bufio.NewScanner(bytes.NewReader(after))
	fence := 0
	for sc.Scan() && fence < 2 {
		line := sc.Text()
		if strings.HasPrefix(line, "```") {
			fence++
			continue
		}
		if fence != 1 {
			continue
		}
		m := re.FindStringSubmatch(line)
		if m == nil {
			tb.Fatalf("docs/events.md: not a nats sub line: %q", line)
		}
		out = append(out, docSub{line: line, all: m[1] != "", subject: m[2]})
	}
	return out
}

// subjectsWorkload drives real operations through the writer: wallets
// until one is in partition 3 (the one the docs show), and on the first
// wallet credits, a debit, a transfer, withdrawals approved and rejected,
// a top-up; a cashback rule (config.updated) and checkpoints. It returns
// the wallet ids.
func subjectsWorkload(tb testing.TB, l *walletdtest.Ledger) []string {
	tb.Helper()
	ctx := context.Background()
	must := func(cmd walletd.Command) *walletd.Result {
		tb.Helper()
		res, err := l.Writer.Submit(ctx, "", cmd)
		if err != nil {
			tb.Fatalf("%T: %v", cmd, err)
		}
		return res
	}
	var wallets []string
	in3 := false
	for i := 0; i < 200 && (!in3 || len(wallets) < 4); i++ {
		w := l.MustWallet(tb, fmt.Sprintf("u%d", i), "USD")
		wallets = append(wallets, w)
		in3 = in3 || partitionOf(w, bus.DefaultPartitions) == 3
		l.MustCredit(tb, w, "50.00")
	}
	if !in3 {
		tb.Fatal("no wallet in partition 3 after 200 wallets")
	}
	a, b := wallets[0], wallets[1]
	must(&ledger.Post{WalletID: a, Kind: walletd.KindDebit, Amount: "5.00", Type: "order_payment"})
	must(&ledger.Transfer{FromWalletID: a, ToWalletID: b, Amount: "10.00", Note: "lunch"})
	wd := must(&ledger.RequestWithdrawal{WalletID: a, Amount: "7.00", Method: "bank"}).Object.(*walletd.Withdrawal)
	must(&ledger.ApproveWithdrawal{WithdrawalID: wd.ID})
	wd2 := must(&ledger.RequestWithdrawal{WalletID: b, Amount: "3.00", Method: "bank"}).Object.(*walletd.Withdrawal)
	must(&ledger.RejectWithdrawal{WithdrawalID: wd2.ID, Reason: "name mismatch"})
	top := must(&ledger.CreateTopup{WalletID: a, Amount: "20.00", Method: "card"}).Object.(*walletd.Topup)
	must(&ledger.CompleteTopup{TopupID: top.ID})
	must(&ledger.CreateCashbackRule{Percent: "5"})
	for _, w := range wallets {
		l.MustCredit(tb, w, "1.00")
	}
	return wallets
}

// partitionOf is NATS's partition(n, …) of a wallet, worked out here from
// what the NATS documentation says it is: FNV-1a 32-bit, modulo n.
func partitionOf(wallet string, n uint32) int {
	h := fnv.New32a()
	h.Write([]byte(wallet))
	return int(h.Sum32() % n)
}

// TestSubjects_DocumentedSubscriptions runs every `nats sub` line of
// docs/events.md with nats.go, as the nats CLI does (a core subscription;
// with --all a JetStream subscription that delivers the stream from its
// first message), against an embedded server fed by real operations, and
// checks that each receives exactly its events, in ledger order. The
// subscriptions the docs show live are run from the stream too, and the
// partition one for every partition.
func TestSubjects_DocumentedSubscriptions(t *testing.T) {
	e := walletdtest.RunJetStream(t)
	l := walletdtest.MustOpenLedger(t, func(c *ledger.WriterConfig) { c.CheckpointEvery = 25 })
	docs := documentedSubscriptions(t)

	// What each documented line must receive, given the real wallet that
	// stands for the docs' example one and the partition it shows.
	type want struct {
		line  string
		match func(rec events.Record, wallet string, part int) bool
	}
	wants := []want{
		{"nats sub 'walletd.w.*." + docWallet + ".>'", func(r events.Record, w string, _ int) bool { return r.Wallet == w }},
		{"nats sub 'walletd.w.*.*.wallet.credited'", func(r events.Record, _ string, _ int) bool { return r.Key() == events.WalletCredited }},
		{"nats sub 'walletd.w.*.*.wallet.withdrawal.*'", func(r events.Record, _ string, _ int) bool {
			return strings.HasPrefix(r.Key(), "wallet.withdrawal.")
		}},
		{"nats sub 'walletd.w.*.*.wallet.transfer.*'", func(r events.Record, _ string, _ int) bool {
			return strings.HasPrefix(r.Key(), "wallet.transfer.")
		}},
		{"nats sub --all 'walletd.w.3.>'", func(r events.Record, _ string, p int) bool {
			return r.Wallet != "" && partitionOf(r.Wallet, bus.DefaultPartitions) == p
		}},
		{"nats sub 'walletd.sys.>'", func(r events.Record, _ string, _ int) bool { return r.Wallet == "" }},
	}
	if len(docs) != len(wants) {
		t.Fatalf("docs/events.md shows %d subscriptions, the test knows %d", len(docs), len(wants))
	}
	for i, d := range docs {
		if !strings.HasPrefix(d.line, wants[i].line+" ") {
			t.Fatalf("docs/events.md line %q, the test expects %q", d.line, wants[i].line)
		}
	}

	// The operations first: the relay is not running yet, so nothing is
	// published before the live subscribers are there.
	wallets := subjectsWorkload(t, l)
	wallet := wallets[0] // stands for the docs' example wallet

	// Live subscribers, on a connection of their own.
	sc, err := nats.Connect(e.Server.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	live := make([]*nats.Subscription, len(docs))
	for i, d := range docs {
		if d.all {
			continue
		}
		if live[i], err = sc.SubscribeSync(strings.Replace(d.subject, docWallet, wallet, 1)); err != nil {
			t.Fatal(err)
		}
	}
	if err := sc.Flush(); err != nil {
		t.Fatal(err)
	}

	startRelay(t, e, l, nil)
	walletdtest.CheckFor(t, 20*time.Second, 20*time.Millisecond, func() error { return checkExactlyOnce(t, e, l) })
	recs := expectedRecords(t, l)

	expect := func(w want, part int) []string {
		var ids []string
		for _, r := range recs {
			if w.match(r, wallet, part) {
				ids = append(ids, r.Envelope.ID)
			}
		}
		return ids
	}
	check := func(t *testing.T, got, want []string) {
		t.Helper()
		if len(want) == 0 {
			t.Fatal("the workload gives this subscription nothing to receive")
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("received %d events, want %d in ledger order\n got: %v\nwant: %v", len(got), len(want), got, want)
		}
	}

	// Everything was published; a round trip on the subscribers'
	// connection makes sure everything sent to it has arrived.
	if err := sc.Flush(); err != nil {
		t.Fatal(err)
	}
	for i, d := range docs {
		if d.all {
			continue
		}
		t.Run("Live/"+d.subject, func(t *testing.T) {
			var got []string
			seen := map[string]bool{}
			for {
				n, _, _ := live[i].Pending()
				if n == 0 {
					break
				}
				m, err := live[i].NextMsg(time.Second)
				if err != nil {
					t.Fatal(err)
				}
				p, ok := events.ParseSubject("walletd", m.Subject)
				if !ok || p.Partition != "" && p.Partition != events.Unpartitioned {
					t.Fatalf("live subject %s", m.Subject)
				}
				id := m.Header.Get(nats.MsgIdHdr)
				if !seen[id] { // a live subject may carry a re-publication
					seen[id] = true
					got = append(got, id)
				}
			}
			check(t, got, expect(wants[i], -1))
		})
	}

	// From the stream, as `nats sub --all` does: a JetStream subscription
	// that looks the stream up by the subject and delivers all of it.
	ljs, err := sc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	fromStream := func(t *testing.T, subject string) []string {
		t.Helper()
		sub, err := ljs.SubscribeSync(subject, nats.DeliverAll(), nats.AckNone(), nats.EnableFlowControl(), nats.IdleHeartbeat(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Unsubscribe()
		var got []string
		walletdtest.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error {
			for {
				m, err := sub.NextMsg(time.Millisecond)
				if err != nil {
					break
				}
				if len(m.Data) == 0 && m.Header.Get("Status") != "" {
					continue // flow control or heartbeat
				}
				p, ok := events.ParseSubject("walletd", m.Subject)
				if !ok || p.Wallet != "" && p.Partition != fmt.Sprint(partitionOf(p.Wallet, bus.DefaultPartitions)) {
					return fmt.Errorf("stored subject %s is not in its wallet's partition", m.Subject)
				}
				got = append(got, m.Header.Get(nats.MsgIdHdr))
			}
			ci, err := sub.ConsumerInfo()
			if err != nil {
				return err
			}
			if ci.NumPending > 0 || ci.Delivered.Consumer != uint64(len(got)) {
				return fmt.Errorf("%d received, consumer delivered %d, %d pending", len(got), ci.Delivered.Consumer, ci.NumPending)
			}
			return nil
		})
		return got
	}
	for i, d := range docs {
		if d.all {
			// Every partition, not only the one the docs show.
			all := map[string]int{}
			for p := 0; p < bus.DefaultPartitions; p++ {
				subject := strings.Replace(d.subject, ".3.", fmt.Sprintf(".%d.", p), 1)
				var got []string
				t.Run("Stream/"+subject, func(t *testing.T) {
					got = fromStream(t, subject)
					want := expect(wants[i], p)
					if p != 3 && len(want) == 0 {
						return // a partition with no wallet in this run
					}
					check(t, got, want)
				})
				for _, id := range got {
					all[id]++
				}
			}
			// Together the partitions hold every wallet event, each once.
			n := 0
			for _, r := range recs {
				if r.Wallet != "" {
					n++
					if all[r.Envelope.ID] != 1 {
						t.Fatalf("%s %s is in %d partitions", r.Key(), r.Envelope.ID, all[r.Envelope.ID])
					}
				}
			}
			if len(all) != n {
				t.Fatalf("the partitions hold %d events, there are %d wallet events", len(all), n)
			}
			continue
		}
		t.Run("Stream/"+d.subject, func(t *testing.T) {
			check(t, fromStream(t, strings.Replace(d.subject, docWallet, wallet, 1)), expect(wants[i], -1))
		})
	}
}

// TestEnsureStream_MigratesLegacySubjects: a stream written with the
// earlier subjects (<prefix>.<event key>, no transform) is updated in
// place; the relay resumes after its last message and publishes the rest
// on the new subjects, exactly once and in order; a Consumer reading from
// the start gets every event, old subjects and new. A later change of the
// number of partitions applies to later messages and is logged.
func TestEnsureStream_MigratesLegacySubjects(t *testing.T) {
	ctx := context.Background()
	e := walletdtest.RunJetStream(t)
	if err := e.JS.DeleteStream(ctx, "WALLETD"); err != nil {
		t.Fatal(err)
	}
	// The stream as earlier versions made it, filled as their relay did.
	if _, err := e.JS.CreateStream(ctx, jetstream.StreamConfig{Name: "WALLETD", Subjects: []string{"walletd.>"},
		Duplicates: 2 * time.Minute, Retention: jetstream.LimitsPolicy, Discard: jetstream.DiscardOld}); err != nil {
		t.Fatal(err)
	}
	l := walletdtest.MustOpenLedger(t, func(c *ledger.WriterConfig) { c.CheckpointEvery = 10 })
	workload(t, l, 20)
	old := expectedRecords(t, l)
	for i, rec := range old {
		msg := nats.NewMsg("walletd." + rec.Key())
		msg.Data = rec.Body()
		msg.Header.Set(bus.HeaderSeq, fmt.Sprint(rec.Seq))
		msg.Header.Set(bus.HeaderIndex, fmt.Sprint(rec.Index))
		if _, err := e.JS.PublishMsg(ctx, msg, jetstream.WithMsgID(rec.Envelope.ID), jetstream.WithExpectLastSequence(uint64(i))); err != nil {
			t.Fatal(err)
		}
	}

	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	ensure := func(partitions int) {
		t.Helper()
		if _, err := bus.EnsureStream(ctx, e.JS, bus.StreamConfig{Partitions: partitions, Logger: logger}); err != nil {
			t.Fatal(err)
		}
	}
	ensure(0)
	if want := fmt.Sprintf("stream_last_seq=%d", len(old)); !strings.Contains(logs.String(), "stream subjects migrated") || !strings.Contains(logs.String(), want) {
		t.Fatalf("no migration logged with %s:\n%s", want, logs)
	}
	before := logs.String() // the migration, and the limits the legacy stream had not
	ensure(0)               // a second start changes nothing and logs nothing
	if logs.String() != before {
		t.Fatalf("logs after a second EnsureStream:\n%s", logs)
	}

	startRelay(t, e, l, nil)
	workload(t, l, 20)
	walletdtest.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		recs := expectedRecords(t, l)
		got, err := tryStreamRecords(e)
		if err != nil {
			return err
		}
		if len(got) != len(recs) {
			return fmt.Errorf("stream holds %d messages, outbox %d records", len(got), len(recs))
		}
		for i, m := range got {
			want := storedSubject(recs[i])
			if i < len(old) {
				want = "walletd." + recs[i].Key() // old messages keep their subjects
			}
			if m.Subject != want || m.Header.Get(nats.MsgIdHdr) != recs[i].Envelope.ID {
				return fmt.Errorf("message %d: %s %s, want %s %s", i, m.Subject, m.Header.Get(nats.MsgIdHdr), want, recs[i].Envelope.ID)
			}
		}
		return nil
	})

	// A reader from the start gets every event, by its key, whatever the
	// subject's form.
	a := &memApplier{}
	c := &bus.Consumer{JS: e.JS, Durable: "migrated", Applier: a, Logger: quiet, Idle: 20 * time.Millisecond}
	if err := c.Open(); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	recs := expectedRecords(t, l)
	a.waitFor(t, uint64(len(recs)))
	a.appliedOnce(t, uint64(len(recs)))
	a.mu.Lock()
	for i, subj := range a.subjects {
		if key, ok := events.KeyFromSubject("walletd", subj); !ok || key != recs[i].Key() {
			t.Fatalf("message %d on %s: key %q, want %s", i+1, subj, key, recs[i].Key())
		}
	}
	a.mu.Unlock()

	t.Run("PartitionsChanged", func(t *testing.T) {
		before := len(expectedRecords(t, l))
		ensure(16)
		if !strings.Contains(logs.String(), "stream partitions changed") || !strings.Contains(logs.String(), fmt.Sprintf("stream_last_seq=%d", before)) {
			t.Fatalf("no partition change logged at %d:\n%s", before, logs)
		}
		workload(t, l, 5)
		walletdtest.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
			recs := expectedRecords(t, l)
			got, err := tryStreamRecords(e)
			if err != nil {
				return err
			}
			if len(got) != len(recs) {
				return fmt.Errorf("stream holds %d messages, outbox %d records", len(got), len(recs))
			}
			for i := before; i < len(got); i++ {
				p, _ := events.ParseSubject("walletd", got[i].Subject)
				if r := recs[i]; r.Wallet != "" && p.Partition != fmt.Sprint(partitionOf(r.Wallet, 16)) {
					return fmt.Errorf("message %d on %s, want partition %d of 16", i+1, got[i].Subject, partitionOf(r.Wallet, 16))
				}
			}
			return nil
		})
	})
	t.Run("ErrPartitions", func(t *testing.T) {
		for _, n := range []int{-1, events.MaxPartitions + 1} {
			if _, err := bus.EnsureStream(ctx, e.JS, bus.StreamConfig{Partitions: n, Logger: quiet}); err == nil {
				t.Fatalf("%d partitions accepted", n)
			}
		}
	})
}

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

var _ io.Writer = (*syncBuffer)(nil)

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
