package webhooks

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"

	"github.com/walletd/walletd/events/bus"
)

// When the stream dropped the events after the dispatcher's position (its
// limits: bus.StreamConfig.MaxAge, MaxBytes), the dispatcher reads them
// from the ledger (Dispatcher.Ledger, bus.Consumer's recovery) and records
// their deliveries as it would have from the stream: the same envelopes
// and event ids, so an endpoint that dedupes by id sees each event once,
// and deliveries stay unique per endpoint and event id. An endpoint still
// receives only the events committed after it was created. Old events are
// delivered rather than passed over: a webhook is a notification the
// merchant's system acts on (a top-up to credit, an order to mark paid),
// and a missed one is an inconsistency nobody sees; one that arrives late
// carries its created_at.

// Ledger position of the last recorded batch, in meta: where a recovery
// starts. It is written after the batch's transaction, so it is never
// ahead of the stored stream position's events; behind it (a crash in
// between), a recovery reads a few events again and records no delivery
// twice.
const (
	metaLedgerSeq   = "dispatch_ledger_seq"
	metaLedgerIndex = "dispatch_ledger_index"
)

var _ bus.LedgerPositioner = (*dispatch)(nil)

// LedgerPosition returns the ledger position of the last batch that
// recorded deliveries. With none stored (a webhooks.db from before, or
// that never recorded a delivery): the ledger's head when there is no
// endpoint (nothing to deliver), else the ledger's start - the endpoints'
// creation times pass over what they never wanted.
func (a *dispatch) LedgerPosition(ctx context.Context) (uint64, int, error) {
	var seq, index string
	err := a.d.Service.DB.write.QueryRowContext(ctx, `SELECT
		COALESCE((SELECT value FROM meta WHERE key = ?), ''),
		COALESCE((SELECT value FROM meta WHERE key = ?), '')`, metaLedgerSeq, metaLedgerIndex).Scan(&seq, &index)
	if err != nil {
		return 0, 0, fmt.Errorf("webhooks: ledger position: %w", err)
	}
	if seq != "" {
		s, err1 := strconv.ParseUint(seq, 10, 64)
		i, err2 := strconv.Atoi(index)
		if err1 == nil && err2 == nil {
			return s, i, nil
		}
	}
	s := a.d.Service
	s.mu.RLock()
	n := 0
	for _, r := range s.eps {
		if r.Status != StatusDisabled {
			n++
		}
	}
	s.mu.RUnlock()
	if n == 0 && a.d.Ledger != nil {
		head, err := a.d.Ledger.Head(ctx)
		if err != nil {
			return 0, 0, fmt.Errorf("webhooks: ledger head: %w", err)
		}
		return head, 1 << 30, nil
	}
	return 0, -1, nil
}

// ledgerPos is a ledger position the dispatcher stores with its stream
// position (metaLedgerSeq, metaLedgerIndex): where a recovery starts.
type ledgerPos struct {
	seq   uint64
	index int
}

// lastLedgerPos returns the ledger position of the last message of b that
// names one; nil for none.
func lastLedgerPos(b *bus.Batch) *ledgerPos {
	for i := len(b.Msgs) - 1; i >= 0; i-- {
		if republished(&b.Msgs[i]) {
			continue // an earlier position: the dispatcher's never goes back
		}
		h := b.Msgs[i].Header
		seq, err1 := strconv.ParseUint(h.Get(bus.HeaderSeq), 10, 64)
		index, err2 := strconv.Atoi(h.Get(bus.HeaderIndex))
		if err1 == nil && err2 == nil {
			return &ledgerPos{seq, index}
		}
	}
	return nil
}

// setLedgerPos stores p in the transaction that records a batch.
func setLedgerPos(ctx context.Context, tx *sql.Tx, p *ledgerPos) error {
	if err := setMeta(ctx, tx, metaLedgerSeq, strconv.FormatUint(p.seq, 10)); err != nil {
		return err
	}
	return setMeta(ctx, tx, metaLedgerIndex, strconv.Itoa(p.index))
}

// republished reports whether m is history that `walletd events
// republish` put back into the stream (bus.HeaderRepublished).
func republished(m *bus.Message) bool { return m.Header.Get(bus.HeaderRepublished) != "" }
