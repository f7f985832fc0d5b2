package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/ledger/sqlite"
	"github.com/walletd/walletd/walletdtest"
)

// A balance edited in the wallets table, which the chain does not cover,
// must stop the writer at start rather than be hashed into the next entry.
func TestDB_CheckWalletState(t *testing.T) {
	for _, tc := range []struct{ name, sql string }{
		{"Balance", `UPDATE wallets SET balance = '1000000' WHERE user_id = 'u1'`},
		{"Held", `UPDATE wallets SET held = '5' WHERE user_id = 'u1'`},
		{"LastSeq", `UPDATE wallets SET last_seq = 1 WHERE user_id = 'u2'`},
	} {
		t.Run("Err"+tc.name, func(t *testing.T) {
			l := walletdtest.MustOpenLedger(t, nil)
			a := l.MustWallet(t, "u1", "USD")
			l.MustWallet(t, "u2", "USD")
			l.MustCredit(t, a, "10.00")
			if err := l.DB.CheckWalletState(context.Background()); err != nil {
				t.Fatalf("untouched ledger: %v", err)
			}
			l.Close()
			raw, err := sql.Open("sqlite3", filepath.Join(l.Dir, "ledger.db"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := raw.Exec(tc.sql); err != nil {
				t.Fatal(err)
			}
			raw.Close()
			db, err := sqlite.Open(context.Background(), filepath.Join(l.Dir, "ledger.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			cfg := l.Config
			cfg.Store = db
			_, err = ledger.NewWriter(context.Background(), cfg)
			if err == nil || !strings.Contains(err.Error(), "differs") && !strings.Contains(err.Error(), "another wallet") {
				t.Fatalf("NewWriter on a tampered wallet row: %v", err)
			}
		})
	}
}
