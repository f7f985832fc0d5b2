package walletd

import (
	"crypto/rand"
	"fmt"
	"sort"
	"strconv"
	"time"
)

// minKeySize is the shortest HMAC key a keyring accepts, in bytes. Keys
// made by NewKeyring and Rotate are 32 bytes.
const minKeySize = 16

// Key is one HMAC key of the ledger keyring.
type Key struct {
	ID        string
	Secret    []byte
	CreatedAt time.Time
}

// Keyring holds every HMAC key the chain was ever hashed with. New entries
// use the active key; old entries keep verifying with the key named by their
// key_id, so keys can rotate without rewriting history.
//
// A Keyring lives in memory only; package keyfile reads and writes the
// keyring file.
type Keyring struct {
	Active string
	Keys   []Key
}

// NewKeyring returns a keyring with one fresh 32-byte key, "k1", active.
func NewKeyring(now time.Time) (*Keyring, error) {
	kr := &Keyring{}
	if err := kr.Rotate(now); err != nil {
		return nil, err
	}
	return kr, nil
}

// KeyringFrom returns a keyring of keys, as decoded from storage, with
// active as its active key. It refuses a key shorter than 16 bytes and an
// active id that names none of the keys.
func KeyringFrom(active string, keys []Key) (*Keyring, error) {
	for _, k := range keys {
		if len(k.Secret) < minKeySize {
			return nil, fmt.Errorf("keyring: key %q is shorter than %d bytes", k.ID, minKeySize)
		}
	}
	kr := &Keyring{Active: active, Keys: append([]Key(nil), keys...)}
	if _, _, err := kr.ActiveKey(); err != nil {
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
