package bus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/walletd/walletd/events"
)

// A stream written before walletd signed its messages holds messages
// without HeaderMAC. A relay with a Key proves nothing there and stops
// publishing, with the alert raised. The way out is to adopt them once:
// CheckUnsigned reads every unsigned message and checks that it is, byte
// for byte but for site_url, the event the ledger gives for its seq and
// index; the stream's last sequence then becomes the UnsignedMark, the
// bound under which an unsigned message is walletd's (Relay and Consumer
// UnsignedThrough). Messages published after it must carry the MAC.

// UnsignedMark records the adoption of a stream's unsigned messages.
type UnsignedMark struct {
	Stream string `json:"stream"`
	// Created is the stream's creation time: a stream made again under
	// the same name starts its sequences again and is not the one
	// adopted.
	Created time.Time `json:"created"`
	// Through is the last stream sequence adopted; unsigned messages
	// above it are refused.
	Through   uint64    `json:"through"`
	Unsigned  int       `json:"unsigned"` // how many unsigned messages were checked
	AdoptedAt time.Time `json:"adopted_at"`
}

// Applies reports whether the mark was made for the stream described by
// info.
func (m *UnsignedMark) Applies(info *jetstream.StreamInfo) bool {
	return m != nil && info != nil && info.Config.Name == m.Stream && info.Created.Equal(m.Created)
}

// CheckUnsigned checks every message of the stream that carries no
// HeaderMAC against src, the ledger's outbox (each must be the ledger's
// event, each once and in ledger order), and returns the mark that adopts
// them. It fails, naming the stream sequence, at the first
// unsigned message that is not the ledger's event: such a message must be
// looked into and removed (nats stream rmm) before the stream is adopted.
// Signed messages are left to VerifyMessage.
func CheckUnsigned(ctx context.Context, js jetstream.JetStream, stream string, src Source) (*UnsignedMark, error) {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return nil, fmt.Errorf("adopt: stream %s: %w", stream, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("adopt: stream %s: %w", stream, err)
	}
	mark := &UnsignedMark{Stream: stream, Created: info.Created, Through: info.State.LastSeq, AdoptedAt: time.Now().UTC()}
	lastSeq, lastIndex := uint64(0), -1 // the relay wrote each record once, in order
	for n := info.State.FirstSeq; n > 0 && n <= info.State.LastSeq; n++ {
		m, err := s.GetMsg(ctx, n)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue // deleted
		} else if err != nil {
			return nil, fmt.Errorf("adopt: stream %s message %d: %w", stream, n, err)
		}
		if m.Header.Get(HeaderMAC) != "" {
			continue
		}
		seq, index, err := matchRecord(ctx, src, m.Header, m.Data)
		if err != nil {
			return nil, fmt.Errorf("adopt: stream %s message %d: %w", stream, n, err)
		}
		if seq < lastSeq || seq == lastSeq && index <= lastIndex {
			return nil, fmt.Errorf("adopt: stream %s message %d: %w: seq %d index %d repeats or comes out of order", stream, n, ErrForged, seq, index)
		}
		lastSeq, lastIndex = seq, index
		mark.Unsigned++
	}
	return mark, nil
}

// matchRecord checks that an unsigned message is the ledger's event for
// the seq and index its headers name: the same Nats-Msg-Id and the same
// envelope but for site_url (which --public-url may have changed since).
func matchRecord(ctx context.Context, src Source, h nats.Header, body []byte) (uint64, int, error) {
	seq, index, err := position(h)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %w", ErrForged, err)
	}
	recs, err := src.After(ctx, seq, index-1, 1)
	if err != nil {
		return 0, 0, fmt.Errorf("read outbox: %w", err)
	}
	if len(recs) == 0 || recs[0].Seq != seq || recs[0].Index != index {
		return 0, 0, fmt.Errorf("%w: the ledger has no event at seq %d index %d", ErrForged, seq, index)
	}
	rec := &recs[0]
	var env events.Envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return 0, 0, fmt.Errorf("%w: body: %w", ErrForged, err)
	}
	env.SiteURL = rec.Envelope.SiteURL
	want := rec.Body()
	got, err := json.Marshal(env)
	if err != nil || h.Get(nats.MsgIdHdr) != rec.Envelope.ID || !bytes.Equal(got, want) {
		return 0, 0, fmt.Errorf("%w: not the ledger's event for seq %d index %d", ErrForged, seq, index)
	}
	return seq, index, nil
}
