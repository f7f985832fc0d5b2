package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/walletd/walletd"
	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/ledger/sqlite"
)

// MustOpenDB opens a ledger database in a temp dir and closes it with the test.
func MustOpenDB(tb testing.TB) *sqlite.DB {
	tb.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "ledger.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

var testKey = []byte("store-test-key-0123456789abcdef!")

// makeEntries returns entries after..after+n chained on prev, as the
// writer would make them.
func makeEntries(after uint64, prev walletd.Hash, n int, walletID, idemKey string) []*walletd.Entry {
	var out []*walletd.Entry
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for i := 1; i <= n; i++ {
		seq := after + uint64(i)
		e := &walletd.Entry{
			Seq: seq, ID: fmt.Sprintf("txn_%03d", seq), EventID: fmt.Sprintf("wph_%03d", seq),
			Kind: walletd.KindCredit, Type: "topup", WalletID: walletID, UserID: "alice", Currency: "USD",
			Amount: "1.00", BalanceAfter: fmt.Sprintf("%d.00", seq), HeldAfter: "0.00",
			Reason: "r ☕", OrderID: "o1", Metadata: `{"a":"b"}`, IdempotencyKey: idemKey,
			CreatedAt: at.Add(time.Duration(seq) * 1500 * time.Microsecond), KeyID: "k1", PrevHash: prev,
		}
		if idemKey != "" {
			e.RequestHash = strings.Repeat("ab", 32)
		}
		e.Hash = ledger.ComputeHash(testKey, e)
		prev = e.Hash
		out = append(out, e)
	}
	return out
}

func testWallet(id, user string, balance string, lastSeq uint64) *walletd.Wallet {
	at := time.Date(2024, 5, 1, 12, 0, 0, 123456000, time.UTC)
	return &walletd.Wallet{ID: id, UserID: user, Email: user + "@example.com", Currency: "USD",
		Balance: decimal.RequireFromString(balance), Held: decimal.Zero, Status: walletd.StatusActive,
		CreatedAt: at, UpdatedAt: at.Add(time.Second), LastSeq: lastSeq}
}

func sameEntry(tb testing.TB, got, want *walletd.Entry) {
	tb.Helper()
	g, w := *got, *want
	if !g.CreatedAt.Equal(w.CreatedAt) {
		tb.Fatalf("seq %d: created_at %v, want %v", w.Seq, g.CreatedAt, w.CreatedAt)
	}
	g.CreatedAt, w.CreatedAt = time.Time{}, time.Time{}
	if !reflect.DeepEqual(g, w) {
		tb.Fatalf("entry read back:\n got %+v\nwant %+v", g, w)
	}
}

func sameWallet(tb testing.TB, got, want *walletd.Wallet) {
	tb.Helper()
	if got.ID != want.ID || got.UserID != want.UserID || got.Email != want.Email || got.Currency != want.Currency ||
		!got.Balance.Equal(want.Balance) || !got.Held.Equal(want.Held) || got.Status != want.Status ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) || got.LastSeq != want.LastSeq {
		tb.Fatalf("wallet read back:\n got %+v\nwant %+v", got, want)
	}
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ledger.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	id := db.LedgerID()
	if !strings.HasPrefix(id, "ldg_") {
		t.Fatalf("ledger id %q", id)
	}
	if err := db.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	t.Run("ReadPoolIsReadOnly", func(t *testing.T) {
		if _, err := db.ReadDB().Exec(`INSERT INTO meta (key, value) VALUES ('x', 'y')`); err == nil {
			t.Fatal("the read pool accepted a write")
		}
	})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if db.LedgerID() != id {
		t.Fatalf("ledger id changed on reopen: %q → %q", id, db.LedgerID())
	}
	db.Close()

	t.Run("Migrate", func(t *testing.T) {
		res, err := sqlite.Migrate(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Applied) != 0 || res.Current < 1 {
			t.Fatalf("migrating a migrated database: %+v", res)
		}
		fresh := filepath.Join(t.TempDir(), "fresh.db")
		res, err = sqlite.Migrate(ctx, fresh)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Applied) == 0 || res.Applied[0] != 1 || res.Current != res.Applied[len(res.Applied)-1] {
			t.Fatalf("migrating a fresh database: %+v", res)
		}
	})
	t.Run("ErrBadPath", func(t *testing.T) {
		if db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "no", "such", "dir", "ledger.db")); err == nil {
			db.Close()
			t.Fatal("Open in a missing directory succeeded")
		}
	})
	t.Run("ErrNotADatabase", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "junk.db")
		if err := os.WriteFile(p, []byte(strings.Repeat("not sqlite ", 1000)), 0o600); err != nil {
			t.Fatal(err)
		}
		if db, err := sqlite.Open(ctx, p); err == nil {
			db.Close()
			t.Fatal("Open of a junk file succeeded")
		}
	})
}
