package ledger

import (
	"context"
	"fmt"
	"time"
)

// Building the key filter without holding up start-up.
//
// The filter must hold every key of the idempotency window before its
// "no" may be trusted. NewWriter finds the window's first entry (a binary
// search over created_at, about 24 point reads) and sizes the filter for
// the entries from there to the head. A window of at most
// WriterConfig.IdempotencyFilterStartupRows entries is read before
// NewWriter returns; a larger one is read by a goroutine Open starts, in
// pages of the primary key on a read connection, while the writer serves.
// Until that goroutine is done the filter is not built, and every key is
// looked up in the ledger's key index, in the caller and in the writer,
// as when there is no filter: answers are the same, each new key costs
// one indexed read more. Keys the writer commits meanwhile are added by
// the writer as always (Writer.remember), so once the pages up to the
// start-up head are read the filter holds every key, and built is set.
//
// Nothing is persisted: after a crash or a restart the filter is built
// anew from the ledger, the only source of the keys, so no stale or torn
// copy can answer wrongly.

// defaultFilterStartupRows is WriterConfig.IdempotencyFilterStartupRows'
// default: about 0.1 s of reading here.
const defaultFilterStartupRows = 100_000

// filterPage is how many entries one background read covers.
const filterPage = 10_000

// filterBuild is the background build of the key filter: the seq range it
// reads, and its lifecycle.
type filterBuild struct {
	from, to uint64 // seqs to read; none when from > to
	pending  bool   // Open starts the build
	cancel   context.CancelFunc
	done     chan struct{} // closed when the build goroutine has ended
	built    chan struct{} // closed when the filter holds every key
}

// initKeyFilter sizes the filter for the window and fills it now when the
// window is small, or leaves the filling to Open. It returns the entries
// of the window and the rows it read.
func (w *Writer) initKeyFilter(ctx context.Context) (window uint64, rows int, err error) {
	w.build.built = make(chan struct{})
	w.build.done = make(chan struct{})
	first := uint64(1)
	if w.cfg.IdempotencyWindow > 0 {
		if first, err = w.cfg.Store.FirstSeqSince(ctx, w.windowStart()); err != nil {
			return 0, 0, err
		}
	}
	if first <= w.headSeq {
		window = w.headSeq - first + 1
	}
	w.filter = newKeyFilterMax(int(min(window, 1<<40)), w.cfg.IdempotencyFilterMaxBytes)
	w.build.from, w.build.to = first, w.headSeq
	if window > uint64(w.cfg.IdempotencyFilterStartupRows) {
		w.build.pending = true
		return window, 0, nil
	}
	if w.cfg.IdempotencyWindow > 0 {
		rows, err = w.cfg.Store.IdempotencyKeysSince(ctx, w.windowStart(), w.filter.add)
	} else {
		rows, err = w.cfg.Store.IdempotencyKeysIn(ctx, first, w.headSeq, w.filter.add)
	}
	if err != nil {
		return window, rows, err
	}
	w.filterBuilt()
	return window, rows, nil
}

// filterBuilt marks the filter as holding every key: after every add, so
// that a caller who sees built sees the keys.
func (w *Writer) filterBuilt() {
	w.filter.built.Store(true)
	close(w.build.built)
	close(w.build.done)
}

// startKeyFilterBuild starts the background build if NewWriter left it to
// Open.
func (w *Writer) startKeyFilterBuild() {
	if !w.build.pending {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	w.build.cancel = cancel
	go w.buildKeyFilter(ctx)
}

// stopKeyFilterBuild ends the background build, if it runs, and waits for
// it. Only Close calls it.
func (w *Writer) stopKeyFilterBuild(started bool) {
	if w.build.done == nil { // no filter
		return
	}
	if !started && w.build.pending {
		close(w.build.done)
		return
	}
	if w.build.cancel != nil {
		w.build.cancel()
	}
	<-w.build.done
}

// buildKeyFilter reads the keys of the window up to the start-up head, a
// page at a time. A read that fails is retried after a pause: meanwhile
// keys are still looked up, so answers stay right.
func (w *Writer) buildKeyFilter(ctx context.Context) {
	start := time.Now()
	b := &w.build
	w.logger.Info("idempotency key filter: building in the background", "from_seq", b.from, "to_seq", b.to, "filter_bytes", w.filter.size())
	rows, pause := 0, 100*time.Millisecond
	for from := b.from; from <= b.to; {
		to := min(from+filterPage-1, b.to)
		n, err := w.cfg.Store.IdempotencyKeysIn(ctx, from, to, w.filter.add)
		if err != nil {
			if ctx.Err() != nil {
				close(b.done)
				return
			}
			w.logger.Error("idempotency key filter: read failed; keys are looked up until it is built", "err", fmt.Errorf("entries %d..%d: %w", from, to, err), "retry_in", pause)
			select {
			case <-ctx.Done():
				close(b.done)
				return
			case <-time.After(pause):
			}
			pause = min(2*pause, 10*time.Second)
			continue
		}
		rows += n
		from = to + 1
	}
	w.logger.Info("idempotency key filter: built", "rows_read", rows, "duration", time.Since(start).Round(time.Millisecond))
	w.filterBuilt()
}

// KeyFilterBuilt returns a channel closed once the idempotency key filter
// holds every key of the window (at once when the window was small enough
// to read before NewWriter returned, or when there is no filter). Until
// then every key is looked up in the ledger.
func (w *Writer) KeyFilterBuilt() <-chan struct{} {
	if w.build.built == nil {
		c := make(chan struct{})
		close(c)
		return c
	}
	return w.build.built
}

// mayHoldKey reports whether the ledger may hold key: false only when the
// built filter has never seen it.
func (w *Writer) mayHoldKey(key string) bool {
	return w.filter == nil || !w.filter.built.Load() || w.filter.mayContain(key)
}
