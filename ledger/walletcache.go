package ledger

import (
	"container/list"
	"context"
	"fmt"
	"sync/atomic"

	"github.com/walletd/walletd"
)

// The writer's bounded wallet cache (docs/scale.md). The writer does not
// read every wallet at start-up: a command that names a wallet the writer
// does not hold reads its committed row from the store (Store.LoadWallet,
// or LoadWalletOf for a user's wallet in a currency), which checks it
// against the entry that last changed it, and the writer keeps it.
//
// WriterConfig.WalletCache bounds how many it keeps: after every batch the
// writer drops the least recently used wallets beyond the bound - but
// never one a batch changed before that batch is durable (pinned), and
// never during a batch, so that neither the undo of a failed command nor
// a failed commit ever needs a wallet read again. Between batches, the
// store's row of a wallet the writer does not hold is its committed state.
// A batch may hold more wallets than the bound while it runs; the next
// eviction takes the cache back down to it.

// walletCache orders the wallets the writer holds by their last use.
type walletCache struct {
	max   int                      // 0: unbounded, nothing tracked
	lru   list.List                // of *cacheNode, the most recently used first
	nodes map[string]*list.Element // wallet id → its node
	// Counters and the number of wallets held, read by the metrics from
	// any goroutine.
	hits, misses, evictions atomic.Uint64
	size                    atomic.Int64
}

// WalletCacheStats are the counters of the writer's wallet cache.
type WalletCacheStats struct {
	Hits, Misses, Evictions uint64 // wallet reads served from memory, from the store; wallets dropped
	Size                    int    // wallets held after the last batch
}

// WalletCacheStats returns the counters of the wallet cache; safe from any
// goroutine.
func (w *Writer) WalletCacheStats() WalletCacheStats {
	c := &w.cache
	return WalletCacheStats{Hits: c.hits.Load(), Misses: c.misses.Load(), Evictions: c.evictions.Load(), Size: int(c.size.Load())}
}

type cacheNode struct {
	id string
	// seq is the chain head after the last batch that changed the wallet:
	// it is pinned until that seq is durable.
	seq uint64
}

func (c *walletCache) init(max int) {
	c.max = max
	c.nodes = make(map[string]*list.Element)
}

// touch marks wallet id used now.
func (c *walletCache) touch(id string) *cacheNode {
	if c.max <= 0 {
		return nil
	}
	if e, ok := c.nodes[id]; ok {
		c.lru.MoveToFront(e)
		return e.Value.(*cacheNode)
	}
	n := &cacheNode{id: id}
	c.nodes[id] = c.lru.PushFront(n)
	return n
}

// pinWallets pins the wallets the batch under way changed until the
// chain head seq after it is durable. The batch has committed.
func (s *state) pinWallets(seq uint64) {
	if s.cache.max <= 0 {
		return
	}
	for _, id := range s.wallets.order {
		s.cache.touch(id).seq = seq
	}
}

// evictWallets drops the least recently used wallets beyond the cache's
// bound whose last change is durable (at or before seq). It runs between
// batches only: the journal is empty.
func (s *state) evictWallets(durable uint64) {
	c := &s.cache
	defer func() { c.size.Store(int64(len(s.wallets.rows))) }()
	if c.max <= 0 {
		return
	}
	for e := c.lru.Back(); e != nil && len(c.nodes) > c.max; {
		prev := e.Prev()
		if n := e.Value.(*cacheNode); n.seq <= durable {
			if w := s.wallets.rows[n.id]; w != nil {
				uk := userKey(w.UserID, w.Currency)
				if s.byUser[uk] == n.id {
					delete(s.byUser, uk)
				}
				delete(s.wallets.rows, n.id)
			}
			delete(c.nodes, n.id)
			c.lru.Remove(e)
			c.evictions.Add(1)
		}
		e = prev
	}
}

// holdWallet makes a wallet read from the store part of the writer's
// state. It is the committed state, so no journal records it: a batch that
// fails leaves it held, as it is.
func (s *state) holdWallet(w *walletd.Wallet) {
	s.wallets.rows[w.ID] = w
	s.byUser[userKey(w.UserID, w.Currency)] = w.ID
	s.cache.touch(w.ID)
}

// loadWallet reads wallet id from the store for a batch that needs it and
// holds it; nil if there is no such wallet. A wallet that cannot be read,
// or whose row fails its check, fails the command under way (b.loadErr).
func (b *batch) loadWallet(id string) *walletd.Wallet {
	b.cache.misses.Add(1)
	w, err := b.w.cfg.Store.LoadWallet(context.Background(), id)
	return b.held(w, err, "wallet "+walletd.QuoteInput(id))
}

// loadWalletOf reads user's wallet in currency from the store and holds it;
// nil if there is none.
func (b *batch) loadWalletOf(user, currency string) *walletd.Wallet {
	b.cache.misses.Add(1)
	w, err := b.w.cfg.Store.LoadWalletOf(context.Background(), user, currency)
	return b.held(w, err, fmt.Sprintf("the %s wallet of user %s", currency, walletd.QuoteInput(user)))
}

func (b *batch) held(w *walletd.Wallet, err error, what string) *walletd.Wallet {
	if err == nil && w != nil {
		// Amounts are written at the currency's scale: a currency missing
		// from the configuration would write them wrong. A row changed
		// after the head was written by no commit of this ledger.
		if _, cerr := b.w.cfg.Currencies.Scale(w.Currency); cerr != nil {
			err = fmt.Errorf("wallet %s: %w; configure the currency with --currencies", w.ID, cerr)
		} else if w.LastSeq > b.w.headSeq {
			err = fmt.Errorf("wallet %s was changed at seq %d, after the head %d", w.ID, w.LastSeq, b.w.headSeq)
		}
	}
	if err != nil {
		b.w.logger.Error("wallet refused: run walletd verify", "wallet", what, "error", err)
		if b.loadErr == nil {
			b.loadErr = walletd.Errorf(walletd.EInternal, "The ledger could not read %s or refused its stored state; the server log says why.", what)
		}
		return nil
	}
	if w != nil {
		b.holdWallet(w)
	}
	return w
}
