package ledger

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"strconv"
	"time"
)

// CheckpointVersion is the first line of every signed checkpoint message.
const CheckpointVersion = "walletd.checkpoint.v1"

// Checkpoint is an Ed25519 signature over the chain head at one seq. It lets
// anyone holding only the public key detect a tail that was cut off or
// rewritten, which a keyed hash chain alone cannot show.
type Checkpoint struct {
	LedgerID  string
	Seq       uint64
	HeadHash  Hash
	CreatedAt time.Time
	Signature []byte
}

// Message returns the signed bytes:
// "walletd.checkpoint.v1\n{ledger_id}\n{seq}\n{head_hash hex}\n{created_at}".
func (c *Checkpoint) Message() []byte {
	b := make([]byte, 0, 160)
	b = append(b, CheckpointVersion...)
	b = append(b, '\n')
	b = append(b, c.LedgerID...)
	b = append(b, '\n')
	b = strconv.AppendUint(b, c.Seq, 10)
	b = append(b, '\n')
	b = append(b, c.HeadHash.String()...)
	b = append(b, '\n')
	b = c.CreatedAt.UTC().AppendFormat(b, TimeFormat)
	return b
}

// Sign sets c.Signature with priv.
func (c *Checkpoint) Sign(priv ed25519.PrivateKey) {
	c.Signature = ed25519.Sign(priv, c.Message())
}

// Verify reports whether c carries a valid signature by pub.
func (c *Checkpoint) Verify(pub ed25519.PublicKey) bool {
	return len(c.Signature) == ed25519.SignatureSize && ed25519.Verify(pub, c.Message(), c.Signature)
}

// GenerateCheckpointKey writes a new Ed25519 key pair as PEM files: the
// private key (PKCS #8, mode 0600) and the public key (PKIX, mode 0644).
func GenerateCheckpointKey(privPath, pubPath string) error {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return err
	}
	pkix, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return err
	}
	if err := WriteFileAtomic(privPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600); err != nil {
		return err
	}
	return WriteFileAtomic(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix}), 0o644)
}

// LoadCheckpointKey reads a PEM PKCS #8 Ed25519 private key.
func LoadCheckpointKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("checkpoint key: %s is not PEM", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("checkpoint key: %w", err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("checkpoint key: %s is not an Ed25519 key", path)
	}
	return priv, nil
}

// LoadCheckpointPublicKey reads a PEM PKIX Ed25519 public key.
func LoadCheckpointPublicKey(path string) (ed25519.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint public key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("checkpoint public key: %s is not PEM", path)
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("checkpoint public key: %w", err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("checkpoint public key: %s is not an Ed25519 key", path)
	}
	return pub, nil
}
