package walletd_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/walletd/walletd"
)

func TestNewKeyring(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.FixedZone("X", 3600))
	kr, err := walletd.NewKeyring(now)
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
	other, _ := walletd.NewKeyring(now)
	if bytes.Equal(other.Key("k1"), secret) {
		t.Fatal("two keyrings share a secret")
	}
}

func TestKeyring_Rotate(t *testing.T) {
	kr, _ := walletd.NewKeyring(time.Now())
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
		kr := &walletd.Keyring{Active: "k3", Keys: []walletd.Key{{ID: "k1", Secret: k1}, {ID: "k3", Secret: k2}}}
		if err := kr.Rotate(time.Now()); err != nil {
			t.Fatal(err)
		}
		if kr.Active == "k1" || kr.Active == "k3" || len(kr.Keys) != 3 || len(kr.Key(kr.Active)) != 32 {
			t.Fatalf("Rotate made id %q over %v", kr.Active, kr.IDs())
		}
	})
	t.Run("ErrActiveMissing", func(t *testing.T) {
		kr := &walletd.Keyring{Active: "k7", Keys: []walletd.Key{{ID: "k1", Secret: k1}}}
		if _, _, err := kr.ActiveKey(); err == nil {
			t.Fatal("ActiveKey with a missing active key succeeded")
		}
	})
}

func TestKeyringFrom(t *testing.T) {
	k1 := walletd.Key{ID: "k1", Secret: bytes.Repeat([]byte{1}, 16)}
	k2 := walletd.Key{ID: "k2", Secret: bytes.Repeat([]byte{2}, 32)}
	t.Run("OK", func(t *testing.T) {
		keys := []walletd.Key{k1, k2}
		kr, err := walletd.KeyringFrom("k1", keys)
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
		keys   []walletd.Key
	}{
		"ErrShortSecret":  {"k1", []walletd.Key{{ID: "k1", Secret: make([]byte, 15)}}},
		"ErrActiveAbsent": {"k3", []walletd.Key{k1, k2}},
		"ErrNoKeys":       {"k1", nil},
	} {
		t.Run(name, func(t *testing.T) {
			if kr, err := walletd.KeyringFrom(tc.active, tc.keys); err == nil {
				t.Fatalf("KeyringFrom = %+v, want an error", kr)
			}
		})
	}
}
