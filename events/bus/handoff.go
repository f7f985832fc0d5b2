package bus

import (
	"context"
	"fmt"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/events"
)

// RecordMaker makes the records of committed entries and of a checkpoint,
// exactly as Source.After reads them back: ledger/sqlite's Outbox.
type RecordMaker interface {
	Records(ctx context.Context, entries []*walletd.Entry, cp *walletd.Checkpoint) ([]events.Record, error)
}

// The hand-off (Relay.Offer). The ledger writer hands every batch to the
// relay once it is durable, in commit order; the relay publishes from
// these chunks without reading the database again. Chunks are contiguous:
// each one's records follow the last one's in outbox order. The relay
// reads the outbox only while its position is not in a chunk: at start,
// after a resync behind them (a NATS outage), or when the chunks it kept
// (MaxHandoff records) did not reach back to it.
//
// A Gated relay publishes nothing past the last durable record: with a
// pipelined commit the database shows a batch before it is durable, and a
// record published then could outlive a ledger that lost its batch in a
// crash. The limit starts at the head the outbox had when the relay
// opened, which must be durable then (ledger/sqlite's OpenPipelined syncs
// at open; open the relay before the writer starts), and moves with every
// Offer.

// chunk is one durable batch: its entries and checkpoint, and the records
// made of them once the relay needs them.
type chunk struct {
	entries []*walletd.Entry
	cp      *walletd.Checkpoint
	recs    []events.Record
	built   bool
}

// pos is a record's place in the outbox.
type pos struct {
	seq   uint64
	index int
}

func (p pos) less(q pos) bool { return p.seq < q.seq || p.seq == q.seq && p.index < q.index }

func posOf(r *events.Record) pos { return pos{r.Seq, r.Index} }

// limitOf is the last outbox position a batch can have written: its
// checkpoint, or else any event of its last entry (entry events come
// before a checkpoint's index).
func limitOf(entries []*walletd.Entry, cp *walletd.Checkpoint) pos {
	if cp != nil {
		return pos{cp.Seq, events.CheckpointIndex}
	}
	if len(entries) == 0 {
		return pos{}
	}
	return pos{entries[len(entries)-1].Seq, events.CheckpointIndex - 1}
}

// Offer hands the relay a batch of entries (and its checkpoint) that is
// durable in the ledger. Batches must be offered in commit order, every
// one of them, from one goroutine at a time; the relay publishes them
// from memory. It never blocks on NATS.
func (r *Relay) Offer(entries []*walletd.Entry, cp *walletd.Checkpoint) {
	if len(entries) == 0 && cp == nil {
		return
	}
	c := &chunk{entries: entries, cp: cp}
	r.mu.Lock()
	if l := limitOf(entries, cp); r.limit.less(l) {
		r.limit = l
	}
	r.chunks = append(r.chunks, c)
	r.held += len(entries) + 1
	for r.held > r.maxHandoff() && len(r.chunks) > 1 {
		// Too far behind (NATS away): drop the oldest; the outbox has them.
		r.held -= len(r.chunks[0].entries) + 1
		r.chunks[0] = nil
		r.chunks = r.chunks[1:]
	}
	r.mu.Unlock()
	r.Notify()
}

func (r *Relay) maxHandoff() int {
	if r.MaxHandoff > 0 {
		return r.MaxHandoff
	}
	return 1 << 14
}

// fromMemory returns up to limit records after p from the chunks, with
// ok = false when p is not in them (the outbox must be read). Chunks
// wholly before p are dropped.
func (r *Relay) fromMemory(ctx context.Context, p pos, limit int) (recs []events.Record, ok bool, err error) {
	r.mu.Lock()
	cs := append([]*chunk(nil), r.chunks...)
	r.mu.Unlock()
	if len(cs) == 0 {
		return nil, false, nil
	}
	mk, _ := r.Source.(RecordMaker)
	if mk == nil {
		return nil, false, nil
	}
	drop := 0
	for i, c := range cs {
		if !c.built {
			if c.recs, err = mk.Records(ctx, c.entries, c.cp); err != nil {
				return nil, false, fmt.Errorf("relay: make records: %w", err)
			}
			c.built = true
		}
		if ok {
			recs = append(recs, c.recs...)
			if len(recs) >= limit {
				break
			}
			continue
		}
		if len(c.recs) == 0 {
			continue
		}
		first, last := posOf(&c.recs[0]), posOf(&c.recs[len(c.recs)-1])
		switch {
		case p.less(first):
			return nil, false, nil // p is before the chunks: read the outbox
		case p == last:
			ok, drop = true, i // what follows is in the next chunks
		case p.less(last):
			ok, drop = true, i
			j := 0
			for j < len(c.recs) && !p.less(posOf(&c.recs[j])) {
				j++
			}
			if j == 0 || posOf(&c.recs[j-1]) != p {
				// Not a record this process made (a stream written by
				// another version): the outbox knows what follows it.
				return nil, false, nil
			}
			recs = append(recs, c.recs[j:]...)
		default:
			drop = i + 1 // wholly before p
		}
	}
	if drop > 0 {
		r.mu.Lock()
		// Offer only appends, so the first chunks are still cs[:drop].
		for k := 0; k < drop && len(r.chunks) > 0 && r.chunks[0] == cs[k]; k++ {
			r.held -= len(r.chunks[0].entries) + 1
			r.chunks[0] = nil
			r.chunks = r.chunks[1:]
		}
		r.mu.Unlock()
	}
	if len(recs) > limit {
		recs = recs[:limit]
	}
	return recs, ok, nil
}

// durableOnly cuts recs (read from the outbox) at the last durable
// record, on a gated relay.
func (r *Relay) durableOnly(recs []events.Record) []events.Record {
	r.mu.Lock()
	gated, limit := r.Gated, r.limit
	r.mu.Unlock()
	if !gated {
		return recs
	}
	for i := range recs {
		if limit.less(posOf(&recs[i])) {
			return recs[:i]
		}
	}
	return recs
}
