package ledger_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
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

func TestWriter_Submit(t *testing.T) {
	t.Run("CreateWallet", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		before := time.Now().UTC().Truncate(time.Microsecond)
		res := mustSubmit(t, l, "", &ledger.CreateWallet{UserID: "alice", Email: "alice@example.com", Currency: "USD"})
		if len(res.Entries) != 1 || res.Replayed {
			t.Fatalf("result %+v", res)
		}
		e := res.Entries[0]
		if e.Seq != 1 || e.Kind != walletd.KindOpen || e.Type != "open" || e.UserID != "alice" || e.Email != "alice@example.com" ||
			e.Currency != "USD" || e.Amount != "0.00" || e.BalanceAfter != "0.00" || e.HeldAfter != "0.00" ||
			!strings.HasPrefix(e.WalletID, "wal_") || !strings.HasPrefix(e.ID, "txn_") || !strings.HasPrefix(e.EventID, "wph_") ||
			e.KeyID != "k1" || e.PrevHash != (walletd.Hash{}) || e.IdempotencyKey != "" || e.RequestHash != "" {
			t.Fatalf("open entry %+v", e)
		}
		if e.Hash != ledger.ComputeHash(l.Keyring.Key("k1"), e) {
			t.Fatal("the open entry's hash is not the HMAC of its contents")
		}
		if e.CreatedAt.Location() != time.UTC || e.CreatedAt.Before(before) || e.CreatedAt.Nanosecond()%1000 != 0 {
			t.Fatalf("created_at %v", e.CreatedAt)
		}
		w := getWallet(t, l, e.WalletID)
		if w.UserID != "alice" || w.Email != "alice@example.com" || w.Currency != "USD" || w.Status != walletd.StatusActive ||
			!w.Balance.IsZero() || !w.Held.IsZero() || w.LastSeq != 1 {
			t.Fatalf("wallet %+v", w)
		}
		stored := allEntries(t, l)
		if len(stored) != 1 || stored[0].Hash != e.Hash || stored[0].ID != e.ID {
			t.Fatalf("stored entries %+v", stored)
		}

		// Another currency for the same user is another wallet.
		jpy := mustSubmit(t, l, "", &ledger.CreateWallet{UserID: "alice", Email: "alice@example.com", Currency: "JPY"}).Entries[0]
		if jpy.Amount != "0" || jpy.WalletID == e.WalletID || jpy.Seq != 2 || jpy.PrevHash != e.Hash {
			t.Fatalf("JPY open entry %+v", jpy)
		}
		wantVerified(t, l)
	})
	t.Run("ErrWalletExists", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		l.MustWallet(t, "alice", "USD")
		before := snapshot(t, l)
		_, err := submit(l, "", &ledger.CreateWallet{UserID: "alice", Email: "other@example.com", Currency: "USD"})
		wantCode(t, err, walletd.EWalletExists)
		wantUnchanged(t, l, before)

		// Racing creations of one wallet: exactly one wins, whatever the batching.
		const n = 20
		errs := make(chan error, n)
		for i := 0; i < n; i++ {
			go func() {
				_, err := submit(l, "", &ledger.CreateWallet{UserID: "bob", Email: "bob@example.com", Currency: "EUR"})
				errs <- err
			}()
		}
		won := 0
		for i := 0; i < n; i++ {
			if err := <-errs; err == nil {
				won++
			} else {
				wantCode(t, err, walletd.EWalletExists)
			}
		}
		if won != 1 || headSeq(t, l) != 2 {
			t.Fatalf("%d creations won, head %d", won, headSeq(t, l))
		}
	})
	t.Run("ErrInvalidEmail", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		for _, email := range []string{"", "   ", "alice", "@example.com", "alice@", "al ice@example.com", "alice@exa\tmple.com",
			"<alice@example.com>", "alice@exa\nmple.com", strings.Repeat("a", 250) + "@b.com", "alice\xff@example.com"} {
			_, err := submit(l, "", &ledger.CreateWallet{UserID: "alice", Email: email, Currency: "USD"})
			wantCode(t, err, walletd.EInvalid)
		}
		if headSeq(t, l) != 0 {
			t.Fatal("a refused wallet was written")
		}
	})
	t.Run("ErrInvalidCurrency", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		for _, cur := range []string{"", "XXX", "usd", "US", "USDX", "€"} {
			_, err := submit(l, "", &ledger.CreateWallet{UserID: "alice", Email: "alice@example.com", Currency: cur})
			wantCode(t, err, walletd.EInvalidCurrency)
		}
		if headSeq(t, l) != 0 {
			t.Fatal("a refused wallet was written")
		}
	})
	t.Run("ErrUserRequired", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		for _, user := range []string{"", "   ", "\t", strings.Repeat("u", walletd.MaxUserIDLen+1), "a\x00b", "a\x7fb", "a\xffb"} {
			_, err := submit(l, "", &ledger.CreateWallet{UserID: user, Email: "alice@example.com", Currency: "USD"})
			wantCode(t, err, walletd.EInvalid)
		}
		if headSeq(t, l) != 0 {
			t.Fatal("a refused wallet was written")
		}
	})

	t.Run("Credit", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		w := l.MustWallet(t, "alice", "USD")
		open := allEntries(t, l)[0]
		res := mustSubmit(t, l, "", &ledger.Post{WalletID: w, Kind: walletd.KindCredit, Amount: "25", Type: "topup",
			Reason: "Card top-up", OrderID: "wc_1001", Metadata: map[string]string{"source": "stripe", "channel": "web"}})
		e := res.Entries[0]
		if len(res.Entries) != 1 || e.Seq != 2 || e.Kind != walletd.KindCredit || e.Type != "topup" || e.WalletID != w ||
			e.Amount != "25.00" || e.BalanceAfter != "25.00" || e.HeldAfter != "0.00" || e.Reason != "Card top-up" ||
			e.OrderID != "wc_1001" || e.Metadata != `{"channel":"web","source":"stripe"}` || e.Email != "" ||
			e.TransferID != "" || e.Counterparty != "" || e.PrevHash != open.Hash {
			t.Fatalf("credit entry %+v", e)
		}
		e2 := l.MustCredit(t, w, "0.01")
		if e2.Seq != 3 || e2.BalanceAfter != "25.01" || e2.PrevHash != e.Hash {
			t.Fatalf("second credit %+v", e2)
		}
		wantBalance(t, l, w, "25.01")
		if got := getWallet(t, l, w).LastSeq; got != 3 {
			t.Fatalf("last_seq %d", got)
		}

		jpy := l.MustWallet(t, "alice", "JPY")
		if e := l.MustCredit(t, jpy, "1500"); e.Amount != "1500" || e.BalanceAfter != "1500" {
			t.Fatalf("JPY credit %+v", e)
		}
		kwd := l.MustWallet(t, "alice", "KWD")
		if e := l.MustCredit(t, kwd, "0.001"); e.Amount != "0.001" || e.BalanceAfter != "0.001" || e.HeldAfter != "0.000" {
			t.Fatalf("KWD credit %+v", e)
		}
		wantVerified(t, l)
	})
	t.Run("Debit", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		w := l.MustWallet(t, "alice", "USD")
		c := l.MustCredit(t, w, "10.00")
		e := mustSubmit(t, l, "", debit(w, "3.50")).Entries[0]
		if e.Kind != walletd.KindDebit || e.Type != "order_payment" || e.Amount != "3.50" || e.BalanceAfter != "6.50" || e.Seq != 3 || e.PrevHash != c.Hash {
			t.Fatalf("debit entry %+v", e)
		}
		e = mustSubmit(t, l, "", debit(w, "6.50")).Entries[0]
		if e.BalanceAfter != "0.00" {
			t.Fatalf("debit to zero %+v", e)
		}
		wantBalance(t, l, w, "0")
		wantVerified(t, l)
	})
	t.Run("ErrInsufficientFunds", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		w := l.MustWallet(t, "alice", "USD")
		empty := l.MustWallet(t, "bob", "USD")
		l.MustCredit(t, w, "10.00")
		before := snapshot(t, l)
		_, err := submit(l, "", debit(w, "10.01"))
		wantCode(t, err, walletd.EInsufficientFunds)
		_, err = submit(l, "", debit(empty, "0.01"))
		wantCode(t, err, walletd.EInsufficientFunds)
		_, err = submit(l, "", transfer(w, empty, "10.01"))
		wantCode(t, err, walletd.EInsufficientFunds)
		wantUnchanged(t, l, before)
		// The whole balance may go.
		mustSubmit(t, l, "", debit(w, "10.00"))
		wantBalance(t, l, w, "0")
	})
	t.Run("ErrWalletFrozen", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		w := l.MustWallet(t, "alice", "USD")
		other := l.MustWallet(t, "bob", "USD")
		l.MustCredit(t, w, "10.00")
		l.MustCredit(t, other, "10.00")
		f := mustSubmit(t, l, "", &ledger.SetStatus{WalletID: w, Frozen: true, Reason: "chargeback review"}).Entries[0]
		if f.Kind != walletd.KindFreeze || f.Type != walletd.KindFreeze || f.Amount != "0.00" || f.BalanceAfter != "10.00" || f.Reason != "chargeback review" {
			t.Fatalf("freeze entry %+v", f)
		}
		if st := getWallet(t, l, w).Status; st != walletd.StatusFrozen {
			t.Fatalf("status %s", st)
		}
		before := snapshot(t, l)
		_, err := submit(l, "", debit(w, "1.00"))
		wantCode(t, err, walletd.EWalletFrozen)
		_, err = submit(l, "", transfer(w, other, "1.00"))
		wantCode(t, err, walletd.EWalletFrozen)
		_, err = submit(l, "", &ledger.SetStatus{WalletID: w, Frozen: true})
		wantCode(t, err, walletd.EConflict)
		wantUnchanged(t, l, before)

		// Money may still come in.
		if e := l.MustCredit(t, w, "5.00"); e.BalanceAfter != "15.00" {
			t.Fatalf("credit to a frozen wallet %+v", e)
		}
		if es := mustSubmit(t, l, "", transfer(other, w, "1.00")).Entries; es[1].BalanceAfter != "16.00" {
			t.Fatalf("transfer into a frozen wallet %+v", es[1])
		}

		u := mustSubmit(t, l, "", &ledger.SetStatus{WalletID: w, Frozen: false}).Entries[0]
		if u.Kind != walletd.KindUnfreeze || u.Type != walletd.KindUnfreeze || u.Amount != "0.00" {
			t.Fatalf("unfreeze entry %+v", u)
		}
		if st := getWallet(t, l, w).Status; st != walletd.StatusActive {
			t.Fatalf("status %s", st)
		}
		_, err = submit(l, "", &ledger.SetStatus{WalletID: w, Frozen: false})
		wantCode(t, err, walletd.EConflict)
		mustSubmit(t, l, "", debit(w, "16.00"))
		wantBalance(t, l, w, "0")
		wantVerified(t, l)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		w := l.MustWallet(t, "alice", "USD")
		l.MustCredit(t, w, "10.00")
		before := snapshot(t, l)
		for _, cmd := range []walletd.Command{
			credit("wal_nope", "1.00"),
			debit("wal_nope", "1.00"),
			&ledger.SetStatus{WalletID: "wal_nope", Frozen: true},
			transfer("wal_nope", w, "1.00"),
			transfer(w, "wal_nope", "1.00"),
			transfer("wal_nope", "wal_nope", "1.00"),
		} {
			_, err := submit(l, "", cmd)
			wantCode(t, err, walletd.ENotFound)
		}
		wantUnchanged(t, l, before)
	})
	t.Run("ErrInvalidKind", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		w := l.MustWallet(t, "alice", "USD")
		before := snapshot(t, l)
		for _, kind := range []string{"", walletd.KindOpen, walletd.KindFreeze, "CREDIT", "refund"} {
			_, err := submit(l, "", &ledger.Post{WalletID: w, Kind: kind, Amount: "1.00", Type: "topup"})
			wantCode(t, err, walletd.EInvalid)
		}
		wantUnchanged(t, l, before)
	})
	t.Run("ErrInvalidAmount", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		a := l.MustWallet(t, "alice", "USD")
		b := l.MustWallet(t, "bob", "USD")
		yen := l.MustWallet(t, "carol", "JPY")
		l.MustCredit(t, a, "100.00")
		l.MustCredit(t, yen, "100")
		before := snapshot(t, l)
		for _, amount := range []string{"1e400", "-0", "0.001", "NaN", "Inf", "-1", "0", "0.00", "", " 1", "01", "1,00", "1234567890123456"} {
			for name, cmd := range map[string]walletd.Command{
				"credit":   credit(a, amount),
				"debit":    debit(a, amount),
				"transfer": transfer(a, b, amount),
			} {
				_, err := submit(l, "", cmd)
				if walletd.ErrorCode(err) != walletd.EInvalidAmount {
					t.Errorf("%s of %q: %v, want %s", name, amount, err, walletd.EInvalidAmount)
				}
			}
		}
		for _, amount := range []string{"1.0", "0.5"} {
			_, err := submit(l, "", credit(yen, amount))
			wantCode(t, err, walletd.EInvalidAmount)
		}
		wantUnchanged(t, l, before)
	})
	t.Run("ErrMaxBalance", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		a := l.MustWallet(t, "alice", "USD")
		b := l.MustWallet(t, "bob", "USD")
		l.MustCredit(t, a, "999999999999999.99")
		l.MustCredit(t, b, "1.00")
		before := snapshot(t, l)
		_, err := submit(l, "", credit(a, "0.01"))
		wantCode(t, err, walletd.EInvalidAmount)
		_, err = submit(l, "", transfer(b, a, "0.01"))
		wantCode(t, err, walletd.EInvalidAmount)
		wantUnchanged(t, l, before)
	})
	t.Run("ErrType", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		w := l.MustWallet(t, "alice", "USD")
		l.MustCredit(t, w, "10.00")
		before := snapshot(t, l)
		for _, typ := range []string{walletd.TypeTransferIn, walletd.TypeTransferOut, "", "Top-Up", "top up", "top-up", "topup\n",
			strings.Repeat("a", walletd.MaxTypeLen+1), "café"} {
			for _, kind := range []string{walletd.KindCredit, walletd.KindDebit} {
				_, err := submit(l, "", &ledger.Post{WalletID: w, Kind: kind, Amount: "1.00", Type: typ})
				if walletd.ErrorCode(err) != walletd.EInvalid {
					t.Errorf("%s with type %q: %v, want %s", kind, typ, err, walletd.EInvalid)
				}
			}
		}
		wantUnchanged(t, l, before)
		if e := mustSubmit(t, l, "", &ledger.Post{WalletID: w, Kind: walletd.KindCredit, Amount: "1.00", Type: strings.Repeat("a", walletd.MaxTypeLen)}).Entries[0]; len(e.Type) != walletd.MaxTypeLen {
			t.Fatalf("type %q", e.Type)
		}
	})
	t.Run("ErrText", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		a := l.MustWallet(t, "alice", "USD")
		b := l.MustWallet(t, "bob", "USD")
		l.MustCredit(t, a, "10.00")
		before := snapshot(t, l)
		long := strings.Repeat("r", walletd.MaxReasonLen+1)
		for _, cmd := range []walletd.Command{
			&ledger.Post{WalletID: a, Kind: walletd.KindCredit, Amount: "1.00", Type: "topup", Reason: long},
			&ledger.Post{WalletID: a, Kind: walletd.KindCredit, Amount: "1.00", Type: "topup", Reason: "bell\x07"},
			&ledger.Post{WalletID: a, Kind: walletd.KindCredit, Amount: "1.00", Type: "topup", Reason: "bad \xff utf-8"},
			&ledger.Post{WalletID: a, Kind: walletd.KindCredit, Amount: "1.00", Type: "topup", OrderID: strings.Repeat("o", walletd.MaxOrderIDLen+1)},
			&ledger.Post{WalletID: a, Kind: walletd.KindCredit, Amount: "1.00", Type: "topup", OrderID: "o\r\n1"},
			&ledger.Transfer{FromWalletID: a, ToWalletID: b, Amount: "1.00", Note: long},
			&ledger.SetStatus{WalletID: a, Frozen: true, Reason: long},
		} {
			_, err := submit(l, "", cmd)
			wantCode(t, err, walletd.EInvalid)
		}
		wantUnchanged(t, l, before)
		e := mustSubmit(t, l, "", &ledger.Post{WalletID: a, Kind: walletd.KindCredit, Amount: "1.00", Type: "topup",
			Reason: "tab\tand ünïcode ☕ " + strings.Repeat("r", 100)}).Entries[0]
		if !strings.HasPrefix(e.Reason, "tab\tand ünïcode ☕") {
			t.Fatalf("reason %q", e.Reason)
		}
		wantVerified(t, l)
	})
	t.Run("ErrMetadata", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		a := l.MustWallet(t, "alice", "USD")
		b := l.MustWallet(t, "bob", "USD")
		l.MustCredit(t, a, "10.00")
		before := snapshot(t, l)
		tooMany := map[string]string{}
		for i := 0; i <= walletd.MaxMetadataKeys; i++ {
			tooMany[fmt.Sprintf("k%02d", i)] = "v"
		}
		for name, m := range map[string]map[string]string{
			"TooManyKeys": tooMany,
			"EmptyKey":    {"": "v"},
			"LongKey":     {strings.Repeat("k", walletd.MaxMetadataKeyLen+1): "v"},
			"LongValue":   {"k": strings.Repeat("v", walletd.MaxMetadataValLen+1)},
			"BadUTF8Key":  {"k\xff": "v"},
			"BadUTF8Val":  {"k": "v\xff"},
		} {
			for op, cmd := range map[string]walletd.Command{
				"credit":   &ledger.Post{WalletID: a, Kind: walletd.KindCredit, Amount: "1.00", Type: "topup", Metadata: m},
				"debit":    &ledger.Post{WalletID: a, Kind: walletd.KindDebit, Amount: "1.00", Type: "fee", Metadata: m},
				"transfer": &ledger.Transfer{FromWalletID: a, ToWalletID: b, Amount: "1.00", Metadata: m},
			} {
				_, err := submit(l, "", cmd)
				if walletd.ErrorCode(err) != walletd.EInvalid {
					t.Errorf("%s with metadata %s: %v, want %s", op, name, err, walletd.EInvalid)
				}
			}
		}
		wantUnchanged(t, l, before)

		// The limits themselves are allowed.
		full := map[string]string{}
		for i := 0; i < walletd.MaxMetadataKeys; i++ {
			full[fmt.Sprintf("%0*d", walletd.MaxMetadataKeyLen, i)] = strings.Repeat("v", walletd.MaxMetadataValLen)
		}
		e := mustSubmit(t, l, "", &ledger.Post{WalletID: a, Kind: walletd.KindCredit, Amount: "1.00", Type: "topup", Metadata: full}).Entries[0]
		if want, _ := ledger.CanonicalMetadata(full); e.Metadata != want || want == "" {
			t.Fatal("the stored metadata is not the canonical JSON")
		}
		// JSON specials survive as canonical JSON.
		e = mustSubmit(t, l, "", &ledger.Post{WalletID: a, Kind: walletd.KindCredit, Amount: "1.00", Type: "topup",
			Metadata: map[string]string{"z": "<a&b>", "a": "\"quoted\"\n"}}).Entries[0]
		if e.Metadata != `{"a":"\"quoted\"\n","z":"\u003ca\u0026b\u003e"}` {
			t.Fatalf("metadata %s", e.Metadata)
		}
		// No metadata is the empty string, not "{}" or "null".
		for _, m := range []map[string]string{nil, {}} {
			if e := mustSubmit(t, l, "", &ledger.Post{WalletID: a, Kind: walletd.KindCredit, Amount: "1.00", Type: "topup", Metadata: m}).Entries[0]; e.Metadata != "" {
				t.Fatalf("metadata %q", e.Metadata)
			}
		}
		wantVerified(t, l)
	})

	t.Run("Transfer", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		a := l.MustWallet(t, "alice", "USD")
		b := l.MustWallet(t, "bob", "USD")
		c := l.MustCredit(t, a, "100.00")
		cmd := &ledger.Transfer{FromWalletID: a, ToWalletID: b, Amount: "30", Note: "rent", Metadata: map[string]string{"month": "may"}}
		res := mustSubmit(t, l, "tr-1", cmd)
		if len(res.Entries) != 2 || res.Replayed {
			t.Fatalf("result %+v", res)
		}
		out, in := res.Entries[0], res.Entries[1]
		if out.Seq != c.Seq+1 || out.Kind != walletd.KindDebit || out.Type != walletd.TypeTransferOut || out.WalletID != a ||
			out.Counterparty != b || out.Amount != "30.00" || out.BalanceAfter != "70.00" || out.PrevHash != c.Hash {
			t.Fatalf("out leg %+v", out)
		}
		if in.Seq != out.Seq+1 || in.Kind != walletd.KindCredit || in.Type != walletd.TypeTransferIn || in.WalletID != b ||
			in.Counterparty != a || in.Amount != "30.00" || in.BalanceAfter != "30.00" || in.PrevHash != out.Hash || in.UserID != "bob" {
			t.Fatalf("in leg %+v", in)
		}
		if !strings.HasPrefix(out.TransferID, "tfr_") || in.TransferID != out.TransferID {
			t.Fatalf("transfer ids %q %q", out.TransferID, in.TransferID)
		}
		for _, e := range res.Entries {
			if e.Reason != "rent" || e.Metadata != `{"month":"may"}` || e.IdempotencyKey != "tr-1" ||
				e.RequestHash != ledger.Fingerprint(cmd) || !e.CreatedAt.Equal(out.CreatedAt) {
				t.Fatalf("leg %+v", e)
			}
		}
		wantBalance(t, l, a, "70")
		wantBalance(t, l, b, "30")
		if getWallet(t, l, a).LastSeq != out.Seq || getWallet(t, l, b).LastSeq != in.Seq {
			t.Fatal("last_seq not moved")
		}
		wantVerified(t, l)
	})
	t.Run("ErrCurrencyMismatch", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		a := l.MustWallet(t, "alice", "USD")
		e := l.MustWallet(t, "alice", "EUR")
		l.MustCredit(t, a, "10.00")
		l.MustCredit(t, e, "10.00")
		before := snapshot(t, l)
		_, err := submit(l, "", transfer(a, e, "1.00"))
		wantCode(t, err, walletd.ECurrencyMismatch)
		_, err = submit(l, "", transfer(e, a, "1.00"))
		wantCode(t, err, walletd.ECurrencyMismatch)
		wantUnchanged(t, l, before)
	})
	t.Run("ErrSameWallet", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		a := l.MustWallet(t, "alice", "USD")
		l.MustCredit(t, a, "10.00")
		before := snapshot(t, l)
		_, err := submit(l, "", transfer(a, a, "1.00"))
		wantCode(t, err, walletd.EInvalid)
		wantUnchanged(t, l, before)
	})
	t.Run("ErrContextCanceled", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		a := l.MustWallet(t, "alice", "USD")
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := l.Writer.Submit(ctx, "", credit(a, "1.00")); !errors.Is(err, context.Canceled) {
			t.Fatalf("Submit with a cancelled context: %v", err)
		}
		// Whatever got queued was dropped: the next command lands right after the open.
		if e := l.MustCredit(t, a, "2.00"); e.Seq != 2 || e.BalanceAfter != "2.00" {
			t.Fatalf("next credit %+v", e)
		}
	})
}

