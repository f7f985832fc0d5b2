package projections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/walletd/walletd"
	"github.com/walletd/walletd/events"
	"github.com/walletd/walletd/walletdtest"
)

func TestProjector_Run(t *testing.T) {
	t.Run("BalancesAndHistoryEqualTheLedger", func(t *testing.T) {
		t.Parallel()
		e := mustEnv(t)
		db := mustDB(t)
		reg := prometheus.NewRegistry()
		metrics := NewMetrics(reg)
		p := e.startProjector(t, db, "projections", func(p *Projector) { p.Metrics = metrics })
		rng := rand.New(rand.NewPCG(1, 2))
		wallets := e.mustWallets(t, 10)
		e.workload(t, rng, wallets, 600, 20*time.Minute)
		e.waitApplied(t, db)
		e.checkAgainstLedger(t, db, wallets)
		if got := value(metrics.Applied); got == 0 {
			t.Error("no applied events counted")
		}
		if got, want := value(metrics.StreamSeq), float64(e.outboxLen(t)); got != want {
			t.Errorf("stream seq gauge %v, want %v", got, want)
		}
		walletdtest.CheckFor(t, 5*time.Second, 20*time.Millisecond, func() error {
			if p.Lag() != 0 {
				return fmt.Errorf("lag %d", p.Lag())
			}
			return nil
		})
		if got := value(metrics.Bad); got != 0 {
			t.Errorf("%v bad events", got)
		}
		if db.AppliedSeq() != e.ledgerEntries(t)[len(e.ledgerEntries(t))-1].Seq {
			t.Errorf("applied seq %d", db.AppliedSeq())
		}
	})

	t.Run("RebuildEqualsIncremental", func(t *testing.T) {
		t.Parallel()
		e := mustEnv(t)
		db := mustDB(t)
		p := e.startProjector(t, db, "projections", func(p *Projector) { p.BatchSize = 17 })
		rng := rand.New(rand.NewPCG(3, 4))
		wallets := e.mustWallets(t, 10)
		for round := 0; round < 4; round++ { // applied while it grows, batch by batch
			e.workload(t, rng, wallets, 100, 3*time.Hour)
			e.waitApplied(t, db)
		}
		mustClose(t, p)
		incremental := dump(t, db)

		// From scratch: a new file and a new projector (deleting the file
		// and restarting is the same thing).
		fresh := mustDB(t)
		p2 := e.startProjector(t, fresh, "projections-2")
		e.waitApplied(t, fresh)
		mustClose(t, p2)
		if got := dump(t, fresh); got != incremental {
			t.Fatalf("rebuilt from scratch:\n%s\nincremental:\n%s", got, incremental)
		}

		// Projector.Rebuild on the incremental file, with an ephemeral consumer.
		p = &Projector{DB: db, JS: e.js, Ephemeral: true, Logger: quiet, Idle: 50 * time.Millisecond}
		if err := p.Rebuild(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := dump(t, db); got != incremental {
			t.Fatalf("Rebuild:\n%s\nincremental:\n%s", got, incremental)
		}
		e.checkAgainstLedger(t, db, wallets)
	})

	t.Run("DeletedFileIsRebuilt", func(t *testing.T) {
		t.Parallel()
		e := mustEnv(t)
		path := t.TempDir() + "/projections.db"
		db := mustDBAt(t, path)
		p := e.startProjector(t, db, "projections")
		wallets := e.mustWallets(t, 4)
		e.workload(t, rand.New(rand.NewPCG(5, 6)), wallets, 80, time.Hour)
		e.waitApplied(t, db)
		mustClose(t, p)
		before := dump(t, db)
		db.Close()
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(path + suffix)
		}
		db = mustDBAt(t, path)
		e.startProjector(t, db, "projections") // same durable consumer: re-made from position 0
		e.waitApplied(t, db)
		if got := dump(t, db); got != before {
			t.Fatalf("after deleting projections.db:\n%s\nbefore:\n%s", got, before)
		}
	})

	t.Run("RestartMidStreamAppliesNothingTwice", func(t *testing.T) {
		t.Parallel()
		e := mustEnv(t)
		db := mustDB(t)
		rng := rand.New(rand.NewPCG(7, 8))
		wallets := e.mustWallets(t, 10)
		e.workload(t, rng, wallets, 400, time.Hour)
		p := e.startProjector(t, db, "projections", func(p *Projector) { p.BatchSize = 25 })
		walletdtest.CheckFor(t, 10*time.Second, time.Millisecond, func() error {
			pos, err := db.Position(context.Background())
			if err != nil {
				return err
			}
			if pos.StreamSeq < 100 {
				return fmt.Errorf("position %+v", pos)
			}
			return nil
		})
		mustClose(t, p) // part way through
		mid, _ := db.Position(context.Background())
		if mid.StreamSeq >= e.outboxLen(t) {
			t.Fatalf("stopped at %d, not part way", mid.StreamSeq)
		}
		e.workload(t, rng, wallets, 100, time.Hour)
		e.startProjector(t, db, "projections", func(p *Projector) { p.BatchSize = 25 })
		e.waitApplied(t, db)
		e.checkAgainstLedger(t, db, wallets)
		pos, _ := db.Position(context.Background())
		var want uint64
		for _, en := range e.ledgerEntries(t) {
			if isTransaction(en) { // each yields exactly one event the projections use
				want++
			}
		}
		if pos.Events != want {
			t.Fatalf("%d events applied, the ledger has %d entries", pos.Events, want)
		}
	})

	t.Run("RedeliveryIsSkipped", func(t *testing.T) {
		t.Parallel()
		// A crash after the commit and before the acks: the same messages
		// come again, in batches cut differently. Nothing changes.
		e := mustEnv(t)
		db := mustDB(t)
		p := e.startProjector(t, db, "projections")
		wallets := e.mustWallets(t, 5)
		e.workload(t, rand.New(rand.NewPCG(9, 10)), wallets, 150, time.Hour)
		e.waitApplied(t, db)
		mustClose(t, p)
		before := dump(t, db)
		msgs := streamMessages(t, e)
		pos, _ := db.Position(context.Background())
		for i := 0; i < len(msgs); i += 13 {
			res, _, err := db.apply(context.Background(), "WALLETD", pos.StreamSeq, msgs[i:min(i+13, len(msgs))], time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if res.applied != 0 {
				t.Fatalf("re-applied %d events", res.applied)
			}
		}
		if got := dump(t, db); got != before {
			t.Fatalf("redelivery changed the read models:\n%s\nbefore:\n%s", got, before)
		}
	})

	t.Run("ResetWhileRunning", func(t *testing.T) {
		t.Parallel()
		e := mustEnv(t)
		db := mustDB(t)
		e.startProjector(t, db, "projections")
		wallets := e.mustWallets(t, 5)
		e.workload(t, rand.New(rand.NewPCG(11, 12)), wallets, 100, time.Hour)
		e.waitApplied(t, db)
		before := dump(t, db)
		if err := db.Reset(context.Background()); err != nil {
			t.Fatal(err)
		}
		e.waitApplied(t, db) // the running projector notices and replays
		if got := dump(t, db); got != before {
			t.Fatalf("after a live reset:\n%s\nbefore:\n%s", got, before)
		}
	})

	t.Run("ErrStreamMismatch", func(t *testing.T) {
		t.Parallel()
		e := mustEnv(t)
		db := mustDB(t)
		e.l.MustWallet(t, "u1", "USD")
		p := e.startProjector(t, db, "projections")
		e.waitApplied(t, db)
		mustClose(t, p)
		if _, err := db.write.Exec(`UPDATE position SET stream = 'OTHER'`); err != nil {
			t.Fatal(err)
		}
		p = &Projector{DB: db, JS: e.js, Logger: quiet}
		if err := p.Open(); !errors.Is(err, ErrStreamMismatch) {
			p.Close()
			t.Fatalf("Open: %v, want ErrStreamMismatch", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := p.CatchUp(ctx); !errors.Is(err, ErrStreamMismatch) {
			t.Fatalf("CatchUp: %v, want ErrStreamMismatch", err)
		}
	})

	t.Run("ErrStreamMismatchWhileRunning", func(t *testing.T) {
		t.Parallel()
		e := mustEnv(t)
		db := mustDB(t)
		e.l.MustWallet(t, "u1", "USD")
		p := &Projector{DB: db, JS: e.js, Logger: quiet, Idle: 20 * time.Millisecond}
		if err := p.Open(); err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		e.waitApplied(t, db)
		if _, err := db.write.Exec(`UPDATE position SET stream = 'OTHER'`); err != nil {
			t.Fatal(err)
		}
		select {
		case <-p.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("the projector did not stop")
		}
		if err := p.Close(); !errors.Is(err, ErrStreamMismatch) {
			t.Fatalf("Close: %v, want ErrStreamMismatch", err)
		}
	})

	t.Run("JetStreamLostItsTail", func(t *testing.T) {
		t.Parallel()
		// JetStream comes back from an older copy of its storage: the
		// stream ends before the stored position, and the relay publishes
		// the lost events again under new stream sequences.
		e := mustEnv(t)
		db := mustDB(t)
		e.startProjector(t, db, "projections", func(p *Projector) { p.Idle = 20 * time.Millisecond })
		rng := rand.New(rand.NewPCG(15, 16))
		wallets := e.mustWallets(t, 5)
		e.workload(t, rng, wallets, 60, time.Hour)
		e.waitApplied(t, db)
		e.nats.Stop(t)
		snap := filepath.Join(t.TempDir(), "snap")
		if out, err := exec.Command("cp", "-a", e.nats.StoreDir(), snap).CombinedOutput(); err != nil {
			t.Fatalf("%v %s", err, out)
		}
		e.nats.Start(t)
		e.workload(t, rng, wallets, 60, time.Hour)
		e.waitApplied(t, db)
		applied, _ := db.Position(context.Background())
		e.stopRelay() // so that the projector sees the short stream first
		e.nats.Stop(t)
		os.RemoveAll(e.nats.StoreDir())
		if out, err := exec.Command("cp", "-a", snap, e.nats.StoreDir()).CombinedOutput(); err != nil {
			t.Fatalf("%v %s", err, out)
		}
		e.nats.Start(t)
		walletdtest.CheckFor(t, 20*time.Second, 10*time.Millisecond, func() error {
			pos, err := db.Position(context.Background())
			if err != nil {
				return err
			}
			if pos.StreamSeq >= applied.StreamSeq || pos.LedgerSeq != applied.LedgerSeq {
				return fmt.Errorf("position %+v; was %+v", pos, applied)
			}
			return nil // rewound to the stream's end, the ledger position kept
		})
		e.startRelay(t)
		e.workload(t, rng, wallets, 30, time.Hour)
		e.waitApplied(t, db)
		e.checkAgainstLedger(t, db, wallets)
		pos, _ := db.Position(context.Background())
		var n uint64
		for _, en := range e.ledgerEntries(t) {
			if isTransaction(en) {
				n++
			}
		}
		if pos.Events != n {
			t.Fatalf("%d events applied for %d transactions", pos.Events, n)
		}
	})

	t.Run("ConsumerDeletedUnderIt", func(t *testing.T) {
		t.Parallel()
		e := mustEnv(t)
		db := mustDB(t)
		e.startProjector(t, db, "projections")
		wallets := e.mustWallets(t, 3)
		e.waitApplied(t, db)
		if err := e.js.DeleteConsumer(context.Background(), "WALLETD", "projections"); err != nil {
			t.Fatal(err)
		}
		e.workload(t, rand.New(rand.NewPCG(13, 14)), wallets, 50, time.Hour)
		e.waitApplied(t, db)
		e.checkAgainstLedger(t, db, wallets)
	})
}

// TestDB_Apply covers what a batch does with events that are not plain
// credits and debits.
func TestDB_Apply(t *testing.T) {
	env := func(seq uint64, index int, key string, data string) message {
		b := fmt.Sprintf(`{"id":"wph_x%d","event":%q,"api_version":"v1","created_at":"2026-11-24T10:00:00Z","site_url":"s","data":%s}`, seq, key, data)
		return message{key: key, streamSeq: seq, ledgerSeq: seq, index: index, positioned: true, data: []byte(b)}
	}
	credit := func(seq uint64, extra string) message {
		return env(seq, 0, events.WalletCredited, `{"transaction_id":"txn_`+strconv.FormatUint(seq, 10)+`","user_id":"u","user_email":"u@x","amount":"1.50","currency":"USD",
			"balance_after":"`+strconv.FormatUint(seq, 10)+`.50","type":"topup","reason":"","order_id":"","ledger_hash":"h","seq":`+strconv.FormatUint(seq, 10)+`,"wallet_id":"wal_1"`+extra+`}`)
	}
	t.Run("UnknownFieldsAndEventsAreTolerated", func(t *testing.T) {
		db := mustDB(t)
		msgs := []message{
			env(1, 0, events.WalletCreated, `{"wallet_id":"wal_1","user_id":"u","user_email":"u@x","currency":"USD","status":"active","seq":1}`),
			credit(2, `,"held_after":"0.00","future":{"x":1}`),
			env(2, 1, events.TransferReceived, `{"transfer_id":"t"}`),
			env(2, 100, events.LedgerCheckpoint, `{"ledger_id":"l","seq":2}`),
			env(3, 0, "wallet.hold.placed", `{"wallet_id":"wal_1","held_after":"1.00"}`),
		}
		res, bad, err := db.apply(context.Background(), "WALLETD", 0, msgs, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if res.applied != 1 || res.ignored != 4 || len(bad) != 0 {
			t.Fatalf("result %+v, bad %v", res, bad)
		}
		totals, err := db.DailyTotals(context.Background(), time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC), "")
		if err != nil || len(totals) != 1 || totals[0].Count != 1 || totals[0].Total != "1.50" {
			t.Fatalf("totals %+v %v", totals, err)
		}
		if pos, _ := db.Position(context.Background()); pos.StreamSeq != 3 || pos.LedgerSeq != 3 || pos.LedgerIndex != 0 || pos.Events != 1 {
			t.Fatalf("position %+v", pos)
		}
	})
	t.Run("BadEventsArePassedOver", func(t *testing.T) {
		db := mustDB(t)
		noHeaders := credit(4, "")
		noHeaders.positioned = false
		msgs := []message{
			env(1, 0, events.WalletCredited, `{"wallet_id":"wal_1","amount":"abc","currency":"USD","balance_after":"1"}`),
			env(2, 0, events.WalletDebited, `not json`),
			{key: events.WalletCredited, streamSeq: 3, ledgerSeq: 3, positioned: true, data: []byte(`{`)},
			noHeaders,
			credit(5, ""),
			credit(5, ""), // the same position again: skipped
		}
		res, bad, err := db.apply(context.Background(), "WALLETD", 0, msgs, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if res.applied != 1 || res.bad != 3 || res.skipped != 1 || len(bad) != 4 {
			t.Fatalf("result %+v, bad %v", res, bad)
		}
		// The same transaction under a later position is not counted twice.
		again := credit(5, "")
		again.streamSeq, again.ledgerSeq = 7, 7
		if res, bad, err = db.apply(context.Background(), "WALLETD", 5, []message{again}, time.Now()); err != nil || res.applied != 0 || len(bad) != 1 {
			t.Fatalf("result %+v, bad %v, %v", res, bad, err)
		}
		totals, _ := db.DailyTotals(context.Background(), time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC), "")
		if len(totals) != 1 || totals[0].Count != 1 || totals[0].Total != "1.50" {
			t.Fatalf("totals %+v", totals)
		}
	})
	t.Run("ErrPositionMoved", func(t *testing.T) {
		db := mustDB(t)
		if _, _, err := db.apply(context.Background(), "WALLETD", 0, []message{credit(1, "")}, time.Now()); err != nil {
			t.Fatal(err)
		}
		if _, _, err := db.apply(context.Background(), "WALLETD", 0, []message{credit(2, "")}, time.Now()); !errors.Is(err, errPositionMoved) {
			t.Fatalf("apply with a stale position: %v", err)
		}
	})
}

func TestDB_WaitForSeq(t *testing.T) {
	db := mustDB(t)
	ctx := context.Background()
	if err := db.WaitForSeq(ctx, 0); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := db.WaitForSeq(short, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitForSeq before the seq: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- db.WaitForSeq(ctx, 3) }()
	msg := func(seq uint64) message {
		return message{streamSeq: seq, ledgerSeq: seq, positioned: true, data: []byte(`{"event":"ping"}`)}
	}
	if _, _, err := db.apply(ctx, "WALLETD", 0, []message{msg(1), msg(2)}, time.Now()); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		t.Fatalf("returned at seq 2: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	if _, _, err := db.apply(ctx, "WALLETD", 2, []message{msg(3)}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	t.Run("AnotherProcessWrites", func(t *testing.T) {
		reader := mustDBAt(t, db.Path) // its own handle: sees the file only
		go func() { done <- reader.WaitForSeq(ctx, 4) }()
		if _, _, err := db.apply(ctx, "WALLETD", 3, []message{msg(4)}, time.Now()); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("WaitForSeq did not see the other handle's write")
		}
	})
}

// streamMessages reads the whole stream as the projector would receive it.
func streamMessages(tb testing.TB, e *env) []message {
	tb.Helper()
	ctx := context.Background()
	s, err := e.js.Stream(ctx, "WALLETD")
	if err != nil {
		tb.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	var out []message
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, toMessage(m.Sequence, "walletd", m.Subject, nats.Header(m.Header), m.Data))
	}
	return out
}

