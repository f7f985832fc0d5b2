package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/walletd/walletd/ledger/sqlite"

	"github.com/shopspring/decimal"
)

// TestBenchSeed builds a data dir through the writer, checks it verifies,
// holds the wallet rows, checkpoints and keys, and that a second run
// appends to it.
func TestBenchSeed(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	ctx := context.Background()
	var out, errb bytes.Buffer
	args := []string{"seed", "--data-dir", dir, "--wallets", "50", "--entries", "2600", "--checkpoint-every", "500", "--max-batch", "100"}
	if err := benchMain(ctx, args, &out, &errb); err != nil {
		t.Fatalf("seed: %v\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), "50 wallets, 2600 entries (head seq 2600)") {
		t.Fatalf("report: %q", out.String())
	}
	if err := benchMain(ctx, args, &out, &errb); err != nil {
		t.Fatalf("second seed: %v\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), "(head seq 5200)") {
		t.Fatalf("second report: %q", out.String())
	}
	rep, err := execVerify(t, "--data-dir", dir)
	if err != nil || !strings.HasPrefix(rep, "ok entries=5200 ") {
		t.Fatalf("verify: %v %q", err, rep)
	}

	db, err := sqlite.Open(ctx, filepath.Join(dir, "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cps, err := db.Checkpoints(ctx, 0, 0)
	if err != nil || len(cps) < 8 {
		t.Fatalf("checkpoints: %d, %v", len(cps), err)
	}
	ws, err := db.Wallets(ctx, "", "", 1000)
	if err != nil || len(ws) != 100 {
		t.Fatalf("wallet rows: %d, %v", len(ws), err)
	}
	for _, w := range ws {
		if !w.Balance.Equal(decimal.NewFromInt(51)) || w.LastSeq == 0 {
			t.Fatalf("wallet %s: balance %s, last seq %d", w.ID, w.Balance, w.LastSeq)
		}
	}
	keys := 0
	if err := db.IdempotencyKeys(func(string) { keys++ }); err != nil || keys != 5200 {
		t.Fatalf("idempotency keys: %d, %v", keys, err)
	}
	for _, bad := range [][]string{
		{"seed", "--data-dir", dir, "--wallets", "0"},
		{"seed", "--data-dir", dir, "--wallets", "10", "--entries", "9"},
		{"seed", "--data-dir", dir, "--max-batch", "0"},
		{"seed", "--data-dir", dir, "--currency", "XXX"},
		{"seed", "--data-dir", dir, "extra"},
	} {
		if err := benchMain(ctx, bad, &out, &errb); err == nil {
			t.Errorf("%v: want an error", bad)
		}
	}
}
