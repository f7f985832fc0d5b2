package ledger

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/segmentio/ksuid"
	"github.com/walletd/walletd"
)

// booksBytesPerWallet opens n wallets with ids as the writer makes them,
// credits each once, and returns the live heap the books hold per wallet.
func booksBytesPerWallet(tb testing.TB, n int) float64 {
	tb.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = walletd.NewID("wal")
	}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before := ms.HeapAlloc
	books := newWalletBooks()
	for i, id := range ids {
		e := walletd.Entry{Kind: walletd.KindOpen, WalletID: id, UserID: fmt.Sprint(i), Currency: "USD", Amount: "0.00", BalanceAfter: "0.00", HeldAfter: "0.00"}
		if p := books.apply(&e); p != "" {
			tb.Fatal(p)
		}
		e.Kind, e.Amount, e.BalanceAfter = walletd.KindCredit, "12.50", "12.50"
		if p := books.apply(&e); p != "" {
			tb.Fatal(p)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	runtime.KeepAlive(ids)
	if len(books.other) != 0 || len(books.bigs) != 0 || len(books.index) != n {
		tb.Fatalf("%d ids keyed by their KSUID, %d by their text, %d big books: want %d, 0, 0", len(books.index), len(books.other), len(books.bigs), n)
	}
	runtime.KeepAlive(books)
	return float64(ms.HeapAlloc-before) / float64(n)
}

// TestWalletBooks_BytesPerWallet: verify's live memory is its books, one
// per wallet; a wallet the writer made costs well under 100 bytes of heap
// (the former map of id strings to books: about 200).
func TestWalletBooks_BytesPerWallet(t *testing.T) {
	n := 200_000
	if testing.Short() {
		n = 50_000
	}
	per := booksBytesPerWallet(t, n)
	t.Logf("%d wallets: %.1f bytes per wallet", n, per)
	if per > 100 {
		t.Errorf("%.1f bytes per wallet, want at most 100", per)
	}
}

// BenchmarkWalletBooks_Memory reports the books' bytes per wallet at 1M
// wallets, the 10M-entry benchmark ledger's.
func BenchmarkWalletBooks_Memory(b *testing.B) {
	for range b.N {
		b.ReportMetric(booksBytesPerWallet(b, 1_000_000), "B/wallet")
	}
}

// BenchmarkWalletBooks reports the time the books take per entry.
func BenchmarkWalletBooks(b *testing.B) {
	books := newWalletBooks()
	id := walletd.NewID("wal")
	e := walletd.Entry{Kind: walletd.KindOpen, WalletID: id, UserID: "7", Currency: "USD", Amount: "0.00", BalanceAfter: "0.00", HeldAfter: "0.00"}
	books.apply(&e)
	e.Kind = walletd.KindNote
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if p := books.apply(&e); p != "" {
			b.Fatal(p)
		}
	}
}

// TestWalletBooks_Keys: only "wal_" and a KSUID's canonical text is keyed
// by the KSUID. Base62 decoding takes other spellings of the same number
// ("0{" for "10": '{' decodes as digit 62); keyed by the number, such an
// id would pass for the other wallet, so it is numbered like any other id.
func TestWalletBooks_Keys(t *testing.T) {
	k := []byte(ksuid.New().String())
	k[25], k[26] = '1', '0'
	canonical := "wal_" + string(k)
	if _, err := ksuid.Parse(string(k)); err != nil {
		t.Fatal(err)
	}
	k[25], k[26] = '0', '{'
	alias := "wal_" + string(k)
	if got, err := ksuid.Parse(string(k)); err != nil || "wal_"+got.String() != canonical {
		t.Fatalf("the alias does not decode to the canonical KSUID (%v %v): the test's premise is wrong", got, err)
	}
	books := newWalletBooks()
	if _, ok := parseKSUID(canonical); !ok {
		t.Errorf("%s not keyed by its KSUID", canonical)
	}
	// The key is the KSUID's bytes, for any KSUID.
	for _, id := range []ksuid.KSUID{ksuid.Nil, ksuid.Max, ksuid.New(), ksuid.New().Next()} {
		if key, ok := parseKSUID("wal_" + id.String()); !ok || key != id {
			t.Errorf("wal_%s keyed %x, want %x", id, key, id[:])
		}
	}
	// Past 2^160, or not base62: keyed by the text.
	if _, ok := parseKSUID("wal_aWgEPTl1tmebfsQzFP4bxwgy80W"); ok {
		t.Errorf("KSUID max + 1 keyed by a KSUID")
	}
	for _, id := range []string{alias, "", "wal_", "w1", "WAL_" + canonical[4:], canonical + "0", canonical[:30] + "-", canonical[:30] + "é"[:1]} {
		if _, ok := parseKSUID(id); ok {
			t.Errorf("%q keyed by a KSUID", id)
		}
	}
	open := walletd.Entry{Kind: walletd.KindOpen, WalletID: canonical, UserID: "9", Currency: "USD", Amount: "0.00", BalanceAfter: "0.00", HeldAfter: "0.00"}
	if p := books.apply(&open); p != "" {
		t.Fatal(p)
	}
	credit := walletd.Entry{Kind: walletd.KindCredit, WalletID: alias, UserID: "9", Currency: "USD", Amount: "1.00", BalanceAfter: "1.00", HeldAfter: "0.00"}
	if p := books.apply(&credit); !strings.Contains(p, "used before it is opened") {
		t.Errorf("a credit of the alias: %q, want used before it is opened", p)
	}
	credit.WalletID = canonical
	if p := books.apply(&credit); p != "" {
		t.Errorf("a credit of the wallet: %q", p)
	}
	// The alias is a wallet of its own, keyed by its text.
	open.WalletID = alias
	if p := books.apply(&open); p != "" {
		t.Errorf("open the alias: %q", p)
	}
	credit.WalletID, credit.BalanceAfter = alias, "1.00"
	if p := books.apply(&credit); p != "" {
		t.Errorf("a credit of the alias: %q", p)
	}
	if len(books.index) != 1 || len(books.other) != 1 {
		t.Errorf("%d wallets keyed by KSUID, %d by text: want 1, 1", len(books.index), len(books.other))
	}
}

