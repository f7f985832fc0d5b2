package ledger

import (
	"context"
	"time"

	"github.com/walletd/walletd"
)

// The idempotency window (WriterConfig.IdempotencyWindow): a key is
// remembered for that long after the request that used it was committed.
// A repeat inside the window is answered with the original entries (or
// the conflict); after it, the key is free and a repeat is a new request,
// as with Stripe's keys, which are pruned after 24 hours. The key filter
// is built at start-up from the keys of the window only, so start-up reads
// the window's entries, not the ledger.

// windowStart returns when the idempotency window now begins, or the zero
// time when keys never expire.
func (w *Writer) windowStart() time.Time {
	if w.cfg.IdempotencyWindow <= 0 {
		return time.Time{}
	}
	return w.cfg.Now().Add(-w.cfg.IdempotencyWindow)
}

// inWindow returns the entries of a key lookup that were committed inside
// the idempotency window: the request that still holds the key. A key
// used again after its window expired has entries from both requests;
// only the later ones count.
func (w *Writer) inWindow(entries []*walletd.Entry) []*walletd.Entry {
	start := w.windowStart()
	if start.IsZero() || len(entries) == 0 {
		return entries
	}
	for i, e := range entries {
		if !e.CreatedAt.Before(start) {
			return entries[i:]
		}
	}
	return nil
}

// loadKeyFilter builds the key filter from the keys the ledger holds:
// those of the window when there is one,
// every key otherwise.
func (w *Writer) loadKeyFilter(ctx context.Context) (keys, rows int, err error) {
	var list []string
	add := func(k string) { list = append(list, k) }
	if w.cfg.IdempotencyWindow > 0 {
		if rows, err = w.cfg.Store.IdempotencyKeysSince(ctx, w.windowStart(), add); err != nil {
			return 0, rows, err
		}
	} else if err = w.cfg.Store.IdempotencyKeys(add); err != nil {
		return 0, 0, err
	} else {
		rows = len(list)
	}
	w.filter = newKeyFilter(len(list))
	for _, k := range list {
		w.filter.add(k)
	}
	return len(list), rows, nil
}
