package ledger

import (
	"context"
	"sync"

	"github.com/walletd/walletd"
)

// The pipelined group commit. With WriterConfig.Sync set, the store's
// Commit is atomic but not yet durable (ledger.db in WAL mode at
// synchronous=NORMAL): the writer commits batch N, hands it to the syncer
// goroutine and goes on to build and write batch N+1 while the syncer's
// fsync of batch N runs. One fsync makes every batch committed before it
// durable, so under load a sync covers several batches and batches grow
// with the load instead of being capped by the fsync's latency.
//
// Nobody is answered and nothing is handed on (OnDurable: the relay)
// before the batch is durable, and batches are answered in commit order,
// refusals and failed batches included: an answer never rests on a state
// that a crash could take back. A Sync that fails stops the writer: what
// the page cache holds can no longer be trusted to reach the disk, so the
// callers of every batch not known durable get EUnavailable (their
// outcome is unknown; the Idempotency-Key makes the retry safe), and the
// process must restart, which recovers what the disk holds.

// durable is one batch on its way to its callers: answered, and its
// entries handed on, once it is durable.
type durable struct {
	b    *batch
	reqs []*request
	errs map[*request]error
	// wrote says the batch committed something (entries or a
	// checkpoint) that a Sync must make durable.
	wrote bool
	cp    *walletd.Checkpoint
	head  uint64 // the chain head after the batch
}

// errSyncFailed answers the callers of the batches a failed Sync left in
// doubt.
var errSyncFailed = walletd.Errorf(walletd.EUnavailable,
	"The ledger could not make its last writes durable and stopped; the outcome of this request is unknown: retry it with the same Idempotency-Key once walletd is back.")

// deliver answers a batch and hands its entries on: at once without a
// Sync, else through the syncer.
func (w *Writer) deliver(d *durable) {
	if w.cfg.Sync == nil {
		w.finish(d)
		return
	}
	w.pipe <- d
}

// syncLoop is the syncer goroutine: it takes every batch committed so
// far, makes them durable with one Sync, then answers them in order.
func (w *Writer) syncLoop() {
	defer close(w.synced)
	var failed error
	ds := make([]*durable, 0, 8)
	for d := range w.pipe {
		ds = append(ds[:0], d)
	more:
		for {
			select {
			case d, ok := <-w.pipe:
				if !ok {
					break more
				}
				ds = append(ds, d)
			default:
				break more
			}
		}
		wrote := false
		for _, d := range ds {
			wrote = wrote || d.wrote
		}
		if wrote && failed == nil {
			if err := w.cfg.Sync(); err != nil {
				failed = err
				w.failed.Store(true)
				w.logger.Error("sync failed: the writer stops; restart walletd", "error", err)
				w.once.Do(func() { close(w.closing) })
			}
		}
		for _, d := range ds {
			if failed != nil {
				for _, r := range d.reqs {
					if d.errs[r] == nil {
						d.errs[r] = errSyncFailed
					}
				}
				d.b.answer(d.reqs, d.errs)
				continue
			}
			w.finish(d)
		}
	}
}

// finish answers a durable batch and hands its entries on.
func (w *Writer) finish(d *durable) {
	d.b.answer(d.reqs, d.errs)
	if d.wrote {
		w.mark.set(d.head)
		if w.cfg.OnDurable != nil {
			w.cfg.OnDurable(d.b.entries, d.cp)
		}
	}
}

// durableMark is the seq of the last durable entry, with a way to wait
// for it to pass a seq.
type durableMark struct {
	mu   sync.Mutex
	seq  uint64
	wake chan struct{} // closed and replaced when seq moves
}

func (m *durableMark) set(seq uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if seq <= m.seq {
		return
	}
	m.seq = seq
	if m.wake != nil {
		close(m.wake)
		m.wake = nil
	}
}

// get returns the seq of the last durable entry.
func (m *durableMark) get() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.seq
}

// wait returns once the durable seq is seq or later, or with ctx's error,
// or with ErrClosed when stopped is closed first.
func (m *durableMark) wait(ctx context.Context, seq uint64, stopped <-chan struct{}) error {
	for {
		m.mu.Lock()
		if m.seq >= seq {
			m.mu.Unlock()
			return nil
		}
		if m.wake == nil {
			m.wake = make(chan struct{})
		}
		wake := m.wake
		m.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		case <-stopped:
			m.mu.Lock()
			ok := m.seq >= seq
			m.mu.Unlock()
			if ok {
				return nil
			}
			return ErrClosed
		}
	}
}

// waitDurable waits until the entries a caller read from the database
// (an idempotency replay) are durable: with a pipelined commit, a reader
// can see a batch between its commit and its Sync.
func (w *Writer) waitDurable(ctx context.Context, entries []*walletd.Entry) error {
	if w.cfg.Sync == nil || len(entries) == 0 {
		return nil
	}
	return w.mark.wait(ctx, entries[len(entries)-1].Seq, w.stopped)
}
