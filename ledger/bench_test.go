package ledger_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/ledger/export"
)

// benchEntry returns an entry with realistic field sizes: KSUID ids, a
// reason, metadata, an idempotency key and a request hash.
func benchEntry(seq uint64) *walletd.Entry {
	return &walletd.Entry{
		Seq:            seq,
		ID:             "txn_2frgqRkicvGpvM9Fsjz7T5P6j7i",
		EventID:        "wph_2frgqMrvQCqJc0lw19ljh7L8KU2",
		Kind:           walletd.KindCredit,
		Type:           "topup",
		WalletID:       "wal_2frgqMbtBJeWJxHZLRE980Atqp3",
		UserID:         "user_1001",
		Currency:       "USD",
		Amount:         "25.00",
		BalanceAfter:   "1025.00",
		HeldAfter:      "0.00",
		Reason:         "Top-up by card",
		OrderID:        "order-20250101-0001",
		Metadata:       `{"channel":"web","source":"checkout"}`,
		IdempotencyKey: "5f0c6e0e-8d3c-4a52-9b7e-1f7f7e0f6a11",
		RequestHash:    "9f2c1b8e7d6a5f4e3d2c1b0a99887766554433221100ffeeddccbbaa99887766",
		CreatedAt:      time.Date(2025, 1, 1, 12, 0, 0, 123456000, time.UTC),
		KeyID:          "k1",
	}
}

// BenchmarkEntry_AppendCanonical measures the canonical encoding alone.
func BenchmarkEntry_AppendCanonical(b *testing.B) {
	e := benchEntry(1)
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = e.AppendCanonical(buf[:0])
	}
	b.SetBytes(int64(len(buf)))
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkHasher_Sum measures what the writer does per appended entry and
// Verify per checked entry: canonical encoding plus HMAC-SHA256.
//
//	go test -run '^$' -bench 'Hasher|Canonical' ./ledger/
func BenchmarkHasher_Sum(b *testing.B) {
	h := ledger.NewHasher([]byte("0123456789abcdef0123456789abcdef"))
	e := benchEntry(1)
	b.SetBytes(int64(len(e.Canonical()) + walletd.HashSize))
	b.ReportAllocs()
	for b.Loop() {
		e.Hash = h.Sum(e)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// benchExport returns an export of n chained entries.
func benchExport(b *testing.B, n int) ([]byte, ledger.VerifyOptions) {
	b.Helper()
	kr := &walletd.Keyring{Active: "k1", Keys: []walletd.Key{{ID: "k1", Secret: []byte("0123456789abcdef0123456789abcdef")}}}
	h := ledger.NewHasher(kr.Key("k1"))
	var buf bytes.Buffer
	ew, err := export.NewWriter(&buf, "ldg_bench", time.Now())
	if err != nil {
		b.Fatal(err)
	}
	var prev walletd.Hash
	for i := 1; i <= n; i++ {
		e := benchEntry(uint64(i))
		e.ID = fmt.Sprintf("txn_%027d", i)
		e.EventID = fmt.Sprintf("wph_%027d", i)
		e.CreatedAt = e.CreatedAt.Add(time.Duration(i) * time.Millisecond)
		e.PrevHash = prev
		e.Hash = h.Sum(e)
		prev = e.Hash
		if err := ew.WriteEntry(e); err != nil {
			b.Fatal(err)
		}
	}
	if err := ew.Close(); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes(), ledger.VerifyOptions{Keyring: kr}
}

// BenchmarkExportWriter_WriteEntry measures encoding entry lines.
func BenchmarkExportWriter_WriteEntry(b *testing.B) {
	ew, err := export.NewWriter(io.Discard, "ldg_bench", time.Now())
	if err != nil {
		b.Fatal(err)
	}
	e := benchEntry(1)
	b.ReportAllocs()
	for b.Loop() {
		if err := ew.WriteEntry(e); err != nil {
			b.Fatal(err)
		}
		e.Seq++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkVerifyExport measures `walletd verify --export` on an in-memory
// file of 100,000 entries: both passes, parsing and hashing.
//
//	go test -run '^$' -bench VerifyExport -benchtime 5x ./ledger/
func BenchmarkVerifyExport(b *testing.B) {
	const n = 100_000
	file, opt := benchExport(b, n)
	b.SetBytes(int64(len(file)))
	b.ReportAllocs()
	for b.Loop() {
		rep, _, err := ledger.VerifyExport(context.Background(), bytes.NewReader(file), opt)
		if err != nil {
			b.Fatal(err)
		} else if !rep.OK || rep.Entries != n {
			b.Fatalf("verify: %+v", rep)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}
