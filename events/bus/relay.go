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
	"github.com/walletd/walletd"
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
// The stream itself is the relay's bookkeeping (with a PositionFile for
// a stream that holds no message: relay_resume.go). At start, after any
// error and whenever the stream's last sequence is not the one it last
// saw, the relay reads the stream's last message and resumes after the
// record named by its headers. Every publish carries the stream sequence it
// expects to follow (Nats-Expected-Last-Sequence), so a message can only be
// stored right after its predecessor: the stream is always a prefix of the
// outbox, with no gap and no duplicate, even across crashes, a NATS outage,
// or a JetStream that restarted without its last messages. This does not
// rely on the Nats-Msg-Id duplicate window, which is only a second guard.
//
// Each record is published on events.Subject: its wallet's branch, or the
// sys branch for a record of no wallet; the stream's subject transform
// puts the wallet's partition in (EnsureStream). A message's place in the
// outbox is read from its headers, never from its subject, so the relay
// resumes after a message of any subject scheme, legacy ones included.
//
// Set the fields, then Open; Close stops it. Notify may be called at any
// time, before Open included.
type Relay struct {
	JS      jetstream.JetStream
	Stream  string // stream name
	Prefix  string // subject prefix: events go to events.Subject(Prefix, …)
	Source  Source
	Window  int           // most publishes in flight (default 256)
	Idle    time.Duration // how often to look for work and check the stream when idle (default 250ms)
	Logger  *slog.Logger
	Metrics *RelayMetrics // nil: none
	// Setup, if set, runs before every resync until it succeeds: walletd
	// uses it to create the stream when NATS was away at start-up.
	Setup func(ctx context.Context) error
	// Key, if set, signs every message (HeaderMAC) and makes the relay
	// resume only from a message it can prove it wrote: see resync.
	Key []byte
	// Gated makes the relay publish only what was offered as durable
	// (handoff.go): set it when the ledger commits before it syncs.
	Gated bool
	// MaxHandoff caps the entries of offered batches the relay keeps
	// (default 16384, a few MB); older ones are read from the Source again.
	MaxHandoff int
	// UnsignedThrough is the UnsignedMark of an adopted stream (adopt.go):
	// a message at or below it without a MAC is proven by its content,
	// which must be the ledger's event.
	UnsignedThrough uint64
	// PositionFile, if set, is where the relay records its position
	// (relay.pos in the data dir) so that it resumes where it was when
	// the stream holds no message: relay_resume.go. Without it, a stream
	// with no message is published from the ledger's start.
	PositionFile string

	once   sync.Once
	notify chan struct{}
	mu     sync.Mutex
	seq    uint64 // position: last record in the stream
	index  int
	base   uint64 // the stream's last sequence as the relay knows it
	synced bool
	alert  error // set when the stream held a message the relay did not write
	// The hand-off (handoff.go): offered batches, the records they hold
	// (about), and the last durable position.
	chunks []*chunk
	held   int
	limit  pos
	resume resumeState // relay_resume.go

	cancel context.CancelFunc // set by Open
	done   chan struct{}      // closed when the publishing goroutine ends
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

// Open starts publishing in a goroutine of its own. It fails only on a
// relay without JS or Source: NATS being away is not an error, since
// writes to the ledger go on while it is and the backlog drains when it is
// back.
func (r *Relay) Open() error {
	if r.JS == nil || r.Source == nil {
		return errors.New("relay: open: JS and Source are required")
	}
	r.init()
	if r.PositionFile != "" {
		if err := r.noteOpenHead(); err != nil {
			return err
		}
	}
	var head uint64
	if r.Gated {
		h, err := r.Source.Head(context.Background())
		if err != nil {
			return fmt.Errorf("relay: open: %w", err)
		}
		head = h
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done != nil {
		return errors.New("relay: open: already open")
	}
	if l := (pos{head, events.CheckpointIndex}); r.Gated && r.limit.less(l) {
		r.limit = l
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan struct{})
	var saver <-chan struct{}
	if r.PositionFile != "" {
		saver = r.saveEvery(ctx, time.Second)
	}
	go func() {
		defer close(r.done)
		r.run(ctx)
		if saver != nil {
			<-saver
			if err := r.savePosition(); err != nil {
				r.Logger.Warn("relay: position record", walletd.LogComponent, "relay", walletd.LogError, err)
			}
		}
	}()
	return nil
}

// Close stops publishing and waits for the publishes in flight to be
// acknowledged or abandoned; what is left is published after the next
// start, which resumes from the stream. Closing twice, or a relay never
// opened, is harmless.
func (r *Relay) Close() error {
	r.mu.Lock()
	cancel, done := r.cancel, r.done
	r.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	<-done
	return nil
}

// run publishes until ctx is done. Errors are logged and retried with
// back-off.
func (r *Relay) run(ctx context.Context) {
	logger := r.Logger.With(walletd.LogComponent, "relay")
	backoff := 100 * time.Millisecond
	idle := time.NewTimer(0)
	defer idle.Stop()
	for ctx.Err() == nil {
		n, err := r.step(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if m := r.Metrics; m != nil && m.Errors != nil {
				m.Errors.Inc()
			}
			logger.Warn("relay: will resync from the stream", walletd.LogError, err, walletd.LogRetryIn, backoff)
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
				logger.Warn("relay: stream check", walletd.LogError, err)
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
	recs, mem, err := r.fromMemory(ctx, pos{seq, index}, r.Window)
	if err != nil {
		return 0, err
	}
	if !mem {
		if recs, err = r.Source.After(ctx, seq, index, r.Window); err != nil {
			return 0, fmt.Errorf("relay: read outbox: %w", err)
		}
		recs = r.durableOnly(recs)
	}
	if m := r.Metrics; m != nil && m.Backlog != nil {
		if r.Gated {
			r.mu.Lock()
			head := r.limit.seq
			r.mu.Unlock()
			if head >= seq {
				m.Backlog.Set(float64(head - seq))
			}
		} else if head, err := r.Source.Head(ctx); err == nil && head >= seq {
			m.Backlog.Set(float64(head - seq))
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
		msg := nats.NewMsg(events.Subject(r.Prefix, rec.Wallet, rec.Key()))
		msg.Data = rec.Body()
		msg.Header.Set(HeaderSeq, strconv.FormatUint(rec.Seq, 10))
		msg.Header.Set(HeaderIndex, strconv.Itoa(rec.Index))
		if r.Key != nil {
			msg.Header.Set(HeaderMAC, messageMAC(r.Key, r.Stream, base+uint64(i)+1, rec.Envelope.ID, rec.Seq, rec.Index, msg.Data))
		}
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
			if m := r.Metrics; m != nil {
				if m.Published != nil {
					m.Published.Inc()
				}
				if m.Lag != nil && !rec.Time.IsZero() {
					m.Lag.Observe(time.Since(rec.Time).Seconds())
				}
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
//
// With a Key, the position comes only from a message the relay can prove
// it wrote: a valid HeaderMAC (bound to the message's stream sequence) and
// a Nats-Msg-Id equal to the id of the outbox record at its seq and index.
// Messages that fail are walked back over, each one raising the alert
// (Alert, the forged-messages metric, an error log); the relay resumes
// after the last provable message and publishes after the stream's end,
// leaving the forged messages for the consumers to refuse. A non-empty
// stream with no provable message stops publishing: resuming from nothing
// would publish the outbox again.
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
	r.mu.Lock()
	r.resume.created = info.Created
	r.mu.Unlock()
	if info.State.Msgs == 0 && r.PositionFile != "" {
		if seq, index, err = r.resumeEmpty(ctx, info); err != nil {
			return err
		}
	} else if info.State.Msgs > 0 && r.Key != nil {
		if seq, index, err = r.provable(ctx, s, info.State.FirstSeq, info.State.LastSeq); err != nil {
			return err
		}
	} else if info.State.Msgs > 0 {
		m, err := s.GetLastMsgForSubject(ctx, events.StreamSubjects(r.Prefix))
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
	r.resume.haveOpenHead = false // only the first resync (relay_resume.go)
	r.mu.Unlock()
	r.Logger.Info("relay: resumed from the stream", walletd.LogComponent, "relay", walletd.LogSeq, seq, walletd.LogIndex, index, walletd.LogStreamSeq, info.State.LastSeq)
	return nil
}

// provable walks the stream back from last to the first message the relay
// can prove it wrote and returns its position. Every message passed over
// raises the alert.
func (r *Relay) provable(ctx context.Context, s jetstream.Stream, first, last uint64) (uint64, int, error) {
	for n := last; n >= first && n > 0; n-- {
		m, err := s.GetMsg(ctx, n)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue // deleted
		}
		if err != nil {
			return 0, 0, fmt.Errorf("relay: stream message %d: %w", n, err)
		}
		seq, index, err := r.prove(ctx, m)
		if err == nil && m.Header.Get(HeaderRepublished) != "" {
			continue // walletd events republish: not the relay's position
		}
		if err == nil {
			return seq, index, nil
		}
		if !errors.Is(err, ErrForged) {
			return 0, 0, err
		}
		r.raise(fmt.Errorf("relay: stream %s message %d: %w", r.Stream, n, err))
	}
	if r.PositionFile != "" && !r.sawForged() {
		return r.resumeHistoryOnly(ctx, s) // every message republished history
	}
	err := fmt.Errorf("relay: stream %s has %d..%d and no message this walletd can prove it wrote: publishing stopped", r.Stream, first, last)
	r.raise(err)
	return 0, 0, err
}

// prove checks the MAC of m and that its Nats-Msg-Id is the outbox's event
// id for its seq and index.
func (r *Relay) prove(ctx context.Context, m *jetstream.RawStreamMsg) (uint64, int, error) {
	if m.Sequence <= r.UnsignedThrough && m.Header.Get(HeaderMAC) == "" {
		return matchRecord(ctx, r.Source, m.Header, m.Data)
	}
	seq, index, err := VerifyMessage(r.Key, r.Stream, m.Sequence, m.Header, m.Data)
	if err != nil {
		return 0, 0, err
	}
	recs, err := r.Source.After(ctx, seq, index-1, 1)
	if err != nil {
		return 0, 0, fmt.Errorf("relay: read outbox: %w", err)
	}
	if len(recs) == 0 || recs[0].Seq != seq || recs[0].Index != index || recs[0].Envelope.ID != m.Header.Get(nats.MsgIdHdr) {
		return 0, 0, fmt.Errorf("%w: seq %d index %d is not the ledger's record", ErrForged, seq, index)
	}
	return seq, index, nil
}

// raise records a message the relay did not write: metric, error log and
// Alert.
func (r *Relay) raise(err error) {
	r.Logger.Error("relay: ALERT: the stream holds a message walletd did not write", walletd.LogComponent, "relay", walletd.LogError, err)
	if m := r.Metrics; m != nil && m.Forged != nil {
		m.Forged.Inc()
	}
	if m := r.Metrics; m != nil && m.Alert != nil {
		m.Alert.Set(1)
	}
	r.mu.Lock()
	r.alert = err
	r.mu.Unlock()
}

// Alert returns the last forged message the relay found in the stream, or
// nil. It stays set until the process restarts: someone could publish on
// the stream's subjects, which an operator must look into. /readyz reports
// it.
func (r *Relay) Alert() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.alert
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
