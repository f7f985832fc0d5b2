package walletd

import (
	"crypto/ed25519"
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
