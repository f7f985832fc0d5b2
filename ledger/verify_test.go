package ledger_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/ledger/export"
)

// testChain is an in-memory chain hashed with real keys, for Verify's
// unit tests.
type testChain struct {
	keyring *walletd.Keyring
	pub     ed25519.PublicKey
	priv    ed25519.PrivateKey
	entries []*walletd.Entry
}

const testLedgerID = "ldg_test"

// newTestChain returns a chain of n entries; entries after switchAt (if
// non-zero) use key k2.
func newTestChain(tb testing.TB, n int, switchAt int) *testChain {
	tb.Helper()
	kr := &walletd.Keyring{Active: "k1", Keys: []walletd.Key{
		{ID: "k1", Secret: []byte("k1-secret-0123456789abcdef-k1-k1")},
		{ID: "k2", Secret: []byte("k2-secret-0123456789abcdef-k2-k2")},
	}}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	c := &testChain{keyring: kr, pub: pub, priv: priv}
	var prev walletd.Hash
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for i := 1; i <= n; i++ {
		keyID := "k1"
		if switchAt > 0 && i > switchAt {
			keyID = "k2"
		}
		// Entry 1 opens the wallet; each later one credits 1.00.
		e := &walletd.Entry{
			Seq: uint64(i), ID: fmt.Sprintf("txn_%d", i), EventID: fmt.Sprintf("wph_%d", i),
			Kind: walletd.KindCredit, Type: "topup", WalletID: "wal_1", UserID: "u1", Currency: "USD",
			Amount: "1.00", BalanceAfter: fmt.Sprintf("%d.00", i-1), HeldAfter: "0.00",
			CreatedAt: at.Add(time.Duration(i) * time.Second), KeyID: keyID, PrevHash: prev,
		}
		if i == 1 {
			e.Kind, e.Type, e.Amount = walletd.KindOpen, "open", "0.00"
		}
		e.Hash = ledger.ComputeHash(kr.Key(keyID), e)
		prev = e.Hash
		c.entries = append(c.entries, e)
	}
	return c
}

func (c *testChain) checkpoint(seq uint64) *walletd.Checkpoint {
	cp := &walletd.Checkpoint{LedgerID: testLedgerID, Seq: seq, CreatedAt: time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC)}
	if seq > 0 && int(seq) <= len(c.entries) {
		cp.HeadHash = c.entries[seq-1].Hash
	}
	cp.Sign(c.priv)
	return cp
}

func (c *testChain) verify(tb testing.TB, entries []*walletd.Entry, cps []*walletd.Checkpoint) *ledger.VerifyReport {
	tb.Helper()
	rep, err := ledger.Verify(context.Background(), &sliceIter{entries: entries}, cps,
		ledger.VerifyOptions{Keyring: c.keyring, PublicKey: c.pub, LedgerID: testLedgerID})
	if err != nil {
		tb.Fatal(err)
	}
	return rep
}

// copyEntries returns deep-enough copies so a test can tamper freely.
func copyEntries(es []*walletd.Entry) []*walletd.Entry {
	out := make([]*walletd.Entry, len(es))
	for i, e := range es {
		cp := *e
		out[i] = &cp
	}
	return out
}

func wantBad(tb testing.TB, rep *ledger.VerifyReport, seq uint64) {
	tb.Helper()
	if rep.OK || rep.FirstBadSeq != seq || rep.Problem == "" {
		tb.Fatalf("report %+v, want a failure at seq %d", rep, seq)
	}
}

