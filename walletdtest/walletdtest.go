// Package walletdtest holds the helpers walletd's tests share: a real
// ledger on a SQLite file in a temp dir, an embedded JetStream, and
// polling instead of sleeping.
package walletdtest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/ledger/sqlite"
)

// Ledger is an open ledger for a test: database, keyring, checkpoint key
// and a running writer. Close is registered with t.Cleanup.
type Ledger struct {
	Dir     string
	DB      *sqlite.DB
	Keyring *walletd.Keyring
	Priv    ed25519.PrivateKey
	Pub     ed25519.PublicKey
	Writer  *ledger.Writer
	Config  ledger.WriterConfig
}

// MustOpenLedger opens a ledger in tb.TempDir(). modify, if not nil, may
// change the writer config before the writer starts.
func MustOpenLedger(tb testing.TB, modify func(*ledger.WriterConfig)) *Ledger {
	tb.Helper()
	dir := tb.TempDir()
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "ledger.db"))
	if err != nil {
		tb.Fatal(err)
	}
	kr, err := walletd.NewKeyring(time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	l := &Ledger{Dir: dir, DB: db, Keyring: kr, Priv: priv, Pub: pub}
	l.Config = ledger.WriterConfig{Store: db, Keyring: kr, CheckpointKey: priv, CheckpointEvery: 100,
		Lookup: func(ctx context.Context, key string) ([]*walletd.Entry, error) {
			return l.DB.LookupIdempotencyKey(ctx, key)
		}}
	if modify != nil {
		modify(&l.Config)
	}
	if l.Writer, err = ledger.NewWriter(context.Background(), l.Config); err != nil {
		tb.Fatal(err)
	}
	l.Writer.Open()
	tb.Cleanup(func() { l.Close() })
	return l
}

// Close stops the writer and closes the database; safe to call twice.
func (l *Ledger) Close() {
	if l.Writer != nil {
		l.Writer.Close()
		l.Writer = nil
	}
	if l.DB != nil {
		l.DB.Close()
		l.DB = nil
	}
}

// Reopen closes and reopens the database and writer, as a restart would.
func (l *Ledger) Reopen(tb testing.TB) {
	tb.Helper()
	l.Close()
	db, err := sqlite.Open(context.Background(), filepath.Join(l.Dir, "ledger.db"))
	if err != nil {
		tb.Fatal(err)
	}
	l.DB = db
	l.Config.Store = db
	if l.Writer, err = ledger.NewWriter(context.Background(), l.Config); err != nil {
		tb.Fatal(err)
	}
	l.Writer.Open()
}

// MustWallet creates a wallet and returns its id.
func (l *Ledger) MustWallet(tb testing.TB, user, currency string) string {
	tb.Helper()
	r, err := l.Writer.Submit(context.Background(), "", &ledger.CreateWallet{UserID: user, Email: user + "@example.com", Currency: currency})
	if err != nil {
		tb.Fatal(err)
	}
	return r.Entries[0].WalletID
}

// MustCredit credits a wallet.
func (l *Ledger) MustCredit(tb testing.TB, walletID, amount string) *walletd.Entry {
	tb.Helper()
	r, err := l.Writer.Submit(context.Background(), "", &ledger.Post{WalletID: walletID, Kind: walletd.KindCredit, Amount: amount, Type: "topup"})
	if err != nil {
		tb.Fatal(err)
	}
	return r.Entries[0]
}

// Verify runs the full verifier over the ledger's database.
func (l *Ledger) Verify(tb testing.TB) *ledger.VerifyReport {
	tb.Helper()
	ctx := context.Background()
	it, err := l.DB.IterateEntries(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	defer it.Close()
	cps, err := l.DB.Checkpoints(ctx, 0, 0)
	if err != nil {
		tb.Fatal(err)
	}
	rep, err := ledger.Verify(ctx, it, cps, ledger.VerifyOptions{Keyring: l.Keyring, PublicKey: l.Pub, LedgerID: l.DB.LedgerID()})
	if err != nil {
		tb.Fatal(err)
	}
	return rep
}

// CheckFor calls fn every `every` until it returns nil or total elapses,
// then fails the test with fn's last error.
func CheckFor(tb testing.TB, total, every time.Duration, fn func() error) {
	tb.Helper()
	deadline := time.Now().Add(total)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("after %v: %v", total, err)
		}
		time.Sleep(every)
	}
}

// CheckHolds calls fn every `every` for total and fails the test at the
// first error fn returns: for what must stay true for a while (nothing
// more is sent, nothing is retried), where CheckFor waits for what must
// become true.
func CheckHolds(tb testing.TB, total, every time.Duration, fn func() error) {
	tb.Helper()
	deadline := time.Now().Add(total)
	for {
		if err := fn(); err != nil {
			tb.Fatal(err)
		}
		if time.Now().After(deadline) {
			return
		}
		time.Sleep(every)
	}
}

// Errorf is fmt.Errorf, re-exported so CheckFor callbacks read naturally.
var Errorf = fmt.Errorf
