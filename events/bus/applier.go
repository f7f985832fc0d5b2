package bus

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
)

var (
	// ErrStop, wrapped in an error of an Applier (see Stop), ends the
	// Consumer instead of a resume: Close (and CatchUp) return that error.
	ErrStop = errors.New("bus: the applier stopped the consumer")

	// ErrStreamMismatch is returned when the stored position was recorded
	// from another stream than the one configured and the Consumer does not
	// AdoptStream.
	ErrStreamMismatch = errors.New("the position was recorded from another stream")

	// ErrPositionMoved, wrapped in an error of an Applier (see Moved) or
	// found by the Consumer when idle, means that the stored position is
	// not the one the Consumer applied last: the store was reset, or
	// another process wrote it. The Consumer resumes from the stored
	// position at once, without counting an error.
	ErrPositionMoved = errors.New("bus: the stored position moved")
)

// Stop marks err, an error of an Applier, as one that ends the Consumer
// instead of a resume: the result wraps both err and ErrStop, and reads
// as err.
func Stop(err error) error {
	if err == nil {
		return nil
	}
	return marked{err, ErrStop}
}

// Moved marks err, an error of an Applier, as one that means the stored
// position moved: the result wraps both err and ErrPositionMoved, and
// reads as err.
func Moved(err error) error {
	if err == nil {
		return nil
	}
	return marked{err, ErrPositionMoved}
}

// marked is an error that also wraps a sentinel of this package.
type marked struct {
	error
	mark error
}

func (e marked) Unwrap() []error { return []error{e.error, e.mark} }

// Position is where an Applier stands in a stream.
type Position struct {
	Stream string // the stream it was recorded from; "" when nothing was applied yet
	Seq    uint64 // the last stream sequence applied; 0 for none
}

// Message is a stream message as a Consumer hands it to its Applier. The
// Consumer acknowledges it once the batch is applied.
type Message struct {
	Seq     uint64    // stream sequence
	Time    time.Time // when the stream stored it
	Subject string
	Header  nats.Header
	Data    []byte
}

// Batch is what a Consumer hands its Applier at a time: the messages that
// arrived together, in stream order with no gap between them.
type Batch struct {
	Msgs []Message
	// Prev is the position the Consumer believes stored: the one it read
	// at the start of the session or stored with the previous batch.
	Prev uint64
	// Last is the position to store with the batch: the greatest of Prev
	// and the batch's stream sequences.
	Last uint64
}

// Applier is what a Consumer applies a stream to: a store that keeps its
// own position, so that the server holds no state the reader depends on.
// The projector and the webhook dispatcher are appliers; a Consumer holds
// everything they share.
type Applier interface {
	// Position returns the stored position. An error wrapping ErrStop
	// ends the Consumer (Open returns it).
	Position(ctx context.Context) (Position, error)
	// Reposition stores to in place of from, which is the stored position:
	// the stream ends before from (it lost its tail or was re-created), or
	// from was recorded from another stream. It returns an error wrapping
	// ErrPositionMoved if the stored position is no longer from.
	Reposition(ctx context.Context, from, to Position) error
	// Apply applies b and stores b.Last as the position in the same
	// transaction, so that the effect of every message is had exactly
	// once. It may return an error wrapping ErrPositionMoved when the
	// stored position is not b.Prev, or ErrStop to end the Consumer.
	Apply(ctx context.Context, b *Batch) error
}
