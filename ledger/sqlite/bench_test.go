package sqlite

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/keyfile"
	"github.com/walletd/walletd/ledger"
)

// benchLedger is a ledger built directly through DB.Commit, fast, for the
// verify benchmark: realistic field sizes, a distinct created_at per entry
// (the worst case for the reader) and a signed checkpoint every 1000.
type benchLedger struct {
	DB      *DB
	Keyring *walletd.Keyring
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
	kr, err := walletd.NewKeyring(time.Now())
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
	if err := keyfile.SaveKeyring(filepath.Join(dir, "keyring.json"), l.Keyring); err != nil {
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
			benchmarkWriter(b, cap, false, 0, false)
		})
	}
}

// BenchmarkWriterPipelined compares the group commit with an fsync in
// the writer's loop (Open, synchronous=FULL) and the pipelined one
// (OpenPipelined and WriterConfig.Sync), at the default batch cap and a
// client-like number of goroutines, where batches are not always full.
func BenchmarkWriterPipelined(b *testing.B) {
	for _, workers := range []int{64, 256} {
		for _, pipelined := range []bool{false, true} {
			b.Run(fmt.Sprintf("workers=%d/pipelined=%t", workers, pipelined), func(b *testing.B) {
				benchmarkWriter(b, 1000, false, workers, pipelined)
			})
		}
	}
}

// BenchmarkWriterDebit measures the outgoing path: debits of wallets with
// spending limits and KYC settings, whose checks and counters run in the
// batch.
func BenchmarkWriterDebit(b *testing.B) { benchmarkWriter(b, 1000, true, 0, false) }

// benchmarkWriter runs workers goroutines (0: max(2 × maxBatch, 64)).
func benchmarkWriter(b *testing.B, maxBatch int, debits bool, workers int, pipelined bool) {
	ctx := context.Background()
	open := Open
	syncOf := func(*DB) func() error { return nil } // nil: the fsync is the commit's
	if pipelined {
		open, syncOf = OpenPipelined, func(db *DB) func() error { return db.Sync }
	}
	db, err := open(ctx, filepath.Join(b.TempDir(), "ledger.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if benchWithoutHistoryIndex {
		if _, err := db.write.ExecContext(ctx, `DROP INDEX entries_wallet_time`); err != nil {
			b.Fatal(err)
		}
	}
	kr, err := walletd.NewKeyring(time.Now())
	if err != nil {
		b.Fatal(err)
	}
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	var commits, entries atomic.Int64
	w, err := ledger.NewWriter(ctx, ledger.WriterConfig{
		Store: db, Keyring: kr, CheckpointKey: priv, CheckpointEvery: 1000, MaxBatch: maxBatch, Sync: syncOf(db),
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

	if workers == 0 {
		workers = max(2*maxBatch, 64)
	}
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
