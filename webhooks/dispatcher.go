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
	"github.com/walletd/walletd/events"
	"github.com/walletd/walletd/events/bus"
)

// DefaultConsumer is the dispatcher's durable consumer name.
const DefaultConsumer = "webhooks"

// Dispatcher turns the events of the WALLETD stream into deliveries: for
// each event, one delivery per matching endpoint (active: pending;
// suspended: held; disabled: none), recorded with the stream position in
// one webhooks.db transaction, then acknowledged.
//
// The position of record is the one in webhooks.db: at every (re)start the
// dispatcher deletes its durable consumer and creates it again to deliver
// from the stored stream sequence + 1, so nothing waits for an ack timeout
// after a crash. A crash between the commit and the acks costs nothing (the
// next session starts after the commit); a crash before the commit
// delivers the batch again. Deliveries are unique per endpoint and event
// id, so an event the stream holds twice (the relay republishing a lost
// tail) is recorded once.
//
// An endpoint receives the events that enter the stream after it was
// created.
type Dispatcher struct {
	Service   *Service
	JS        jetstream.JetStream
	Stream    string        // stream name (default "WALLETD")
	Prefix    string        // subject prefix (default "walletd")
	Consumer  string        // durable consumer name (default DefaultConsumer)
	BatchSize int           // most messages per transaction (default 500)
	Idle      time.Duration // how often to measure the lag when idle (default 1s)
	Logger    *slog.Logger

	// beforeAck, if set, runs after a batch is committed and before it is
	// acknowledged; an error ends the session there, as a crash would.
	beforeAck func(n int) error
	// beforeCommit is the same, before the commit.
	beforeCommit func(n int) error
}

