package bus

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrConsumerStopped is returned by Subscription.Next once the consumer
// has stopped delivering (it was deleted, or the connection closed).
var ErrConsumerStopped = errors.New("the consumer stopped")

// Subscription hands a pull consumer's messages to one reader in batches:
// the first message to arrive and whatever else has arrived with it. A
// Consumer reads through one per session.
type Subscription struct {
	cc   jetstream.ConsumeContext
	msgs chan jetstream.Msg
	errs chan error
	done chan struct{}
	max  int
	// Linger is how long Next waits, after the first message, for more
	// to fill its batch (0: it returns what has arrived). Applying costs
	// mostly per batch (a transaction, its commit), so a reader that
	// keeps up applies many small batches; a few milliseconds of linger
	// make them large at the cost of that much lag.
	Linger time.Duration
}

// Consume starts consuming cons with at most max messages in flight and
// returns batches of up to max.
func Consume(cons jetstream.Consumer, max int) (*Subscription, error) {
	s := &Subscription{msgs: make(chan jetstream.Msg, 2*max), errs: make(chan error, 16), done: make(chan struct{}), max: max}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		select {
		case s.msgs <- m:
		case <-s.done:
		}
	}, jetstream.PullMaxMessages(max), jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		select {
		case s.errs <- err:
		default:
		}
	}))
	if err != nil {
		return nil, err
	}
	s.cc = cc
	return s, nil
}

// Next waits for messages and returns them appended to buf[:0]: the first
// to arrive, then whatever is queued, up to the batch size. When idle
// fires first it returns (nil, nil). It returns ctx's error when ctx ends,
// a consume error that ends the consumer (see Terminal), or
// ErrConsumerStopped; other consume errors go to onErr, if not nil, and
// the wait goes on.
func (s *Subscription) Next(ctx context.Context, idle <-chan time.Time, buf []jetstream.Msg, onErr func(error)) ([]jetstream.Msg, error) {
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case m := <-s.msgs:
			batch := append(buf[:0], m)
			for len(batch) < s.max {
				select {
				case m := <-s.msgs:
					batch = append(batch, m)
					continue
				default:
				}
				break
			}
			if s.Linger > 0 && len(batch) < s.max {
				batch = s.linger(ctx, batch)
			}
			return batch, nil
		case err := <-s.errs:
			if Terminal(err) {
				return nil, err
			}
			if onErr != nil {
				onErr(err)
			}
		case <-s.cc.Closed():
			return nil, ErrConsumerStopped
		case <-idle:
			return nil, nil
		}
	}
}

// linger adds to batch what arrives within Linger, up to the batch size.
func (s *Subscription) linger(ctx context.Context, batch []jetstream.Msg) []jetstream.Msg {
	t := time.NewTimer(s.Linger)
	defer t.Stop()
	for len(batch) < s.max {
		select {
		case m := <-s.msgs:
			batch = append(batch, m)
		case <-t.C:
			return batch
		case <-ctx.Done():
			return batch
		case <-s.cc.Closed():
			return batch
		}
	}
	return batch
}

// Queued returns how many delivered messages wait for Next.
func (s *Subscription) Queued() int { return len(s.msgs) }

// Stop stops consuming and waits (up to a second) for the consumer to
// close. Messages delivered but not returned by Next are not acked and
// will be redelivered.
func (s *Subscription) Stop() {
	close(s.done)
	s.cc.Stop()
	select {
	case <-s.cc.Closed():
	case <-time.After(time.Second):
	}
}

// Terminal reports whether a consume error means the consumer will
// deliver nothing more, so the reader must start a new one.
func Terminal(err error) bool {
	return errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) ||
		errors.Is(err, jetstream.ErrConnectionClosed) || errors.Is(err, jetstream.ErrBadRequest) ||
		errors.Is(err, nats.ErrConnectionClosed)
}
