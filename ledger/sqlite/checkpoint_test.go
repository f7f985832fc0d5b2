package sqlite_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"

	"github.com/walletd/walletd"
)

func TestDB_Checkpoints(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	es := makeEntries(0, walletd.Hash{}, 9, "wal_a", "")
	for i := 0; i < 3; i++ {
		part := es[i*3 : i*3+3]
		head := part[2]
		cp := &walletd.Checkpoint{LedgerID: db.LedgerID(), Seq: head.Seq, HeadHash: head.Hash, CreatedAt: head.CreatedAt}
		cp.Sign(priv)
		if err := db.Commit(ctx, &walletd.LedgerBatch{Entries: part, Checkpoint: cp}); err != nil {
			t.Fatal(err)
		}
	}
	seqs := func(cps []*walletd.Checkpoint) string {
		var out []string
		for _, cp := range cps {
			out = append(out, fmt.Sprint(cp.Seq))
		}
		return strings.Join(out, ",")
	}
	for _, tc := range []struct {
		after uint64
		limit int
		want  string
	}{{0, 0, "3,6,9"}, {0, -1, "3,6,9"}, {0, 2, "3,6"}, {3, 0, "6,9"}, {9, 0, ""}} {
		cps, err := db.Checkpoints(ctx, tc.after, tc.limit)
		if err != nil {
			t.Fatal(err)
		}
		if seqs(cps) != tc.want {
			t.Errorf("Checkpoints(%d, %d) = %s, want %s", tc.after, tc.limit, seqs(cps), tc.want)
		}
		for _, cp := range cps {
			if !cp.Verify(priv.Public().(ed25519.PublicKey)) || cp.HeadHash != es[cp.Seq-1].Hash {
				t.Fatalf("checkpoint %d read back wrong", cp.Seq)
			}
		}
	}
}