func TestWriter_Idempotency(t *testing.T) {
	t.Run("Replayed", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		a := l.MustWallet(t, "alice", "USD")
		cmd := &ledger.Post{WalletID: a, Kind: walletd.KindCredit, Amount: "10.00", Type: "topup", Metadata: map[string]string{"x": "1"}}
		first := mustSubmit(t, l, "key-1", cmd)
		if first.Replayed || first.Entries[0].IdempotencyKey != "key-1" || first.Entries[0].RequestHash != ledger.Fingerprint(cmd) {
			t.Fatalf("first %+v", first.Entries[0])
		}
		before := snapshot(t, l)
		// An equal command, built anew (map order is irrelevant).
		again := mustSubmit(t, l, "key-1", &ledger.Post{WalletID: a, Kind: walletd.KindCredit, Amount: "10.00", Type: "topup", Metadata: map[string]string{"x": "1"}})
		if !again.Replayed {
			t.Fatal("the repeat was not marked Replayed")
		}
		sameEntries(t, first.Entries, again.Entries)
		wantUnchanged(t, l, before)
		wantBalance(t, l, a, "10")
	})
	t.Run("ReplayedTransfer", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		a := l.MustWallet(t, "alice", "USD")
		b := l.MustWallet(t, "bob", "USD")
		l.MustCredit(t, a, "10.00")
		first := mustSubmit(t, l, "tr-1", transfer(a, b, "4.00"))
		before := snapshot(t, l)
		again := mustSubmit(t, l, "tr-1", transfer(a, b, "4.00"))
		if !again.Replayed || len(again.Entries) != 2 {
			t.Fatalf("replay %+v", again)
		}
		sameEntries(t, first.Entries, again.Entries)
		wantUnchanged(t, l, before)
	})
	t.Run("ErrIdempotencyConflict", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		a := l.MustWallet(t, "alice", "USD")
		b := l.MustWallet(t, "bob", "USD")
		mustSubmit(t, l, "key-1", credit(a, "10.00"))
		before := snapshot(t, l)
		for _, cmd := range []walletd.Command{
			credit(a, "11.00"),
			credit(b, "10.00"),
			debit(a, "10.00"),
			&ledger.Post{WalletID: a, Kind: walletd.KindCredit, Amount: "10.00", Type: "topup", Reason: "other"},
			transfer(a, b, "10.00"),
			&ledger.SetStatus{WalletID: a, Frozen: true},
			&ledger.CreateWallet{UserID: "carol", Email: "carol@example.com", Currency: "USD"},
		} {
			_, err := submit(l, "key-1", cmd)
			wantCode(t, err, walletd.EIdempotencyConflict)
		}
		wantUnchanged(t, l, before)
	})
	t.Run("ConcurrentSameKey", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		a := l.MustWallet(t, "alice", "USD")
		const n = 50
		results := make(chan *walletd.Result, n)
		errs := make(chan error, n)
		var start sync.WaitGroup
		start.Add(1)
		for i := 0; i < n; i++ {
			go func() {
				start.Wait()
				res, err := submit(l, "same-key", credit(a, "10.00"))
				results <- res
				errs <- err
			}()
		}
		start.Done()
		var fresh int
		var first *walletd.Result
		for i := 0; i < n; i++ {
			res, err := <-results, <-errs
			if err != nil {
				t.Fatal(err)
			}
			if !res.Replayed {
				fresh++
			}
			if first == nil {
				first = res
			}
			sameEntries(t, first.Entries, res.Entries)
		}
		if fresh != 1 {
			t.Fatalf("%d submissions appended, want 1", fresh)
		}
		if headSeq(t, l) != 2 {
			t.Fatalf("head %d, want 2", headSeq(t, l))
		}
		wantBalance(t, l, a, "10")
	})
	t.Run("ConcurrentSameKeyConflicting", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		a := l.MustWallet(t, "alice", "USD")
		const n = 40
		type outcome struct {
			amount string
			res    *walletd.Result
			err    error
		}
		out := make(chan outcome, n)
		for i := 0; i < n; i++ {
			amount := []string{"1.00", "2.00"}[i%2]
			go func() {
				res, err := submit(l, "contested", credit(a, amount))
				out <- outcome{amount, res, err}
			}()
		}
		var winner string
		var outcomes []outcome
		for i := 0; i < n; i++ {
			o := <-out
			outcomes = append(outcomes, o)
			if o.err == nil && !o.res.Replayed {
				if winner != "" {
					t.Fatal("two submissions with one key both appended")
				}
				winner = o.amount
			}
		}
		if winner == "" {
			t.Fatal("no submission appended")
		}
		for _, o := range outcomes {
			if o.amount == winner && o.err != nil {
				t.Fatalf("a repeat of the winning command failed: %v", o.err)
			} else if o.amount != winner && walletd.ErrorCode(o.err) != walletd.EIdempotencyConflict {
				t.Fatalf("a different command with the same key: %v, want %s", o.err, walletd.EIdempotencyConflict)
			}
		}
		if headSeq(t, l) != 2 {
			t.Fatalf("head %d, want 2", headSeq(t, l))
		}
		wantBalance(t, l, a, winner)
	})
	t.Run("ReplayAfterReopen", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		a := l.MustWallet(t, "alice", "USD")
		b := l.MustWallet(t, "bob", "USD")
		l.MustCredit(t, a, "10.00")
		first := mustSubmit(t, l, "tr-1", transfer(a, b, "4.00"))
		l.Reopen(t)
		before := snapshot(t, l)
		again := mustSubmit(t, l, "tr-1", transfer(a, b, "4.00"))
		if !again.Replayed {
			t.Fatal("not replayed after a restart")
		}
		sameEntries(t, first.Entries, again.Entries)
		_, err := submit(l, "tr-1", transfer(a, b, "5.00"))
		wantCode(t, err, walletd.EIdempotencyConflict)
		wantUnchanged(t, l, before)
	})
	t.Run("RetryAfterRefusal", func(t *testing.T) {
		// A refused request records nothing, so the client may retry it
		// with the same key once the refusal no longer applies.
		l := walletdtest.MustOpenLedger(t, nil)
		a := l.MustWallet(t, "alice", "USD")
		_, err := submit(l, "pay-1", debit(a, "5.00"))
		wantCode(t, err, walletd.EInsufficientFunds)
		l.MustCredit(t, a, "10.00")
		res := mustSubmit(t, l, "pay-1", debit(a, "5.00"))
		if res.Replayed || res.Entries[0].BalanceAfter != "5.00" {
			t.Fatalf("retry %+v", res)
		}
	})
	t.Run("DistinctKeys", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		a := l.MustWallet(t, "alice", "USD")
		mustSubmit(t, l, "key-a", credit(a, "1.00"))
		if res := mustSubmit(t, l, "key-b", credit(a, "1.00")); res.Replayed {
			t.Fatal("another key was replayed")
		}
		mustSubmit(t, l, "", credit(a, "1.00"))
		if res := mustSubmit(t, l, "", credit(a, "1.00")); res.Replayed {
			t.Fatal("no key was replayed")
		}
		wantBalance(t, l, a, "4")
	})
	t.Run("ErrInvalidKey", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		a := l.MustWallet(t, "alice", "USD")
		before := snapshot(t, l)
		for _, key := range []string{"has space", strings.Repeat("k", walletd.MaxIdempotencyLen+1), "ü", "tab\t", "nl\n", "\x7f"} {
			_, err := submit(l, key, credit(a, "1.00"))
			wantCode(t, err, walletd.EInvalid)
		}
		wantUnchanged(t, l, before)
		mustSubmit(t, l, strings.Repeat("k", walletd.MaxIdempotencyLen), credit(a, "1.00"))
	})
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

