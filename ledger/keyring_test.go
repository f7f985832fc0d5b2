package ledger_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

func TestKeyring_SaveLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keyring.json")
	kr, _ := ledger.NewKeyring(time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.UTC))
	if err := kr.Rotate(time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	// An older file with loose permissions is replaced by a 0600 one.
	if err := os.WriteFile(path, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := kr.Save(path); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("keyring mode %v, want 0600", fi.Mode().Perm())
	}
	if names := dirNames(t, dir); len(names) != 1 {
		t.Fatalf("Save left files behind: %v", names)
	}
	got, err := ledger.LoadKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Active != "k2" || len(got.Keys) != 2 {
		t.Fatalf("loaded %+v", got)
	}
	for i, k := range kr.Keys {
		g := got.Keys[i]
		if g.ID != k.ID || !bytes.Equal(g.Secret, k.Secret) || !g.CreatedAt.Equal(k.CreatedAt) {
			t.Fatalf("key %d: loaded %+v, saved %+v", i, g, k)
		}
	}

	t.Run("Format", func(t *testing.T) {
		// The documented file format: {"active", "keys": [{"id", "secret" (base64), "created_at"}]}.
		b, _ := os.ReadFile(path)
		var raw struct {
			Active string `json:"active"`
			Keys   []struct {
				ID        string `json:"id"`
				Secret    string `json:"secret"`
				CreatedAt string `json:"created_at"`
			} `json:"keys"`
		}
		if err := json.Unmarshal(b, &raw); err != nil {
			t.Fatal(err)
		}
		if raw.Active != "k2" || raw.Keys[0].Secret != ledger.EncodeSecret(kr.Keys[0].Secret) ||
			raw.Keys[0].CreatedAt != "2024-05-01T12:00:00.123456789Z" {
			t.Fatalf("file %s", b)
		}
	})
	t.Run("DocumentedExample", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "k.json")
		doc := `{"active": "k1", "keys": [{"id": "k1", "secret": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "created_at": "2024-05-01T11:59:00Z"}]}`
		if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		kr, err := ledger.LoadKeyring(p)
		if err != nil {
			t.Fatal(err)
		}
		want := make([]byte, 32)
		for i := range want {
			want[i] = byte(i)
		}
		if !bytes.Equal(kr.Key("k1"), want) {
			t.Fatalf("secret %x", kr.Key("k1"))
		}
	})
	t.Run("ErrNotExist", func(t *testing.T) {
		if _, err := ledger.LoadKeyring(filepath.Join(dir, "missing.json")); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("LoadKeyring(missing) = %v, want fs.ErrNotExist", err)
		}
	})
	for name, body := range map[string]string{
		"ErrNotJSON":      `not json`,
		"ErrBadBase64":    `{"active":"k1","keys":[{"id":"k1","secret":"%%%"}]}`,
		"ErrShortSecret":  `{"active":"k1","keys":[{"id":"k1","secret":"AAECAwQFBgcICQoLDA0O"}]}`,
		"ErrActiveAbsent": `{"active":"k2","keys":[{"id":"k1","secret":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}]}`,
		"ErrNoKeys":       `{"active":"k1","keys":[]}`,
		"ErrEmpty":        ``,
	} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "k.json")
			if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			if kr, err := ledger.LoadKeyring(p); err == nil {
				t.Fatalf("LoadKeyring(%s) = %+v, want an error", body, kr)
			}
		})
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	for _, content := range []string{"one", "two, longer"} {
		if err := ledger.WriteFileAtomic(path, []byte(content), 0o640); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(path); string(b) != content {
			t.Fatalf("content %q, want %q", b, content)
		}
		if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
			t.Fatalf("mode %v", fi.Mode().Perm())
		}
	}
	if names := dirNames(t, dir); len(names) != 1 {
		t.Fatalf("temporary files left: %v", names)
	}
	if err := ledger.WriteFileAtomic(filepath.Join(dir, "no", "such", "dir"), nil, 0o600); err == nil {
		t.Fatal("WriteFileAtomic into a missing directory succeeded")
	}
}

func dirNames(tb testing.TB, dir string) []string {
	tb.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
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
	if err := l.Keyring.Save(filepath.Join(l.Dir, "keyring.json")); err != nil {
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
	loaded, err := ledger.LoadKeyring(filepath.Join(l.Dir, "keyring.json"))
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
