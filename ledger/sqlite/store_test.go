package sqlite_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/walletd/walletd"
	"github.com/walletd/walletd/ledger"
)

func TestDB_Commit(t *testing.T) {
	ctx := context.Background()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)

	t.Run("EmptyState", func(t *testing.T) {
		db := MustOpenDB(t)
		st, err := db.LoadState(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.LedgerID != db.LedgerID() || st.Head != nil || st.LastCheckpoint != nil {
			t.Fatalf("state of an empty ledger %+v", st)
		}
	})
	t.Run("RoundTrip", func(t *testing.T) {
		db := MustOpenDB(t)
		es := makeEntries(0, walletd.Hash{}, 3, "wal_a", "idem-1")
		w := testWallet("wal_a", "alice", "3", 3)
		cp := &walletd.Checkpoint{LedgerID: db.LedgerID(), Seq: 3, HeadHash: es[2].Hash, CreatedAt: es[2].CreatedAt}
		cp.Sign(priv)
		if err := db.Commit(ctx, &walletd.LedgerBatch{Entries: es, Wallets: []*walletd.Wallet{w}, Checkpoint: cp}); err != nil {
			t.Fatal(err)
		}
		// A second batch moves the wallet on.
		more := makeEntries(3, es[2].Hash, 2, "wal_a", "")
		w2 := testWallet("wal_a", "alice", "5", 5)
		w2.Status = walletd.StatusFrozen
		if err := db.Commit(ctx, &walletd.LedgerBatch{Entries: more, Wallets: []*walletd.Wallet{w2}}); err != nil {
			t.Fatal(err)
		}
		all := append(es, more...)

		got, err := db.Entries(ctx, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 5 {
			t.Fatalf("%d entries", len(got))
		}
		for i := range all {
			sameEntry(t, got[i], all[i])
			if ledger.ComputeHash(testKey, got[i]) != all[i].Hash {
				t.Fatalf("seq %d read back does not hash the same", all[i].Seq)
			}
		}
		if page, _ := db.Entries(ctx, 2, 2); len(page) != 2 || page[0].Seq != 3 || page[1].Seq != 4 {
			t.Fatalf("Entries(2, 2) = %v", page)
		}

		st, err := db.LoadState(ctx)
		if err != nil {
			t.Fatal(err)
		}
		sameEntry(t, st.Head, more[1])
		if c := st.LastCheckpoint; c == nil || c.Seq != 3 || c.HeadHash != cp.HeadHash || c.LedgerID != cp.LedgerID ||
			!c.CreatedAt.Equal(cp.CreatedAt) || !c.Verify(priv.Public().(ed25519.PublicKey)) {
			t.Fatalf("last checkpoint %+v", st.LastCheckpoint)
		}
		wal, err := db.Wallet(ctx, "wal_a")
		if err != nil {
			t.Fatal(err)
		}
		sameWallet(t, wal, w2)
	})
	t.Run("ErrDuplicateSeq", func(t *testing.T) {
		db := MustOpenDB(t)
		es := makeEntries(0, walletd.Hash{}, 2, "wal_a", "")
		if err := db.Commit(ctx, &walletd.LedgerBatch{Entries: es, Wallets: []*walletd.Wallet{testWallet("wal_a", "alice", "2", 2)}}); err != nil {
			t.Fatal(err)
		}
		next := makeEntries(2, es[1].Hash, 1, "wal_a", "")[0]
		dup := makeEntries(1, es[0].Hash, 1, "wal_a", "")[0]
		dup.ID, dup.EventID = "txn_other", "wph_other"
		err := db.Commit(ctx, &walletd.LedgerBatch{Entries: []*walletd.Entry{next, dup}, Wallets: []*walletd.Wallet{testWallet("wal_a", "alice", "9", 3)}})
		if err == nil {
			t.Fatal("a duplicate seq was committed")
		}
		// All or nothing: the good entry and the wallet change are gone too.
		if got, _ := db.Entries(ctx, 0, 100); len(got) != 2 {
			t.Fatalf("%d entries after a failed commit", len(got))
		}
		if w, _ := db.Wallet(ctx, "wal_a"); !w.Balance.Equal(decimal.NewFromInt(2)) || w.LastSeq != 2 {
			t.Fatalf("wallet after a failed commit %+v", w)
		}
		// The store is usable afterwards.
		if err := db.Commit(ctx, &walletd.LedgerBatch{Entries: []*walletd.Entry{next}}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ErrDuplicateCheckpoint", func(t *testing.T) {
		db := MustOpenDB(t)
		es := makeEntries(0, walletd.Hash{}, 2, "wal_a", "")
		cp := &walletd.Checkpoint{LedgerID: db.LedgerID(), Seq: 2, HeadHash: es[1].Hash, CreatedAt: es[1].CreatedAt}
		cp.Sign(priv)
		if err := db.Commit(ctx, &walletd.LedgerBatch{Entries: es, Checkpoint: cp}); err != nil {
			t.Fatal(err)
		}
		more := makeEntries(2, es[1].Hash, 1, "wal_a", "")
		if err := db.Commit(ctx, &walletd.LedgerBatch{Entries: more, Checkpoint: cp}); err == nil {
			t.Fatal("a second checkpoint at one seq was committed")
		}
		if got, _ := db.Entries(ctx, 0, 100); len(got) != 2 {
			t.Fatalf("%d entries after a failed commit", len(got))
		}
	})
	t.Run("ErrDuplicateUserCurrency", func(t *testing.T) {
		db := MustOpenDB(t)
		if err := db.Commit(ctx, &walletd.LedgerBatch{Wallets: []*walletd.Wallet{testWallet("wal_a", "alice", "0", 0)}}); err != nil {
			t.Fatal(err)
		}
		if err := db.Commit(ctx, &walletd.LedgerBatch{Wallets: []*walletd.Wallet{testWallet("wal_b", "alice", "0", 0)}}); err == nil {
			t.Fatal("a second USD wallet of alice was stored")
		}
	})
}