// TestWriter_CommitFailure checks that a failed commit leaves no trace:
// not in the database, not in the writer's memory (balances, seq, chain
// head, wallets by user, idempotency keys, checkpoint counter).
func TestWriter_CommitFailure(t *testing.T) {
	t.Run("StoreError", func(t *testing.T) {
		var fs *failingStore
		l := walletdtest.MustOpenLedger(t, func(c *ledger.WriterConfig) {
			fs = &failingStore{DB: c.Store.(*sqlite.DB)}
			c.Store = fs
			c.CheckpointEvery = 3
			c.Logger = quietLogger
		})
		a := l.MustWallet(t, "alice", "USD") // seq 1
		b := l.MustWallet(t, "bob", "USD")   // seq 2
		e2 := l.MustCredit(t, a, "10.00")    // seq 3, checkpoint
		fs.fail.Store(true)

		_, err := submit(l, "key-fail", credit(a, "5.00"))
		if err == nil || !errors.Is(err, errDiskFull) {
			t.Fatalf("Submit during a failing commit: %v", err)
		}
		wantCode(t, err, walletd.EInternal)
		if msg := walletd.ErrorMessage(err); strings.Contains(msg, "disk") {
			t.Fatalf("the internal error leaks: %q", msg)
		}
		// Several commands, possibly in one batch, all fail.
		var wg sync.WaitGroup
		for _, cmd := range []walletd.Command{
			&ledger.CreateWallet{UserID: "carol", Email: "carol@example.com", Currency: "USD"},
			transfer(a, b, "3.00"),
			&ledger.SetStatus{WalletID: a, Frozen: true},
			debit(a, "1.00"),
		} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := submit(l, "", cmd); err == nil {
					t.Errorf("%#v committed through a failing store", cmd)
				}
			}()
		}
		wg.Wait()
		fs.fail.Store(false)

		e3 := mustSubmit(t, l, "", credit(a, "7.00")).Entries[0]
		if e3.Seq != 4 || e3.PrevHash != e2.Hash || e3.BalanceAfter != "17.00" {
			t.Fatalf("the entry after the failure %+v; want seq 4 chained on seq 3 with balance 17.00", e3)
		}
		wantBalance(t, l, a, "17")
		if w := getWallet(t, l, a); w.Status != walletd.StatusActive || w.LastSeq != 4 {
			t.Fatalf("wallet %+v", w)
		}
		wantBalance(t, l, b, "0")
		// The failed wallet creation left no claim on carol's USD wallet.
		carol := mustSubmit(t, l, "", &ledger.CreateWallet{UserID: "carol", Email: "carol@example.com", Currency: "USD"}).Entries[0]
		if carol.Seq != 5 {
			t.Fatalf("carol's open entry has seq %d", carol.Seq)
		}
		// The failed request's key was never recorded.
		if res := mustSubmit(t, l, "key-fail", credit(a, "1.00")); res.Replayed || res.Entries[0].BalanceAfter != "18.00" {
			t.Fatalf("key-fail after the failure %+v", res)
		}
		// Debit, freeze and transfer work: a was not left frozen.
		mustSubmit(t, l, "", transfer(a, b, "3.00"))

		es := allEntries(t, l)
		for i, e := range es {
			if e.Seq != uint64(i+1) {
				t.Fatalf("entry %d has seq %d", i, e.Seq)
			}
		}
		cps, err := l.DB.Checkpoints(context.Background(), 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(cps) != 2 || cps[0].Seq != 3 || cps[1].Seq != 6 {
			t.Fatalf("checkpoints %v, want at seqs 3 and 6", checkpointSeqs(cps))
		}
		wantVerified(t, l)
		l.Reopen(t)
		wantBalance(t, l, a, "15")
		wantVerified(t, l)
	})
	t.Run("SQLiteAbort", func(t *testing.T) {
		// The real store fails half-way, after inserting the entry: the
		// transaction must roll back and the writer must forget the batch.
		l := walletdtest.MustOpenLedger(t, func(c *ledger.WriterConfig) { c.Logger = quietLogger })
		a := l.MustWallet(t, "alice", "USD")
		e2 := l.MustCredit(t, a, "10.00")
		raw := rawDB(t, filepath.Join(l.Dir, "ledger.db"))
		if _, err := raw.Exec(`CREATE TRIGGER fail_wallet BEFORE UPDATE ON wallets WHEN NEW.balance = '15'
			BEGIN SELECT RAISE(ABORT, 'injected failure'); END`); err != nil {
			t.Fatal(err)
		}
		_, err := submit(l, "", credit(a, "5.00"))
		if err == nil || !strings.Contains(err.Error(), "injected failure") {
			t.Fatalf("Submit: %v, want the injected failure", err)
		}
		if headSeq(t, l) != 2 {
			t.Fatalf("head %d after a rolled-back commit", headSeq(t, l))
		}
		wantBalance(t, l, a, "10")
		if _, err := raw.Exec(`DROP TRIGGER fail_wallet`); err != nil {
			t.Fatal(err)
		}
		e3 := mustSubmit(t, l, "", credit(a, "5.00")).Entries[0]
		if e3.Seq != 3 || e3.PrevHash != e2.Hash || e3.BalanceAfter != "15.00" {
			t.Fatalf("entry after the rollback %+v", e3)
		}
		wantBalance(t, l, a, "15")
		wantVerified(t, l)
	})
}

