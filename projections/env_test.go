package projections

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walletd/walletd"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/walletd/walletd/events/bus"
	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/ledger/sqlite"
	"github.com/walletd/walletd/walletdtest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

const siteURL = "https://shop.example"

// clock is a settable, goroutine-safe clock for the ledger writer.
type clock struct{ ns atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Set(t time.Time)         { c.ns.Store(t.UnixNano()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// env is a ledger with its relay publishing to an embedded JetStream: the
// path every event takes in production.
type env struct {
	l     *walletdtest.Ledger
	clock *clock
	nats  *walletdtest.JetStream
	js    jetstream.JetStream
	relay *bus.Relay // nil when stopped
}

func mustEnv(tb testing.TB) *env {
	tb.Helper()
	e := &env{clock: &clock{}}
	e.clock.Set(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC))
	e.l = walletdtest.MustOpenLedger(tb, func(c *ledger.WriterConfig) {
		c.Now, c.Logger = e.clock.Now, quiet
		// No checkpoints: the tests here count and compare the events of
		// their own commands. TestDB_Apply covers ledger.checkpoint events.
		c.CheckpointEvery = 0
	})
	e.nats = walletdtest.RunJetStream(tb)
	e.js = e.nats.JS
	e.startRelay(tb)
	tb.Cleanup(e.stopRelay)
	return e
}

// startRelay opens a relay from the ledger to the stream until stopRelay.
func (e *env) startRelay(tb testing.TB) {
	tb.Helper()
	e.relay = &bus.Relay{JS: e.js, Stream: "WALLETD", Prefix: "walletd", Source: sqlite.NewOutbox(e.l.DB, siteURL),
		Logger: quiet, Idle: 10 * time.Millisecond}
	if err := e.relay.Open(); err != nil {
		tb.Fatal(err)
	}
}

// stopRelay closes the relay startRelay opened (a no-op when closed).
func (e *env) stopRelay() {
	if e.relay != nil {
		e.relay.Close()
		e.relay = nil
	}
}

// mustDB opens a projections.db in a temp dir.
func mustDB(tb testing.TB) *DB {
	tb.Helper()
	return mustDBAt(tb, filepath.Join(tb.TempDir(), "projections.db"))
}

func mustDBAt(tb testing.TB, path string) *DB {
	tb.Helper()
	db, err := Open(context.Background(), path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// startProjector opens a projector on db; tb.Cleanup closes it (Close
// again is harmless) and fails the test if it stopped by itself.
func (e *env) startProjector(tb testing.TB, db *DB, consumer string, modify ...func(*Projector)) *Projector {
	tb.Helper()
	p := &Projector{DB: db, JS: e.js, Consumer: consumer, Logger: quiet, Idle: 50 * time.Millisecond}
	for _, m := range modify {
		m(p)
	}
	if err := p.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := p.Close(); err != nil {
			tb.Errorf("Projector: %v", err)
		}
	})
	return p
}

// mustClose closes p and fails the test if it had stopped by itself.
func mustClose(tb testing.TB, p *Projector) {
	tb.Helper()
	if err := p.Close(); err != nil {
		tb.Fatalf("Projector: %v", err)
	}
}

// outboxLen is how many events the ledger has produced so far.
func (e *env) outboxLen(tb testing.TB) uint64 {
	tb.Helper()
	recs, err := sqlite.NewOutbox(e.l.DB, siteURL).After(context.Background(), 0, -1, 1<<30)
	if err != nil {
		tb.Fatal(err)
	}
	return uint64(len(recs))
}

// waitApplied waits until the stream holds every event of the ledger and
// db has applied them all.
func (e *env) waitApplied(tb testing.TB, db *DB) {
	tb.Helper()
	want := e.outboxLen(tb)
	walletdtest.CheckFor(tb, 20*time.Second, 10*time.Millisecond, func() error {
		pos, err := db.Position(context.Background())
		if err != nil {
			return err
		}
		if pos.StreamSeq != want {
			last := uint64(0)
			if s, err := e.js.Stream(context.Background(), "WALLETD"); err == nil {
				if info, err := s.Info(context.Background()); err == nil {
					last = info.State.LastSeq
				}
			}
			return fmt.Errorf("applied stream seq %d, want %d (the stream's last seq is %d)", pos.StreamSeq, want, last)
		}
		return nil
	})
}

// workload runs n random operations over the wallets: credits, debits
// (some refused for funds), transfers within a currency, freezes and
// unfreezes, with the clock moving on by up to step between them.
func (e *env) workload(tb testing.TB, rng *rand.Rand, wallets []string, n int, step time.Duration) {
	tb.Helper()
	ctx := context.Background()
	types := []string{"topup", "cashback", "order_payment", "refund"}
	for i := 0; i < n; i++ {
		e.clock.Advance(time.Duration(rng.Int64N(int64(step))))
		w := wallets[rng.IntN(len(wallets))]
		wal, err := e.l.DB.Wallet(ctx, w)
		if err != nil {
			tb.Fatal(err)
		}
		amount := fmt.Sprintf("%d.%02d", rng.IntN(50), rng.IntN(100))
		if wal.Currency == "JPY" {
			amount = fmt.Sprint(rng.IntN(5000))
		}
		if strings.Trim(amount, "0.") == "" {
			amount = "1"
		}
		var cmd walletd.Command
		switch op := rng.IntN(20); {
		case op < 8:
			cmd = &ledger.Post{WalletID: w, Kind: walletd.KindCredit, Amount: amount, Type: types[rng.IntN(2)], Reason: "r" + fmt.Sprint(i)}
		case op < 14:
			cmd = &ledger.Post{WalletID: w, Kind: walletd.KindDebit, Amount: amount, Type: types[2+rng.IntN(2)], OrderID: fmt.Sprint(1000 + i)}
		case op < 19:
			to := wallets[rng.IntN(len(wallets))]
			cmd = &ledger.Transfer{FromWalletID: w, ToWalletID: to, Amount: amount, Note: "split"}
		default:
			cmd = &ledger.SetStatus{WalletID: w, Frozen: wal.Status == walletd.StatusActive, Reason: "review"}
		}
		if _, err := e.l.Writer.Submit(ctx, "", cmd); err != nil {
			switch walletd.ErrorCode(err) {
			case walletd.EInsufficientFunds, walletd.EWalletFrozen, walletd.ECurrencyMismatch, walletd.EInvalid, walletd.EConflict:
			default:
				tb.Fatalf("%T: %v", cmd, err)
			}
		}
	}
}

// mustWallets opens n wallets, alternately USD and JPY, with some funds.
func (e *env) mustWallets(tb testing.TB, n int) []string {
	tb.Helper()
	var out []string
	for i := 0; i < n; i++ {
		cur := "USD"
		if i%3 == 2 {
			cur = "JPY"
		}
		id := e.l.MustWallet(tb, fmt.Sprintf("u%d", i), cur)
		if cur == "JPY" {
			e.l.MustCredit(tb, id, "10000")
		} else {
			e.l.MustCredit(tb, id, "100.00")
		}
		out = append(out, id)
	}
	return out
}

// dump renders every read model and the position (without its wall-clock
// updated_at) as text, rows in key order: two equal dumps are equal
// databases.
func dump(tb testing.TB, db *DB) string {
	tb.Helper()
	var b strings.Builder
	for _, q := range []string{
		`SELECT stream, stream_seq, ledger_seq, ledger_index, events FROM position`,
		`SELECT * FROM daily_totals ORDER BY date, currency, type, kind`,
	} {
		rows, err := db.read.Query(q)
		if err != nil {
			tb.Fatal(err)
		}
		cols, _ := rows.Columns()
		fmt.Fprintf(&b, "%s\n", q)
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				tb.Fatal(err)
			}
			fmt.Fprintln(&b, vals...)
		}
		rows.Close()
	}
	return b.String()
}

