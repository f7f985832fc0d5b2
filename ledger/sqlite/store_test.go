package sqlite_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/walletd/walletd"

	"github.com/shopspring/decimal"
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

func TestDB_Commit(t *testing.T) {
	ctx := context.Background()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)

	t.Run("EmptyState", func(t *testing.T) {
		db := MustOpenDB(t)
		st, err := db.LoadState(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.LedgerID != db.LedgerID() || st.Head != nil || len(st.Wallets) != 0 || st.LastCheckpoint != nil {
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
		if len(st.Wallets) != 1 {
			t.Fatalf("%d wallets", len(st.Wallets))
		}
		sameWallet(t, st.Wallets[0], w2)
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

func TestDB_APIKeys(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	var keys []*walletd.APIKey
	var tokens []string
	for i, scopes := range [][]string{{walletd.ScopeAdmin}, {walletd.ScopeWalletsRead, walletd.ScopeWalletsWrite}, {walletd.ScopeWalletsRead}} {
		k, token, err := walletd.NewAPIKey(fmt.Sprintf("key %d", i), scopes, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := db.CreateAPIKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		keys, tokens = append(keys, k), append(tokens, token)
	}
	got, err := db.APIKey(ctx, keys[1].ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "key 1" || !reflect.DeepEqual(got.Scopes, keys[1].Scopes) || !got.CreatedAt.Equal(keys[1].CreatedAt) || got.RevokedAt != nil {
		t.Fatalf("APIKey = %+v", got)
	}
	id, secret, ok := walletd.SplitToken(tokens[1])
	if !ok || id != keys[1].ID || !got.Matches(secret) || got.Matches(secret+"x") {
		t.Fatal("the stored key does not match its token")
	}
	list, err := db.APIKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 || !sort.SliceIsSorted(list, func(i, j int) bool { return list[i].ID > list[j].ID }) {
		t.Fatalf("APIKeys() not newest (highest id) first: %v", list)
	}

	t.Run("ErrConflict", func(t *testing.T) {
		if err := db.CreateAPIKey(ctx, keys[0]); walletd.ErrorCode(err) != walletd.EConflict {
			t.Fatalf("CreateAPIKey(duplicate) = %v", err)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		if _, err := db.APIKey(ctx, "wdk_nope"); walletd.ErrorCode(err) != walletd.ENotFound {
			t.Fatalf("APIKey(wdk_nope) = %v", err)
		}
		if err := db.RevokeAPIKey(ctx, "wdk_nope", time.Now()); walletd.ErrorCode(err) != walletd.ENotFound {
			t.Fatalf("RevokeAPIKey(wdk_nope) = %v", err)
		}
	})
	t.Run("Revoke", func(t *testing.T) {
		at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
		if err := db.RevokeAPIKey(ctx, keys[2].ID, at); err != nil {
			t.Fatal(err)
		}
		k, err := db.APIKey(ctx, keys[2].ID)
		if err != nil {
			t.Fatal(err)
		}
		if k.RevokedAt == nil || !k.RevokedAt.Equal(at) {
			t.Fatalf("revoked_at %v", k.RevokedAt)
		}
		if err := db.RevokeAPIKey(ctx, keys[2].ID, at); walletd.ErrorCode(err) != walletd.ENotFound {
			t.Fatalf("revoking twice: %v", err)
		}
	})
}

func TestFormatError(t *testing.T) {
	if err := sqlite.FormatError(nil); err != nil {
		t.Fatalf("FormatError(nil) = %v", err)
	}
	other := errors.New("other")
	if err := sqlite.FormatError(other); !errors.Is(err, other) || walletd.ErrorCode(err) != walletd.EInternal {
		t.Fatalf("FormatError(other) = %v", err)
	}
	db := MustOpenDB(t)
	raw, err := sql.Open("sqlite3", db.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	_, err = raw.Exec(`INSERT INTO meta (key, value) VALUES ('ledger_id', 'again')`)
	if err == nil {
		t.Fatal("a duplicate meta key was inserted")
	}
	if code := walletd.ErrorCode(sqlite.FormatError(fmt.Errorf("wrapped: %w", err))); code != walletd.EConflict {
		t.Fatalf("FormatError(constraint) has code %q", code)
	}
}
