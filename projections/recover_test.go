package projections

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/walletd/walletd/events/bus"
	"github.com/walletd/walletd/ledger/sqlite"
	"github.com/walletd/walletd/walletdtest"
)

// TestProjector_RecoversFromTheLedger: a bounded stream drops the events a
// stopped projector still needs; at its restart the projector applies them
// from the ledger, then the stream, and its read models equal those of a
// projector that never stopped and of a fresh one; the recovery is
// counted. The same when the stream dropped every message, and a
// projector without the ledger is left with a gap (the old behaviour).
func TestProjector_RecoversFromTheLedger(t *testing.T) {
	ctx := context.Background()
	e := mustEnv(t)
	rng := rand.New(rand.NewPCG(7, 8))
	wallets := e.mustWallets(t, 8)
	recoveries := bus.NewRecoveryMetrics(prometheus.NewRegistry())
	withLedger := func(name string) func(*Projector) {
		return func(p *Projector) {
			p.Ledger, p.Recoveries, p.BatchSize = sqlite.NewOutbox(e.l.DB, siteURL), recoveries.WithLabelValues(name), 13
		}
	}
	// ref applies everything as it comes; with the ledger too, since under
	// load it may itself fall more than the 25-message window behind.
	ref := mustDB(t)
	e.startProjector(t, ref, "ref", withLedger("ref"))
	stopped, noLedger := mustDB(t), mustDB(t)
	p := e.startProjector(t, stopped, "stopped", withLedger("stopped"))
	q := e.startProjector(t, noLedger, "no-ledger")
	e.workload(t, rng, wallets, 120, time.Hour)
	e.waitApplied(t, stopped)
	e.waitApplied(t, noLedger)
	mustClose(t, p)
	mustClose(t, q)

	e.workload(t, rng, wallets, 150, time.Hour)
	e.waitApplied(t, ref)
	// The stream keeps its last 25 messages only.
	if _, err := bus.EnsureStream(ctx, e.js, bus.StreamConfig{MaxMsgs: 25, Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	st := streamState(t, e)
	if pos, _ := stopped.Position(ctx); st.FirstSeq <= pos.StreamSeq+1 {
		t.Fatalf("the stream starts at %d: it still holds what the stopped projector needs (after %d)", st.FirstSeq, pos.StreamSeq)
	}
	p = e.startProjector(t, stopped, "stopped", withLedger("stopped"))
	e.waitApplied(t, stopped)
	mustClose(t, p)
	want := dump(t, ref)
	if got := dump(t, stopped); got != want {
		t.Fatalf("recovered:\n%s\nnever stopped:\n%s", got, want)
	}
	e.checkAgainstLedger(t, stopped, wallets)
	if got := value(recoveries.WithLabelValues("stopped")); got != 1 {
		t.Errorf("recoveries{stopped} = %v, want 1", got)
	}

	// A fresh projections.db on that stream is rebuilt from the ledger.
	fresh := mustDB(t)
	e.startProjector(t, fresh, "fresh", withLedger("fresh"))
	e.waitApplied(t, fresh)
	if got := dump(t, fresh); got != want {
		t.Fatalf("fresh:\n%s\nnever stopped:\n%s", got, want)
	}
	if got := value(recoveries.WithLabelValues("fresh")); got != 1 {
		t.Errorf("recoveries{fresh} = %v, want 1", got)
	}

	// Without the ledger, the dropped events stay missing.
	e.startProjector(t, noLedger, "no-ledger")
	e.waitApplied(t, noLedger)
	if dump(t, noLedger) == want {
		t.Error("a projector without the ledger has every event: the test dropped nothing it needed")
	}

	// A stream that dropped every message: the ledger up to its head, then
	// what comes next from the stream.
	e.workload(t, rng, wallets, 60, time.Hour)
	e.waitApplied(t, ref)
	s, err := e.js.Stream(ctx, "WALLETD")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	e.startProjector(t, stopped, "stopped", withLedger("stopped"))
	e.waitApplied(t, stopped)
	e.workload(t, rng, wallets, 30, time.Hour)
	e.waitApplied(t, ref)
	e.waitApplied(t, stopped)
	if got, want := dump(t, stopped), dump(t, ref); got != want {
		t.Fatalf("recovered from an empty stream:\n%s\nnever stopped:\n%s", got, want)
	}
	if got := value(recoveries.WithLabelValues("stopped")); got != 2 {
		t.Errorf("recoveries{stopped} = %v, want 2", got)
	}

	// The stream made again while the projector was stopped (it ends
	// before the stored position), and a relay with no position record of
	// it publishing from the ledger's head: the projector recovers the
	// events in between from the ledger.
	mustClose(t, p)
	p = e.startProjector(t, stopped, "stopped2", withLedger("stopped"))
	e.waitApplied(t, stopped)
	mustClose(t, p)
	e.workload(t, rng, wallets, 40, time.Hour)
	e.waitApplied(t, ref)
	e.remakeStream(t)
	e.workload(t, rng, wallets, 20, time.Hour)
	e.startProjector(t, stopped, "stopped3", withLedger("stopped"))
	e.waitLedgerApplied(t, stopped)
	e.checkAgainstLedger(t, stopped, wallets)
	// At least one more: under load the consumer's session may start again
	// while the relay is still filling the new stream, and find the gap
	// once more (applying it twice is harmless).
	if got := value(recoveries.WithLabelValues("stopped")); got < 3 {
		t.Errorf("recoveries{stopped} = %v, want at least 3", got)
	}
}

func streamState(tb testing.TB, e *env) (st struct{ FirstSeq, LastSeq, Msgs uint64 }) {
	tb.Helper()
	s, err := e.js.Stream(context.Background(), "WALLETD")
	if err != nil {
		tb.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	st.FirstSeq, st.LastSeq, st.Msgs = info.State.FirstSeq, info.State.LastSeq, info.State.Msgs
	return st
}

// TestProjector_FreshBuildsFromTheLedger: a stream made after the ledger
// already had entries, which the relay (no position record) begins at the
// ledger's head, holds none of the ledger's history - its first message is
// stream seq 1 all the same. A projector with nothing applied builds from
// the ledger first, then follows the stream; one without the ledger has
// only what came after.
func TestProjector_FreshBuildsFromTheLedger(t *testing.T) {
	e := mustEnv(t)
	rng := rand.New(rand.NewPCG(9, 10))
	wallets := e.mustWallets(t, 6)
	e.workload(t, rng, wallets, 80, time.Hour)
	e.remakeStream(t)
	recoveries := bus.NewRecoveryMetrics(prometheus.NewRegistry())
	fresh, noLedger := mustDB(t), mustDB(t)
	e.startProjector(t, fresh, "fresh", func(p *Projector) {
		p.Ledger, p.Recoveries, p.BatchSize = sqlite.NewOutbox(e.l.DB, siteURL), recoveries.WithLabelValues("fresh"), 13
	})
	e.startProjector(t, noLedger, "no-ledger")
	e.waitLedgerApplied(t, fresh)
	e.workload(t, rng, wallets, 20, time.Hour)
	e.waitLedgerApplied(t, fresh)
	e.checkAgainstLedger(t, fresh, wallets)
	// A fresh build is not a recovery: nothing the reader needed was dropped.
	if got := value(recoveries.WithLabelValues("fresh")); got != 0 {
		t.Errorf("recoveries{fresh} = %v, want 0", got)
	}
	e.waitLedgerApplied(t, noLedger)
	if dump(t, noLedger) == dump(t, fresh) {
		t.Error("a fresh projector without the ledger has the history: the stream held it, so the test shows nothing")
	}
}

// remakeStream deletes the stream and makes it again, with a relay that
// has no position record of it: the relay begins at the ledger's head.
func (e *env) remakeStream(tb testing.TB) {
	tb.Helper()
	ctx := context.Background()
	e.stopRelay()
	if err := e.js.DeleteStream(ctx, "WALLETD"); err != nil {
		tb.Fatal(err)
	}
	if _, err := bus.EnsureStream(ctx, e.js, bus.StreamConfig{Logger: quiet}); err != nil {
		tb.Fatal(err)
	}
	e.relay = &bus.Relay{JS: e.js, Stream: "WALLETD", Prefix: "walletd", Source: sqlite.NewOutbox(e.l.DB, siteURL),
		Logger: quiet, Idle: 10 * time.Millisecond, PositionFile: filepath.Join(tb.TempDir(), "relay.pos")}
	if err := e.relay.Open(); err != nil {
		tb.Fatal(err)
	}
}

// waitLedgerApplied waits until db has applied the ledger's last entry
// (waitApplied counts stream messages, which a remade stream lacks).
func (e *env) waitLedgerApplied(tb testing.TB, db *DB) {
	tb.Helper()
	walletdtest.CheckFor(tb, 20*time.Second, 20*time.Millisecond, func() error {
		want := e.ledgerEntries(tb)
		pos, err := db.Position(context.Background())
		if err != nil {
			return err
		}
		if pos.LedgerSeq != want[len(want)-1].Seq {
			return fmt.Errorf("applied ledger seq %d, want %d", pos.LedgerSeq, want[len(want)-1].Seq)
		}
		return nil
	})
}