// ledgerEntries returns every entry of the ledger.
func (e *env) ledgerEntries(tb testing.TB) []*walletd.Entry {
	tb.Helper()
	es, err := e.l.DB.Entries(context.Background(), 0, 1<<30)
	if err != nil {
		tb.Fatal(err)
	}
	return es
}

// checkAgainstLedger fails unless the daily totals equal the sums of the
// ledger's credits and debits (a settle is a debit), day by day. (Balances
// and history are read from the ledger itself: sqlite.History.) wallets
// are the workload's; every wallet's entries count.
func (e *env) checkAgainstLedger(tb testing.TB, db *DB, wallets []string) {
	tb.Helper()
	type key struct{ date, currency, kind, typ string }
	want := map[key]*walletd.DailyTotal{}
	for _, en := range e.ledgerEntries(tb) {
		kind := en.Kind
		switch kind {
		case walletd.KindCredit, walletd.KindDebit:
		case walletd.KindSettle:
			kind = walletd.KindDebit
		default:
			continue
		}
		k := key{en.CreatedAt.UTC().Format(time.DateOnly), en.Currency, kind, en.Type}
		d := want[k]
		if d == nil {
			d = &walletd.DailyTotal{Date: k.date, Currency: k.currency, Kind: k.kind, Type: k.typ, Total: "0"}
			want[k] = d
		}
		d.Count++
		d.Total = addAmounts(tb, d.Total, en.Amount)
	}
	rows, err := db.read.Query(`SELECT date, currency, type, kind, count, total FROM daily_totals`)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	seen := 0
	for rows.Next() {
		var g walletd.DailyTotal
		if err := rows.Scan(&g.Date, &g.Currency, &g.Type, &g.Kind, &g.Count, &g.Total); err != nil {
			tb.Fatal(err)
		}
		if w := want[key{g.Date, g.Currency, g.Kind, g.Type}]; w == nil || w.Count != g.Count || w.Total != g.Total {
			tb.Fatalf("daily total %+v, the ledger's %+v (%d wallets)", g, w, len(wallets))
		}
		seen++
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	if seen != len(want) {
		tb.Fatalf("%d daily totals projected, %d in the ledger", seen, len(want))
	}
}
