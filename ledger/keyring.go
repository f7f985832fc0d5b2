package ledger

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"
)

// Key is one HMAC key of the ledger keyring.
type Key struct {
	ID        string    `json:"id"`
	Secret    []byte    `json:"secret"` // base64 in JSON
	CreatedAt time.Time `json:"created_at"`
}

// Keyring holds every HMAC key the chain was ever hashed with. New entries
// use the active key; old entries keep verifying with the key named by their
// key_id, so keys can rotate without rewriting history.
type Keyring struct {
	Active string `json:"active"`
	Keys   []Key  `json:"keys"`
}

// NewKeyring returns a keyring with one fresh 32-byte key, "k1", active.
func NewKeyring(now time.Time) (*Keyring, error) {
	kr := &Keyring{}
	if err := kr.Rotate(now); err != nil {
		return nil, err
	}
	return kr, nil
}

// Rotate adds a fresh random key and makes it the active one.
func (kr *Keyring) Rotate(now time.Time) error {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return fmt.Errorf("keyring: rotate: %w", err)
	}
	id := "k" + strconv.Itoa(len(kr.Keys)+1)
	for kr.Key(id) != nil {
		id += "x"
	}
	kr.Keys = append(kr.Keys, Key{ID: id, Secret: secret, CreatedAt: now.UTC()})
	kr.Active = id
	return nil
}

// Key returns the key with the given id, or nil.
func (kr *Keyring) Key(id string) []byte {
	for i := range kr.Keys {
		if kr.Keys[i].ID == id {
			return kr.Keys[i].Secret
		}
	}
	return nil
}

// ActiveKey returns the id and secret of the active key.
func (kr *Keyring) ActiveKey() (string, []byte, error) {
	k := kr.Key(kr.Active)
	if k == nil {
		return "", nil, fmt.Errorf("keyring: active key %q not found", kr.Active)
	}
	return kr.Active, k, nil
}

// IDs returns the key ids, sorted.
func (kr *Keyring) IDs() []string {
	ids := make([]string, 0, len(kr.Keys))
	for _, k := range kr.Keys {
		ids = append(ids, k.ID)
	}
	sort.Strings(ids)
	return ids
}

// LoadKeyring reads a keyring file.
func LoadKeyring(path string) (*Keyring, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	var kr Keyring
	if err := json.Unmarshal(b, &kr); err != nil {
		return nil, fmt.Errorf("keyring: parse %s: %w", path, err)
	}
	for _, k := range kr.Keys {
		if len(k.Secret) < 16 {
			return nil, fmt.Errorf("keyring: key %q is shorter than 16 bytes", k.ID)
		}
	}
	if _, _, err := kr.ActiveKey(); err != nil {
		return nil, err
	}
	return &kr, nil
}

// Save writes the keyring to path with mode 0600, atomically.
func (kr *Keyring) Save(path string) error {
	b, err := json.MarshalIndent(kr, "", "  ")
	if err != nil {
		return err
	}
	return WriteFileAtomic(path, append(b, '\n'), 0o600)
}

// WriteFileAtomic writes data to a temporary file beside path, syncs it and
// renames it over path, so readers see the old or the new file, never half.
func WriteFileAtomic(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// EncodeSecret returns the base64 form of a key secret, as stored in files.
func EncodeSecret(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// ErrNoKeyring is returned when a data directory has no keyring yet.
var ErrNoKeyring = errors.New("keyring: not found")
