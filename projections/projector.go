package projections

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
	"github.com/prometheus/client_golang/prometheus"
	"github.com/walletd/walletd"
	"github.com/walletd/walletd/events"
	"github.com/walletd/walletd/events/bus"
)

// DefaultConsumer is the durable consumer name when Projector.Consumer is
// empty.
const DefaultConsumer = "projections"

// DefaultLinger is Projector.Linger's default.
const DefaultLinger = 20 * time.Millisecond

// ErrStreamMismatch is returned by Open, CatchUp and Rebuild (and by Close
// when it happens while running) when projections.db was built from
// another stream than the one configured: rebuild it or use another file.
var ErrStreamMismatch = errors.New("projections: projections.db was built from another stream")

// Projector applies the events of a JetStream stream to the read models of
// a DB, through a bus.Consumer: the consumer resumes from the position
// stored in the DB, and each batch (up to BatchSize messages that arrived
// together) is applied in one transaction with the new position (nothing
// is acknowledged: see bus.Consumer). The server keeps no state the projector depends on: a
// consumer deleted, a NATS restart or an error only costs a resume. When
// the stream ends before the stored position (it lost its tail), the
// position goes back to the stream's end and the events published again
// are recognised by their ledger position and skipped.
//
// Set the fields, then Open; Close stops it. CatchUp and Rebuild are
// one-shot runs instead.
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
	// Linger is how long a batch waits for more events after its first
	// (default DefaultLinger; negative: none). A transaction costs about
	// as much as 40 events applied in it, so a projector that keeps up
	// applied batches of a few dozen events and spent most of its time
	// committing; lingering makes the batches large for that much lag.
	Linger  time.Duration
	Idle    time.Duration // how often to check the stream when no message comes (default 1s)
	Logger  *slog.Logger
	Metrics *Metrics // nil: no metrics
	Now     func() time.Time
	// Key is the relay's key (bus.Relay.Key): set, a message without the
	// relay's valid MAC is refused, counted in Metrics.Refused, and never
	// reaches a read model.
	Key []byte
	// UnsignedThrough is the adopted stream's bus.UnsignedMark: unsigned
	// messages at or below it are accepted (bus.Consumer.UnsignedThrough).
	UnsignedThrough uint64
	// Ledger, if set, is the ledger's outbox (sqlite.Outbox, with the
	// relay's site URL): when the stream dropped the events after the
	// stored position (its limits), the projector applies them from the
	// ledger, then goes on from the stream's first message (recover.go).
	// Without it, they are missing from the read models and logged.
	Ledger bus.Source
	// Recoveries counts those recoveries
	// (walletd_consumer_recoveries_total{consumer="projector"}).
	Recoveries prometheus.Counter

	mu       sync.Mutex
	consumer *bus.Consumer
}

// feed returns the consumer that feeds the projector, made once from the
// fields.
func (p *Projector) feed() *bus.Consumer {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.consumer != nil {
		return p.consumer
	}
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
	linger := p.Linger
	if linger == 0 {
		linger = DefaultLinger
	}
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	c := &bus.Consumer{
		JS:          p.JS,
		Stream:      p.Stream,
		Prefix:      p.Prefix,
		Ephemeral:   p.Ephemeral,
		Description: "walletd projections: the position of record is in projections.db",
		Lost:        "events in between are missing from the read models (rebuild from a complete stream to repair)",
		BatchSize:   p.BatchSize,
		Linger:      max(linger, 0),
		Idle:        p.Idle,
		Applier:     &applier{p: p, conv: make([]message, 0, p.BatchSize)},
		Name:        "projections",
		Logger:      p.Logger.With("component", "projector"),
		Key:         p.Key,
	}
	c.UnsignedThrough = p.UnsignedThrough
	c.Ledger, c.Metrics.Recoveries = p.Ledger, p.Recoveries
	c.BuildFromLedger = p.Ledger != nil
	if !p.Ephemeral {
		c.Durable = p.Consumer
	}
	if m := p.Metrics; m != nil {
		c.Metrics = bus.ConsumerMetrics{Errors: m.Errors, Lag: m.Lag, Refused: m.Refused, Recoveries: p.Recoveries}
	}
	p.consumer = c
	return c
}

