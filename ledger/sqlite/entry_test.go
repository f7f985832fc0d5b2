package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/ledger/sqlite"
)

func TestDB_EntriesByIdempotencyKey(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	a := makeEntries(0, walletd.Hash{}, 2, "wal_a", "key-a")
	b := makeEntries(2, a[1].Hash, 1, "wal_a", "key-b")
	c := makeEntries(3, b[0].Hash, 2, "wal_a", "")
	if err := db.Commit(ctx, &walletd.LedgerBatch{Entries: append(append(a, b...), c...)}); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string][]*walletd.Entry{"key-a": a, "key-b": b, "": nil, "key-c": nil, "KEY-A": nil} {
		got, err := db.EntriesByIdempotencyKey(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("key %q: %d entries, want %d", key, len(got), len(want))
		}
		for i := range want {
			sameEntry(t, got[i], want[i])
		}
	}
}

func TestDB_IterateEntries(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	es := makeEntries(0, walletd.Hash{}, 5, "wal_a", "")
	if err := db.Commit(ctx, &walletd.LedgerBatch{Entries: es}); err != nil {
		t.Fatal(err)
	}
	it, err := db.IterateEntries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var e walletd.Entry
	n := 0
	for {
		ok, err := it.Next(&e)
		if err != nil {
			t.Fatal(err)
		} else if !ok {
			break
		}
		sameEntry(t, &e, es[n])
		n++
	}
	it.Close()
	if n != 5 {
		t.Fatalf("iterated %d entries", n)
	}

	t.Run("ErrBadEntry", func(t *testing.T) {
		raw, err := sql.Open("sqlite3", db.Path)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		for _, q := range []string{
			`UPDATE entries SET created_at = 'yesterday' WHERE seq = 3`,
			`UPDATE entries SET hash = X'00' WHERE seq = 4`,
		} {
			if _, err := raw.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		it, err := db.IterateEntries(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer it.Close()
		// The good rows before the bad one come out, then an error that
		// names the bad row's seq. Whether iteration goes on after it is
		// up to the iterator; Verify stops there anyway.
		var seqs []uint64
		for {
			ok, err := it.Next(&e)
			var be *sqlite.BadEntryError
			if errors.As(err, &be) {
				if be.Seq != 3 || be.BadSeq() != 3 || !strings.Contains(be.Error(), "3") {
					t.Fatalf("first bad entry %+v, want seq 3", be)
				}
				break
			} else if err != nil {
				t.Fatal(err)
			} else if !ok {
				t.Fatal("iteration ended without reporting the bad row")
			}
			seqs = append(seqs, e.Seq)
		}
		if fmt.Sprint(seqs) != "[1 2]" {
			t.Fatalf("entries before the bad row: %v", seqs)
		}
	})
}
