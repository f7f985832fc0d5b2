package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/walletd/walletd/events"
)

// Message headers walletd sets besides Nats-Msg-Id (= the event id).
const (
	HeaderSeq   = "Walletd-Seq"   // ledger seq of the record
	HeaderIndex = "Walletd-Index" // index of the record within its seq
)

// Source is the outbox the relay publishes from.
type Source interface {
	// After returns records positioned after (seq, index), in order.
	After(ctx context.Context, seq uint64, index int, limit int) ([]events.Record, error)
	// Head returns the last committed ledger seq.
	Head(ctx context.Context) (uint64, error)
}

// Relay publishes the outbox to JetStream in order, exactly once.
//
// The stream itself is the relay's only bookkeeping. At start, after any
// error and whenever the stream's last sequence is not the one it last
// saw, the relay reads the stream's last message and resumes after the
// record named by its headers. Every publish carries the stream sequence it
// expects to follow (Nats-Expected-Last-Sequence), so a message can only be
// stored right after its predecessor: the stream is always a prefix of the
// outbox, with no gap and no duplicate, even across crashes, a NATS outage,
// or a JetStream that restarted without its last messages. This does not
// rely on the Nats-Msg-Id duplicate window, which is only a second guard.
type Relay struct {
	JS      jetstream.JetStream
	Stream  string // stream name
	Prefix  string // subject prefix
	Source  Source
	Window  int           // most publishes in flight (default 256)
	Idle    time.Duration // how often to look for work and check the stream when idle (default 250ms)
	Logger  *slog.Logger
	Metrics RelayMetrics
	// Setup, if set, runs before every resync until it succeeds: walletd
	// uses it to create the stream when NATS was away at start-up.
	Setup func(ctx context.Context) error

	once   sync.Once
	notify chan struct{}
	mu     sync.Mutex
	seq    uint64 // position: last record in the stream
	index  int
	base   uint64 // the stream's last sequence as the relay knows it
	synced bool
}

// RelayMetrics receives the relay's measurements; any field may be nil.
type RelayMetrics struct {
	Published func(n int)           // records acknowledged by the stream
	Lag       func(d time.Duration) // from commit to stream ack, per record
	Backlog   func(records uint64)  // ledger head seq minus relay position
	Error     func()                // a publish or resume error
}

