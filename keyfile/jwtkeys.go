package keyfile

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"
)

// The plugin API's JWT signing keys (plugin-jwt.json in the data dir, mode
// 0600): HMAC-SHA256 secrets named by id, one of them active. Rotation
// adds a new active key and keeps the previous ones until every token they
// signed has expired, so rotating never cuts off a plugin mid-order.

// JWTKey is one signing key: a 256-bit secret, and when it stopped
// signing (zero while active).
type JWTKey struct {
	ID        string    `json:"id"`
	Secret    []byte    `json:"secret"` // base64 in the file
	CreatedAt time.Time `json:"created_at"`
	RetiredAt time.Time `json:"retired_at,omitzero"`
}

// JWTKeySet is the content of the key file: the keys and the active one.
type JWTKeySet struct {
	Active string   `json:"active"`
	Keys   []JWTKey `json:"keys"`
}

// NewJWTKeySet returns a set of one fresh key.
func NewJWTKeySet(now time.Time) (*JWTKeySet, error) {
	s := &JWTKeySet{}
	if err := s.Rotate(now, 0); err != nil {
		return nil, err
	}
	return s, nil
}

// Rotate makes a fresh key active, retires the previous one now, and drops
// keys retired more than keep ago (keep is the longest a token may live:
// no token they signed is still valid).
func (s *JWTKeySet) Rotate(now time.Time, keep time.Duration) error {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return err
	}
	idb := make([]byte, 9)
	if _, err := rand.Read(idb); err != nil {
		return err
	}
	now = now.UTC().Truncate(time.Second)
	kept := s.Keys[:0]
	for _, k := range s.Keys {
		if k.ID == s.Active {
			k.RetiredAt = now
		}
		if k.RetiredAt.IsZero() || now.Sub(k.RetiredAt) <= keep {
			kept = append(kept, k)
		}
	}
	id := "jwk_" + base64.RawURLEncoding.EncodeToString(idb)
	s.Keys = append(kept, JWTKey{ID: id, Secret: secret, CreatedAt: now})
	s.Active = id
	return nil
}

// Key returns the key with id, if the set has it.
func (s *JWTKeySet) Key(id string) (JWTKey, bool) {
	for _, k := range s.Keys {
		if k.ID == id {
			return k, true
		}
	}
	return JWTKey{}, false
}

// check validates a set read from a file.
func (s *JWTKeySet) check() error {
	if _, ok := s.Key(s.Active); !ok {
		return fmt.Errorf("the active key %q is not in the file", s.Active)
	}
	for _, k := range s.Keys {
		if len(k.Secret) < 32 {
			return fmt.Errorf("key %q: secret shorter than 32 bytes", k.ID)
		}
	}
	return nil
}

// LoadJWTKeys reads the key file at path.
func LoadJWTKeys(path string) (*JWTKeySet, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keyfile: %w", err)
	}
	var s JWTKeySet
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("keyfile: %s: %w", path, err)
	}
	if err := s.check(); err != nil {
		return nil, fmt.Errorf("keyfile: %s: %w", path, err)
	}
	return &s, nil
}

// SaveJWTKeys writes s to path atomically, mode 0600.
func SaveJWTKeys(path string, s *JWTKeySet) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return WriteAtomic(path, append(b, '\n'), 0o600)
}

// LoadOrCreateJWTKeys reads the key file at path, creating it with one
// fresh key when it does not exist.
func LoadOrCreateJWTKeys(path string, now time.Time) (*JWTKeySet, error) {
	s, err := LoadJWTKeys(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return s, err
	}
	if s, err = NewJWTKeySet(now); err != nil {
		return nil, err
	}
	return s, SaveJWTKeys(path, s)
}

// JWTKeyFile serves the key set of a file to a running server, reading
// the file again when it changed (walletd keys rotate-plugin-jwt-key
// replaces it while walletd serves), at most once a second.
type JWTKeyFile struct {
	Path string

	mu      sync.Mutex
	set     *JWTKeySet
	mod     time.Time
	size    int64
	checked time.Time
}

// Keys returns the current key set.
func (f *JWTKeyFile) Keys() (*JWTKeySet, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	if f.set != nil && now.Sub(f.checked) < time.Second {
		return f.set, nil
	}
	f.checked = now
	fi, err := os.Stat(f.Path)
	if err != nil {
		if f.set != nil {
			return f.set, nil // keep serving with the keys read before
		}
		return nil, fmt.Errorf("keyfile: %w", err)
	}
	if f.set != nil && fi.ModTime().Equal(f.mod) && fi.Size() == f.size {
		return f.set, nil
	}
	s, err := LoadJWTKeys(f.Path)
	if err != nil {
		if f.set != nil {
			return f.set, nil
		}
		return nil, err
	}
	f.set, f.mod, f.size = s, fi.ModTime(), fi.Size()
	return s, nil
}

// Reload forgets when the file was last checked, so that the next Keys
// reads it if it changed.
func (f *JWTKeyFile) Reload() {
	f.mu.Lock()
	f.checked = time.Time{}
	f.mu.Unlock()
}
