package sqlite_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/walletdtest"
)

// TestDB_IdempotencyKeysIn lists the keys of a seq range: a request's
// entries once, entries without a key skipped, the bounds inclusive.
func TestDB_IdempotencyKeysIn(t *testing.T) {
	l := walletdtest.MustOpenLedger(t, nil)
	ctx := context.Background()
	a := l.MustWallet(t, "u1", "USD") // seq 1, no key
	b := l.MustWallet(t, "u2", "USD") // seq 2
	for i := range 4 {                // seqs 3..6
		if _, err := l.Writer.Submit(ctx, fmt.Sprintf("c-%d", i), &ledger.Post{WalletID: a, Kind: "credit", Amount: "5.00", Type: "topup"}); err != nil {
			t.Fatal(err)
		}
	}
	// A transfer: two entries (7, 8) under one key.
	if _, err := l.Writer.Submit(ctx, "t-1", &ledger.Transfer{FromWalletID: a, ToWalletID: b, Amount: "1.00"}); err != nil {
		t.Fatal(err)
	}
	l.MustCredit(t, b, "1.00") // seq 9, no key
	for _, c := range []struct {
		from, to uint64
		want     []string
		rows     int
	}{
		{1, 9, []string{"c-0", "c-1", "c-2", "c-3", "t-1"}, 9},
		{4, 5, []string{"c-1", "c-2"}, 2},
		{7, 8, []string{"t-1"}, 2},
		{8, 100, []string{"t-1"}, 2},
		{1, 2, nil, 2},
		{5, 4, nil, 0},
		{10, 20, nil, 0},
	} {
		var got []string
		rows, err := l.DB.IdempotencyKeysIn(ctx, c.from, c.to, func(k string) { got = append(got, k) })
		if err != nil || rows != c.rows || !slices.Equal(got, c.want) {
			t.Errorf("%d..%d: %v (%d rows), %v; want %v (%d rows)", c.from, c.to, got, rows, err, c.want, c.rows)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := l.DB.IdempotencyKeysIn(cctx, 1, 9, func(string) {}); err == nil {
		t.Error("a cancelled read succeeded")
	}
}
