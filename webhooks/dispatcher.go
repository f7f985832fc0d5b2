package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/walletd/walletd"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/walletd/walletd/events"
	"github.com/walletd/walletd/events/bus"
)

// DefaultConsumer is the dispatcher's durable consumer name.
const DefaultConsumer = "webhooks"

// Dispatcher turns the events of the WALLETD stream into deliveries: for
// each event, one delivery per matching endpoint (active: pending;
// suspended: held; disabled: none), recorded with the stream position in
// one webhooks.db transaction (nothing is acknowledged: see bus.Consumer).
//
// It reads the stream through a bus.Consumer. The position of record is
// the one in webhooks.db: at every (re)start the consumer is made again to
// deliver from the stored stream sequence + 1, so nothing waits for an ack
// timeout after a crash. A crash between the commit and the acks costs
// nothing (the next session starts after the commit); a crash before the
// commit delivers the batch again. Deliveries are unique per endpoint and
// event id, so an event the stream holds twice (the relay republishing a
// lost tail) is recorded once. A webhooks.db recorded from another stream
// starts after the last message of this one.
//
// An endpoint receives the events that enter the stream after it was
// created.
//
// Set the fields, then Open; Close stops it. Close the Dispatcher before
// its Service.
type Dispatcher struct {
	Service   *Service
	JS        jetstream.JetStream
	Stream    string // stream name (default "WALLETD")
	Prefix    string // subject prefix (default "walletd")
	Consumer  string // durable consumer name (default DefaultConsumer)
	BatchSize int    // most messages per transaction (default 500)
	// PositionEvery is how long a position with no deliveries may go
	// unstored (default 1s; see dispatch).
	PositionEvery time.Duration
	Idle          time.Duration // how often to measure the lag when idle (default 1s)
	Logger        *slog.Logger
	// Key is the relay's key (bus.Relay.Key): set, a message without the
	// relay's valid MAC is refused, counted in Metrics.Refused, and never
	// becomes a delivery.
	Key []byte
	// UnsignedThrough is the adopted stream's bus.UnsignedMark: unsigned
	// messages at or below it are accepted (bus.Consumer.UnsignedThrough).
	UnsignedThrough uint64
	// Ledger and Recoveries: see recover.go (bus.Consumer.Ledger).
	Ledger     bus.Source
	Recoveries prometheus.Counter

	// beforeAck, if set, runs after a batch is committed and before it is
	// acknowledged; an error stops the dispatcher there, as a crash would.
	beforeAck func(n int) error
	// beforeCommit is the same, before the commit.
	beforeCommit func(n int) error

	consumer *bus.Consumer
}

func (d *Dispatcher) positionEvery() time.Duration {
	if d.PositionEvery > 0 {
		return d.PositionEvery
	}
	return time.Second
}

// errCrash stops the dispatcher on a test hook.
var errCrash = errors.New("webhooks: dispatcher stopped by a test hook")