func checkpointSeqs(cps []*walletd.Checkpoint) []uint64 {
	var out []uint64
	for _, cp := range cps {
		out = append(out, cp.Seq)
	}
	return out
}

func TestWriter_Reopen(t *testing.T) {
	l := walletdtest.MustOpenLedger(t, nil)
	a := l.MustWallet(t, "alice", "USD")
	b := l.MustWallet(t, "bob", "USD")
	l.MustCredit(t, a, "100.00")
	mustSubmit(t, l, "", transfer(a, b, "25.50"))
	mustSubmit(t, l, "", &ledger.SetStatus{WalletID: b, Frozen: true})
	es := allEntries(t, l)
	head := es[len(es)-1]
	before := snapshot(t, l)

	l.Reopen(t)
	wantUnchanged(t, l, before)
	if seq, h := l.Writer.Head(); seq != head.Seq || h != head.Hash {
		t.Fatalf("restored head %d %s, want %d %s", seq, h, head.Seq, head.Hash)
	}
	if l.Writer.LedgerID() != l.DB.LedgerID() || !strings.HasPrefix(l.Writer.LedgerID(), "ldg_") {
		t.Fatalf("ledger id %q, db %q", l.Writer.LedgerID(), l.DB.LedgerID())
	}
	e := l.MustCredit(t, a, "1.00")
	if e.Seq != head.Seq+1 || e.PrevHash != head.Hash || e.BalanceAfter != "75.50" {
		t.Fatalf("first entry after restart %+v", e)
	}
	// Statuses and the one-wallet-per-user rule come back too.
	_, err := submit(l, "", debit(b, "1.00"))
	wantCode(t, err, walletd.EWalletFrozen)
	_, err = submit(l, "", &ledger.CreateWallet{UserID: "alice", Email: "alice@example.com", Currency: "USD"})
	wantCode(t, err, walletd.EWalletExists)
	_, err = submit(l, "", debit(a, "75.51"))
	wantCode(t, err, walletd.EInsufficientFunds)
	wantVerified(t, l)

	t.Run("EmptyLedger", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		id := l.DB.LedgerID()
		l.Reopen(t)
		if seq, _ := l.Writer.Head(); seq != 0 || l.DB.LedgerID() != id {
			t.Fatalf("head %d, ledger id %q (was %q)", seq, l.DB.LedgerID(), id)
		}
		if e := l.MustCredit(t, l.MustWallet(t, "alice", "USD"), "1.00"); e.Seq != 2 {
			t.Fatalf("seq %d", e.Seq)
		}
	})
}

