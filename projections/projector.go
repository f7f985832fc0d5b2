package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/walletd/walletd/events"
	"github.com/walletd/walletd/events/bus"
)

// Log attribute keys.
const (
	attrStream    = "stream"
	attrConsumer  = "consumer"
	attrStreamSeq = "stream_seq"
	attrSeq       = "seq"
	attrError     = "error"
)

// DefaultConsumer is the durable consumer name when Projector.Consumer is
// empty.
const DefaultConsumer = "projections"

// ErrStreamMismatch is returned by Run when projections.db was built from
// another stream than the one configured: rebuild it or use another file.
var ErrStreamMismatch = errors.New("projections: projections.db was built from another stream")

// errCaughtUp ends a CatchUp session.
var errCaughtUp = errors.New("projections: caught up")

// Projector applies the events of a JetStream stream to the read models of
// a DB, through a pull consumer.
//
// At every (re)start it reads the position stored in the DB, deletes the
// durable consumer if it exists, and creates it again to deliver from the
// stored stream sequence + 1 (everything when the DB is new). The server
// keeps no state the projector depends on: a consumer deleted, a NATS
// restart or an error only costs a resume. Each batch (up to BatchSize
// messages that arrived together) is applied in one transaction with the
// new position, then acknowledged.
//
// Every projections.db needs a consumer name of its own: two projectors
// sharing one would take messages from each other.
type Projector struct {
	DB       *DB
	JS       jetstream.JetStream
	Stream   string // stream name (default "WALLETD")
	Prefix   string // subject prefix (default "walletd")
	Consumer string // durable consumer name (default DefaultConsumer)
	// Ephemeral uses a consumer with no name that the server removes a
	// minute after its last use: for one-shot runs such as a rebuild from
	// the command line, which must not disturb a running projector's
	// durable consumer.
	Ephemeral bool
	// BatchSize is the most messages applied in one transaction (default
	// 5000). A batch is what has arrived, so it is small when the
	// projector keeps up and large when it catches up, where larger
	// batches write each page of the wallet index fewer times.
	BatchSize int
	Idle      time.Duration // how often to check the stream when no message comes (default 1s)
	Logger    *slog.Logger
	Metrics   *Metrics // nil: no metrics
	Now       func() time.Time

	lag atomic.Uint64
}

func (p *Projector) init() {
	if p.Stream == "" {
		p.Stream = "WALLETD"
	}
	if p.Prefix == "" {
		p.Prefix = "walletd"
	}
	if p.Consumer == "" {
		p.Consumer = DefaultConsumer
	}
	if p.BatchSize <= 0 {
		p.BatchSize = 5000
	}
	if p.Idle <= 0 {
		p.Idle = time.Second
	}
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	if p.Now == nil {
		p.Now = time.Now
	}
}

// Lag returns the number of stream messages not yet applied, as last
// measured (at every batch and every idle check).
func (p *Projector) Lag() uint64 { return p.lag.Load() }

// Run applies the stream until ctx is done, then returns nil. NATS and
// database errors are logged and retried with back-off, resuming from the
// stored position, which is never lost. It returns an error only when it
// cannot go on: ErrStreamMismatch.
func (p *Projector) Run(ctx context.Context) error {
	p.init()
	return p.loop(ctx, 0)
}

// CatchUp applies the stream up to the last message it holds when CatchUp
// is called, then returns. It retries errors like Run until ctx is done.
func (p *Projector) CatchUp(ctx context.Context) error {
	p.init()
	info, err := p.streamInfo(ctx)
	if err != nil {
		return err
	}
	if info.State.LastSeq == 0 {
		return nil
	}
	pos, err := p.DB.Position(ctx)
	if err != nil {
		return err
	}
	if pos.StreamSeq >= info.State.LastSeq {
		return nil
	}
	return p.loop(ctx, info.State.LastSeq)
}

// Rebuild empties the read models (DB.Reset) and applies the stream from
// its first message up to its last at the time of the call. The result is
// the same as that of a projector that applied the stream as it grew.
func (p *Projector) Rebuild(ctx context.Context) error {
	p.init()
	if err := p.DB.Reset(ctx); err != nil {
		return err
	}
	p.Logger.Info("projections: rebuilding from the stream", attrStream, p.Stream)
	return p.CatchUp(ctx)
}

