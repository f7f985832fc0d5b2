package ledger_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/keyfile"
	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/walletdtest"
)

// TestKeyring_RotateWriter rotates the key of a running ledger: entries
// written before keep k1, entries after carry k2, the chain runs straight
// across, and verifying needs both keys.
func TestKeyring_RotateWriter(t *testing.T) {
	ctx := context.Background()
	l := walletdtest.MustOpenLedger(t, nil)
	w := l.MustWallet(t, "alice", "USD")
	l.MustCredit(t, w, "10.00")
	l.MustCredit(t, w, "5.00") // seq 3, the last k1 entry

	if err := l.Keyring.Rotate(time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := keyfile.SaveKeyring(filepath.Join(l.Dir, "keyring.json"), l.Keyring); err != nil {
		t.Fatal(err)
	}
	l.Config.Keyring = l.Keyring
	l.Reopen(t)
	e4 := l.MustCredit(t, w, "1.00")
	e5 := l.MustCredit(t, w, "2.00")

	es, err := l.DB.Entries(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 5 {
		t.Fatalf("%d entries", len(es))
	}
	for _, e := range es {
		want := "k1"
		if e.Seq > 3 {
			want = "k2"
		}
		if e.KeyID != want {
			t.Fatalf("seq %d has key_id %q, want %q", e.Seq, e.KeyID, want)
		}
	}
	if e4.Seq != 4 || e4.PrevHash != es[2].Hash || e5.PrevHash != e4.Hash {
		t.Fatal("the chain does not run straight across the rotation")
	}
	if e4.Hash != ledger.ComputeHash(l.Keyring.Key("k2"), e4) {
		t.Fatal("seq 4 is not hashed with k2")
	}

	if rep := l.Verify(t); !rep.OK || rep.HeadSeq != 5 {
		t.Fatalf("verify with the full keyring: %+v", rep)
	}
	verifyWith := func(kr *walletd.Keyring) *ledger.VerifyReport {
		it, err := l.DB.IterateEntries(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer it.Close()
		rep, err := ledger.Verify(ctx, it, nil, ledger.VerifyOptions{Keyring: kr})
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	onlyK2 := &walletd.Keyring{Active: "k2", Keys: []walletd.Key{l.Keyring.Keys[1]}}
	if rep := verifyWith(onlyK2); rep.OK || rep.FirstBadSeq != 1 {
		t.Fatalf("verify with k2 only: %+v, want a failure at seq 1", rep)
	}
	onlyK1 := &walletd.Keyring{Active: "k1", Keys: []walletd.Key{l.Keyring.Keys[0]}}
	if rep := verifyWith(onlyK1); rep.OK || rep.FirstBadSeq != 4 {
		t.Fatalf("verify with k1 only: %+v, want a failure at seq 4", rep)
	}

	// The saved keyring is what a restarted walletd would load.
	loaded, err := keyfile.LoadKeyring(filepath.Join(l.Dir, "keyring.json"))
	if err != nil {
		t.Fatal(err)
	}
	if rep := verifyWith(loaded); !rep.OK {
		t.Fatalf("verify with the saved keyring: %+v", rep)
	}

	t.Run("ErrKeyringLacksHeadKey", func(t *testing.T) {
		l.Close()
		cfg := l.Config
		cfg.Keyring = onlyK1
		db := reopenDB(t, l)
		defer db.Close()
		cfg.Store = db
		if _, err := ledger.NewWriter(ctx, cfg); err == nil {
			t.Fatal("NewWriter started with a keyring that lacks the head's key")
		}
	})
}
