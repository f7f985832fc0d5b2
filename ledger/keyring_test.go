package ledger_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/walletd/walletd/keyfile"
	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/walletdtest"
)

func TestNewKeyring(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.FixedZone("X", 3600))
	kr, err := ledger.NewKeyring(now)
	if err != nil {
		t.Fatal(err)
	}
	id, secret, err := kr.ActiveKey()
	if err != nil || id != "k1" || len(secret) != 32 {
		t.Fatalf("ActiveKey() = %q, %d bytes, %v", id, len(secret), err)
	}
	if got := kr.Keys[0].CreatedAt; !got.Equal(now) || got.Location() != time.UTC {
		t.Fatalf("CreatedAt = %v, want %v in UTC", got, now)
	}
	other, _ := ledger.NewKeyring(now)
	if bytes.Equal(other.Key("k1"), secret) {
		t.Fatal("two keyrings share a secret")
	}
}

func TestKeyring_Rotate(t *testing.T) {
	kr, _ := ledger.NewKeyring(time.Now())
	k1 := append([]byte(nil), kr.Key("k1")...)
	if err := kr.Rotate(time.Now()); err != nil {
		t.Fatal(err)
	}
	id, k2, err := kr.ActiveKey()
	if err != nil || id != "k2" || len(k2) != 32 {
		t.Fatalf("after Rotate: ActiveKey() = %q, %v", id, err)
	}
	if !bytes.Equal(kr.Key("k1"), k1) {
		t.Fatal("Rotate changed k1")
	}
	if bytes.Equal(k1, k2) {
		t.Fatal("k2 equals k1")
	}
	if err := kr.Rotate(time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(kr.IDs(), ","); got != "k1,k2,k3" || kr.Active != "k3" {
		t.Fatalf("IDs() = %s, active %s", got, kr.Active)
	}
	if kr.Key("k9") != nil {
		t.Fatal("Key of an unknown id is not nil")
	}

	t.Run("IDCollision", func(t *testing.T) {
		// A keyring edited by hand may hold k1 and k3 only; the next id must be new.
		kr := &ledger.Keyring{Active: "k3", Keys: []ledger.Key{{ID: "k1", Secret: k1}, {ID: "k3", Secret: k2}}}
		if err := kr.Rotate(time.Now()); err != nil {
			t.Fatal(err)
		}
		if kr.Active == "k1" || kr.Active == "k3" || len(kr.Keys) != 3 || len(kr.Key(kr.Active)) != 32 {
			t.Fatalf("Rotate made id %q over %v", kr.Active, kr.IDs())
		}
	})
	t.Run("ErrActiveMissing", func(t *testing.T) {
		kr := &ledger.Keyring{Active: "k7", Keys: []ledger.Key{{ID: "k1", Secret: k1}}}
		if _, _, err := kr.ActiveKey(); err == nil {
			t.Fatal("ActiveKey with a missing active key succeeded")
		}
	})
}

func TestKeyringFrom(t *testing.T) {
	k1 := ledger.Key{ID: "k1", Secret: bytes.Repeat([]byte{1}, 16)}
	k2 := ledger.Key{ID: "k2", Secret: bytes.Repeat([]byte{2}, 32)}
	t.Run("OK", func(t *testing.T) {
		keys := []ledger.Key{k1, k2}
		kr, err := ledger.KeyringFrom("k1", keys)
		if err != nil {
			t.Fatal(err)
		}
		if id, secret, err := kr.ActiveKey(); err != nil || id != "k1" || !bytes.Equal(secret, k1.Secret) {
			t.Fatalf("ActiveKey() = %q, %x, %v", id, secret, err)
		}
		keys[0] = k2
		if kr.Keys[0].ID != "k1" {
			t.Fatal("the keyring shares its key slice with the caller")
		}
	})
	for name, tc := range map[string]struct {
		active string
		keys   []ledger.Key
	}{
		"ErrShortSecret":  {"k1", []ledger.Key{{ID: "k1", Secret: make([]byte, 15)}}},
		"ErrActiveAbsent": {"k3", []ledger.Key{k1, k2}},
		"ErrNoKeys":       {"k1", nil},
	} {
		t.Run(name, func(t *testing.T) {
			if kr, err := ledger.KeyringFrom(tc.active, tc.keys); err == nil {
				t.Fatalf("KeyringFrom = %+v, want an error", kr)
			}
		})
	}
}

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
	verifyWith := func(kr *ledger.Keyring) *ledger.VerifyReport {
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
	onlyK2 := &ledger.Keyring{Active: "k2", Keys: []ledger.Key{l.Keyring.Keys[1]}}
	if rep := verifyWith(onlyK2); rep.OK || rep.FirstBadSeq != 1 {
		t.Fatalf("verify with k2 only: %+v, want a failure at seq 1", rep)
	}
	onlyK1 := &ledger.Keyring{Active: "k1", Keys: []ledger.Key{l.Keyring.Keys[0]}}
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