func TestNewWriter(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper string
	}{
		{"ErrTamperedHeadAmount", `UPDATE entries SET amount = '999.00' WHERE seq = (SELECT MAX(seq) FROM entries)`},
		{"ErrTamperedHeadBalance", `UPDATE entries SET balance_after = '999.00' WHERE seq = (SELECT MAX(seq) FROM entries)`},
		{"ErrTamperedHeadHash", `UPDATE entries SET hash = zeroblob(32) WHERE seq = (SELECT MAX(seq) FROM entries)`},
		{"ErrTamperedHeadPrevHash", `UPDATE entries SET prev_hash = zeroblob(32) WHERE seq = (SELECT MAX(seq) FROM entries)`},
		{"ErrTamperedHeadKeyID", `UPDATE entries SET key_id = 'k9' WHERE seq = (SELECT MAX(seq) FROM entries)`},
		{"ErrWalletAfterHead", `UPDATE wallets SET last_seq = 99`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := walletdtest.MustOpenLedger(t, nil)
			a := l.MustWallet(t, "alice", "USD")
			l.MustCredit(t, a, "10.00")
			l.MustCredit(t, a, "5.00")
			l.Close()
			raw := rawDB(t, filepath.Join(l.Dir, "ledger.db"))
			if _, err := raw.Exec(tc.tamper); err != nil {
				t.Fatal(err)
			}
			raw.Close()
			db := reopenDB(t, l)
			defer db.Close()
			cfg := l.Config
			cfg.Store = db
			if w, err := ledger.NewWriter(context.Background(), cfg); err == nil {
				w.Open()
				w.Close()
				t.Fatal("NewWriter started on a tampered ledger")
			}
		})
	}
	t.Run("ErrNoActiveKey", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		cfg := l.Config
		cfg.Keyring = &ledger.Keyring{Active: "k1"}
		if _, err := ledger.NewWriter(context.Background(), cfg); err == nil {
			t.Fatal("NewWriter started without its active key")
		}
	})
}