// Open starts recording deliveries in a goroutine of its own. It fails
// when the position in webhooks.db cannot be read. NATS and database
// errors after Open are logged and retried with back-off from the stored
// position.
func (d *Dispatcher) Open() error {
	if d.Service == nil || d.consumer != nil {
		return errors.New("webhooks: dispatcher: open: no Service, or already open")
	}
	if d.Stream == "" {
		d.Stream = "WALLETD"
	}
	if d.Prefix == "" {
		d.Prefix = "walletd"
	}
	if d.Consumer == "" {
		d.Consumer = DefaultConsumer
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	c := &bus.Consumer{
		JS:          d.JS,
		Stream:      d.Stream,
		Prefix:      d.Prefix,
		Durable:     d.Consumer,
		Description: "walletd webhook dispatcher: the position of record is in webhooks.db",
		AdoptStream: true,
		Lost:        "their events were not delivered",
		BatchSize:   d.BatchSize,
		Idle:        d.Idle,
		Applier:     &dispatch{d: d},
		Name:        "webhooks: dispatcher",
		Logger:      d.Logger.With("component", "webhook-dispatcher"),
		Key:         d.Key,
	}
	c.UnsignedThrough = d.UnsignedThrough
	c.Ledger = d.Ledger
	if c.BatchSize <= 0 {
		c.BatchSize = 500
	}
	if m := d.Service.Metrics; m != nil {
		c.Metrics = bus.ConsumerMetrics{Errors: m.DispatchErrors, Lag: m.DispatchLag, Refused: m.Refused}
	}
	c.Metrics.Recoveries = d.Recoveries
	if err := c.Open(); err != nil {
		return err
	}
	d.consumer = c
	return nil
}

// Progress returns the ledger seq of the last event the dispatcher recorded
// since it started (0 before the first) and the stream messages it has not
// yet read (0 before Open), for readiness.
func (d *Dispatcher) Progress() (ledgerSeq, pending uint64) {
	if d.consumer == nil {
		return 0, 0
	}
	return d.consumer.AppliedLedgerSeq(), d.consumer.Lag()
}

// Done is closed when the dispatcher has stopped: after Close, or by
// itself on a test hook. It is nil before Open.
func (d *Dispatcher) Done() <-chan struct{} {
	if d.consumer == nil {
		return nil
	}
	return d.consumer.Done()
}

// Close stops recording and waits for the batch in progress: it is
// committed, or delivered again at the next start. It returns the error
// that stopped the dispatcher by itself, if one did.
func (d *Dispatcher) Close() error {
	if d.consumer == nil {
		return nil
	}
	return d.consumer.Close()
}

// dispatch is the dispatcher's part of the consume loop: the position and
// the delivery records of webhooks.db.
//
// Its position is stored lazily: a batch that records no delivery (most
// of them, or all, when no endpoint wants its events) stores nothing, and
// its position is stored with the next batch that records deliveries, at
// the next idle check (Position), or after PositionEvery. A crash in
// between delivers those batches again, which record nothing again: the
// guarantee stays at least once, and a server with no endpoints commits
// about once a second instead of once per batch.
type dispatch struct {
	d *Dispatcher
	// pending is the position of the batches applied since the last one
	// stored (nil: none); stored is what this applier last stored or read.
	pending  *bus.Position
	stored   bus.Position
	storedAt time.Time
	// siteChecked: checkSiteURL has seen a stream message.
	siteChecked bool
}

var _ bus.Applier = (*dispatch)(nil)

// Position returns the position stored in webhooks.db.
//
// A position applied but not stored yet is stored first, unless the
// stored one was moved meanwhile (it is then what counts).
func (a *dispatch) Position(ctx context.Context) (bus.Position, error) {
	stream, seq, err := a.d.Service.DB.position(ctx)
	if err != nil {
		return bus.Position{}, err
	}
	got := bus.Position{Stream: stream, Seq: seq}
	if p := a.pending; p != nil {
		a.pending = nil
		if got == a.stored {
			if err := a.store(ctx, *p); err != nil {
				return bus.Position{}, err
			}
			return *p, nil
		}
	}
	a.stored = got
	return got, nil
}

// store writes a position with no deliveries.
func (a *dispatch) store(ctx context.Context, p bus.Position) error {
	if _, err := a.d.Service.DB.record(ctx, p.Stream, p.Seq, nil, nil, a.d.Service.Now()); err != nil {
		return err
	}
	a.stored, a.storedAt = p, time.Now()
	return nil
}

// Reposition stores to: the stream lost its tail (its events are
// published again after it and recognised by their ids), or webhooks.db
// was recorded from another stream.
func (a *dispatch) Reposition(ctx context.Context, _, to bus.Position) error {
	a.pending = nil
	return a.store(ctx, to)
}

// Apply records the deliveries of a batch and its position in one
// transaction.
func (a *dispatch) Apply(ctx context.Context, b *bus.Batch) error {
	d := a.d
	a.checkSiteURL(b)
	evs := make([]streamEvent, 0, len(b.Msgs))
	for i := range b.Msgs {
		m := &b.Msgs[i]
		if republished(m) {
			// History put back by `walletd events republish` for other
			// subscribers: this dispatcher recorded it when it was new, or
			// recovered it from the ledger; its deliveries may have been
			// pruned since, so the (endpoint, event) row cannot tell.
			continue
		}
		ev, ok := d.toEvent(m)
		if !ok {
			d.Logger.Error("webhooks: event passed over: no event id or subject", "component", "webhook-dispatcher",
				walletd.LogStreamSeq, m.Seq, "subject", m.Subject)
			continue
		}
		evs = append(evs, ev)
	}
	lazy := d.beforeCommit == nil && time.Since(a.storedAt) < d.positionEvery()
	got, recorded, err := d.Service.recordEvents(ctx, d.Stream, b.Last, lastLedgerPos(b), evs, d.beforeCommit, lazy)
	if err != nil {
		return err
	}
	if p := (bus.Position{Stream: d.Stream, Seq: b.Last}); recorded {
		a.pending, a.stored, a.storedAt = nil, p, time.Now()
	} else {
		a.pending = &p
	}
	if d.beforeAck != nil {
		if err := d.beforeAck(len(b.Msgs)); err != nil {
			return bus.Stop(fmt.Errorf("%w: %w", errCrash, err))
		}
	}
	if m := d.Service.Metrics; m != nil {
		n := 0
		for _, c := range got {
			n += c
		}
		m.Recorded.Add(float64(n))
	}
	return nil
}

// streamEvent is what the dispatcher needs of a stream message.
type streamEvent struct {
	seq  uint64
	id   string
	key  string
	data []byte
	time time.Time // when it entered the stream
}

func (d *Dispatcher) toEvent(m *bus.Message) (streamEvent, bool) {
	key, ok := events.KeyFromSubject(d.Prefix, m.Subject)
	if !ok || key == "" {
		return streamEvent{}, false
	}
	ev := streamEvent{seq: m.Seq, key: key, data: m.Data, time: m.Time, id: m.Header.Get(jetstream.MsgIDHeader)}
	if ev.id == "" {
		var env struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(ev.data, &env) != nil || env.ID == "" {
			return streamEvent{}, false
		}
		ev.id = env.ID
	}
	return ev, true
}

// payloadFor returns the body an endpoint of format receives for an
// event: the envelope as published, byte for byte; for woocommerce, the
// envelope's data object (the resource, as WooCommerce sends it).
func payloadFor(format string, envelope []byte) []byte {
	if format != FormatWooCommerce {
		return envelope
	}
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if json.Unmarshal(envelope, &env) != nil || len(env.Data) == 0 {
		return envelope
	}
	return env.Data
}

// recordEvents records the deliveries of a batch of stream events and the
// new position, and wakes the lanes that got work.
//
// With lazy, a batch that makes no delivery records nothing and returns
// recorded = false: the caller keeps its position to store later.
func (s *Service) recordEvents(ctx context.Context, stream string, lastSeq uint64, lp *ledgerPos, evs []streamEvent, hook func(int) error, lazy bool) (got map[string]int, recorded bool, err error) {
	if s.Follow > 0 {
		if err := s.catchUp(ctx); err != nil {
			return nil, false, err
		}
	}
	var ds []newDelivery
	s.mu.RLock()
	for i := range evs {
		ev := &evs[i]
		for _, r := range s.eps {
			if r.Status == StatusDisabled || !endpointMatches(&r.WebhookEndpoint, ev.key) || ev.time.Before(r.CreatedAt) {
				continue
			}
			ds = append(ds, newDelivery{id: walletd.NewID("whd"), endpointID: r.ID, eventID: ev.id, event: ev.key,
				payload: bodyFor(r.Format, ev.key, ev.data), contentType: "application/json", kind: KindEvent,
				eventTime: ev.time, streamSeq: ev.seq})
		}
	}
	s.mu.RUnlock()
	if lazy && len(ds) == 0 {
		return nil, false, nil
	}
	if hook != nil {
		if err := hook(len(evs)); err != nil {
			return nil, false, bus.Stop(fmt.Errorf("%w: %w", errCrash, err))
		}
	}
	if got, err = s.DB.record(ctx, stream, lastSeq, lp, ds, s.Now()); err != nil {
		return nil, false, err
	}
	for id := range got {
		s.wake(id)
	}
	return got, true, nil
}