func (d *Dispatcher) init() {
	if d.Stream == "" {
		d.Stream = "WALLETD"
	}
	if d.Prefix == "" {
		d.Prefix = "walletd"
	}
	if d.Consumer == "" {
		d.Consumer = DefaultConsumer
	}
	if d.BatchSize <= 0 {
		d.BatchSize = 500
	}
	if d.Idle <= 0 {
		d.Idle = time.Second
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
}

// errCrash ends a session on a test hook.
var errCrash = errors.New("webhooks: dispatcher stopped by a test hook")

// Run records deliveries until ctx is done, then returns nil. NATS and
// database errors are logged and retried with back-off from the stored
// position.
func (d *Dispatcher) Run(ctx context.Context) error {
	d.init()
	logger := d.Logger.With("component", "webhook-dispatcher", "stream", d.Stream, "consumer", d.Consumer)
	backoff := 100 * time.Millisecond
	for {
		progressed, err := d.session(ctx, logger)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, errCrash) {
			return err
		}
		if progressed {
			backoff = 100 * time.Millisecond
		}
		if m := d.Service.Metrics; m != nil {
			m.DispatchErrors.Inc()
		}
		logger.Warn("webhooks: dispatcher will resume from the stored position", attrError, err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func (d *Dispatcher) streamInfo(ctx context.Context) (*jetstream.StreamInfo, error) {
	st, err := d.JS.Stream(ctx, d.Stream)
	if err != nil {
		return nil, fmt.Errorf("webhooks: stream %s: %w", d.Stream, err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("webhooks: stream %s info: %w", d.Stream, err)
	}
	return info, nil
}

func (d *Dispatcher) session(ctx context.Context, logger *slog.Logger) (progressed bool, err error) {
	db := d.Service.DB
	stream, pos, err := db.position(ctx)
	if err != nil {
		return false, err
	}
	info, err := d.streamInfo(ctx)
	if err != nil {
		return false, err
	}
	start := pos + 1
	switch st := info.State; {
	case stream != "" && stream != d.Stream:
		start = st.LastSeq + 1
		logger.Warn("webhooks: webhooks.db was recorded from another stream; starting after the last message of this one",
			"recorded_stream", stream)
	case st.LastSeq < pos:
		// The stream lost its tail; the relay publishes those events again
		// after its new last message, and they are recognised by their ids.
		start = st.LastSeq + 1
		logger.Warn("webhooks: the stream ends before the stored position; resuming after its last message",
			attrStreamSeq, pos, "stream_last_seq", st.LastSeq)
	case st.Msgs > 0 && start < st.FirstSeq:
		logger.Error("webhooks: the stream no longer holds the events after the stored position; they were not delivered",
			attrStreamSeq, pos, "stream_first_seq", st.FirstSeq)
	}
	cons, err := d.consumer(ctx, start)
	if err != nil {
		return false, err
	}
	sub, err := bus.Consume(cons, d.BatchSize)
	if err != nil {
		return false, fmt.Errorf("webhooks: consume: %w", err)
	}
	defer sub.Stop()
	logger.Info("webhooks: dispatcher consuming", attrStreamSeq, pos, "deliver_from", start)

	next, fresh := start, true
	stalls := 0 // idle checks in a row with messages pending and none delivered
	idle := time.NewTimer(d.Idle)
	defer idle.Stop()
	batch := make([]jetstream.Msg, 0, d.BatchSize)
	logConsumeErr := func(err error) { logger.Debug("webhooks: consumer", attrError, err) }
	for {
		got, err := sub.Next(ctx, idle.C, batch, logConsumeErr)
		if err != nil {
			if ctx.Err() != nil {
				return progressed, ctx.Err()
			}
			return progressed, fmt.Errorf("webhooks: consumer: %w", err)
		}
		if got == nil {
			// Nothing came for a while: measure the lag, and if the
			// consumer holds messages it does not deliver, start over.
			ci, err := cons.Info(ctx)
			if err != nil {
				return progressed, fmt.Errorf("webhooks: consumer info: %w", err)
			}
			if m := d.Service.Metrics; m != nil {
				m.DispatchLag.Set(float64(ci.NumPending + uint64(ci.NumAckPending)))
			}
			if ci.NumPending > 0 && sub.Queued() == 0 {
				if stalls++; stalls >= 5 {
					return progressed, fmt.Errorf("webhooks: the consumer has %d messages pending but delivered none for %v", ci.NumPending, 5*d.Idle)
				}
			} else {
				stalls = 0
			}
			idle.Reset(d.Idle)
			continue
		}
		stalls = 0
		batch = got
		var gap error
		var pending uint64
		var last uint64
		evs := make([]streamEvent, 0, len(batch))
		for i, m := range batch {
			meta, err := m.Metadata()
			if err != nil {
				return progressed, fmt.Errorf("webhooks: message metadata: %w", err)
			}
			seq := meta.Sequence.Stream
			if seq > next && !fresh {
				// A message is missing from the delivery: resume from the
				// stored position rather than pass over it.
				gap = fmt.Errorf("webhooks: stream seq %d delivered, %d expected", seq, next)
				batch = batch[:i]
				break
			}
			fresh = false
			if seq >= next {
				next = seq + 1
			}
			last = max(last, seq)
			pending = meta.NumPending
			ev, ok := d.toEvent(m, meta)
			if !ok {
				logger.Error("webhooks: event passed over: no event id or subject", attrStreamSeq, seq, "subject", m.Subject())
				continue
			}
			evs = append(evs, ev)
		}
		if len(batch) > 0 {
			got, err := d.Service.recordEvents(ctx, d.Stream, last, evs, d.beforeCommit)
			if err != nil {
				return progressed, err
			}
			progressed = true
			if d.beforeAck != nil {
				if err := d.beforeAck(len(batch)); err != nil {
					return progressed, fmt.Errorf("%w: %v", errCrash, err)
				}
			}
			for _, m := range batch {
				m.Ack() // a lost ack costs nothing: the next session starts after the stored position
			}
			if m := d.Service.Metrics; m != nil {
				n := 0
				for _, c := range got {
					n += c
				}
				m.Recorded.Add(float64(n))
				m.DispatchLag.Set(float64(pending + uint64(sub.Queued())))
			}
		}
		if gap != nil {
			return progressed, gap
		}
		if !idle.Stop() {
			select {
			case <-idle.C:
			default:
			}
		}
		idle.Reset(d.Idle)
	}
}

// consumer deletes the durable consumer, if any, and creates it to deliver
// from stream sequence start.
func (d *Dispatcher) consumer(ctx context.Context, start uint64) (jetstream.Consumer, error) {
	cfg := jetstream.ConsumerConfig{
		Durable:       d.Consumer,
		Description:   "walletd webhook dispatcher: the position of record is in webhooks.db",
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       time.Minute,
		MaxAckPending: 4 * d.BatchSize,
		FilterSubject: d.Prefix + ".>",
	}
	if start > 1 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, start
	}
	if err := d.JS.DeleteConsumer(ctx, d.Stream, d.Consumer); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil, fmt.Errorf("webhooks: delete consumer %s: %w", d.Consumer, err)
	}
	c, err := d.JS.CreateConsumer(ctx, d.Stream, cfg)
	if err != nil {
		return nil, fmt.Errorf("webhooks: create consumer %s: %w", d.Consumer, err)
	}
	return c, nil
}

// streamEvent is what the dispatcher needs of a stream message.
type streamEvent struct {
	seq  uint64
	id   string
	key  string
	data []byte
	time time.Time // when it entered the stream
}

func (d *Dispatcher) toEvent(m jetstream.Msg, meta *jetstream.MsgMetadata) (streamEvent, bool) {
	key, ok := events.KeyFromSubject(d.Prefix, m.Subject())
	if !ok || key == "" {
		return streamEvent{}, false
	}
	ev := streamEvent{seq: meta.Sequence.Stream, key: key, data: m.Data(), time: meta.Timestamp,
		id: m.Headers().Get(jetstream.MsgIDHeader)}
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
func (s *Service) recordEvents(ctx context.Context, stream string, lastSeq uint64, evs []streamEvent, hook func(int) error) (map[string]int, error) {
	var ds []newDelivery
	s.mu.RLock()
	for i := range evs {
		ev := &evs[i]
		for _, r := range s.eps {
			if r.Status == StatusDisabled || !endpointMatches(&r.WebhookEndpoint, ev.key) || ev.time.Before(r.CreatedAt) {
				continue
			}
			ds = append(ds, newDelivery{id: walletd.NewID("whd"), endpointID: r.ID, eventID: ev.id, event: ev.key,
				payload: payloadFor(r.Format, ev.data), contentType: "application/json", kind: KindEvent,
				eventTime: ev.time, streamSeq: ev.seq})
		}
	}
	s.mu.RUnlock()
	if hook != nil {
		if err := hook(len(evs)); err != nil {
			return nil, fmt.Errorf("%w: %v", errCrash, err)
		}
	}
	got, err := s.DB.record(ctx, stream, lastSeq, ds, s.Now())
	if err != nil {
		return nil, err
	}
	for id := range got {
		s.wake(id)
	}
	return got, nil
}