func TestWriter_Checkpoints(t *testing.T) {
	ctx := context.Background()
	checkpoints := func(tb testing.TB, l *walletdtest.Ledger) []*walletd.Checkpoint {
		tb.Helper()
		cps, err := l.DB.Checkpoints(ctx, 0, 0)
		if err != nil {
			tb.Fatal(err)
		}
		return cps
	}
	checkSigned := func(tb testing.TB, l *walletdtest.Ledger, cps []*walletd.Checkpoint) {
		tb.Helper()
		es := allEntries(tb, l)
		for _, cp := range cps {
			e := es[cp.Seq-1]
			if !cp.Verify(l.Pub) || cp.HeadHash != e.Hash || cp.LedgerID != l.DB.LedgerID() || cp.CreatedAt.Before(e.CreatedAt) {
				tb.Fatalf("checkpoint %+v does not sign entry %d (%s)", cp, e.Seq, e.Hash)
			}
		}
	}

	t.Run("Every", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, func(c *ledger.WriterConfig) { c.CheckpointEvery = 100 })
		a := l.MustWallet(t, "alice", "USD")
		for i := 0; i < 249; i++ { // seqs 2..250, one entry per batch
			l.MustCredit(t, a, "1.00")
		}
		cps := checkpoints(t, l)
		if got := fmt.Sprint(checkpointSeqs(cps)); got != "[100 200]" {
			t.Fatalf("checkpoints at %s, want [100 200]", got)
		}
		checkSigned(t, l, cps)

		// The count carries on across a restart from the last checkpoint.
		l.Reopen(t)
		for i := 0; i < 50; i++ {
			l.MustCredit(t, a, "1.00")
		}
		cps = checkpoints(t, l)
		if got := fmt.Sprint(checkpointSeqs(cps)); got != "[100 200 300]" {
			t.Fatalf("checkpoints at %s, want [100 200 300]", got)
		}
		checkSigned(t, l, cps)
		if rep := wantVerified(t, l); rep.Checkpoints != 3 {
			t.Fatalf("verify saw %d checkpoints", rep.Checkpoints)
		}
	})
	t.Run("EveryWithTransfers", func(t *testing.T) {
		// A batch that crosses the mark is checkpointed at its end.
		l := walletdtest.MustOpenLedger(t, func(c *ledger.WriterConfig) { c.CheckpointEvery = 4 })
		a := l.MustWallet(t, "alice", "USD") // 1
		b := l.MustWallet(t, "bob", "USD")   // 2
		l.MustCredit(t, a, "10.00")          // 3
		mustSubmit(t, l, "", transfer(a, b, "1.00"))
		mustSubmit(t, l, "", transfer(a, b, "1.00"))
		mustSubmit(t, l, "", transfer(a, b, "1.00"))
		cps := checkpoints(t, l)
		if got := fmt.Sprint(checkpointSeqs(cps)); got != "[5 9]" {
			t.Fatalf("checkpoints at %s, want [5 9]", got)
		}
		checkSigned(t, l, cps)
		wantVerified(t, l)
	})
	t.Run("Interval", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, func(c *ledger.WriterConfig) {
			c.CheckpointEvery = 0
			c.CheckpointInterval = 50 * time.Millisecond
		})
		a := l.MustWallet(t, "alice", "USD")
		l.MustCredit(t, a, "1.00")
		waitCheckpoint := func(seq uint64) {
			walletdtest.CheckFor(t, 5*time.Second, 10*time.Millisecond, func() error {
				cps := checkpoints(t, l)
				if len(cps) == 0 || cps[len(cps)-1].Seq != seq {
					return walletdtest.Errorf("checkpoints at %v, want the last at %d", checkpointSeqs(cps), seq)
				}
				return nil
			})
		}
		waitCheckpoint(2)
		l.MustCredit(t, a, "1.00")
		waitCheckpoint(3)
		cps := checkpoints(t, l)
		if got := fmt.Sprint(checkpointSeqs(cps)); got != "[2 3]" {
			t.Fatalf("checkpoints at %s, want [2 3]", got)
		}
		checkSigned(t, l, cps)
		l.Close() // stop the ticker before verifying a still database
		l.DB = reopenDB(t, l)
		wantVerified(t, l)
	})
	t.Run("NoKey", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, func(c *ledger.WriterConfig) {
			c.CheckpointKey = nil
			c.CheckpointEvery = 2
			c.CheckpointInterval = time.Millisecond
		})
		a := l.MustWallet(t, "alice", "USD")
		for i := 0; i < 5; i++ {
			l.MustCredit(t, a, "1.00")
		}
		if cps := checkpoints(t, l); len(cps) != 0 {
			t.Fatalf("checkpoints without a key: %v", checkpointSeqs(cps))
		}
		wantVerified(t, l)
	})
}

