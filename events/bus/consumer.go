package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/walletd/walletd"
	"github.com/walletd/walletd/events"
)

// errCaughtUp ends a CatchUp session.
var errCaughtUp = errors.New("bus: caught up")

// Consumer applies a JetStream stream to an Applier through a pull
// consumer, in batches, from the position the Applier stores.
//
// At every (re)start it reads the stored position, deletes the durable
// consumer if it exists, and creates it again to deliver from the stored
// stream sequence + 1 (everything when nothing was applied yet). The
// server keeps no state the Consumer depends on: a consumer deleted, a NATS
// restart or an error only costs a resume, with back-off from 100 ms to
// 5 s. Each batch (up to BatchSize messages that arrived together) is
// applied, with its position, by the Applier. The consumer acknowledges
// nothing (AckNone): the next session asks for what follows the stored
// position, whatever the server would have redelivered.
//
// Set the fields, then Open; Close stops it. CatchUp instead applies the
// stream up to its current end and returns.
type Consumer struct {
	JS     jetstream.JetStream
	Stream string // stream name (default "WALLETD")
	Prefix string // subject prefix (default "walletd")
	// Durable is the consumer's name on the server. Every store needs a
	// name of its own: two readers sharing one take messages from each
	// other.
	Durable string
	// Ephemeral uses a consumer with no name that the server removes a
	// minute after its last use: for one-shot runs that must not disturb
	// a running reader's durable consumer.
	Ephemeral bool
	// Description is shown on the server: say where the position of
	// record is.
	Description string
	// AdoptStream makes a position recorded from another stream start
	// after the last message of this one, with a warning, instead of
	// ending the Consumer with ErrStreamMismatch.
	AdoptStream bool
	// Lost is logged when the stream no longer holds the messages after
	// the stored position: what their loss means for this reader.
	Lost      string
	BatchSize int // most messages per batch (default 500)
	// Linger is how long a batch waits for more messages after its first
	// (Subscription.Linger; default 0).
	Linger  time.Duration
	Idle    time.Duration // how often to check the stream when no message comes (default 1s)
	Applier Applier
	// Name starts the Consumer's log messages and errors ("projections",
	// "webhooks: dispatcher").
	Name    string
	Logger  *slog.Logger
	Metrics ConsumerMetrics
	// Key, if set, is the relay's key: a message without a valid
	// HeaderMAC (VerifyMessage) is refused — logged, counted in
	// Metrics.Refused, and never given to the Applier.
	Key []byte
	// UnsignedThrough is the UnsignedMark of an adopted stream
	// (adopt.go): a message at or below it without a MAC was checked
	// against the ledger at adoption and is accepted.
	UnsignedThrough uint64
	// Ledger, if set with an Applier that is a LedgerPositioner, is where
	// the Consumer recovers the messages the stream dropped before it
	// applied them (recover.go). Without it, they are logged as Lost.
	Ledger Source
	// RecoveryBatch is how many ledger records a recovery applies at a
	// time (default DefaultRecoveryBatch).
	RecoveryBatch int
	// BuildFromLedger makes a reader that has applied nothing yet (stored
	// stream position 0) while the Ledger has entries build from the
	// Ledger first, up to the stream's first message (or the ledger's
	// head), before it follows the stream: a bounded stream, or one the
	// relay began at the ledger's head, does not hold the ledger's
	// history. For read models (the projector), not for the webhook
	// dispatcher, whose endpoints only get events from after they were
	// made. Needs Ledger and an Applier that is a LedgerPositioner.
	BuildFromLedger bool

	lag atomic.Uint64
	// applied is the Walletd-Seq of the last message applied in this
	// process (0 before the first).
	applied atomic.Uint64

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
	err    error // what ended the run, nil after Close
}

