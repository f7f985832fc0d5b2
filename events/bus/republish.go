package bus

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/walletd/walletd/events"
)

// HeaderRepublished marks a message that `walletd events republish` put
// in the stream again for subscribers that want history: the ledger's
// record, byte for byte, with its event id, Walletd-Seq and Walletd-Index
// and the relay's MAC (bound, as every MAC, to the stream sequence it was
// stored at). The relay never takes its position from such a message
// (resync passes over it, without an alert), nor does a consumer's
// recovery; walletd's consumers skip the events they applied (the
// projections by ledger position; the dispatcher passes over every
// republished message, since it recorded each event when it was new and
// may have pruned its deliveries since), and outside subscribers
// recognise them by their event id.
const HeaderRepublished = "Walletd-Republished"

// Republish publishes the source's records with ledger seq from..to (to 0:
// up to the head at the call) to the stream, after its last message, each
// signed with key and marked HeaderRepublished. Every publish expects the
// stream's last sequence, so a message of the running relay in between is
// never overwritten or reordered: the publish is retried after it (the
// relay resyncs the same way). Messages carry the event's Nats-Msg-Id, so
// a record the stream stored within its duplicate window (the relay just
// published it) is not stored again: it returns how many records were
// published and how many of those the stream had just stored. progress,
// if set, is called after every window with the records handled so far
// and the last ledger seq.
//
// Run it while no relay publishes to the stream (walletd serve stopped):
// a relay's window of publishes expects consecutive stream sequences, and
// a message put between two of them would make the relay pass over a
// record. positionFile is the relay's position record (relay.pos, "" for
// none): before each window Republish records there that the sequences it
// is about to take are history, so that a relay that later finds the
// stream empty does not count them as its own.
func Republish(ctx context.Context, js jetstream.JetStream, stream, prefix string, key []byte, src Source, from, to uint64,
	positionFile string, progress func(n int, seq uint64)) (n, dups int, err error) {
	if from == 0 {
		from = 1
	}
	if to == 0 {
		head, err := src.Head(ctx)
		if err != nil {
			return 0, 0, fmt.Errorf("republish: ledger head: %w", err)
		}
		to = head
	}
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return 0, 0, fmt.Errorf("republish: stream %s: %w", stream, err)
	}
	seq, index := from-1, events.CheckpointIndex // after every record of seq from-1
	// last is the stream's last sequence, once known.
	var last uint64
	known := false
	for seq < to || (seq == to && index < events.CheckpointIndex) {
		recs, err := src.After(ctx, seq, index, 256)
		if err != nil {
			return n, dups, fmt.Errorf("republish: read ledger: %w", err)
		}
		if len(recs) == 0 {
			break
		}
		for i := range recs {
			if recs[i].Seq > to {
				recs = recs[:i]
				break
			}
		}
		if len(recs) == 0 {
			break
		}
		if positionFile != "" {
			info, err := s.Info(ctx)
			if err != nil {
				return n, dups, fmt.Errorf("republish: stream info: %w", err)
			}
			if err := markRepublished(positionFile, key, info, info.State.LastSeq+uint64(len(recs))); err != nil {
				return n, dups, fmt.Errorf("republish: %w", err)
			}
			last, known = info.State.LastSeq, true
		}
		for i := range recs {
			rec := &recs[i]
			var dup bool
			dup, last, err = republishOne(ctx, js, s, stream, prefix, key, rec, last, known)
			if err != nil {
				return n, dups, err
			}
			known = true
			if dup {
				dups++
			} else {
				n++
			}
			seq, index = rec.Seq, rec.Index
		}
		if progress != nil {
			progress(n+dups, seq)
		}
	}
	return n, dups, nil
}

// republishOne publishes rec after the stream's last message, retrying
// while another publisher (the relay) takes that place first. last is the
// stream's last sequence when known (one stream info per record
// otherwise); it returns the new one. dup is true when the stream did not
// store it (a duplicate within its window).
func republishOne(ctx context.Context, js jetstream.JetStream, s jetstream.Stream, stream, prefix string, key []byte, rec *events.Record,
	last uint64, known bool) (dup bool, newLast uint64, err error) {
	for attempt := 0; attempt < 100; attempt++ {
		if !known {
			info, err := s.Info(ctx)
			if err != nil {
				return false, 0, fmt.Errorf("republish: stream info: %w", err)
			}
			last = info.State.LastSeq
		}
		msg := nats.NewMsg(events.Subject(prefix, rec.Wallet, rec.Key()))
		msg.Data = rec.Body()
		msg.Header.Set(HeaderSeq, strconv.FormatUint(rec.Seq, 10))
		msg.Header.Set(HeaderIndex, strconv.Itoa(rec.Index))
		msg.Header.Set(HeaderRepublished, "1")
		if key != nil {
			msg.Header.Set(HeaderMAC, messageMAC(key, stream, last+1, rec.Envelope.ID, rec.Seq, rec.Index, msg.Data))
		}
		// The same Nats-Msg-Id: within the duplicate window the stream
		// stores nothing for a record it just got, which is what is wanted.
		ack, perr := js.PublishMsg(ctx, msg, jetstream.WithMsgID(rec.Envelope.ID), jetstream.WithExpectStream(stream), jetstream.WithExpectLastSequence(last))
		var apiErr *jetstream.APIError
		if err = perr; err == nil {
			if ack.Duplicate {
				return true, last, nil // nothing stored: the last sequence is unchanged
			}
			return false, ack.Sequence, nil
		} else if !errors.As(err, &apiErr) || apiErr.ErrorCode != jetstream.JSErrCodeStreamWrongLastSequence {
			return false, 0, fmt.Errorf("republish: seq %d index %d: %w", rec.Seq, rec.Index, err)
		}
		known = false // another publisher went first: ask again
	}
	return false, 0, fmt.Errorf("republish: seq %d index %d: the stream kept moving: %w", rec.Seq, rec.Index, err)
}