func TestWriter_Close(t *testing.T) {
	t.Run("FinishesQueuedWork", func(t *testing.T) {
		var gs *gatedStore
		l := walletdtest.MustOpenLedger(t, func(c *ledger.WriterConfig) {
			gs = &gatedStore{DB: c.Store.(*sqlite.DB)}
			c.Store = gs
		})
		a := l.MustWallet(t, "alice", "USD")
		w := l.Writer
		gate, entered := gs.arm()
		first := make(chan error, 1)
		go func() {
			_, err := w.Submit(context.Background(), "", credit(a, "100.00"))
			first <- err
		}()
		<-entered // the writer is inside Commit with the first credit

		const n = 20
		results := make(chan error, n)
		for i := 0; i < n; i++ {
			go func() {
				_, err := w.Submit(context.Background(), "", credit(a, "1.00"))
				results <- err
			}()
		}
		closed := make(chan struct{})
		go func() {
			w.Close()
			close(closed)
		}()
		close(gate)
		select {
		case <-closed:
		case <-time.After(20 * time.Second):
			t.Fatal("Close did not return")
		}
		if err := <-first; err != nil {
			t.Fatalf("the command in flight during Close: %v", err)
		}
		done := 0
		for i := 0; i < n; i++ {
			switch err := <-results; {
			case err == nil:
				done++
			case walletd.ErrorCode(err) == walletd.EUnavailable:
			default:
				t.Fatalf("a command racing Close: %v", err)
			}
		}
		t.Logf("%d of %d commands racing Close were committed", done, n)
		// Every command answered with success is committed, and no other.
		wantBalance(t, l, a, fmt.Sprintf("%d", 100+done))
		if got := headSeq(t, l); got != uint64(2+done) {
			t.Fatalf("head %d, want %d", got, 2+done)
		}

		_, err := w.Submit(context.Background(), "", credit(a, "1.00"))
		wantCode(t, err, walletd.EUnavailable)
		if !errors.Is(err, ledger.ErrClosed) {
			t.Fatalf("Submit after Close: %v, want ErrClosed", err)
		}
		if err := w.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		wantVerified(t, l)
	})
	t.Run("ErrUnavailable", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		a := l.MustWallet(t, "alice", "USD")
		w := l.Writer
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		for _, cmd := range []walletd.Command{credit(a, "1.00"), &ledger.CreateWallet{UserID: "bob", Email: "bob@example.com", Currency: "USD"}} {
			_, err := w.Submit(context.Background(), "key", cmd)
			wantCode(t, err, walletd.EUnavailable)
		}
		if headSeq(t, l) != 1 {
			t.Fatal("a command was written after Close")
		}
	})
}