// Notify wakes the relay: new entries were committed. It never blocks.
func (r *Relay) Notify() {
	r.once.Do(r.makeNotify)
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

// Position returns the ledger seq and index of the last record known to be
// in the stream.
func (r *Relay) Position() (uint64, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seq, r.index
}

func (r *Relay) init() {
	if r.Window <= 0 {
		r.Window = 256
	}
	if r.Idle <= 0 {
		r.Idle = 250 * time.Millisecond
	}
	if r.Logger == nil {
		r.Logger = slog.Default()
	}
	r.once.Do(r.makeNotify)
}

func (r *Relay) makeNotify() { r.notify = make(chan struct{}, 1) }

// Run publishes until ctx is done. Errors are logged and retried with
// back-off: writes to the ledger go on while NATS is away, and the backlog
// drains when it is back.
func (r *Relay) Run(ctx context.Context) {
	r.init()
	logger := r.Logger.With("component", "relay")
	backoff := 100 * time.Millisecond
	idle := time.NewTimer(0)
	defer idle.Stop()
	for ctx.Err() == nil {
		n, err := r.step(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if r.Metrics.Error != nil {
				r.Metrics.Error()
			}
			logger.Warn("relay: will resync from the stream", "error", err, "retry_in", backoff)
			r.mu.Lock()
			r.synced = false
			r.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		if n > 0 {
			continue // more may be waiting
		}
		idle.Reset(r.Idle)
		select {
		case <-ctx.Done():
			return
		case <-r.notify:
		case <-idle.C:
			if err := r.checkStream(ctx); err != nil {
				logger.Warn("relay: stream check", "error", err)
			}
		}
	}
}

// step publishes one window of records; it returns how many.
func (r *Relay) step(ctx context.Context) (int, error) {
	r.mu.Lock()
	synced := r.synced
	r.mu.Unlock()
	if !synced {
		if r.Setup != nil {
			if err := r.Setup(ctx); err != nil {
				return 0, fmt.Errorf("relay: setup: %w", err)
			}
		}
		if err := r.resync(ctx); err != nil {
			return 0, err
		}
	}
	seq, index := r.Position()
	recs, err := r.Source.After(ctx, seq, index, r.Window)
	if err != nil {
		return 0, fmt.Errorf("relay: read outbox: %w", err)
	}
	if r.Metrics.Backlog != nil {
		if head, err := r.Source.Head(ctx); err == nil && head >= seq {
			r.Metrics.Backlog(head - seq)
		}
	}
	if len(recs) == 0 {
		return 0, nil
	}
	return len(recs), r.publish(ctx, recs)
}

func (r *Relay) publish(ctx context.Context, recs []events.Record) error {
	r.mu.Lock()
	base := r.base
	r.mu.Unlock()
	futs := make([]jetstream.PubAckFuture, 0, len(recs))
	var pubErr error
	for i := range recs {
		rec := &recs[i]
		msg := nats.NewMsg(events.Subject(r.Prefix, rec.Key()))
		msg.Data = rec.Body()
		msg.Header.Set(HeaderSeq, strconv.FormatUint(rec.Seq, 10))
		msg.Header.Set(HeaderIndex, strconv.Itoa(rec.Index))
		f, err := r.JS.PublishMsgAsync(msg,
			jetstream.WithMsgID(rec.Envelope.ID),
			jetstream.WithExpectStream(r.Stream),
			jetstream.WithExpectLastSequence(base+uint64(i)))
		if err != nil {
			pubErr = fmt.Errorf("relay: publish seq %d: %w", rec.Seq, err)
			break
		}
		futs = append(futs, f)
	}
	for i, f := range futs {
		select {
		case ack := <-f.Ok():
			rec := &recs[i]
			r.mu.Lock()
			r.seq, r.index, r.base = rec.Seq, rec.Index, ack.Sequence
			r.mu.Unlock()
			if r.Metrics.Published != nil {
				r.Metrics.Published(1)
			}
			if r.Metrics.Lag != nil && !rec.Time.IsZero() {
				r.Metrics.Lag(time.Since(rec.Time))
			}
		case err := <-f.Err():
			return fmt.Errorf("relay: publish seq %d: %w", recs[i].Seq, err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return pubErr
}

// resync sets the position from the stream's last message.
func (r *Relay) resync(ctx context.Context) error {
	s, err := r.JS.Stream(ctx, r.Stream)
	if err != nil {
		return fmt.Errorf("relay: stream %s: %w", r.Stream, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return fmt.Errorf("relay: stream info: %w", err)
	}
	seq, index := uint64(0), -1
	if info.State.Msgs > 0 {
		m, err := s.GetLastMsgForSubject(ctx, r.Prefix+".>")
		if err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
			return fmt.Errorf("relay: last message: %w", err)
		}
		if m != nil {
			if seq, index, err = position(m.Header); err != nil {
				return fmt.Errorf("relay: stream message %d: %w", m.Sequence, err)
			}
		}
	}
	r.mu.Lock()
	r.seq, r.index, r.base, r.synced = seq, index, info.State.LastSeq, true
	r.mu.Unlock()
	r.Logger.Info("relay: resumed from the stream", "seq", seq, "index", index, "stream_seq", info.State.LastSeq)
	return nil
}

// checkStream resyncs when the stream's last sequence is not the one the
// relay last saw: for example JetStream restarted without its last
// messages.
func (r *Relay) checkStream(ctx context.Context) error {
	s, err := r.JS.Stream(ctx, r.Stream)
	if err != nil {
		return err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.synced && info.State.LastSeq != r.base {
		r.synced = false
	}
	return nil
}

func position(h nats.Header) (uint64, int, error) {
	seq, err := strconv.ParseUint(h.Get(HeaderSeq), 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("no %s header", HeaderSeq)
	}
	index, err := strconv.Atoi(h.Get(HeaderIndex))
	if err != nil {
		return 0, 0, fmt.Errorf("no %s header", HeaderIndex)
	}
	return seq, index, nil
}
