package bus

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
)

// HeaderMAC carries the relay's proof that it wrote a message: hex
// HMAC-SHA256, under a key only walletd holds, of the stream name, the
// stream sequence the message was published at, its Nats-Msg-Id, its
// Walletd-Seq and Walletd-Index and the SHA-256 of its body. Binding the
// stream sequence makes a copy of a real message, published again by
// someone else, fail as well.
const HeaderMAC = "Walletd-Mac"

// ErrForged is returned for a message the relay cannot prove it wrote.
var ErrForged = errors.New("message not written by this walletd")

// messageMAC computes the HeaderMAC value.
func messageMAC(key []byte, stream string, streamSeq uint64, msgID string, seq uint64, index int, body []byte) string {
	m := hmac.New(sha256.New, key)
	field := func(b []byte) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		m.Write(n[:])
		m.Write(b)
	}
	number := func(v uint64) { field(binary.BigEndian.AppendUint64(nil, v)) }
	field([]byte("walletd relay mac v1"))
	field([]byte(stream))
	number(streamSeq)
	field([]byte(msgID))
	number(seq)
	number(uint64(int64(index)))
	h := sha256.Sum256(body)
	field(h[:])
	return hex.EncodeToString(m.Sum(nil))
}

// VerifyMessage checks that the message stored at streamSeq of stream
// carries a valid HeaderMAC under key, and returns the ledger seq and
// index its headers name. Any failure wraps ErrForged.
func VerifyMessage(key []byte, stream string, streamSeq uint64, h nats.Header, body []byte) (uint64, int, error) {
	seq, index, err := position(h)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %w", ErrForged, err)
	}
	got, err := hex.DecodeString(h.Get(HeaderMAC))
	if err != nil || len(got) != sha256.Size {
		return 0, 0, fmt.Errorf("%w: no valid %s header", ErrForged, HeaderMAC)
	}
	want, _ := hex.DecodeString(messageMAC(key, stream, streamSeq, h.Get(nats.MsgIdHdr), seq, index, body))
	if !hmac.Equal(got, want) {
		return 0, 0, fmt.Errorf("%w: %s does not match", ErrForged, HeaderMAC)
	}
	return seq, index, nil
}
