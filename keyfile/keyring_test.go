package keyfile_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/keyfile"
)

// TestSaveLoadKeyring saves a keyring, checks the file's mode and
// documented format, and loads it back; LoadKeyring refuses damaged files.
func TestSaveLoadKeyring(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keyring.json")
	kr, _ := walletd.NewKeyring(time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.UTC))
	if err := kr.Rotate(time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	// An older file with loose permissions is replaced by a 0600 one.
	if err := os.WriteFile(path, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := keyfile.SaveKeyring(path, kr); err != nil {
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
		t.Fatalf("SaveKeyring left files behind: %v", names)
	}
	got, err := keyfile.LoadKeyring(path)
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
		if raw.Active != "k2" || raw.Keys[0].Secret != keyfile.EncodeSecret(kr.Keys[0].Secret) ||
			raw.Keys[0].CreatedAt != "2024-05-01T12:00:00.123456789Z" {
			t.Fatalf("file %s", b)
		}
	})
	t.Run("ExactBytes", func(t *testing.T) {
		// The bytes walletd has always written: two-space indent, a final
		// newline, "keys" null for an empty keyring.
		secret := make([]byte, 32)
		for i := range secret {
			secret[i] = byte(i)
		}
		for _, tc := range []struct {
			kr   *walletd.Keyring
			want string
		}{
			{&walletd.Keyring{Active: "k1", Keys: []walletd.Key{{ID: "k1", Secret: secret, CreatedAt: time.Date(2024, 5, 1, 11, 59, 0, 0, time.UTC)}}},
				"{\n  \"active\": \"k1\",\n  \"keys\": [\n    {\n      \"id\": \"k1\",\n      \"secret\": \"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\",\n      \"created_at\": \"2024-05-01T11:59:00Z\"\n    }\n  ]\n}\n"},
			{&walletd.Keyring{}, "{\n  \"active\": \"\",\n  \"keys\": null\n}\n"},
		} {
			p := filepath.Join(t.TempDir(), "k.json")
			if err := keyfile.SaveKeyring(p, tc.kr); err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(p); string(b) != tc.want {
				t.Fatalf("file %q, want %q", b, tc.want)
			}
		}
	})
	t.Run("DocumentedExample", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "k.json")
		doc := `{"active": "k1", "keys": [{"id": "k1", "secret": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "created_at": "2024-05-01T11:59:00Z"}]}`
		if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		kr, err := keyfile.LoadKeyring(p)
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
		if _, err := keyfile.LoadKeyring(filepath.Join(dir, "missing.json")); !errors.Is(err, fs.ErrNotExist) {
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
			if kr, err := keyfile.LoadKeyring(p); err == nil {
				t.Fatalf("LoadKeyring(%s) = %+v, want an error", body, kr)
			}
		})
	}
}
