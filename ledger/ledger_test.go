package ledger_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walletd/walletd"

	"github.com/shopspring/decimal"
	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/ledger/sqlite"
	"github.com/walletd/walletd/walletdtest"
)

// failingStore is the real SQLite store whose Commit fails on demand.
type failingStore struct {
	*sqlite.DB
	fail atomic.Bool
}

var _ walletd.LedgerStore = (*failingStore)(nil)

var errDiskFull = errors.New("failingStore: disk full")

// quietLogger keeps the expected "commit failed" errors out of test output.
var quietLogger = slog.New(slog.DiscardHandler)

func (s *failingStore) Commit(ctx context.Context, b *walletd.LedgerBatch) error {
	if s.fail.Load() {
		return errDiskFull
	}
	return s.DB.Commit(ctx, b)
}

// gatedStore holds the first Commit after arm until the gate is closed.
type gatedStore struct {
	*sqlite.DB
	mu      sync.Mutex
	gate    chan struct{}
	entered chan struct{}
}

var _ walletd.LedgerStore = (*gatedStore)(nil)

func (s *gatedStore) arm() (gate, entered chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gate, s.entered = make(chan struct{}), make(chan struct{})
	return s.gate, s.entered
}

func (s *gatedStore) Commit(ctx context.Context, b *walletd.LedgerBatch) error {
	s.mu.Lock()
	gate, entered := s.gate, s.entered
	s.gate, s.entered = nil, nil
	s.mu.Unlock()
	if gate != nil {
		close(entered)
		<-gate
	}
	return s.DB.Commit(ctx, b)
}

func submit(l *walletdtest.Ledger, key string, cmd walletd.Command) (*walletd.Result, error) {
	return l.Writer.Submit(context.Background(), key, cmd)
}

func mustSubmit(tb testing.TB, l *walletdtest.Ledger, key string, cmd walletd.Command) *walletd.Result {
	tb.Helper()
	res, err := submit(l, key, cmd)
	if err != nil {
		tb.Fatalf("Submit(%q, %#v): %v", key, cmd, err)
	}
	return res
}

func wantCode(tb testing.TB, err error, code string) {
	tb.Helper()
	if got := walletd.ErrorCode(err); got != code {
		tb.Fatalf("error %v: code %q, want %q", err, got, code)
	}
}

func credit(walletID, amount string) *ledger.Post {
	return &ledger.Post{WalletID: walletID, Kind: walletd.KindCredit, Amount: amount, Type: "topup"}
}

func debit(walletID, amount string) *ledger.Post {
	return &ledger.Post{WalletID: walletID, Kind: walletd.KindDebit, Amount: amount, Type: "order_payment"}
}

func transfer(from, to, amount string) *ledger.Transfer {
	return &ledger.Transfer{FromWalletID: from, ToWalletID: to, Amount: amount}
}

func reopenDB(tb testing.TB, l *walletdtest.Ledger) *sqlite.DB {
	tb.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(l.Dir, "ledger.db"))
	if err != nil {
		tb.Fatal(err)
	}
	return db
}