func (c *Consumer) init() {
	if c.Stream == "" {
		c.Stream = "WALLETD"
	}
	if c.Prefix == "" {
		c.Prefix = "walletd"
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 500
	}
	if c.Idle <= 0 {
		c.Idle = time.Second
	}
	if c.Name == "" {
		c.Name = "bus: consumer"
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Lag returns the number of stream messages not yet applied, as last
// measured (at every batch and every idle check).
func (c *Consumer) Lag() uint64 { return c.lag.Load() }

// AppliedLedgerSeq returns the ledger seq (Walletd-Seq) of the last message
// applied by this process, 0 before the first. With Lag 0 the Consumer has
// applied everything the stream holds.
func (c *Consumer) AppliedLedgerSeq() uint64 { return c.applied.Load() }

// Open checks the stored position and starts consuming in a goroutine of
// its own. It fails when the position cannot be read, or was recorded from
// another stream (ErrStreamMismatch, unless AdoptStream); a NATS server
// that is away is not an error: the Consumer resumes when it is back.
func (c *Consumer) Open() error {
	c.init()
	if c.JS == nil || c.Applier == nil || (c.Durable == "" && !c.Ephemeral) {
		return fmt.Errorf("%s: open: JS, Applier and Durable (or Ephemeral) are required", c.Name)
	}
	if err := c.checkPosition(context.Background()); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done != nil {
		return fmt.Errorf("%s: open: already open", c.Name)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel, c.done = cancel, make(chan struct{})
	go func() {
		defer close(c.done)
		if err := c.run(ctx, 0); err != nil {
			c.Logger.Error(c.Name+": stopped", walletd.LogError, err)
			c.mu.Lock()
			c.err = err
			c.mu.Unlock()
		}
	}()
	return nil
}

// Done is closed when the Consumer has stopped: after Close, or by itself
// on an error wrapping ErrStop or ErrStreamMismatch (Close returns it).
// It is nil before Open.
func (c *Consumer) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.done
}

// Close stops consuming and waits for the batch in progress to be applied
// or abandoned (it is delivered again at the next start). It returns the
// error that stopped the Consumer by itself, if one did. Closing twice, or
// a Consumer never opened, is harmless.
func (c *Consumer) Close() error {
	c.mu.Lock()
	cancel, done := c.cancel, c.done
	c.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	<-done
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// CatchUp applies the stream up to the last message it holds when CatchUp
// is called, then returns. It retries errors with back-off until ctx is
// done, and returns ctx's error then.
func (c *Consumer) CatchUp(ctx context.Context) error {
	c.init()
	if err := c.checkPosition(ctx); err != nil {
		return err
	}
	info, err := c.streamInfo(ctx)
	if err != nil {
		return err
	}
	if info.State.LastSeq == 0 {
		return nil
	}
	pos, err := c.Applier.Position(ctx)
	if err != nil {
		return err
	}
	if pos.Seq >= info.State.LastSeq {
		return nil
	}
	return c.run(ctx, info.State.LastSeq)
}

// checkPosition fails when the stored position cannot be used.
func (c *Consumer) checkPosition(ctx context.Context) error {
	pos, err := c.Applier.Position(ctx)
	if err != nil {
		return err
	}
	if pos.Stream != "" && pos.Stream != c.Stream && !c.AdoptStream {
		return fmt.Errorf("%s: %w: recorded from %q, configured %q", c.Name, ErrStreamMismatch, pos.Stream, c.Stream)
	}
	return nil
}

// run runs sessions until ctx is done or, when target > 0, until the
// stream sequence target is applied.
func (c *Consumer) run(ctx context.Context, target uint64) error {
	logger := c.Logger.With(walletd.LogStream, c.Stream, walletd.LogConsumer, c.consumerName())
	backoff := 100 * time.Millisecond
	for {
		progressed, err := c.session(ctx, logger, target)
		switch {
		case ctx.Err() != nil:
			if target > 0 {
				return ctx.Err()
			}
			return nil
		case errors.Is(err, errCaughtUp):
			return nil
		case errors.Is(err, ErrStop), errors.Is(err, ErrStreamMismatch):
			return err
		case errors.Is(err, ErrPositionMoved):
			logger.Info(c.Name+": resuming from the stored position", walletd.LogError, err)
			continue
		}
		if progressed {
			backoff = 100 * time.Millisecond
		}
		if c.Metrics.Errors != nil {
			c.Metrics.Errors.Inc()
		}
		logger.Warn(c.Name+": will resume from the stored position", walletd.LogError, err, walletd.LogRetryIn, backoff)
		select {
		case <-ctx.Done():
			if target > 0 {
				return ctx.Err()
			}
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func (c *Consumer) consumerName() string {
	if c.Ephemeral {
		return "(ephemeral)"
	}
	return c.Durable
}

func (c *Consumer) streamInfo(ctx context.Context) (*jetstream.StreamInfo, error) {
	s, err := c.JS.Stream(ctx, c.Stream)
	if err != nil {
		return nil, fmt.Errorf("%s: stream %s: %w", c.Name, c.Stream, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: stream %s info: %w", c.Name, c.Stream, err)
	}
	return info, nil
}

// start reads the stored position and the stream's state and returns the
// position to resume from, after dealing with a position the stream does
// not hold.
func (c *Consumer) start(ctx context.Context, logger *slog.Logger) (uint64, error) {
	pos, err := c.Applier.Position(ctx)
	if err != nil {
		return 0, err
	}
	info, err := c.streamInfo(ctx)
	if err != nil {
		return 0, err
	}
	st := info.State
	switch {
	case pos.Stream != "" && pos.Stream != c.Stream:
		if !c.AdoptStream {
			return 0, fmt.Errorf("%s: %w: recorded from %q, configured %q", c.Name, ErrStreamMismatch, pos.Stream, c.Stream)
		}
		logger.Warn(c.Name+": the position was recorded from another stream; starting after the last message of this one",
			"recorded_stream", pos.Stream, walletd.LogStreamSeq, pos.Seq, walletd.LogStreamLastSeq, st.LastSeq)
		if err := c.Applier.Reposition(ctx, pos, Position{Stream: c.Stream, Seq: st.LastSeq}); err != nil {
			return 0, err
		}
		return st.LastSeq, nil
	case st.LastSeq < pos.Seq && c.canRecover():
		return c.recover(ctx, logger, pos, st, false)
	case st.LastSeq < pos.Seq:
		// The stream lost its tail (or was re-created). The relay publishes
		// the lost events again after its new last message; the applier
		// recognises those it has already applied.
		logger.Warn(c.Name+": the stream ends before the stored position; resuming after its last message",
			walletd.LogStreamSeq, pos.Seq, walletd.LogStreamLastSeq, st.LastSeq)
		if err := c.Applier.Reposition(ctx, pos, Position{Stream: pos.Stream, Seq: st.LastSeq}); err != nil {
			return 0, err
		}
		return st.LastSeq, nil
	case gone(st, pos.Seq) && c.canRecover():
		return c.recover(ctx, logger, pos, st, false)
	case pos.Seq == 0 && c.BuildFromLedger && c.canRecover():
		behind, err := c.behindLedger(ctx)
		if err != nil {
			return 0, err
		}
		if behind {
			logger.Info(c.Name + ": nothing applied yet and the ledger has entries: building from the ledger before following the stream")
			return c.recover(ctx, logger, pos, st, true)
		}

	case st.Msgs > 0 && pos.Seq+1 < st.FirstSeq:
		logger.Error(c.Name+": the stream no longer holds the messages after the stored position",
			walletd.LogStreamSeq, pos.Seq, "stream_first_seq", st.FirstSeq, "consequence", c.Lost)
	}
	return pos.Seq, nil
}

// session creates the consumer from the stored position and applies what
// it delivers until an error, ctx's end or the target. It reports whether
// it applied at least one batch.
func (c *Consumer) session(ctx context.Context, logger *slog.Logger, target uint64) (progressed bool, err error) {
	if !c.connected() {
		// A request made now would wait for its timeout: come back later.
		return false, fmt.Errorf("%s: NATS is not connected", c.Name)
	}
	applied, err := c.start(ctx, logger)
	if err != nil {
		return false, err
	}
	if target > 0 && applied >= target {
		return false, errCaughtUp
	}
	from := applied + 1
	cons, err := c.consumer(ctx, from)
	if err != nil {
		return false, err
	}
	sub, err := Consume(cons, c.BatchSize)
	if sub != nil {
		sub.Linger = c.Linger
	}
	if err != nil {
		return false, fmt.Errorf("%s: consume: %w", c.Name, err)
	}
	defer func() {
		sub.Stop()
		if c.Ephemeral && c.connected() { // else the server drops it after a minute
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			c.JS.DeleteConsumer(dctx, c.Stream, cons.CachedInfo().Name)
			cancel()
		}
	}()
	logger.Info(c.Name+": consuming", walletd.LogStreamSeq, applied, "deliver_from", from)

	next, fresh := from, true
	stalls := 0 // idle checks in a row with messages pending and none delivered
	idle := time.NewTimer(c.Idle)
	defer idle.Stop()
	buf := make([]jetstream.Msg, 0, c.BatchSize)
	b := &Batch{Msgs: make([]Message, 0, c.BatchSize)}
	logConsumeErr := func(err error) { logger.Debug(c.Name+": consumer", walletd.LogError, err) }
	for {
		got, err := sub.Next(ctx, idle.C, buf, logConsumeErr)
		if err != nil {
			if ctx.Err() != nil {
				return progressed, ctx.Err()
			}
			return progressed, fmt.Errorf("%s: consumer: %w", c.Name, err)
		}
		if got == nil { // idle
			// Bounded: a request made while NATS is away is not answered.
			cctx, cancel := context.WithTimeout(ctx, max(2*time.Second, 2*c.Idle))
			err := c.idleCheck(cctx, cons, sub, applied, target, &stalls)
			cancel()
			if err != nil {
				return progressed, err
			}
			idle.Reset(c.Idle)
			continue
		}
		stalls = 0
		buf = got

		b.Msgs, b.Prev, b.Last = b.Msgs[:0], applied, applied
		var gap error
		var pending uint64
		for _, m := range got {
			meta, err := m.Metadata()
			if err != nil {
				return progressed, fmt.Errorf("%s: message metadata: %w", c.Name, err)
			}
			seq := meta.Sequence.Stream
			if seq > next && !fresh {
				// A message is missing from the delivery: resume from the
				// stored position rather than pass over it.
				gap = fmt.Errorf("%s: stream seq %d delivered, %d expected", c.Name, seq, next)
				break
			}
			fresh = false
			if seq >= next {
				next = seq + 1
			}
			b.Last = max(b.Last, seq)
			pending = meta.NumPending
			if c.Key != nil && (seq > c.UnsignedThrough || m.Headers().Get(HeaderMAC) != "") {
				if _, _, err := VerifyMessage(c.Key, c.Stream, seq, m.Headers(), m.Data()); err != nil {
					logger.Error(c.Name+": refused a stream message walletd did not write", walletd.LogStreamSeq, seq, walletd.LogError, err)
					if c.Metrics.Refused != nil {
						c.Metrics.Refused.Inc()
					}
					continue
				}
			}
			b.Msgs = append(b.Msgs, Message{Seq: seq, Time: meta.Timestamp, Subject: m.Subject(), Header: m.Headers(), Data: m.Data()})
		}
		// Only refused messages: the position moves with the next message
		// applied.
		if len(b.Msgs) > 0 {
			if err := c.Applier.Apply(ctx, b); err != nil {
				return progressed, err
			}
			progressed = true
			applied = b.Last
			if seq, _, err := position(b.Msgs[len(b.Msgs)-1].Header); err == nil {
				c.applied.Store(seq)
			}
			c.setLag(pending + uint64(sub.Queued()))
		}
		if gap != nil {
			return progressed, gap
		}
		if target > 0 && applied >= target {
			return progressed, errCaughtUp
		}
		if !idle.Stop() {
			select {
			case <-idle.C:
			default:
			}
		}
		idle.Reset(c.Idle)
	}
}

// idleCheck runs when no message came for a while: it notices a stored
// position that moved (a reset), measures the lag, notices a stream that
// lost its tail, starts over when the consumer holds messages it does not
// deliver, and ends a CatchUp whose target no longer exists.
func (c *Consumer) idleCheck(ctx context.Context, cons jetstream.Consumer, sub *Subscription, applied, target uint64, stalls *int) error {
	if !c.connected() {
		return nil // the consumer resumes by itself when NATS is back
	}
	pos, err := c.Applier.Position(ctx)
	if err != nil {
		return err
	}
	if pos.Seq != applied {
		return fmt.Errorf("%s: %w: stored stream seq %d, applied %d", c.Name, ErrPositionMoved, pos.Seq, applied)
	}
	info, err := c.streamInfo(ctx)
	if err != nil {
		return err
	}
	last := info.State.LastSeq
	if last < applied {
		return fmt.Errorf("%s: the stream's last sequence %d is before the applied %d", c.Name, last, applied)
	}
	c.setLag(last - applied)
	ci, err := cons.Info(ctx)
	if err != nil {
		return fmt.Errorf("%s: consumer info: %w", c.Name, err)
	}
	// Caught up when the server has nothing left to deliver and what it
	// delivered was applied. Consumers acknowledge nothing (AckNone), so
	// NumAckPending is always 0: messages delivered but still in the
	// client's buffer show only in Delivered.Stream, past applied.
	if target > 0 && ci.NumPending == 0 && ci.NumAckPending == 0 && ci.Delivered.Stream <= applied {
		return errCaughtUp // every message there is was applied
	}
	if ci.NumPending > 0 && sub.Queued() == 0 {
		if *stalls++; *stalls >= 5 {
			return fmt.Errorf("%s: the consumer has %d messages pending but delivered none for %v", c.Name, ci.NumPending, 5*c.Idle)
		}
	} else {
		*stalls = 0
	}
	return nil
}

func (c *Consumer) setLag(n uint64) {
	c.lag.Store(n)
	if c.Metrics.Lag != nil {
		c.Metrics.Lag.Set(float64(n))
	}
}

// consumer deletes the durable consumer, if any, and creates it to deliver
// from stream sequence start.
func (c *Consumer) consumer(ctx context.Context, start uint64) (jetstream.Consumer, error) {
	cfg := jetstream.ConsumerConfig{
		Description:   c.Description,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		// No acks: the position of record is the Applier's, stored with
		// what it applied, and every session makes the consumer again from
		// it, so an ack would tell the server nothing it uses. Each ack
		// was a message to the server and a state change there, for every
		// event and every reader. Pull requests of BatchSize keep the flow
		// bounded.
		AckPolicy:     jetstream.AckNonePolicy,
		FilterSubject: events.StreamSubjects(c.Prefix), // every form: legacy subjects too
	}
	if start > 1 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, start
	}
	if c.Ephemeral {
		cfg.InactiveThreshold = time.Minute
	} else {
		cfg.Durable = c.Durable
		// The consumer's own state is never trusted: it is made again from
		// the stored position.
		if err := c.JS.DeleteConsumer(ctx, c.Stream, c.Durable); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return nil, fmt.Errorf("%s: delete consumer %s: %w", c.Name, c.Durable, err)
		}
	}
	cons, err := c.JS.CreateConsumer(ctx, c.Stream, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: create consumer %s: %w", c.Name, c.consumerName(), err)
	}
	return cons, nil
}

// connected reports whether the NATS connection is up.
func (c *Consumer) connected() bool {
	nc := c.JS.Conn()
	return nc == nil || nc.IsConnected()
}
