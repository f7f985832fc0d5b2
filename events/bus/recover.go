package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/walletd/walletd"
	"github.com/walletd/walletd/events"
)

// A bounded stream (StreamConfig.MaxAge, MaxBytes) drops its oldest
// messages whether or not every reader has applied them. The ledger is the
// source of truth, so a reader that finds the messages after its position
// gone recovers them from the ledger: the Consumer reads the records from
// the reader's ledger position up to the stream's first message from a
// Source (the ledger's outbox: the same envelopes, ids and positions the
// relay published), hands them to the Applier as batches that do not move
// its stream position, then stores the position just before the stream's
// first message and consumes the stream from there. Records the reader had
// already applied, and those it then receives again from the stream, are
// recognised by their ledger position (projections) or event id
// (webhooks), so applying more than the gap is harmless; applying less is
// what recovery prevents.

// LedgerPositioner is an Applier that knows the ledger position of the
// last record it applied: a Consumer with a Ledger recovers it from there.
type LedgerPositioner interface {
	// LedgerPosition returns the ledger seq and index of the last record
	// applied (or a position before it); (0, -1) for none.
	LedgerPosition(ctx context.Context) (seq uint64, index int, err error)
}

// DefaultRecoveryBatch is how many ledger records a recovery hands the
// Applier at a time.
const DefaultRecoveryBatch = 1000

// NewRecoveryMetrics registers walletd_consumer_recoveries_total{consumer}
// on reg (if not nil) and returns it: label it with the consumer
// ("projector", "webhooks") and set ConsumerMetrics.Recoveries.
func NewRecoveryMetrics(reg prometheus.Registerer) *prometheus.CounterVec {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "walletd_consumer_recoveries_total",
		Help: "Times a stream consumer found the messages after its position dropped from the stream and recovered them from the ledger.",
	}, []string{"consumer"})
	if reg != nil {
		reg.MustRegister(v)
	}
	return v
}

// gone reports whether the stream no longer holds messages after the
// stored stream sequence: it dropped them (limits) while they were unread.
func gone(st jetstream.StreamState, applied uint64) bool {
	if st.LastSeq <= applied {
		return false
	}
	if st.Msgs == 0 {
		return true // it had some after applied, and dropped them all
	}
	return applied+1 < st.FirstSeq
}

// recover applies the ledger records between the Applier's ledger
// position and the stream's first message, then stores the stream
// position just before that message. It returns the new stream position.
//
// A fresh build (Consumer.BuildFromLedger) is not counted in the
// recoveries metric: nothing was dropped that the reader had needed.
func (c *Consumer) recover(ctx context.Context, logger *slog.Logger, at Position, st jetstream.StreamState, fresh bool) (uint64, error) {
	lp := c.Applier.(LedgerPositioner)
	start := time.Now()
	seq, index, err := lp.LedgerPosition(ctx)
	if err != nil {
		return 0, err
	}
	// The records needed are those before the stream's first message; with
	// no message, every record committed so far (the relay publishes the
	// later ones).
	var to uint64
	var until pos
	var found bool
	if st.LastSeq < at.Seq {
		// The stream lost its tail or was made again: the relay publishes
		// after its last message, so what the reader needs is the ledger
		// up to that message.
		to, until, found, err = c.lastMessage(ctx, st)
	} else {
		to, until, found, err = c.firstMessage(ctx, st)
	}
	if err != nil {
		return 0, err
	}
	if !found {
		if until.seq, err = c.Ledger.Head(ctx); err != nil {
			return 0, fmt.Errorf("%s: recover: ledger head: %w", c.Name, err)
		}
		until.index = events.CheckpointIndex + 1
	}
	msg, level := ": the stream dropped the messages after the stored position; recovering them from the ledger", slog.LevelWarn
	if fresh {
		msg, level = ": building from the ledger", slog.LevelInfo
	}
	logger.Log(ctx, level, c.Name+msg,
		walletd.LogStreamSeq, at.Seq, "stream_first_seq", st.FirstSeq, "stream_msgs", st.Msgs,
		"ledger_from_seq", seq, "ledger_from_index", index, "ledger_until_seq", until.seq, "ledger_until_index", until.index)
	n := 0
	b := &Batch{Prev: at.Seq, Last: at.Seq}
	size := c.RecoveryBatch
	if size <= 0 {
		size = DefaultRecoveryBatch
	}
	for done := false; !done; {
		recs, err := c.Ledger.After(ctx, seq, index, size)
		if err != nil {
			return 0, fmt.Errorf("%s: recover: read ledger: %w", c.Name, err)
		}
		done = len(recs) == 0
		b.Msgs = b.Msgs[:0]
		for i := range recs {
			r := &recs[i]
			if !(pos{r.Seq, r.Index}).less(until) {
				done = true
				break
			}
			b.Msgs = append(b.Msgs, ledgerMessage(c.Prefix, r))
			seq, index = r.Seq, r.Index
		}
		if len(b.Msgs) == 0 {
			continue
		}
		if err := c.Applier.Apply(ctx, b); err != nil {
			return 0, fmt.Errorf("%s: recover: %w", c.Name, err)
		}
		n += len(b.Msgs)
		c.applied.Store(seq)
	}
	if err := c.Applier.Reposition(ctx, at, Position{Stream: c.Stream, Seq: to}); err != nil {
		return 0, err
	}
	if c.Metrics.Recoveries != nil && !fresh {
		c.Metrics.Recoveries.Inc()
	}
	logger.Warn(c.Name+": recovered from the ledger; consuming the stream from its first message",
		"records", n, "ledger_seq", seq, walletd.LogStreamSeq, to, "took", time.Since(start))
	return to, nil
}

