package webhooks

import (
	"crypto/aes"
	"crypto/cipher"
	"fmt"
)

// Sealer seals secrets at rest in the format of the outbound endpoints'
// secrets ("v1:" + base64 of nonce ‖ AES-256-GCM ciphertext, with
// associated data naming the row), for the other stores of webhooks.db
// (the inbound gateways' secrets). A nil *Sealer stores secrets as they
// are, as DB does without a key.
type Sealer struct {
	db DB
}

// NewSealer returns a Sealer with the 32-byte key of LoadOrCreateKey; a
// nil key gives a nil Sealer.
func NewSealer(key []byte) (*Sealer, error) {
	if key == nil {
		return nil, nil
	}
	block, err := aes.NewCipher(key)
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("webhooks: seal key: want 32 bytes")
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("webhooks: seal key: %w", err)
	}
	return &Sealer{db: DB{seal: aead}}, nil
}

// Seal returns the stored form of secret, bound to ad (the row's name:
// opening it under another name fails).
func (s *Sealer) Seal(ad, secret string) string {
	if s == nil {
		return secret
	}
	return s.db.sealSecret(ad, secret)
}

// Open is the inverse of Seal.
func (s *Sealer) Open(ad, stored string) (string, error) {
	if s == nil {
		return (&DB{}).openSecret(ad, stored)
	}
	return s.db.openSecret(ad, stored)
}