// Lag returns the number of stream messages not yet applied, as last
// measured (at every batch and every idle check).
func (p *Projector) Lag() uint64 { return p.feed().Lag() }

// Open checks the stored position and starts applying the stream in a
// goroutine of its own. It fails when projections.db cannot be read or was
// built from another stream (ErrStreamMismatch). NATS and database errors
// after Open are logged and retried with back-off, resuming from the
// stored position, which is never lost.
func (p *Projector) Open() error { return p.feed().Open() }

// Done is closed when the projector has stopped: after Close, or by itself
// when it cannot go on (ErrStreamMismatch, which Close then returns).
func (p *Projector) Done() <-chan struct{} { return p.feed().Done() }

// Close stops the projector and waits for the batch in progress. It
// returns the error that stopped the projector by itself, if one did.
func (p *Projector) Close() error { return p.feed().Close() }

// CatchUp applies the stream up to the last message it holds when CatchUp
// is called, then returns. It retries errors until ctx is done.
func (p *Projector) CatchUp(ctx context.Context) error { return p.feed().CatchUp(ctx) }

// Rebuild empties the read models (DB.Reset) and applies the stream from
// its first message up to its last at the time of the call. The result is
// the same as that of a projector that applied the stream as it grew.
// When the stream no longer starts at its first message (its limits
// dropped the oldest), what it dropped is read from the Ledger, which
// must then be set.
func (p *Projector) Rebuild(ctx context.Context) error {
	c := p.feed()
	if err := p.DB.Reset(ctx); err != nil {
		return err
	}
	p.Logger.Info("projections: rebuilding from the stream", walletd.LogStream, p.Stream)
	return c.CatchUp(ctx)
}

// applier is the projector's part of the consume loop: the position and
// the batch transaction of projections.db.
type applier struct {
	p    *Projector
	conv []message // reused from batch to batch
}

var _ bus.Applier = (*applier)(nil)

// Position returns the stored position; one built from another stream
// ends the consumer with ErrStreamMismatch.
func (a *applier) Position(ctx context.Context) (bus.Position, error) {
	pos, err := a.p.DB.Position(ctx)
	if err != nil {
		return bus.Position{}, err
	}
	if pos.Stream != "" && pos.Stream != a.p.Stream {
		return bus.Position{}, bus.Stop(fmt.Errorf("%w: built from %q, configured %q", ErrStreamMismatch, pos.Stream, a.p.Stream))
	}
	return bus.Position{Stream: pos.Stream, Seq: pos.StreamSeq}, nil
}

// Reposition moves the stored stream sequence back to the stream's end,
// keeping the ledger position: the relay publishes the lost events again
// after it, and those already applied are skipped.
func (a *applier) Reposition(ctx context.Context, from, to bus.Position) error {
	return moved(a.p.DB.rewind(ctx, from.Seq, to.Seq))
}

// Apply applies a batch in one transaction with its position, and logs
// the events it had to pass over.
func (a *applier) Apply(ctx context.Context, b *bus.Batch) error {
	p := a.p
	a.conv = a.conv[:0]
	for i := range b.Msgs {
		m := &b.Msgs[i]
		a.conv = append(a.conv, toMessage(m.Seq, p.Prefix, m.Subject, m.Header, m.Data))
	}
	start := time.Now()
	res, bad, err := p.DB.apply(ctx, p.Stream, b.Prev, a.conv, p.Now())
	if err != nil {
		return moved(err)
	}
	for _, e := range bad {
		p.Logger.Error("projections: event passed over", "component", "projector", walletd.LogStream, p.Stream, walletd.LogStreamSeq, e.streamSeq, "reason", e.reason)
	}
	if m := p.Metrics; m != nil {
		m.Applied.Add(float64(res.applied))
		m.Skipped.Add(float64(res.skipped))
		m.Bad.Add(float64(len(bad)))
		m.Batches.Inc()
		m.BatchDuration.Observe(time.Since(start).Seconds())
		m.StreamSeq.Set(float64(res.pos.StreamSeq))
		m.LedgerSeq.Set(float64(res.pos.LedgerSeq))
	}
	return nil
}

// moved marks errPositionMoved as bus.ErrPositionMoved, which the
// consumer answers with a resume at once.
func moved(err error) error {
	if errors.Is(err, errPositionMoved) {
		return bus.Moved(err)
	}
	return err
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
