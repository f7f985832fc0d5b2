package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/ledger"
)

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
