package webhooks

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Sealer seals secrets at rest with the webhooks key
// (<data-dir>/webhooks.key, LoadOrCreateKey) in the format endpoint
// secrets are stored in: "v1:" + base64 of nonce ‖ AES-256-GCM ciphertext,
// with associated data naming what the secret belongs to, so that a
// sealed value copied to another row does not open. Other parts that keep
// credentials in webhooks.db (the financing provider's password) use it.
type Sealer struct {
	aead cipher.AEAD
}

// NewSealer returns a Sealer for a 32-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("webhooks: seal key: want 32 bytes")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("webhooks: seal key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("webhooks: seal key: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// Seal returns the stored form of secret, bound to ad.
func (s *Sealer) Seal(ad, secret string) string {
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	out := s.aead.Seal(nonce, nonce, []byte(secret), []byte(ad))
	return sealedPrefix + base64.StdEncoding.EncodeToString(out)
}

// Open returns the secret a Seal with the same ad stored.
func (s *Sealer) Open(ad, stored string) (string, error) {
	if !strings.HasPrefix(stored, sealedPrefix) {
		return "", errors.New("the secret is not sealed")
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(stored, sealedPrefix))
	n := s.aead.NonceSize()
	if err != nil || len(b) < n {
		return "", errors.New("the sealed secret is malformed")
	}
	plain, err := s.aead.Open(nil, b[:n], b[n:], []byte(ad))
	if err != nil {
		return "", errors.New("the secret cannot be opened with this webhooks key")
	}
	return string(plain), nil
}