func TestVerify(t *testing.T) {
	c := newTestChain(t, 10, 6)

	t.Run("OK", func(t *testing.T) {
		rep := c.verify(t, c.entries, []*walletd.Checkpoint{c.checkpoint(10), c.checkpoint(5)}) // unsorted on purpose
		if !rep.OK || rep.Entries != 10 || rep.HeadSeq != 10 || rep.HeadHash != c.entries[9].Hash.String() ||
			rep.Checkpoints != 2 || rep.FirstBadSeq != 0 || rep.Problem != "" {
			t.Fatalf("report %+v", rep)
		}
	})
	t.Run("Empty", func(t *testing.T) {
		rep := c.verify(t, nil, nil)
		if !rep.OK || rep.Entries != 0 || rep.HeadSeq != 0 || rep.HeadHash != "" {
			t.Fatalf("report %+v", rep)
		}
	})
	t.Run("ErrGap", func(t *testing.T) {
		es := append(copyEntries(c.entries[:4]), copyEntries(c.entries[5:])...)
		wantBad(t, c.verify(t, es, nil), 5)
	})
	t.Run("ErrStartsAtTwo", func(t *testing.T) {
		wantBad(t, c.verify(t, c.entries[1:], nil), 1)
	})
	t.Run("ErrRepeatedSeq", func(t *testing.T) {
		es := append(copyEntries(c.entries[:4]), copyEntries(c.entries[3:])...)
		wantBad(t, c.verify(t, es, nil), 5)
	})
	t.Run("ErrPrevHash", func(t *testing.T) {
		es := copyEntries(c.entries)
		es[6].PrevHash[0] ^= 1
		wantBad(t, c.verify(t, es, nil), 7)
	})
	t.Run("ErrFirstPrevHashNotZero", func(t *testing.T) {
		es := copyEntries(c.entries)
		es[0].PrevHash[31] = 1
		es[0].Hash = ledger.ComputeHash(c.keyring.Key("k1"), es[0]) // even re-hashed
		wantBad(t, c.verify(t, es, nil), 1)
	})
	t.Run("ErrHash", func(t *testing.T) {
		es := copyEntries(c.entries)
		es[2].Hash[5] ^= 1
		wantBad(t, c.verify(t, es, nil), 3)
	})
	t.Run("ErrContent", func(t *testing.T) {
		es := copyEntries(c.entries)
		es[3].Amount = "1000.00"
		wantBad(t, c.verify(t, es, nil), 4)
	})
	t.Run("ErrUnknownKey", func(t *testing.T) {
		kr := &walletd.Keyring{Active: "k2", Keys: c.keyring.Keys[1:]}
		rep, err := ledger.Verify(context.Background(), &sliceIter{entries: c.entries}, nil, ledger.VerifyOptions{Keyring: kr})
		if err != nil {
			t.Fatal(err)
		}
		wantBad(t, rep, 1)
	})
	t.Run("ErrRotatedKeyMissing", func(t *testing.T) {
		kr := &walletd.Keyring{Active: "k1", Keys: c.keyring.Keys[:1]}
		rep, err := ledger.Verify(context.Background(), &sliceIter{entries: c.entries}, nil, ledger.VerifyOptions{Keyring: kr})
		if err != nil {
			t.Fatal(err)
		}
		wantBad(t, rep, 7)
	})
	t.Run("ErrWrongSecret", func(t *testing.T) {
		kr := &walletd.Keyring{Active: "k1", Keys: []walletd.Key{{ID: "k1", Secret: []byte("not-the-k1-secret-0123456789abcd")}, c.keyring.Keys[1]}}
		rep, err := ledger.Verify(context.Background(), &sliceIter{entries: c.entries}, nil, ledger.VerifyOptions{Keyring: kr})
		if err != nil {
			t.Fatal(err)
		}
		wantBad(t, rep, 1)
	})
	t.Run("ErrKeyIDSwapped", func(t *testing.T) {
		es := copyEntries(c.entries)
		es[7].KeyID = "k1" // the hash was made with k2
		wantBad(t, c.verify(t, es, nil), 8)
	})
	t.Run("ErrCheckpointSignature", func(t *testing.T) {
		cp := c.checkpoint(5)
		cp.Signature[0] ^= 1
		wantBad(t, c.verify(t, c.entries, []*walletd.Checkpoint{c.checkpoint(3), cp}), 5)
	})
	t.Run("ErrCheckpointShortSignature", func(t *testing.T) {
		cp := c.checkpoint(5)
		cp.Signature = cp.Signature[:10]
		wantBad(t, c.verify(t, c.entries, []*walletd.Checkpoint{cp}), 5)
	})
	t.Run("ErrCheckpointOtherKey", func(t *testing.T) {
		_, other, _ := ed25519.GenerateKey(rand.Reader)
		cp := c.checkpoint(4)
		cp.Sign(other)
		wantBad(t, c.verify(t, c.entries, []*walletd.Checkpoint{cp}), 4)
	})
	t.Run("ErrNoPublicKey", func(t *testing.T) {
		rep, err := ledger.Verify(context.Background(), &sliceIter{entries: c.entries}, []*walletd.Checkpoint{c.checkpoint(4)},
			ledger.VerifyOptions{Keyring: c.keyring})
		if err != nil {
			t.Fatal(err)
		}
		wantBad(t, rep, 4)
	})
	t.Run("NoPublicKeyNoCheckpoints", func(t *testing.T) {
		rep, err := ledger.Verify(context.Background(), &sliceIter{entries: c.entries}, nil, ledger.VerifyOptions{Keyring: c.keyring})
		if err != nil || !rep.OK {
			t.Fatalf("report %+v, %v", rep, err)
		}
	})
	t.Run("ErrLedgerID", func(t *testing.T) {
		cp := c.checkpoint(6)
		cp.LedgerID = "ldg_other"
		cp.Sign(c.priv) // validly signed, but for another ledger
		wantBad(t, c.verify(t, c.entries, []*walletd.Checkpoint{cp}), 6)
	})
	t.Run("AnyLedgerIDWhenUnset", func(t *testing.T) {
		cp := c.checkpoint(6)
		cp.LedgerID = "ldg_other"
		cp.Sign(c.priv)
		rep, err := ledger.Verify(context.Background(), &sliceIter{entries: c.entries}, []*walletd.Checkpoint{cp},
			ledger.VerifyOptions{Keyring: c.keyring, PublicKey: c.pub})
		if err != nil || !rep.OK {
			t.Fatalf("report %+v, %v", rep, err)
		}
	})
	t.Run("ErrCheckpointHeadMismatch", func(t *testing.T) {
		cp := c.checkpoint(6)
		cp.HeadHash = c.entries[4].Hash // signed, but not the hash at seq 6
		cp.Sign(c.priv)
		wantBad(t, c.verify(t, c.entries, []*walletd.Checkpoint{cp}), 6)
	})
	t.Run("ErrTruncatedBelowCheckpoint", func(t *testing.T) {
		cps := []*walletd.Checkpoint{c.checkpoint(5), c.checkpoint(10)}
		rep := c.verify(t, c.entries[:7], cps)
		wantBad(t, rep, 8)
		if rep.FirstBadSeq <= 7 {
			t.Fatalf("FirstBadSeq %d is not beyond the head 7", rep.FirstBadSeq)
		}
		// Without the checkpoint, the cut is invisible: that is why checkpoints exist.
		if rep := c.verify(t, c.entries[:7], cps[:1]); !rep.OK {
			t.Fatalf("report %+v", rep)
		}
	})
	t.Run("ErrRewrittenWithKey", func(t *testing.T) {
		// An insider with the HMAC key rewrites seq 8 and re-hashes the tail.
		es := copyEntries(c.entries)
		es[7].Reason = "rewritten"
		for i := 7; i < len(es); i++ {
			es[i].PrevHash = es[i-1].Hash
			es[i].Hash = ledger.ComputeHash(c.keyring.Key(es[i].KeyID), es[i])
		}
		if rep := c.verify(t, es, nil); !rep.OK {
			t.Fatalf("the re-hashed chain should pass without checkpoints: %+v", rep)
		}
		wantBad(t, c.verify(t, es, []*walletd.Checkpoint{c.checkpoint(9)}), 9)
	})
	// With the key an insider can re-hash anything, but not make the books
	// balance: money that appears is named even with no checkpoint.
	for name, edit := range map[string]func(e *walletd.Entry){
		"Amount":       func(e *walletd.Entry) { e.Amount = "1000.00" },
		"BalanceAfter": func(e *walletd.Entry) { e.BalanceAfter = "1000.00" },
		"HeldAfter":    func(e *walletd.Entry) { e.HeldAfter = "1.00" },
		"Kind":         func(e *walletd.Entry) { e.Kind = walletd.KindDebit },
		"Currency":     func(e *walletd.Entry) { e.Currency = "EUR" },
		"Scale":        func(e *walletd.Entry) { e.Amount, e.BalanceAfter, e.HeldAfter = "1.000", "7.000", "0.000" },
		"ZeroCredit":   func(e *walletd.Entry) { e.Amount, e.BalanceAfter = "0.00", "6.00" },
		"UnknownKind":  func(e *walletd.Entry) { e.Kind = "mint" },
		"SecondOpen":   func(e *walletd.Entry) { e.Kind, e.Amount, e.BalanceAfter = walletd.KindOpen, "0.00", "0.00" },
	} {
		t.Run("ErrBooksRewrittenWithKey/"+name, func(t *testing.T) {
			es := copyEntries(c.entries)
			edit(es[7])
			for i := 7; i < len(es); i++ {
				es[i].PrevHash = es[i-1].Hash
				es[i].Hash = ledger.ComputeHash(c.keyring.Key(es[i].KeyID), es[i])
			}
			wantBad(t, c.verify(t, es, nil), 8)
		})
	}
	t.Run("ErrCheckpointSeqZero", func(t *testing.T) {
		wantBad(t, c.verify(t, c.entries, []*walletd.Checkpoint{c.checkpoint(0)}), 0)
	})
	t.Run("ErrUnreadableEntry", func(t *testing.T) {
		it := &sliceIter{entries: c.entries[:3], err: badSeqError(4)}
		rep, err := ledger.Verify(context.Background(), it, nil, ledger.VerifyOptions{Keyring: c.keyring})
		if err != nil {
			t.Fatal(err)
		}
		wantBad(t, rep, 4)
	})
	t.Run("ErrIterator", func(t *testing.T) {
		it := &sliceIter{entries: c.entries[:3], err: errBoom}
		rep, err := ledger.Verify(context.Background(), it, nil, ledger.VerifyOptions{Keyring: c.keyring})
		if !errors.Is(err, errBoom) || rep != nil {
			t.Fatalf("Verify = %+v, %v; want the iterator's error", rep, err)
		}
	})
}

