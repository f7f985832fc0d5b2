package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/ledger/sqlite"
	"github.com/walletd/walletd/walletdtest"
)

// The reads of the writer's wallet cache: one wallet by id or by user,
// checked against its last entry; a user by email; the currencies; the
// rows changed after a seq - each through an index, not a scan.
func TestDB_WalletLoads(t *testing.T) {
	ctx := context.Background()
	l := walletdtest.MustOpenLedger(t, nil)
	a := l.MustWallet(t, "u1", "USD")
	mustSubmitTo(t, l, &ledger.CreateWallet{UserID: "u2", Email: "Mixed.Case@Example.com", Currency: "USD"})
	mustSubmitTo(t, l, &ledger.CreateWallet{UserID: "u3", Email: "mixed.case@example.com", Currency: "USD"})
	mustSubmitTo(t, l, &ledger.CreateWallet{UserID: "u4", Email: "Mixed.Case@Example.com", Currency: "EUR"})
	l.MustCredit(t, a, "10.00")

	w, err := l.DB.LoadWallet(ctx, a)
	if err != nil || w == nil || w.Balance.String() != "10" || w.UserID != "u1" || w.LastSeq != 5 {
		t.Fatalf("LoadWallet: %+v %v", w, err)
	}
	if w, err := l.DB.LoadWallet(ctx, "wal_nope"); w != nil || err != nil {
		t.Fatalf("LoadWallet of no wallet: %+v %v", w, err)
	}
	if w, err := l.DB.LoadWalletOf(ctx, "u1", "USD"); err != nil || w == nil || w.ID != a {
		t.Fatalf("LoadWalletOf: %+v %v", w, err)
	}
	if w, err := l.DB.LoadWalletOf(ctx, "u1", "EUR"); w != nil || err != nil {
		t.Fatalf("LoadWalletOf of no wallet: %+v %v", w, err)
	}

	// ASCII case ignored; of two, the smaller wallet id; per currency.
	u2, _ := l.DB.LoadWalletOf(ctx, "u2", "USD")
	u3, _ := l.DB.LoadWalletOf(ctx, "u3", "USD")
	first, firstUser := u2.ID, "u2"
	if u3.ID < first {
		first, firstUser = u3.ID, "u3"
	}
	for _, email := range []string{"MIXED.CASE@EXAMPLE.COM", "mixed.case@example.com"} {
		id, user, err := l.DB.UserByEmail(ctx, email, "USD")
		if err != nil || id != first || user != firstUser {
			t.Fatalf("UserByEmail(%q): %s %s %v, want %s %s", email, id, user, err, first, firstUser)
		}
	}
	if _, user, err := l.DB.UserByEmail(ctx, "mixed.case@example.com", "EUR"); err != nil || user != "u4" {
		t.Fatalf("UserByEmail EUR: %s %v", user, err)
	}
	if id, user, err := l.DB.UserByEmail(ctx, "nobody@example.com", "USD"); id != "" || user != "" || err != nil {
		t.Fatalf("UserByEmail of nobody: %s %s %v", id, user, err)
	}
	if cs, err := l.DB.WalletCurrencies(ctx); err != nil || strings.Join(cs, ",") != "EUR,USD" {
		t.Fatalf("WalletCurrencies: %v %v", cs, err)
	}
	if n, err := l.DB.CheckWalletStateSince(ctx, 4); err != nil || n != 1 {
		t.Fatalf("CheckWalletStateSince(4): %d %v", n, err)
	}
	if n, err := l.DB.CheckWalletStateSince(ctx, 0); err != nil || n != 4 {
		t.Fatalf("CheckWalletStateSince(0): %d %v", n, err)
	}

	// The query plans use the indexes of migration 00004.
	for q, index := range map[string]string{
		`SELECT id FROM wallets WHERE last_seq > 4`:                                                                 "wallets_last_seq",
		`SELECT id, user_id FROM wallets WHERE currency = 'USD' AND email = 'x' COLLATE NOCASE ORDER BY id LIMIT 1`: "wallets_currency_email",
		`SELECT currency FROM wallets WHERE currency > '' ORDER BY currency LIMIT 1`:                                "wallets_currency_email",
	} {
		var plan strings.Builder
		rows, err := l.DB.ReadDB().Query(`EXPLAIN QUERY PLAN ` + q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan.WriteString(detail + "; ")
		}
		rows.Close()
		if !strings.Contains(plan.String(), index) {
			t.Errorf("%s: plan %q does not use %s", q, plan.String(), index)
		}
	}

	// A tampered row is refused when loaded, by id and by user.
	l.Writer.Close()
	raw := openRaw(t, filepath.Join(l.Dir, "ledger.db"))
	if _, err := raw.Exec(`UPDATE wallets SET held = '3' WHERE id = ?`, a); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	if _, err := l.DB.LoadWallet(ctx, a); err == nil || !strings.Contains(err.Error(), "differs") {
		t.Fatalf("LoadWallet of a tampered row: %v", err)
	}
	if _, err := l.DB.LoadWalletOf(ctx, "u1", "USD"); err == nil || !strings.Contains(err.Error(), "differs") {
		t.Fatalf("LoadWalletOf of a tampered row: %v", err)
	}
}

// OpenReadOnly reads a ledger it may not write: a file of mode 0400 in a
// directory of mode 0500, whose bytes it leaves as they were.
func TestDB_OpenReadOnly(t *testing.T) {
	ctx := context.Background()
	l := walletdtest.MustOpenLedger(t, nil)
	a := l.MustWallet(t, "u1", "USD")
	l.MustCredit(t, a, "1.00")
	l.Close()
	path := filepath.Join(l.Dir, "ledger.db")
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.OpenReadOnly(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if es, err := db.Entries(ctx, 0, 10); err != nil || len(es) != 2 {
		t.Fatalf("entries: %d %v", len(es), err)
	}
	if db.LedgerID() == "" {
		t.Fatal("no ledger id")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(before) != string(after) {
		t.Fatal("OpenReadOnly changed the file")
	}
	if _, err := sqlite.OpenReadOnly(ctx, filepath.Join(t.TempDir(), "none.db")); err == nil {
		t.Fatal("OpenReadOnly of no file")
	}
}

func mustSubmitTo(tb testing.TB, l *walletdtest.Ledger, cmd walletd.Command) {
	tb.Helper()
	if _, err := l.Writer.Submit(context.Background(), "", cmd); err != nil {
		tb.Fatal(err)
	}
}
