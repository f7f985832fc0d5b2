package sqlite_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/ledger/sqlite"
	"github.com/walletd/walletd/walletdtest"
)

// tamperSeq is the entry the column tests change: in the middle, with
// entries and checkpoints on both sides.
const tamperSeq = 17

// tamperFixture is a closed ledger file of about fifty entries of every
// kind, with checkpoints, that each test copies and tampers with.
type tamperFixture struct {
	path     string // the pristine ledger.db
	keyring  *walletd.Keyring
	pub      ed25519.PublicKey
	ledgerID string
	head     uint64
	cps      []uint64 // checkpoint seqs
	row      map[string]any
}

func buildTamperFixture(t *testing.T) *tamperFixture {
	t.Helper()
	ctx := context.Background()
	l := walletdtest.MustOpenLedger(t, func(c *ledger.WriterConfig) { c.CheckpointEvery = 10 })
	submit := func(key string, cmd walletd.Command) {
		t.Helper()
		if _, err := l.Writer.Submit(ctx, key, cmd); err != nil {
			t.Fatalf("%#v: %v", cmd, err)
		}
	}
	alice := l.MustWallet(t, "alice", "USD")
	bob := l.MustWallet(t, "bob", "USD")
	carol := l.MustWallet(t, "carol", "USD")
	dave := l.MustWallet(t, "dave", "JPY")
	l.MustCredit(t, alice, "500.00")
	l.MustCredit(t, bob, "500.00")
	l.MustCredit(t, dave, "50000")
	l.MustCredit(t, carol, "10.00") // puts a transfer leg at seq 17
	for i := 0; l.Writer != nil && headSeqOf(t, l.DB) < 50; i++ {
		key := fmt.Sprintf("idem-%03d", i)
		switch i % 5 {
		case 0:
			submit(key, &ledger.Post{WalletID: alice, Kind: walletd.KindCredit, Amount: fmt.Sprintf("%d.25", 10+i), Type: "topup",
				Reason: "Café top-up ☕", OrderID: fmt.Sprintf("wc_%d", 1000+i), Metadata: map[string]string{"gateway": "stripe", "n": fmt.Sprint(i)}})
		case 1:
			submit(key, &ledger.Transfer{FromWalletID: alice, ToWalletID: bob, Amount: "3.10", Note: "split",
				Metadata: map[string]string{"why": "dinner"}})
		case 2:
			submit("", &ledger.Post{WalletID: bob, Kind: walletd.KindDebit, Amount: "1.05", Type: "order_payment", OrderID: fmt.Sprintf("wc_%d", 2000+i)})
		case 3:
			submit("", &ledger.SetStatus{WalletID: carol, Frozen: i%2 == 1, Reason: "review"})
		case 4:
			submit(key, &ledger.Post{WalletID: dave, Kind: walletd.KindDebit, Amount: "150", Type: "fee"})
		}
	}
	// Pad until the head itself is checkpointed, so that a cut-off tail
	// is covered by a checkpoint.
	for {
		cps, err := l.DB.Checkpoints(ctx, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(cps) > 0 && cps[len(cps)-1].Seq == headSeqOf(t, l.DB) {
			break
		}
		l.MustCredit(t, bob, "0.01")
	}
	f := &tamperFixture{path: filepath.Join(l.Dir, "ledger.db"), keyring: l.Keyring, pub: l.Pub, ledgerID: l.DB.LedgerID(), head: headSeqOf(t, l.DB)}
	cps, err := l.DB.Checkpoints(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, cp := range cps {
		f.cps = append(f.cps, cp.Seq)
	}
	if rep := l.Verify(t); !rep.OK || rep.HeadSeq != f.head || len(f.cps) < 3 {
		t.Fatalf("the fixture does not verify: %+v, checkpoints %v", rep, f.cps)
	}
	l.Close() // checkpoints the WAL into the main file
	f.row = readRow(t, f.path, tamperSeq)
	t.Logf("fixture: %d entries, checkpoints at %v; seq %d is a %s/%s", f.head, f.cps, tamperSeq, f.row["kind"], f.row["type"])
	return f
}

func headSeqOf(tb testing.TB, db *sqlite.DB) uint64 {
	tb.Helper()
	var seq uint64
	if err := db.ReadDB().QueryRow(`SELECT COALESCE(MAX(seq), 0) FROM entries`).Scan(&seq); err != nil {
		tb.Fatal(err)
	}
	return seq
}

// readRow returns the columns of one entries row as SQLite stores them.
func readRow(tb testing.TB, path string, seq uint64) map[string]any {
	tb.Helper()
	db := openRaw(tb, path)
	defer db.Close()
	rows, err := db.Query(`SELECT * FROM entries WHERE seq = ?`, seq)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	if !rows.Next() {
		tb.Fatalf("no entry %d", seq)
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		tb.Fatal(err)
	}
	out := map[string]any{}
	for i, c := range cols {
		out[c] = vals[i]
	}
	return out
}

func openRaw(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		tb.Fatal(err)
	}
	return db
}

// copyLedger copies the fixture (and its WAL, should one be left) to a
// fresh directory and returns the copy's path.
func (f *tamperFixture) copyLedger(tb testing.TB) string {
	tb.Helper()
	dst := filepath.Join(tb.TempDir(), "ledger.db")
	for _, suffix := range []string{"", "-wal"} {
		in, err := os.Open(f.path + suffix)
		if os.IsNotExist(err) && suffix != "" {
			continue
		} else if err != nil {
			tb.Fatal(err)
		}
		out, err := os.Create(dst + suffix)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := io.Copy(out, in); err != nil {
			tb.Fatal(err)
		}
		in.Close()
		if err := out.Close(); err != nil {
			tb.Fatal(err)
		}
	}
	return dst
}

// tamper runs SQL statements on a copy through a plain connection, as
// someone with write access to the file would.
func (f *tamperFixture) tamper(tb testing.TB, stmts ...stmt) string {
	tb.Helper()
	path := f.copyLedger(tb)
	db := openRaw(tb, path)
	defer db.Close()
	for _, s := range stmts {
		res, err := db.Exec(s.q, s.args...)
		if err != nil {
			tb.Fatalf("%s: %v", s.q, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			tb.Fatalf("%s changed no row", s.q)
		}
	}
	return path
}

type stmt struct {
	q    string
	args []any
}

func sqlStmt(q string, args ...any) stmt { return stmt{q, args} }

// verify runs the verifier the way walletd verify does: the whole file,
// with the checkpoints it holds.
func (f *tamperFixture) verify(tb testing.TB, path string, opt func(*ledger.VerifyOptions), cpFilter func([]*walletd.Checkpoint) []*walletd.Checkpoint) *ledger.VerifyReport {
	tb.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	it, err := db.IterateEntries(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	defer it.Close()
	cps, err := db.Checkpoints(ctx, 0, 0)
	if err != nil {
		tb.Fatal(err)
	}
	if cpFilter != nil {
		cps = cpFilter(cps)
	}
	o := ledger.VerifyOptions{Keyring: f.keyring, PublicKey: f.pub, LedgerID: f.ledgerID}
	if opt != nil {
		opt(&o)
	}
	rep, err := ledger.Verify(ctx, it, cps, o)
	if err != nil {
		tb.Fatalf("verify: %v", err)
	}
	return rep
}

func wantFirstBad(tb testing.TB, rep *ledger.VerifyReport, seq uint64) {
	tb.Helper()
	if rep.OK || rep.FirstBadSeq != seq {
		tb.Fatalf("report %+v, want OK=false and first_bad_seq %d", rep, seq)
	}
	tb.Logf("detected: %s", rep.Problem)
}

// textColumns are the TEXT columns of entries, each one field of the
// canonical encoding.
var textColumns = []string{"id", "event_id", "kind", "type", "wallet_id", "user_id", "email", "currency",
	"amount", "balance_after", "held_after", "reason", "order_id", "transfer_id", "counterparty",
	"metadata", "idempotency_key", "request_hash", "created_at", "key_id"}

var uniqueColumns = map[string]bool{"id": true, "event_id": true}

// mutations returns the ways the test changes one column of seq 17.
func (f *tamperFixture) mutations(t *testing.T) map[string]map[string][]stmt {
	where := fmt.Sprintf(" WHERE seq = %d", tamperSeq)
	out := map[string]map[string][]stmt{}
	add := func(col, name string, stmts ...stmt) {
		if out[col] == nil {
			out[col] = map[string][]stmt{}
		}
		out[col][name] = stmts
	}
	text := func(col string) string {
		switch v := f.row[col].(type) {
		case string:
			return v
		case []byte:
			return string(v)
		}
		t.Fatalf("column %s holds %T", col, f.row[col])
		return ""
	}
	next := readRow(t, f.path, tamperSeq+1)

	for _, col := range textColumns {
		orig := text(col)
		add(col, "Appended", sqlStmt(`UPDATE entries SET `+col+` = `+col+` || 'x'`+where))
		add(col, "TrailingSpace", sqlStmt(`UPDATE entries SET `+col+` = `+col+` || ' '`+where))
		add(col, "Replaced", sqlStmt(`UPDATE entries SET `+col+` = ?`+where, "forged-"+col))
		add(col, "Blob", sqlStmt(`UPDATE entries SET `+col+` = X'`+hex.EncodeToString([]byte(orig))+`00'`+where))
		add(col, "Integer", sqlStmt(`UPDATE entries SET `+col+` = 7`+where))
		if orig != "" {
			add(col, "Emptied", sqlStmt(`UPDATE entries SET `+col+` = ''`+where))
			add(col, "LastByteDropped", sqlStmt(`UPDATE entries SET `+col+` = ?`+where, orig[:len(orig)-1]))
		}
		if up := strings.ToUpper(orig); up != orig {
			add(col, "UpperCase", sqlStmt(`UPDATE entries SET `+col+` = ?`+where, up))
		}
		if n := text2(next[col]); n != orig && !uniqueColumns[col] {
			add(col, "FromNextEntry", sqlStmt(`UPDATE entries SET `+col+` = ?`+where, n))
		}
	}
	// Semantic edits an attacker would actually make.
	for _, col := range []string{"amount", "balance_after", "held_after"} {
		orig := text(col)
		add(col, "Inflated", sqlStmt(`UPDATE entries SET `+col+` = ?`+where, "1000000.00"))
		if strings.Contains(orig, ".") {
			// The same number at another scale is another encoding.
			add(col, "SameValueOtherScale", sqlStmt(`UPDATE entries SET `+col+` = ?`+where, strings.TrimSuffix(orig, "0")+"00"))
		}
	}
	at, err := time.Parse(walletd.TimeFormat, text("created_at"))
	if err != nil {
		t.Fatal(err)
	}
	add("created_at", "PlusOneMicrosecond", sqlStmt(`UPDATE entries SET created_at = ?`+where, at.Add(time.Microsecond).Format(walletd.TimeFormat)))
	add("created_at", "MinusOneDay", sqlStmt(`UPDATE entries SET created_at = ?`+where, at.AddDate(0, 0, -1).Format(walletd.TimeFormat)))
	add("created_at", "SameInstantRFC3339", sqlStmt(`UPDATE entries SET created_at = ?`+where, at.Format(time.RFC3339)))
	add("created_at", "SameInstantOffset", sqlStmt(`UPDATE entries SET created_at = ?`+where,
		at.In(time.FixedZone("", 2*3600)).Format("2006-01-02T15:04:05.000000-07:00")))
	add("created_at", "SameInstantSpace", sqlStmt(`UPDATE entries SET created_at = ?`+where, at.Format("2006-01-02 15:04:05.000000Z")))
	// time.Parse accepts a comma before the fraction; the stored text must
	// still be exactly the canonical form.
	add("created_at", "SameInstantCommaSeparator", sqlStmt(`UPDATE entries SET created_at = ?`+where, strings.Replace(at.Format(walletd.TimeFormat), ".", ",", 1)))
	add("created_at", "Garbage", sqlStmt(`UPDATE entries SET created_at = 'yesterday'`+where))
	add("kind", "CreditToDebit", sqlStmt(`UPDATE entries SET kind = CASE kind WHEN 'credit' THEN 'debit' ELSE 'credit' END`+where))
	add("key_id", "OtherKnownShape", sqlStmt(`UPDATE entries SET key_id = 'k2'`+where))

	for _, col := range []string{"prev_hash", "hash"} {
		orig, ok := f.row[col].([]byte)
		if !ok || len(orig) != walletd.HashSize {
			t.Fatalf("%s of seq %d: %T %x", col, tamperSeq, f.row[col], f.row[col])
		}
		flipped := append([]byte(nil), orig...)
		flipped[0] ^= 1
		last := append([]byte(nil), orig...)
		last[31] ^= 0x80
		add(col, "FirstBitFlipped", sqlStmt(`UPDATE entries SET `+col+` = ?`+where, flipped))
		add(col, "LastBitFlipped", sqlStmt(`UPDATE entries SET `+col+` = ?`+where, last))
		add(col, "Zeroed", sqlStmt(`UPDATE entries SET `+col+` = zeroblob(32)`+where))
		add(col, "Random", sqlStmt(`UPDATE entries SET `+col+` = randomblob(32)`+where))
		add(col, "Truncated", sqlStmt(`UPDATE entries SET `+col+` = ?`+where, orig[:31]))
		add(col, "Extended", sqlStmt(`UPDATE entries SET `+col+` = ?`+where, append(append([]byte(nil), orig...), 0)))
		add(col, "HexText", sqlStmt(`UPDATE entries SET `+col+` = ?`+where, hex.EncodeToString(orig)))
		add(col, "Text", sqlStmt(`UPDATE entries SET `+col+` = 'forged'`+where))
		add(col, "Integer", sqlStmt(`UPDATE entries SET `+col+` = 7`+where))
	}
	// prev_hash set to a hash that exists, just not the right one.
	add("prev_hash", "OtherEntrysHash", sqlStmt(`UPDATE entries SET prev_hash = (SELECT hash FROM entries WHERE seq = ?)`+where, tamperSeq-2))
	add("hash", "NextEntrysHash", sqlStmt(`UPDATE entries SET hash = (SELECT hash FROM entries WHERE seq = ?)`+where, tamperSeq+1))

	add("seq", "MovedAway", sqlStmt(`UPDATE entries SET seq = 100000`+where))
	add("seq", "MovedToEnd", sqlStmt(`UPDATE entries SET seq = (SELECT MAX(seq) + 1 FROM entries)`+where))
	add("seq", "SwappedWithNext",
		sqlStmt(`UPDATE entries SET seq = -1`+where),
		sqlStmt(`UPDATE entries SET seq = ? WHERE seq = ?`, tamperSeq, tamperSeq+1),
		sqlStmt(`UPDATE entries SET seq = ? WHERE seq = -1`, tamperSeq+1))
	add("seq", "Deleted", sqlStmt(`DELETE FROM entries`+where))
	add("seq", "Duplicated", // a copy squeezed in at 17, the rest moved up by one
		sqlStmt(`UPDATE entries SET seq = seq + 1000 WHERE seq >= ?`, tamperSeq),
		sqlStmt(`UPDATE entries SET seq = seq - 999 WHERE seq >= 1000`),
		sqlStmt(`INSERT INTO entries SELECT ?, id || '-copy', event_id || '-copy', kind, type, wallet_id, user_id, email, currency, amount,
			balance_after, held_after, reason, order_id, transfer_id, counterparty, metadata, idempotency_key, request_hash,
			created_at, key_id, prev_hash, hash FROM entries WHERE seq = ?`, tamperSeq, tamperSeq+1))
	return out
}

func text2(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []byte:
		return string(v)
	}
	return fmt.Sprint(v)
}

// TestTamper changes every column of one entry in many ways, straight in
// SQL, and checks that verify names that entry. It also cuts the tail,
// rewrites it with the HMAC key, forges checkpoints and drops keys.
func TestTamper(t *testing.T) {
	f := buildTamperFixture(t)
	t.Run("Untampered", func(t *testing.T) {
		rep := f.verify(t, f.copyLedger(t), nil, nil)
		if !rep.OK || rep.HeadSeq != f.head || rep.Checkpoints != len(f.cps) {
			t.Fatalf("report %+v", rep)
		}
	})

	muts := f.mutations(t)
	t.Run("EveryColumnCovered", func(t *testing.T) {
		db := openRaw(t, f.path)
		defer db.Close()
		rows, err := db.Query(`SELECT name, "notnull" FROM pragma_table_info('entries')`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var cols []string
		for rows.Next() {
			var name string
			var notNull bool
			if err := rows.Scan(&name, &notNull); err != nil {
				t.Fatal(err)
			}
			cols = append(cols, name)
			if name != "seq" && !notNull {
				t.Errorf("column %s may be NULL; the tamper test would have to set it NULL", name)
			}
			if len(muts[name]) == 0 {
				t.Errorf("column %s of entries is not tampered with by this test", name)
			}
		}
		if len(cols) != 23 {
			t.Errorf("entries has %d columns: %v", len(cols), cols)
		}
	})

	cols := make([]string, 0, len(muts))
	for col := range muts {
		cols = append(cols, col)
	}
	sort.Strings(cols)
	for _, col := range cols {
		names := make([]string, 0, len(muts[col]))
		for name := range muts[col] {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			stmts := muts[col][name]
			t.Run(col+"/"+name, func(t *testing.T) {
				t.Parallel()
				path := f.tamper(t, stmts...)
				wantFirstBad(t, f.verify(t, path, nil, nil), tamperSeq)
			})
		}
	}

	t.Run("TruncatedTail", func(t *testing.T) {
		path := f.tamper(t, sqlStmt(`DELETE FROM entries WHERE seq > ?`, f.head-5))
		rep := f.verify(t, path, nil, nil)
		wantFirstBad(t, rep, f.head-4)
		if rep.FirstBadSeq <= f.head-5 {
			t.Fatalf("first_bad_seq %d is not beyond the new head %d", rep.FirstBadSeq, f.head-5)
		}
		// Without the checkpoint that covers the tail the cut is invisible.
		rep = f.verify(t, path, nil, func(cps []*walletd.Checkpoint) []*walletd.Checkpoint { return keepBelow(cps, f.head-5) })
		if !rep.OK {
			t.Fatalf("the HMAC chain alone should not see the cut: %+v", rep)
		}
	})
	t.Run("TruncatedTailAndCheckpoints", func(t *testing.T) {
		// Deleting the checkpoints too defeats the file's own checkpoints;
		// a copy of the latest checkpoint kept elsewhere still catches it.
		path := f.tamper(t,
			sqlStmt(`DELETE FROM entries WHERE seq > ?`, f.head-5),
			sqlStmt(`DELETE FROM checkpoints WHERE seq > ?`, f.head-5))
		if rep := f.verify(t, path, nil, nil); !rep.OK {
			t.Fatalf("report %+v", rep)
		}
		kept := f.checkpoints(t)
		rep := f.verify(t, path, nil, func(cps []*walletd.Checkpoint) []*walletd.Checkpoint { return append(cps, kept[len(kept)-1]) })
		wantFirstBad(t, rep, f.head-4)
	})
	t.Run("RewrittenTailWithKey", func(t *testing.T) {
		// An insider with the HMAC key changes an amount near the head and
		// re-hashes everything after it: every link verifies again, and
		// only the signed checkpoint at the head shows the rewrite.
		path := f.copyLedger(t)
		f.rehashFrom(t, path, f.head-2, func(e *walletd.Entry) { e.Reason = "rewritten" })
		rep := f.verify(t, path, nil, func(cps []*walletd.Checkpoint) []*walletd.Checkpoint { return keepBelow(cps, f.head-3) })
		if !rep.OK {
			t.Fatalf("the re-hashed chain should verify without the head checkpoint: %+v", rep)
		}
		wantFirstBad(t, f.verify(t, path, nil, nil), f.head)
	})
	t.Run("RewrittenMiddleWithKey", func(t *testing.T) {
		path := f.copyLedger(t)
		f.rehashFrom(t, path, tamperSeq, func(e *walletd.Entry) { e.Reason = "rewritten" })
		first := f.cps[0]
		for _, s := range f.cps {
			if s >= tamperSeq {
				first = s
				break
			}
		}
		wantFirstBad(t, f.verify(t, path, nil, nil), first)
	})

	cpSeq := f.cps[1]
	t.Run("ForgedCheckpointSignature", func(t *testing.T) {
		path := f.tamper(t, sqlStmt(`UPDATE checkpoints SET signature = randomblob(64) WHERE seq = ?`, cpSeq))
		wantFirstBad(t, f.verify(t, path, nil, nil), cpSeq)
	})
	t.Run("ForgedCheckpointSignatureBitFlip", func(t *testing.T) {
		sig := append([]byte(nil), f.checkpoints(t)[1].Signature...)
		sig[63] ^= 1
		path := f.tamper(t, sqlStmt(`UPDATE checkpoints SET signature = ? WHERE seq = ?`, sig, cpSeq))
		wantFirstBad(t, f.verify(t, path, nil, nil), cpSeq)
	})
	t.Run("ForgedCheckpointHead", func(t *testing.T) {
		path := f.tamper(t, sqlStmt(`UPDATE checkpoints SET head_hash = (SELECT hash FROM entries WHERE seq = ?) WHERE seq = ?`, cpSeq-1, cpSeq))
		wantFirstBad(t, f.verify(t, path, nil, nil), cpSeq)
	})
	t.Run("ForgedCheckpointLedgerID", func(t *testing.T) {
		path := f.tamper(t, sqlStmt(`UPDATE checkpoints SET ledger_id = 'ldg_other' WHERE seq = ?`, cpSeq))
		wantFirstBad(t, f.verify(t, path, nil, nil), cpSeq)
	})
	t.Run("CheckpointSignedByOtherKey", func(t *testing.T) {
		// A well-formed checkpoint, signed with a key that is not walletd's.
		_, other, _ := ed25519.GenerateKey(rand.Reader)
		cp := f.checkpoints(t)[1]
		cp.Sign(other)
		path := f.tamper(t, sqlStmt(`UPDATE checkpoints SET signature = ? WHERE seq = ?`, cp.Signature, cp.Seq))
		wantFirstBad(t, f.verify(t, path, nil, nil), cpSeq)
	})
	t.Run("ErrKeyringMissingKey", func(t *testing.T) {
		rep := f.verify(t, f.copyLedger(t), func(o *ledger.VerifyOptions) { o.Keyring = &walletd.Keyring{} }, nil)
		wantFirstBad(t, rep, 1)
	})
	t.Run("ErrKeyringWrongSecret", func(t *testing.T) {
		kr, err := walletd.NewKeyring(time.Now()) // a k1, but not this ledger's k1
		if err != nil {
			t.Fatal(err)
		}
		rep := f.verify(t, f.copyLedger(t), func(o *ledger.VerifyOptions) { o.Keyring = kr }, nil)
		wantFirstBad(t, rep, 1)
	})
	t.Run("ErrOtherPublicKey", func(t *testing.T) {
		pub, _, _ := ed25519.GenerateKey(rand.Reader)
		rep := f.verify(t, f.copyLedger(t), func(o *ledger.VerifyOptions) { o.PublicKey = pub }, nil)
		wantFirstBad(t, rep, f.cps[0])
	})
}

func keepBelow(cps []*walletd.Checkpoint, seq uint64) []*walletd.Checkpoint {
	var out []*walletd.Checkpoint
	for _, cp := range cps {
		if cp.Seq <= seq {
			out = append(out, cp)
		}
	}
	return out
}

func (f *tamperFixture) checkpoints(tb testing.TB) []*walletd.Checkpoint {
	tb.Helper()
	db, err := sqlite.Open(context.Background(), f.copyLedger(tb))
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	cps, err := db.Checkpoints(context.Background(), 0, 0)
	if err != nil {
		tb.Fatal(err)
	}
	return cps
}

// rehashFrom changes entry seq with edit and recomputes the hash chain
// from there to the head with the keyring, as a key holder could.
func (f *tamperFixture) rehashFrom(tb testing.TB, path string, seq uint64, edit func(*walletd.Entry)) {
	tb.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		tb.Fatal(err)
	}
	es, err := db.Entries(ctx, seq-1, 1<<20)
	db.Close()
	if err != nil {
		tb.Fatal(err)
	}
	raw := openRaw(tb, path)
	defer raw.Close()
	var prev walletd.Hash
	for i, e := range es {
		if i == 0 {
			prev = e.PrevHash
			edit(e)
		}
		e.PrevHash = prev
		e.Hash = ledger.ComputeHash(f.keyring.Key(e.KeyID), e)
		prev = e.Hash
		if _, err := raw.Exec(`UPDATE entries SET reason = ?, prev_hash = ?, hash = ? WHERE seq = ?`, e.Reason, e.PrevHash[:], e.Hash[:], e.Seq); err != nil {
			tb.Fatal(err)
		}
	}
}
