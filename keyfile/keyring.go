package keyfile

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/walletd/walletd"
)

// keyringFile is the JSON form of a keyring file, as docs/ledger-format.md
// documents it:
//
//	{"active": "k2", "keys": [{"id": "k1", "secret": "<base64>", "created_at": "<RFC 3339>"}, …]}
type keyringFile struct {
	Active string    `json:"active"`
	Keys   []keyJSON `json:"keys"`
}

// keyJSON is one key of a keyring file.
type keyJSON struct {
	ID        string    `json:"id"`
	Secret    []byte    `json:"secret"` // standard base64 in JSON
	CreatedAt time.Time `json:"created_at"`
}

// LoadKeyring reads the keyring file at path. A missing file gives an error
// that matches fs.ErrNotExist; a key shorter than 16 bytes or an active id
// that names no key is an error too.
func LoadKeyring(path string) (*walletd.Keyring, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	var f keyringFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("keyring: parse %s: %w", path, err)
	}
	keys := make([]walletd.Key, len(f.Keys))
	for i, k := range f.Keys {
		keys[i] = walletd.Key{ID: k.ID, Secret: k.Secret, CreatedAt: k.CreatedAt}
	}
	kr, err := walletd.KeyringFrom(f.Active, keys)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return kr, nil
}

// SaveKeyring writes kr to path with mode 0600, atomically (see
// WriteAtomic).
func SaveKeyring(path string, kr *walletd.Keyring) error {
	f := keyringFile{Active: kr.Active}
	for _, k := range kr.Keys {
		f.Keys = append(f.Keys, keyJSON{ID: k.ID, Secret: k.Secret, CreatedAt: k.CreatedAt})
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("keyring: encode: %w", err)
	}
	return WriteAtomic(path, append(b, '\n'), 0o600)
}

// EncodeSecret returns the base64 form of a key secret, as stored in the
// keyring file.
func EncodeSecret(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