// badSeqError is an iterator error that names the seq of an unreadable row.
type badSeqError uint64

func (e badSeqError) Error() string  { return fmt.Sprintf("entry %d is unreadable", uint64(e)) }
func (e badSeqError) BadSeq() uint64 { return uint64(e) }

func TestVerify_Large(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	// More than 65536 entries, so the context is consulted on the way.
	c := newTestChain(t, 70000, 0)
	rep := c.verify(t, c.entries, []*walletd.Checkpoint{c.checkpoint(65536), c.checkpoint(70000)})
	if !rep.OK || rep.HeadSeq != 70000 {
		t.Fatalf("report %+v", rep)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ledger.Verify(ctx, &sliceIter{entries: c.entries}, nil, ledger.VerifyOptions{Keyring: c.keyring}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Verify with a cancelled context = %v", err)
	}
}

// TestVerify_External holds a chain against checkpoints kept outside it,
// which whoever cuts the ledger cannot delete with the stored ones.
func TestVerify_External(t *testing.T) {
	c := newTestChain(t, 10, 0)
	verify := func(t *testing.T, entries []*walletd.Entry, stored []*walletd.Checkpoint, ext ...*walletd.Checkpoint) *ledger.VerifyReport {
		t.Helper()
		opt := ledger.VerifyOptions{Keyring: c.keyring, PublicKey: c.pub, LedgerID: testLedgerID}
		for i, cp := range ext {
			opt.External = append(opt.External, ledger.ExternalCheckpoint{Checkpoint: cp, Source: fmt.Sprintf("cp%d.json", i)})
		}
		rep, err := ledger.Verify(context.Background(), &sliceIter{entries: entries}, stored, opt)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	wantProblem := func(t *testing.T, rep *ledger.VerifyReport, seq uint64, text string) {
		t.Helper()
		wantBad(t, rep, seq)
		if !strings.Contains(rep.Problem, text) {
			t.Fatalf("problem %q does not say %q", rep.Problem, text)
		}
	}

	t.Run("OK", func(t *testing.T) {
		rep := verify(t, c.entries, []*walletd.Checkpoint{c.checkpoint(5)}, c.checkpoint(10), c.checkpoint(5), c.checkpoint(10))
		if !rep.OK || rep.HeadSeq != 10 || rep.Checkpoints != 1 || rep.ExternalCheckpoints != 3 {
			t.Fatalf("report %+v", rep)
		}
	})
	t.Run("ErrTruncatedWithCheckpoints", func(t *testing.T) {
		// The tail after 7 is cut and the stored checkpoint at 10 with it:
		// the stored checkpoints see nothing, the one kept outside does.
		stored := []*walletd.Checkpoint{c.checkpoint(5)}
		if rep := verify(t, c.entries[:7], stored); !rep.OK {
			t.Fatalf("report %+v", rep)
		}
		rep := verify(t, c.entries[:7], stored, c.checkpoint(10))
		wantProblem(t, rep, 8, "the ledger ends at seq 7 but checkpoint cp0.json signs seq 10: entries were removed")
	})
	t.Run("ErrRewrittenWithKey", func(t *testing.T) {
		es := copyEntries(c.entries)
		es[7].Reason = "rewritten"
		for i := 7; i < len(es); i++ {
			es[i].PrevHash = es[i-1].Hash
			es[i].Hash = ledger.ComputeHash(c.keyring.Key(es[i].KeyID), es[i])
		}
		wantProblem(t, verify(t, es, nil, c.checkpoint(9)), 9, "seq 9: hash differs from checkpoint cp0.json")
	})
	t.Run("ErrSignature", func(t *testing.T) {
		cp := c.checkpoint(12) // beyond the head, but forged: the signature is named, not the cut
		cp.Signature[0] ^= 1
		wantProblem(t, verify(t, c.entries, nil, c.checkpoint(4), cp), 12, "checkpoint cp1.json (seq 12) has a bad signature")
	})
	t.Run("ErrOtherKey", func(t *testing.T) {
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		cp := c.checkpoint(6)
		cp.Sign(priv)
		wantProblem(t, verify(t, c.entries, nil, cp), 6, "bad signature")
	})
	t.Run("ErrLedgerID", func(t *testing.T) {
		cp := c.checkpoint(6)
		cp.LedgerID = "ldg_other"
		cp.Sign(c.priv)
		wantProblem(t, verify(t, c.entries, nil, cp), 6, `names ledger "ldg_other", not "ldg_test"`)
	})
	t.Run("ErrSeqZero", func(t *testing.T) {
		wantProblem(t, verify(t, c.entries, nil, c.checkpoint(0)), 0, "signs seq 0")
	})
	t.Run("ErrStoredFirst", func(t *testing.T) {
		// A bad stored checkpoint is reported before the external ones.
		bad := c.checkpoint(3)
		bad.Signature[1] ^= 1
		wantProblem(t, verify(t, c.entries, []*walletd.Checkpoint{bad}, c.checkpoint(12)), 3, "checkpoint at seq 3 has a bad signature")
	})
	t.Run("ErrNoPublicKeyOrLedgerID", func(t *testing.T) {
		ext := []ledger.ExternalCheckpoint{{Checkpoint: c.checkpoint(5), Source: "cp.json"}}
		for _, opt := range []ledger.VerifyOptions{
			{Keyring: c.keyring, LedgerID: testLedgerID, External: ext},
			{Keyring: c.keyring, PublicKey: c.pub, External: ext},
		} {
			rep, err := ledger.Verify(context.Background(), &sliceIter{entries: c.entries}, nil, opt)
			if err != nil {
				t.Fatal(err)
			}
			wantProblem(t, rep, 5, "checkpoint cp.json cannot be checked")
		}
	})
	t.Run("Export", func(t *testing.T) {
		// VerifyExport holds the export against them, with the header's
		// ledger id.
		var buf bytes.Buffer
		w, err := export.NewWriter(&buf, testLedgerID, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range c.entries[:7] {
			if err := w.WriteEntry(e); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		opt := ledger.VerifyOptions{Keyring: c.keyring, PublicKey: c.pub,
			External: []ledger.ExternalCheckpoint{{Checkpoint: c.checkpoint(7), Source: "seven.json"}}}
		rep, _, err := ledger.VerifyExport(context.Background(), bytes.NewReader(buf.Bytes()), opt)
		if err != nil || !rep.OK || rep.ExternalCheckpoints != 1 {
			t.Fatalf("report %+v, %v", rep, err)
		}
		opt.External[0] = ledger.ExternalCheckpoint{Checkpoint: c.checkpoint(8), Source: "eight.json"}
		rep, _, err = ledger.VerifyExport(context.Background(), bytes.NewReader(buf.Bytes()), opt)
		if err != nil {
			t.Fatal(err)
		}
		wantProblem(t, rep, 8, "the ledger ends at seq 7 but checkpoint eight.json signs seq 8")
	})
}