// firstMessage returns the stream sequence before the stream's first
// message that the reader can trust and the ledger position that message
// names; found is false (and the sequence the stream's last) when the
// stream holds none, or none that is proven (with a Key, a message needs
// the relay's valid MAC).
func (c *Consumer) firstMessage(ctx context.Context, st jetstream.StreamState) (to uint64, first pos, found bool, err error) {
	if st.Msgs == 0 {
		return st.LastSeq, pos{}, false, nil
	}
	s, err := c.JS.Stream(ctx, c.Stream)
	if err != nil {
		return 0, pos{}, false, fmt.Errorf("%s: stream %s: %w", c.Name, c.Stream, err)
	}
	for n := st.FirstSeq; n <= st.LastSeq; n++ {
		m, err := c.getMsg(ctx, s, n)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			break // see getMsg
		}
		p, ok := c.trusted(m, n)
		if !ok {
			continue // refused when consumed, or history: the next one tells the position
		}
		return n - 1, p, true, nil
	}
	return st.LastSeq, pos{}, false, nil
}

// ledgerMessage makes the stream message the relay publishes for r, with
// no stream sequence: a recovered record does not move the position.
func ledgerMessage(prefix string, r *events.Record) Message {
	h := nats.Header{}
	h.Set(nats.MsgIdHdr, r.Envelope.ID)
	h.Set(HeaderSeq, strconv.FormatUint(r.Seq, 10))
	h.Set(HeaderIndex, strconv.Itoa(r.Index))
	return Message{Time: r.Time, Subject: events.Subject(prefix, r.Wallet, r.Key()), Header: h, Data: r.Body()}
}

// canRecover reports whether the Consumer recovers dropped messages from
// the ledger.
func (c *Consumer) canRecover() bool {
	_, ok := c.Applier.(LedgerPositioner)
	return ok && c.Ledger != nil
}

// lastMessage returns the stream's last sequence and, as an exclusive
// bound, the ledger position just after the last message the reader can
// trust (not republished); found is false when there is none.
func (c *Consumer) lastMessage(ctx context.Context, st jetstream.StreamState) (to uint64, after pos, found bool, err error) {
	if st.Msgs == 0 {
		return st.LastSeq, pos{}, false, nil
	}
	s, err := c.JS.Stream(ctx, c.Stream)
	if err != nil {
		return 0, pos{}, false, fmt.Errorf("%s: stream %s: %w", c.Name, c.Stream, err)
	}
	for n := st.LastSeq; n >= st.FirstSeq && n > 0; n-- {
		m, err := c.getMsg(ctx, s, n)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			break // see getMsg
		}
		p, ok := c.trusted(m, n)
		if !ok {
			continue
		}
		return st.LastSeq, pos{p.seq, p.index + 1}, true, nil
	}
	return st.LastSeq, pos{}, false, nil
}

// getMsg reads stream message n, waiting at most 2 s: a reader's identity
// on walletd's embedded server may not read messages by sequence, and the
// request then goes unanswered. The callers then fall back to the
// ledger's head, which covers every message the stream holds (applying
// more of the ledger than needed is harmless).
func (c *Consumer) getMsg(ctx context.Context, s jetstream.Stream, n uint64) (*jetstream.RawStreamMsg, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return s.GetMsg(ctx, n)
}

// behindLedger reports whether the Applier's ledger position is before the
// ledger's head.
func (c *Consumer) behindLedger(ctx context.Context) (bool, error) {
	seq, _, err := c.Applier.(LedgerPositioner).LedgerPosition(ctx)
	if err != nil {
		return false, err
	}
	head, err := c.Ledger.Head(ctx)
	if err != nil {
		return false, fmt.Errorf("%s: ledger head: %w", c.Name, err)
	}
	return seq < head, nil
}

// trusted returns the ledger position stream message n names, and whether
// the reader can trust it: with a Key, it needs the relay's valid MAC
// (unless it is in the adopted unsigned range), and it is not a
// republished one (history, which tells nothing of the relay's position).
func (c *Consumer) trusted(m *jetstream.RawStreamMsg, n uint64) (pos, bool) {
	var seq uint64
	var index int
	var err error
	if c.Key != nil && (n > c.UnsignedThrough || m.Header.Get(HeaderMAC) != "") {
		seq, index, err = VerifyMessage(c.Key, c.Stream, n, m.Header, m.Data)
	} else {
		seq, index, err = position(m.Header)
	}
	if err != nil || m.Header.Get(HeaderRepublished) != "" {
		return pos{}, false
	}
	return pos{seq, index}, true
}