// rawDB opens the ledger file with a plain database/sql connection, the way
// an attacker or an operator with sqlite3 would.
func rawDB(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func headSeq(tb testing.TB, l *walletdtest.Ledger) uint64 {
	tb.Helper()
	var seq uint64
	if err := l.DB.ReadDB().QueryRow(`SELECT COALESCE(MAX(seq), 0) FROM entries`).Scan(&seq); err != nil {
		tb.Fatal(err)
	}
	return seq
}

func allEntries(tb testing.TB, l *walletdtest.Ledger) []*walletd.Entry {
	tb.Helper()
	es, err := l.DB.Entries(context.Background(), 0, 1<<30)
	if err != nil {
		tb.Fatal(err)
	}
	return es
}

func getWallet(tb testing.TB, l *walletdtest.Ledger, id string) *walletd.Wallet {
	tb.Helper()
	w, err := l.DB.Wallet(context.Background(), id)
	if err != nil {
		tb.Fatal(err)
	}
	return w
}

func wantBalance(tb testing.TB, l *walletdtest.Ledger, id, want string) {
	tb.Helper()
	w := getWallet(tb, l, id)
	if !w.Balance.Equal(decimal.RequireFromString(want)) {
		tb.Fatalf("wallet %s balance %s, want %s", id, w.Balance, want)
	}
}

// state is what "nothing changed" compares: the head and every wallet row.
type state struct {
	head    uint64
	wallets string
}

func snapshot(tb testing.TB, l *walletdtest.Ledger) state {
	tb.Helper()
	ws, err := l.DB.Wallets(context.Background(), "", "", 1000)
	if err != nil {
		tb.Fatal(err)
	}
	var b strings.Builder
	for _, w := range ws {
		fmt.Fprintf(&b, "%s %s %s %s %d\n", w.ID, w.Balance, w.Held, w.Status, w.LastSeq)
	}
	return state{head: headSeq(tb, l), wallets: b.String()}
}

func wantUnchanged(tb testing.TB, l *walletdtest.Ledger, before state) {
	tb.Helper()
	if after := snapshot(tb, l); after != before {
		tb.Fatalf("state changed:\nbefore %+v\nafter  %+v", before, after)
	}
}

func wantVerified(tb testing.TB, l *walletdtest.Ledger) *ledger.VerifyReport {
	tb.Helper()
	rep := l.Verify(tb)
	if !rep.OK {
		tb.Fatalf("verify: %+v", rep)
	}
	if rep.HeadSeq != headSeq(tb, l) {
		tb.Fatalf("verify head %d, ledger head %d", rep.HeadSeq, headSeq(tb, l))
	}
	return rep
}

func sameEntries(tb testing.TB, want, got []*walletd.Entry) {
	tb.Helper()
	if len(want) != len(got) {
		tb.Fatalf("%d entries, want %d", len(got), len(want))
	}
	for i := range want {
		w, g := want[i], got[i]
		if w.Seq != g.Seq || w.ID != g.ID || w.EventID != g.EventID || w.Hash != g.Hash || w.BalanceAfter != g.BalanceAfter ||
			w.IdempotencyKey != g.IdempotencyKey || w.RequestHash != g.RequestHash || !w.CreatedAt.Equal(g.CreatedAt) {
			tb.Fatalf("entry %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

func checkpointSeqs(cps []*walletd.Checkpoint) []uint64 {
	var out []uint64
	for _, cp := range cps {
		out = append(out, cp.Seq)
	}
	return out
}

// clock is a settable time for the writer.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func str(s string) *string { return &s }

// wallet returns the committed state of a wallet.
func wallet(tb testing.TB, l *walletdtest.Ledger, id string) *walletd.Wallet {
	tb.Helper()
	w, err := l.DB.Wallet(context.Background(), id)
	if err != nil {
		tb.Fatal(err)
	}
	return w
}

func wantMoney(tb testing.TB, l *walletdtest.Ledger, id, balance, held string) {
	tb.Helper()
	w := wallet(tb, l, id)
	if w.Balance.String() != balance || w.Held.String() != held {
		tb.Fatalf("wallet %s: balance %s held %s, want %s and %s", id, w.Balance, w.Held, balance, held)
	}
}

func verifies(tb testing.TB, l *walletdtest.Ledger) {
	tb.Helper()
	if rep := l.Verify(tb); !rep.OK {
		tb.Fatalf("ledger does not verify: %+v", rep)
	}
}

// race submits cmd from n goroutines at once and returns how many
// succeeded and the error codes of the rest.
func race(tb testing.TB, l *walletdtest.Ledger, n int, cmd func(i int) walletd.Command) (ok int, codes map[string]int) {
	tb.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var okN atomic.Int64
	codes = map[string]int{}
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			if _, err := submit(l, "", cmd(i)); err != nil {
				mu.Lock()
				codes[walletd.ErrorCode(err)]++
				mu.Unlock()
				return
			}
			okN.Add(1)
		}(i)
	}
	close(start)
	wg.Wait()
	return int(okN.Load()), codes
}

// entriesOfType returns the committed entries of one kind and type.
func entriesOfType(tb testing.TB, l *walletdtest.Ledger, kind, typ string) []*walletd.Entry {
	tb.Helper()
	var out []*walletd.Entry
	for _, e := range allEntries(tb, l) {
		if e.Kind == kind && e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

func metaMap(tb testing.TB, e *walletd.Entry) map[string]string {
	tb.Helper()
	var m map[string]string
	if err := jsonUnmarshal(e.Metadata, &m); err != nil {
		tb.Fatal(err)
	}
	return m
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if sub != "" && strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
