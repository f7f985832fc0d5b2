package sqlite

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"database/sql"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/ledger"
)

// benchLedger is a ledger built directly through DB.Commit, fast, for the
// verify benchmark: realistic field sizes, a distinct created_at per entry
// (the worst case for the reader) and a signed checkpoint every 1000.
type benchLedger struct {
	DB      *DB
	Keyring *ledger.Keyring
	Pub     ed25519.PublicKey
	N       int
}

// buildBenchLedger writes n entries into a new ledger in dir.
func buildBenchLedger(tb testing.TB, dir string, n int) *benchLedger {
	tb.Helper()
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(dir, "ledger.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	kr, err := ledger.NewKeyring(time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	keyID, key, _ := kr.ActiveKey()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	h := ledger.NewHasher(key)

	// One commit per 1000 entries, each with the checkpoint of its last.
	const batchSize = 1000
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var prev walletd.Hash
	for base := 0; base < n; base += batchSize {
		b := &walletd.LedgerBatch{}
		for i := base; i < n && i < base+batchSize; i++ {
			seq := uint64(i + 1)
			// 1000 wallets: the first entry of each opens it, the k-th
			// later one credits 1.00 and leaves the balance at k.
			w, k := (seq-1)%1000, (seq-1)/1000
			wallet := "wal_" + pad27(w)
			e := &walletd.Entry{
				Seq:            seq,
				ID:             "txn_" + pad27(seq),
				EventID:        "wph_" + pad27(seq),
				Kind:           walletd.KindCredit,
				Type:           "topup",
				WalletID:       wallet,
				UserID:         "user-" + strconv.FormatUint(w, 10),
				Currency:       "USD",
				Amount:         "1.00",
				BalanceAfter:   strconv.FormatUint(k, 10) + ".00",
				HeldAfter:      "0.00",
				Reason:         "bench top-up",
				OrderID:        "order-" + strconv.FormatUint(seq, 10),
				Metadata:       `{"channel":"web","source":"bench"}`,
				IdempotencyKey: "idem-" + pad27(seq),
				RequestHash:    fmt.Sprintf("%064x", seq),
				CreatedAt:      start.Add(time.Duration(seq) * time.Millisecond),
				KeyID:          keyID,
				PrevHash:       prev,
			}
			if k == 0 {
				e.Kind, e.Type, e.Amount = walletd.KindOpen, "open", "0.00"
			}
			e.Hash = h.Sum(e)
			prev = e.Hash
			b.Entries = append(b.Entries, e)
			if seq%batchSize == 0 {
				b.Checkpoint = &walletd.Checkpoint{LedgerID: db.LedgerID(), Seq: seq, HeadHash: e.Hash, CreatedAt: e.CreatedAt}
				b.Checkpoint.Sign(priv)
			}
		}
		if err := db.Commit(ctx, b); err != nil {
			tb.Fatal(err)
		}
	}
	return &benchLedger{DB: db, Keyring: kr, Pub: pub, N: n}
}

func pad27(n uint64) string {
	s := strconv.FormatUint(n, 10)
	const zeros = "000000000000000000000000000"
	return zeros[:27-len(s)] + s
}

// TestWriteBenchDataDir writes a data directory with a ledger of
// WALLETD_BENCH_ENTRIES entries (default 200,000), keyring.json and
// checkpoint.pub into WALLETD_BENCH_DATA_DIR, for timing the walletd verify
// and export commands (docs/benchmarks.md). It is skipped without it.
//
//	WALLETD_BENCH_DATA_DIR=/tmp/vdata go test -run TestWriteBenchDataDir ./ledger/sqlite/
func TestWriteBenchDataDir(t *testing.T) {
	dir := os.Getenv("WALLETD_BENCH_DATA_DIR")
	if dir == "" {
		t.Skip("WALLETD_BENCH_DATA_DIR is not set")
	}
	n := 200_000
	if s := os.Getenv("WALLETD_BENCH_ENTRIES"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	l := buildBenchLedger(t, dir, n)
	if err := l.Keyring.Save(filepath.Join(dir, "keyring.json")); err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(l.Pub)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "checkpoint.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkVerify measures ledger.Verify over the SQLite iterator: every
// link, every HMAC and every checkpoint of a 200,000-entry ledger.
//
//	go test -run '^$' -bench BenchmarkVerify -benchtime 5x ./ledger/sqlite/
func BenchmarkVerify(b *testing.B) {
	const n = 200_000
	l := buildBenchLedger(b, b.TempDir(), n)
	ctx := context.Background()
	opt := ledger.VerifyOptions{Keyring: l.Keyring, PublicKey: l.Pub, LedgerID: l.DB.LedgerID()}
	b.ReportAllocs()
	for b.Loop() {
		cps, err := l.DB.Checkpoints(ctx, 0, 0)
		if err != nil {
			b.Fatal(err)
		}
		it, err := l.DB.IterateEntries(ctx)
		if err != nil {
			b.Fatal(err)
		}
		rep, err := ledger.Verify(ctx, it, cps, opt)
		it.Close()
		if err != nil {
			b.Fatal(err)
		} else if !rep.OK || rep.Entries != n {
			b.Fatalf("verify: %+v", rep)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkIterateEntries measures reading alone, without hashing.
func BenchmarkIterateEntries(b *testing.B) {
	const n = 200_000
	l := buildBenchLedger(b, b.TempDir(), n)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		it, err := l.DB.IterateEntries(ctx)
		if err != nil {
			b.Fatal(err)
		}
		var e walletd.Entry
		count := 0
		for {
			ok, err := it.Next(&e)
			if err != nil {
				b.Fatal(err)
			} else if !ok {
				break
			}
			count++
		}
		it.Close()
		if count != n {
			b.Fatalf("read %d entries, want %d", count, n)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkWriter measures the group-commit writer on a real SQLite file
// with synchronous=FULL, one sub-benchmark per batch cap. Each drives
// credits from max(2×cap, 64) concurrent goroutines, so that a full batch
// is always waiting; ops/s counts committed credits.
//
//	go test -run '^$' -bench BenchmarkWriter -benchtime 5s ./ledger/sqlite/
func BenchmarkWriter(b *testing.B) {
	for _, cap := range []int{1, 10, 100, 1000} {
		b.Run(fmt.Sprintf("cap=%d", cap), func(b *testing.B) {
			benchmarkWriter(b, cap, false)
		})
	}
}

// BenchmarkWriterDebit measures the outgoing path: debits of wallets with
// spending limits and KYC settings, whose checks and counters run in the
// batch.
func BenchmarkWriterDebit(b *testing.B) { benchmarkWriter(b, 1000, true) }

func benchmarkWriter(b *testing.B, maxBatch int, debits bool) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(b.TempDir(), "ledger.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	kr, err := ledger.NewKeyring(time.Now())
	if err != nil {
		b.Fatal(err)
	}
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	var commits, entries atomic.Int64
	w, err := ledger.NewWriter(ctx, ledger.WriterConfig{
		Store: db, Keyring: kr, CheckpointKey: priv, CheckpointEvery: 1000, MaxBatch: maxBatch,
		OnCommit: func(_, n int, _ time.Duration, err error) {
			if err == nil {
				commits.Add(1)
				entries.Add(int64(n))
			}
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	w.Open()
	defer w.Close()

	workers := max(2*maxBatch, 64)
	const nWallets = 64
	wallets := make([]string, nWallets)
	var wg sync.WaitGroup
	for i := range wallets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := w.Submit(ctx, "", &ledger.CreateWallet{UserID: fmt.Sprintf("bench-%d", i), Email: "bench@example.com", Currency: "USD"})
			if err != nil {
				b.Error(err)
				return
			}
			wallets[i] = r.Entries[0].WalletID
		}()
	}
	wg.Wait()
	if b.Failed() {
		return
	}
	if debits {
		if _, err := w.Submit(ctx, "", &ledger.SetKYCSettings{Threshold: "1000"}); err != nil {
			b.Fatal(err)
		}
		for _, id := range wallets {
			for _, cmd := range []walletd.Command{
				&ledger.Post{WalletID: id, Kind: walletd.KindCredit, Amount: "900000000", Type: "topup"},
				&ledger.SetLimits{WalletID: id, PerTransaction: str("500"), Daily: str("900000000")},
			} {
				if _, err := w.Submit(ctx, "", cmd); err != nil {
					b.Fatal(err)
				}
			}
		}
	}

	commits.Store(0)
	entries.Store(0)
	var next atomic.Int64
	b.SetParallelism((workers + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := next.Add(1)
		cmd := &ledger.Post{WalletID: wallets[i%nWallets], Kind: walletd.KindCredit, Amount: "1.00", Type: "topup", Reason: "bench"}
		if debits {
			cmd.Kind, cmd.Type = walletd.KindDebit, "order_payment"
		}
		for pb.Next() {
			if _, err := w.Submit(ctx, "", cmd); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	if c := commits.Load(); c > 0 {
		b.ReportMetric(float64(entries.Load())/float64(c), "entries/commit")
	}
}

// The tests below guard the fast read path the benchmarks measure: the
// chunked, parallel EntryIterator must yield exactly what one plain
// `SELECT … ORDER BY seq` yields, and Verify must name the same first bad
// seq through it.

// plainEntries reads every row with one ordered query and the plain
// scanner, stopping at the first unreadable row.
func plainEntries(t *testing.T, db *DB) ([]walletd.Entry, error) {
	t.Helper()
	rows, err := db.ReadDB().Query(`SELECT ` + entryColumns + ` FROM entries ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []walletd.Entry
	for rows.Next() {
		var e walletd.Entry
		if err := scanEntry(rows, &e); err != nil {
			return out, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// iterEntries reads every entry through IterateEntries.
func iterEntries(t *testing.T, db *DB) ([]walletd.Entry, error) {
	t.Helper()
	it, err := db.IterateEntries(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var out []walletd.Entry
	for {
		var e walletd.Entry
		ok, err := it.Next(&e)
		if err != nil || !ok {
			return out, err
		}
		out = append(out, e)
	}
}

func verifyBench(t *testing.T, l *benchLedger) *ledger.VerifyReport {
	t.Helper()
	ctx := context.Background()
	cps, err := l.DB.Checkpoints(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	it, err := l.DB.IterateEntries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	rep, err := ledger.Verify(ctx, it, cps, ledger.VerifyOptions{Keyring: l.Keyring, PublicKey: l.Pub, LedgerID: l.DB.LedgerID()})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// tamper runs SQL on the ledger file over a connection of its own.
func tamper(t *testing.T, l *benchLedger, query string, args ...any) {
	t.Helper()
	raw, err := sql.Open("sqlite3", "file:"+l.DB.Path+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(query, args...); err != nil {
		t.Fatal(err)
	}
}

func TestEntryIterator_Next(t *testing.T) {
	const n = 3*iterChunk + 123 // several chunks and a partial one
	// Each subtest gets a fresh ledger; building one takes well under a second.
	build := func(t *testing.T) *benchLedger { return buildBenchLedger(t, t.TempDir(), n) }

	t.Run("OK", func(t *testing.T) {
		l := build(t)
		want, err := plainEntries(t, l.DB)
		if err != nil {
			t.Fatal(err)
		}
		got, err := iterEntries(t, l.DB)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != n || len(want) != n {
			t.Fatalf("iterator read %d entries, plain scan %d, want %d", len(got), len(want), n)
		}
		for i := range want {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Fatalf("entry %d differs:\n got %+v\nwant %+v", i, got[i], want[i])
			}
		}
		if rep := verifyBench(t, l); !rep.OK || rep.Entries != n || rep.Checkpoints != n/1000 {
			t.Fatalf("verify: %+v", rep)
		}
	})

	t.Run("Empty", func(t *testing.T) {
		db, err := Open(context.Background(), filepath.Join(t.TempDir(), "ledger.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if got, err := iterEntries(t, db); err != nil || len(got) != 0 {
			t.Fatalf("got %d entries, %v", len(got), err)
		}
	})

	// Each case tampers with the file; Verify must name the same first bad
	// seq as a sequential scan would.
	for _, tc := range []struct {
		name    string
		sql     []string
		wantBad uint64
	}{
		{"ErrGap", []string{`DELETE FROM entries WHERE seq = 3000`}, 3000},
		{"ErrGapAtChunkStart", []string{`DELETE FROM entries WHERE seq = 2049`}, 2049},
		{"ErrBadTime", []string{`UPDATE entries SET created_at = 'yesterday' WHERE seq = 4500`}, 4500},
		{"ErrBadTimeAfterBadHash", []string{
			`UPDATE entries SET created_at = 'yesterday' WHERE seq = 6000`,
			`UPDATE entries SET prev_hash = x'00' WHERE seq = 2500`,
		}, 2500},
		{"ErrTimeNotCanonical", []string{`UPDATE entries SET created_at = replace(created_at, '.', ',') WHERE seq = 4000`}, 4000},
		{"ErrAmount", []string{`UPDATE entries SET amount = '1000000.00' WHERE seq = 5000`}, 5000},
		{"ErrLastEntry", []string{`UPDATE entries SET reason = 'x' WHERE seq = ` + strconv.Itoa(n)}, n},
		{"ErrFarSeq", []string{`INSERT INTO entries SELECT 1099511627776, id || 'x', event_id || 'x', kind, type, wallet_id, user_id,
			email, currency, amount, balance_after, held_after, reason, order_id, transfer_id, counterparty, metadata,
			idempotency_key, request_hash, created_at, key_id, prev_hash, hash FROM entries WHERE seq = 1`}, n + 1},
		{"ErrHoleThenFarSeq", []string{`UPDATE entries SET seq = seq + 1000000 WHERE seq > 5000`}, 5001},
		{"ErrNegativeSeq", []string{`INSERT INTO entries SELECT -5, id || 'x', event_id || 'x', kind, type, wallet_id, user_id,
			email, currency, amount, balance_after, held_after, reason, order_id, transfer_id, counterparty, metadata,
			idempotency_key, request_hash, created_at, key_id, prev_hash, hash FROM entries WHERE seq = 1`}, uint64(1<<64 - 5)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := build(t)
			for _, q := range tc.sql {
				tamper(t, l, q)
			}
			want, wantErr := plainEntries(t, l.DB)
			got, gotErr := iterEntries(t, l.DB)
			if len(got) != len(want) || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
				t.Fatalf("iterator: %d entries, err %v; plain scan: %d entries, err %v", len(got), gotErr, len(want), wantErr)
			}
			for i := range want {
				if !reflect.DeepEqual(got[i], want[i]) {
					t.Fatalf("entry %d differs", i)
				}
			}
			rep := verifyBench(t, l)
			if rep.OK || rep.FirstBadSeq != tc.wantBad {
				t.Fatalf("verify: want first bad seq %d, got %+v", tc.wantBad, rep)
			}
		})
	}

	t.Run("CloseEarly", func(t *testing.T) {
		l := build(t)
		it, err := l.DB.IterateEntries(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var e walletd.Entry
		for i := 0; i < 10; i++ {
			if ok, err := it.Next(&e); !ok || err != nil {
				t.Fatalf("next: %v %v", ok, err)
			}
		}
		if err := it.Close(); err != nil {
			t.Fatal(err)
		}
		if err := it.Close(); err != nil {
			t.Fatal(err)
		}
		if ok, err := it.Next(&e); ok || err == nil {
			t.Fatalf("Next after Close: %v, %v", ok, err)
		}
	})

	t.Run("ErrContextCanceled", func(t *testing.T) {
		l := build(t)
		ctx, cancel := context.WithCancel(context.Background())
		it, err := l.DB.IterateEntries(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer it.Close()
		cancel()
		var e walletd.Entry
		for {
			ok, err := it.Next(&e)
			if err != nil {
				break // canceled, at some point
			} else if !ok {
				break // or everything was read ahead before the cancel
			}
		}
	})
}

func TestParseEntryTime(t *testing.T) {
	for _, s := range []string{
		"2025-01-02T03:04:05.123456Z", "2024-02-29T23:59:59.999999Z", "0000-01-01T00:00:00.000000Z",
		"2025-02-29T00:00:00.000000Z", "2025-13-01T00:00:00.000000Z", "2025-01-01T24:00:00.000000Z",
		"2025-01-01T00:60:00.000000Z", "2025-01-01T00:00:60.000000Z", "2025-04-31T00:00:00.000000Z",
		"2025-01-01T00:00:00.00000Z", "2025-01-01 00:00:00.000000Z", "2025-01-01T00:00:00.000000+", "",
		"2025-01-0xT00:00:00.000000Z", "+025-01-01T00:00:00.000000Z", "2025-01-01T00:00:00.-00000Z",
		"2025-01-01T00:00:00,000000Z", "2025-01-01T0:00:00.000000Z",
	} {
		checkParseEntryTime(t, s)
	}
}

func FuzzParseEntryTime(f *testing.F) {
	f.Add("2025-01-02T03:04:05.123456Z")
	f.Add("2024-02-29T23:59:59.999999Z")
	f.Add("2025-02-29T00:00:00.000000Z")
	f.Add("2025-01-01T00:00:00,000000Z")
	f.Fuzz(func(t *testing.T, s string) { checkParseEntryTime(t, s) })
}

// checkParseEntryTime asserts that the fast parser agrees with time.Parse,
// and that parseEntryTime accepts exactly the texts that render back to
// themselves.
func checkParseEntryTime(t *testing.T, s string) {
	t.Helper()
	want, wantErr := time.Parse(walletd.TimeFormat, s)
	if got, ok := fastEntryTime(s); ok && (wantErr != nil || got != want || got.Format(walletd.TimeFormat) != s) {
		t.Fatalf("fastEntryTime(%q) = %v; time.Parse = %v, %v", s, got, want, wantErr)
	}
	got, err := parseEntryTime(s)
	canonical := wantErr == nil && want.Format(walletd.TimeFormat) == s
	if (err == nil) != canonical || (err == nil && got != want) {
		t.Fatalf("parseEntryTime(%q) = %v, %v; time.Parse = %v, %v", s, got, err, want, wantErr)
	}
}

func str(s string) *string { return &s }