// TestWalletBooks_BigAmounts: a balance beyond int64 minor units moves to
// the big amounts and back, and is checked the same.
func TestWalletBooks_BigAmounts(t *testing.T) {
	books := newWalletBooks()
	id := walletd.NewID("wal")
	e := func(kind, amount, bal, held string) *walletd.Entry {
		return &walletd.Entry{Kind: kind, WalletID: id, UserID: "1", Currency: "BTC", Amount: amount, BalanceAfter: bal, HeldAfter: held}
	}
	steps := []struct {
		e    *walletd.Entry
		want string
	}{
		{e(walletd.KindOpen, "0.00000000", "0.00000000", "0.00000000"), ""},
		{e(walletd.KindCredit, "99999999999.00000000", "99999999999.00000000", "0.00000000"), ""},
		{e(walletd.KindCredit, "99999999999.00000000", "199999999998.00000000", "0.00000000"), ""},
		{e(walletd.KindHold, "1.00000000", "199999999998.00000000", "1.00000000"), ""},
		{e(walletd.KindCredit, "1.00000000", "199999999998.00000000", "1.00000000"), "do not follow"},
		{e(walletd.KindDebit, "199999999990.00000000", "8.00000000", "1.00000000"), ""},
		{e(walletd.KindSettle, "1.00000000", "7.00000000", "0.00000000"), ""},
		{e(walletd.KindDebit, "1.00000000", "7.00000000", "0.00000000"), "do not follow"},
		{e(walletd.KindDebit, "1.00000000", "6.00000000", "0.00000000"), ""},
	}
	for i, s := range steps {
		got := books.apply(s.e)
		if s.want == "" && got != "" || s.want != "" && !strings.Contains(got, s.want) {
			t.Fatalf("step %d (%s %s → %s): %q, want %q", i, s.e.Kind, s.e.Amount, s.e.BalanceAfter, got, s.want)
		}
	}
	if len(books.bigs) != 0 {
		t.Errorf("%d big books left after the balance fell back into int64", len(books.bigs))
	}
}

func BenchmarkParseKSUID(b *testing.B) {
	id := walletd.NewID("wal")
	for range b.N {
		if _, ok := parseKSUID(id); !ok {
			b.Fatal(id)
		}
	}
}

// FuzzParseKSUID: verify keys a wallet by the 20 bytes parseKSUID reads
// from an id in a ledger under test. It accepts exactly "wal_" and the
// text ksuid.KSUID.String makes, giving that KSUID; so two ids it
// accepts share a key only if they are the same id.
func FuzzParseKSUID(f *testing.F) {
	for _, s := range []string{"wal_" + ksuid.New().String(), "wal_" + ksuid.Max.String(), "wal_" + ksuid.Nil.String(),
		"wal_aWgEPTl1tmebfsQzFP4bxwgy80W", "wal_3mycuvxodpi3r6lhqvqwbpvc0{", "wal_", "", "txn_" + ksuid.New().String(), "wal_zzzzzzzzzzzzzzzzzzzzzzzzzzz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		got, ok := parseKSUID(id)
		var want ksuid.KSUID
		wantOK := false
		if rest, found := strings.CutPrefix(id, "wal_"); found {
			if k, err := ksuid.Parse(rest); err == nil && k.String() == rest {
				want, wantOK = k, true
			}
		}
		if ok != wantOK || ok && got != want {
			t.Fatalf("parseKSUID(%q) = %x, %v; want %x, %v", id, got, ok, want[:], wantOK)
		}
	})
}