// loop runs sessions until ctx is done or, when target > 0, until the
// stream sequence target is applied.
func (p *Projector) loop(ctx context.Context, target uint64) error {
	logger := p.Logger.With("component", "projector", attrStream, p.Stream, attrConsumer, p.consumerName())
	backoff := 100 * time.Millisecond
	for {
		progressed, err := p.session(ctx, logger, target)
		switch {
		case ctx.Err() != nil:
			if target > 0 {
				return ctx.Err()
			}
			return nil
		case errors.Is(err, errCaughtUp):
			return nil
		case errors.Is(err, ErrStreamMismatch):
			return err
		case errors.Is(err, errPositionMoved):
			logger.Info("projections: resuming from the stored position", attrError, err)
			continue
		}
		if progressed {
			backoff = 100 * time.Millisecond
		}
		if p.Metrics != nil {
			p.Metrics.Errors.Inc()
		}
		logger.Warn("projections: will resume from the stored position", attrError, err, "retry_in", backoff)
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

func (p *Projector) consumerName() string {
	if p.Ephemeral {
		return "(ephemeral)"
	}
	return p.Consumer
}

func (p *Projector) streamInfo(ctx context.Context) (*jetstream.StreamInfo, error) {
	s, err := p.JS.Stream(ctx, p.Stream)
	if err != nil {
		return nil, fmt.Errorf("projections: stream %s: %w", p.Stream, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("projections: stream %s info: %w", p.Stream, err)
	}
	return info, nil
}

// session creates the consumer from the stored position and applies what
// it delivers until an error, ctx's end or the target. It reports whether
// it applied at least one batch.
func (p *Projector) session(ctx context.Context, logger *slog.Logger, target uint64) (progressed bool, err error) {
	if !p.connected() {
		// A request made now would wait for its timeout: come back later.
		return false, errors.New("projections: NATS is not connected")
	}
	pos, err := p.DB.Position(ctx)
	if err != nil {
		return false, err
	}
	if pos.Stream != "" && pos.Stream != p.Stream {
		return false, fmt.Errorf("%w: built from %q, configured %q", ErrStreamMismatch, pos.Stream, p.Stream)
	}
	info, err := p.streamInfo(ctx)
	if err != nil {
		return false, err
	}
	start := pos.StreamSeq + 1
	switch st := info.State; {
	case st.LastSeq < pos.StreamSeq:
		// The stream lost its tail (or was re-created). The relay publishes
		// the lost events again after its new last message; those already
		// applied are recognised by their ledger position and skipped.
		logger.Warn("projections: the stream ends before the stored position; resuming after its last message",
			attrStreamSeq, pos.StreamSeq, "stream_last_seq", st.LastSeq, attrSeq, pos.LedgerSeq)
		if err := p.DB.rewind(ctx, pos.StreamSeq, st.LastSeq); err != nil {
			return false, err
		}
		pos.StreamSeq, start = st.LastSeq, st.LastSeq+1
	case st.Msgs > 0 && start < st.FirstSeq:
		logger.Error("projections: the stream no longer holds the messages after the stored position; events in between are missing from the read models (rebuild from a complete stream to repair)",
			attrStreamSeq, pos.StreamSeq, "stream_first_seq", st.FirstSeq)
	}
	if target > 0 && pos.StreamSeq >= target {
		return false, errCaughtUp
	}

	cons, err := p.consumer(ctx, start)
	if err != nil {
		return false, err
	}
	sub, err := bus.Consume(cons, p.BatchSize)
	if err != nil {
		return false, fmt.Errorf("projections: consume: %w", err)
	}
	defer func() {
		sub.Stop()
		if p.Ephemeral && p.connected() { // else the server drops it after a minute
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			p.JS.DeleteConsumer(dctx, p.Stream, cons.CachedInfo().Name)
			cancel()
		}
	}()
	logger.Info("projections: consuming", attrStreamSeq, pos.StreamSeq, attrSeq, pos.LedgerSeq, "deliver_from", start)

	belief := pos.StreamSeq // the stream seq stored in the DB, as last written
	next, fresh := start, true
	idle := time.NewTimer(p.Idle)
	defer idle.Stop()
	batch := make([]jetstream.Msg, 0, p.BatchSize)
	conv := make([]message, 0, p.BatchSize)
	logConsumeErr := func(err error) { logger.Debug("projections: consumer", attrError, err) }
	for {
		got, err := sub.Next(ctx, idle.C, batch, logConsumeErr)
		if err != nil {
			if ctx.Err() != nil {
				return progressed, ctx.Err()
			}
			return progressed, fmt.Errorf("projections: consumer: %w", err)
		}
		if got == nil { // idle
			// Bounded: a request made while NATS is away is not answered.
			cctx, cancel := context.WithTimeout(ctx, max(2*time.Second, 2*p.Idle))
			err := p.idleCheck(cctx, cons, belief, target)
			cancel()
			if err != nil {
				return progressed, err
			}
			idle.Reset(p.Idle)
			continue
		}
		batch = got

		conv = conv[:0]
		var gap error
		var pending uint64
		for i, m := range batch {
			meta, err := m.Metadata()
			if err != nil {
				return progressed, fmt.Errorf("projections: message metadata: %w", err)
			}
			seq := meta.Sequence.Stream
			if seq > next && !fresh {
				// A message is missing from the delivery: resume from the
				// stored position rather than pass over it.
				gap = fmt.Errorf("projections: stream seq %d delivered, %d expected", seq, next)
				batch = batch[:i]
				break
			}
			fresh = false
			if seq >= next {
				next = seq + 1
			}
			pending = meta.NumPending
			conv = append(conv, toMessage(seq, p.Prefix, m.Subject(), m.Headers(), m.Data()))
		}
		if len(conv) > 0 {
			start := time.Now()
			res, bad, err := p.DB.apply(ctx, p.Stream, belief, conv, p.Now())
			if err != nil {
				return progressed, err
			}
			progressed = true
			belief = res.pos.StreamSeq
			for _, m := range batch {
				m.Ack() // a lost ack only means a redelivery, which is skipped
			}
			lag := pending + uint64(sub.Queued())
			p.lag.Store(lag)
			for _, b := range bad {
				logger.Error("projections: event passed over", attrStreamSeq, b.streamSeq, "reason", b.reason)
			}
			if m := p.Metrics; m != nil {
				m.Applied.Add(float64(res.applied))
				m.Skipped.Add(float64(res.skipped))
				m.Bad.Add(float64(len(bad)))
				m.Batches.Inc()
				m.BatchDuration.Observe(time.Since(start).Seconds())
				m.Lag.Set(float64(lag))
				m.StreamSeq.Set(float64(res.pos.StreamSeq))
				m.LedgerSeq.Set(float64(res.pos.LedgerSeq))
			}
		}
		if gap != nil {
			return progressed, gap
		}
		if target > 0 && belief >= target {
			return progressed, errCaughtUp
		}
		if !idle.Stop() {
			select {
			case <-idle.C:
			default:
			}
		}
		idle.Reset(p.Idle)
	}
}

// consumer deletes the durable consumer, if any, and creates it to deliver
// from stream sequence start.
func (p *Projector) consumer(ctx context.Context, start uint64) (jetstream.Consumer, error) {
	cfg := jetstream.ConsumerConfig{
		Description:   "walletd projections: the position of record is in projections.db",
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       time.Minute,
		MaxAckPending: 4 * p.BatchSize,
		FilterSubject: p.Prefix + ".>",
	}
	if start > 1 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, start
	}
	if p.Ephemeral {
		cfg.InactiveThreshold = time.Minute
	} else {
		cfg.Durable = p.Consumer
		// The consumer's own state is never trusted: it is made again from
		// the position stored in projections.db.
		if err := p.JS.DeleteConsumer(ctx, p.Stream, p.Consumer); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return nil, fmt.Errorf("projections: delete consumer %s: %w", p.Consumer, err)
		}
	}
	c, err := p.JS.CreateConsumer(ctx, p.Stream, cfg)
	if err != nil {
		return nil, fmt.Errorf("projections: create consumer %s: %w", p.consumerName(), err)
	}
	return c, nil
}

// idleCheck runs when no message came for a while: it notices a reset of
// the database, measures the lag, notices a stream that lost its tail, and
// ends a CatchUp whose target no longer exists.
func (p *Projector) idleCheck(ctx context.Context, cons jetstream.Consumer, belief, target uint64) error {
	if !p.connected() {
		return nil // the consumer resumes by itself when NATS is back
	}
	pos, err := p.DB.Position(ctx)
	if err != nil {
		return err
	}
	if pos.StreamSeq != belief {
		return fmt.Errorf("%w: stored stream seq %d, applied %d", errPositionMoved, pos.StreamSeq, belief)
	}
	info, err := p.streamInfo(ctx)
	if err != nil {
		return err
	}
	last := info.State.LastSeq
	if last < belief {
		return fmt.Errorf("projections: the stream's last sequence %d is before the applied %d", last, belief)
	}
	p.lag.Store(last - belief)
	if p.Metrics != nil {
		p.Metrics.Lag.Set(float64(last - belief))
	}
	if target > 0 {
		ci, err := cons.Info(ctx)
		if err != nil {
			return fmt.Errorf("projections: consumer info: %w", err)
		}
		if ci.NumPending == 0 && ci.NumAckPending == 0 {
			return errCaughtUp // every message there is was applied
		}
	}
	return nil
}

// connected reports whether the NATS connection is up.
func (p *Projector) connected() bool {
	nc := p.JS.Conn()
	return nc == nil || nc.IsConnected()
}

// toMessage extracts what the projections need from a stream message.
func toMessage(streamSeq uint64, prefix, subject string, h nats.Header, data []byte) message {
	key, _ := events.KeyFromSubject(prefix, subject)
	m := message{key: key, streamSeq: streamSeq, data: data}
	seq, err1 := strconv.ParseUint(h.Get(bus.HeaderSeq), 10, 64)
	index, err2 := strconv.Atoi(h.Get(bus.HeaderIndex))
	if err1 == nil && err2 == nil && index >= 0 {
		m.ledgerSeq, m.index, m.positioned = seq, index, true
	}
	return m
}
