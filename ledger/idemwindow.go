package ledger

import (
	"time"

	"github.com/walletd/walletd"
)

// The idempotency window (WriterConfig.IdempotencyWindow): a key is
// remembered for that long after the request that used it was committed.
// A repeat inside the window is answered with the original entries (or
// the conflict); after it, the key is free and a repeat is a new request,
// as with Stripe's keys, which are pruned after 24 hours. The key filter
// is built from the keys of the window only (keyfilter_build.go): before
// NewWriter returns when the window is small, in the background otherwise,
// so start-up reads a bounded number of the window's entries.

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
