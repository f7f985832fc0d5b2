package ledger

import (
	"crypto/hmac"
	"crypto/sha256"
	"hash"

	"github.com/walletd/walletd"
)

// Hasher computes the chain's entry hashes with one key: each entry's hash
// is the HMAC-SHA256 of the previous entry's hash and the entry's
// canonical encoding (walletd.Entry.AppendCanonical). It reuses its
// buffers, so a Hasher must not be shared between goroutines.
type Hasher struct {
	mac hash.Hash
	buf []byte
}

// NewHasher returns a Hasher for key.
func NewHasher(key []byte) *Hasher {
	return &Hasher{mac: hmac.New(sha256.New, key), buf: make([]byte, 0, 1024)}
}

// Sum returns HMAC-SHA256(key, e.PrevHash ‖ canonical(e)).
func (h *Hasher) Sum(e *walletd.Entry) walletd.Hash {
	h.buf = append(h.buf[:0], e.PrevHash[:]...)
	h.buf = e.AppendCanonical(h.buf)
	h.mac.Reset()
	h.mac.Write(h.buf)
	var out walletd.Hash
	h.mac.Sum(out[:0])
	return out
}

// ComputeHash returns the hash of e under key; a convenience for tests and
// tools that hash a few entries.
func ComputeHash(key []byte, e *walletd.Entry) walletd.Hash { return NewHasher(key).Sum(e) }