// value reads a counter's or gauge's current value.
func value(m prometheus.Metric) float64 {
	var out dto.Metric
	if err := m.Write(&out); err != nil {
		panic(err)
	}
	if c := out.GetCounter(); c != nil {
		return c.GetValue()
	}
	return out.GetGauge().GetValue()
}

// TestDecode checks that decode reads the fields of events.TransactionData
// the daily totals use, ignores the events they do not use and refuses
// what they cannot count.
func TestDecode(t *testing.T) {
	txn := events.TransactionData{TransactionID: 7, TxnID: "txn_1", UserID: "u", UserEmail: "u@x", Amount: "1.50", Currency: "USD",
		BalanceAfter: "3.00", Type: "topup", Reason: "r", OrderID: "o", LedgerHash: "h", Seq: 7, WalletID: "wal_1"}
	envelope := func(key string, data any, test bool) message {
		b, _ := json.Marshal(data)
		env, _ := json.Marshal(events.Envelope{ID: "wph_1", Event: key, APIVersion: "v1", CreatedAt: "2026-11-24T10:00:00Z", Data: b, Test: test})
		return message{key: key, streamSeq: 1, ledgerSeq: 7, positioned: true, data: env}
	}
	m := envelope(events.WalletCredited, txn, false)
	doc, created, why := decode(&m)
	if why != "" || created != "2026-11-24T10:00:00Z" {
		t.Fatalf("decode: %q %q", why, created)
	}
	if d := doc.Data; d.Amount != txn.Amount || d.Currency != txn.Currency || d.BalanceAfter != txn.BalanceAfter ||
		d.Type != txn.Type || d.Seq != txn.Seq || d.WalletID != txn.WalletID {
		t.Fatalf("transaction data %+v, want %+v", d, txn)
	}
	for name, m := range map[string]message{
		"subject and event differ": func() message {
			m := envelope(events.WalletCredited, txn, false)
			m.key = events.WalletDebited
			return m
		}(),
		"negative amount": envelope(events.WalletCredited, func() events.TransactionData { d := txn; d.Amount = "-1.00"; return d }(), false),
		"exponent":        envelope(events.WalletCredited, func() events.TransactionData { d := txn; d.Amount = "1e3"; return d }(), false),
		"no wallet":       envelope(events.WalletDebited, func() events.TransactionData { d := txn; d.WalletID = ""; return d }(), false),
		"no currency":     envelope(events.WalletDebited, func() events.TransactionData { d := txn; d.Currency = ""; return d }(), false),
	} {
		if _, _, why := decode(&m); why == "" {
			t.Errorf("%s: accepted", name)
		}
	}
	if m := envelope(events.WalletCredited, txn, true); func() bool { d, _, why := decode(&m); return d != nil || why != "" }() {
		t.Error("a test delivery is not ignored")
	}
	for _, key := range []string{events.TransferSent, events.WalletCreated, events.WalletFrozen} {
		if m := envelope(key, events.WalletData{}, false); func() bool { d, _, why := decode(&m); return d != nil || why != "" }() {
			t.Errorf("%s is not ignored", key)
		}
	}
}

// isTransaction reports whether an entry is a credit or debit of a
// wallet: what publishes wallet.credited or wallet.debited.
func isTransaction(en *walletd.Entry) bool {
	return en.Kind == walletd.KindCredit || en.Kind == walletd.KindDebit || en.Kind == walletd.KindSettle
}