// TestWriter_Concurrent runs 100 goroutines of 100 random transfers each
// among 10 wallets and checks that money is conserved, no balance goes
// negative, the wallets table agrees with the entries, and the chain verifies.
func TestWriter_Concurrent(t *testing.T) {
	const (
		nWallets = 10
		workers  = 100
		perWork  = 100
		initial  = "1000.00"
	)
	ctx := context.Background()
	l := walletdtest.MustOpenLedger(t, nil)
	ids := make([]string, nWallets)
	for i := range ids {
		ids[i] = l.MustWallet(t, fmt.Sprintf("user%d", i), "USD")
		l.MustCredit(t, ids[i], initial)
	}
	w := l.Writer
	var ok, refused atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for g := 0; g < workers; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 0x5eed))
			for i := 0; i < perWork; i++ {
				from := rng.IntN(nWallets)
				to := (from + 1 + rng.IntN(nWallets-1)) % nWallets
				amount := decimal.New(int64(1+rng.IntN(30000)), -2).StringFixed(2) // 0.01 … 300.00
				res, err := w.Submit(ctx, "", transfer(ids[from], ids[to], amount))
				switch walletd.ErrorCode(err) {
				case "":
					if len(res.Entries) != 2 {
						errs <- fmt.Errorf("transfer returned %d entries", len(res.Entries))
						return
					}
					ok.Add(1)
				case walletd.EInsufficientFunds:
					refused.Add(1)
				default:
					errs <- err
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("%d transfers, %d refused for insufficient funds", ok.Load(), refused.Load())
	if ok.Load()+refused.Load() != workers*perWork || ok.Load() == 0 {
		t.Fatalf("%d ok + %d refused", ok.Load(), refused.Load())
	}

	ws, err := l.DB.Wallets(ctx, "", "", 100)
	if err != nil {
		t.Fatal(err)
	}
	total := decimal.Zero
	for _, w := range ws {
		if w.Balance.IsNegative() {
			t.Errorf("wallet %s is negative: %s", w.ID, w.Balance)
		}
		total = total.Add(w.Balance)
	}
	if want := decimal.RequireFromString(initial).Mul(decimal.NewFromInt(nWallets)); !total.Equal(want) {
		t.Fatalf("sum of balances %s, want %s", total, want)
	}

	// Replay the entries: every balance_after follows from the one before,
	// and each wallet row equals its last entry.
	es := allEntries(t, l)
	if uint64(len(es)) != uint64(2*nWallets)+2*uint64(ok.Load()) {
		t.Fatalf("%d entries, want %d", len(es), 2*nWallets+2*ok.Load())
	}
	running := map[string]decimal.Decimal{}
	last := map[string]*walletd.Entry{}
	legs := map[string][]*walletd.Entry{}
	for _, e := range es {
		amt := decimal.RequireFromString(e.Amount)
		switch e.Kind {
		case walletd.KindCredit:
			running[e.WalletID] = running[e.WalletID].Add(amt)
		case walletd.KindDebit:
			running[e.WalletID] = running[e.WalletID].Sub(amt)
		}
		if !running[e.WalletID].Equal(decimal.RequireFromString(e.BalanceAfter)) {
			t.Fatalf("seq %d: balance_after %s, replay gives %s", e.Seq, e.BalanceAfter, running[e.WalletID])
		}
		if running[e.WalletID].IsNegative() {
			t.Fatalf("seq %d takes wallet %s negative", e.Seq, e.WalletID)
		}
		last[e.WalletID] = e
		if e.TransferID != "" {
			legs[e.TransferID] = append(legs[e.TransferID], e)
		}
	}
	for _, w := range ws {
		e := last[w.ID]
		if !w.Balance.Equal(decimal.RequireFromString(e.BalanceAfter)) || w.LastSeq != e.Seq {
			t.Fatalf("wallet %s: balance %s last_seq %d, its last entry says %s at seq %d", w.ID, w.Balance, w.LastSeq, e.BalanceAfter, e.Seq)
		}
	}
	if len(legs) != int(ok.Load()) {
		t.Fatalf("%d transfer ids, want %d", len(legs), ok.Load())
	}
	for id, ls := range legs {
		if len(ls) != 2 || ls[1].Seq != ls[0].Seq+1 || ls[0].Type != walletd.TypeTransferOut || ls[1].Type != walletd.TypeTransferIn ||
			ls[0].Amount != ls[1].Amount || ls[0].Counterparty != ls[1].WalletID || ls[1].Counterparty != ls[0].WalletID {
			t.Fatalf("transfer %s legs %+v", id, ls)
		}
	}
	rep := wantVerified(t, l)
	if rep.Checkpoints == 0 {
		t.Fatal("no checkpoints were written")
	}
}
