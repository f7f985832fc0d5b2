package sqlite_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/walletd/walletd"
)

func TestDB_Wallets(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	var ws []*walletd.Wallet
	for i, user := range []string{"alice", "bob", "carol", "alice"} {
		w := testWallet(fmt.Sprintf("wal_%d", i), user, "1.5", 0)
		if i == 3 {
			w.Currency = "EUR"
		}
		ws = append(ws, w)
	}
	if err := db.Commit(ctx, &walletd.LedgerBatch{Wallets: ws}); err != nil {
		t.Fatal(err)
	}
	ids := func(ws []*walletd.Wallet) string {
		var out []string
		for _, w := range ws {
			out = append(out, w.ID)
		}
		return strings.Join(out, ",")
	}
	for _, tc := range []struct {
		user, after string
		limit       int
		want        string
	}{
		{"", "", 10, "wal_0,wal_1,wal_2,wal_3"},
		{"", "", 2, "wal_0,wal_1"},
		{"", "wal_1", 10, "wal_2,wal_3"},
		{"alice", "", 10, "wal_0,wal_3"},
		{"alice", "wal_0", 10, "wal_3"},
		{"nobody", "", 10, ""},
	} {
		got, err := db.Wallets(ctx, tc.user, tc.after, tc.limit)
		if err != nil {
			t.Fatal(err)
		}
		if ids(got) != tc.want {
			t.Errorf("Wallets(%q, %q, %d) = %s, want %s", tc.user, tc.after, tc.limit, ids(got), tc.want)
		}
	}
	w, err := db.Wallet(ctx, "wal_2")
	if err != nil {
		t.Fatal(err)
	}
	sameWallet(t, w, ws[2])
	t.Run("ErrNotFound", func(t *testing.T) {
		if _, err := db.Wallet(ctx, "wal_nope"); walletd.ErrorCode(err) != walletd.ENotFound {
			t.Fatalf("Wallet(wal_nope) = %v", err)
		}
	})
}
