// Package ledger is walletd's domain: wallets, entries, money rules, the
// HMAC chain, signed checkpoints and the single-writer append path.
//
// It imports no transport. Storage sits behind walletd.LedgerStore
// (implemented in ledger/sqlite); HTTP and the command line live elsewhere.
//
// The writer is spread over files by concept: writer.go (the queue and
// its lifecycle), writer_startup.go (the checks before it opens),
// batch.go (group commit and the undo of a failed command),
// idempotency.go (with idemwindow.go, keyfilter.go and keyfilter_build.go:
// the window, the key filter and its background build), state.go and
// table.go (the typed state), walletcache.go
// (the wallets it holds, read on demand), and
// one file per command family: wallet.go, transfer.go, topup.go,
// withdrawal.go, limits.go, kyc.go, autoreload.go, redemption.go,
// reward.go, order.go.
package ledger

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/walletd/walletd"
)

// ErrClosed is returned by the writer once it has been closed.
var ErrClosed = &walletd.Error{Code: walletd.EUnavailable, Message: "The ledger writer is shut down."}

// WriterConfig configures a Writer.
type WriterConfig struct {
	Store      walletd.LedgerStore
	Keyring    *Keyring
	Currencies *walletd.Currencies
	// CheckpointKey signs checkpoints; nil disables them.
	CheckpointKey ed25519.PrivateKey
	// CheckpointEvery writes a checkpoint once this many entries have been
	// appended since the last one (0: never by count).
	CheckpointEvery uint64
	// CheckpointInterval writes a checkpoint when the head has moved and
	// this much time has passed since the last one (0: never by time).
	CheckpointInterval time.Duration
	// MaxBatch caps the commands in one group commit (default 1000).
	MaxBatch int
	// QueueSize is the depth of the submission queue (default 4 × MaxBatch).
	QueueSize int
	// Now and NewID are injectable for tests.
	Now   func() time.Time
	NewID func(prefix string) string
	// Lookup, if set, finds committed entries by idempotency key on a read
	// connection. Submit then checks keys in the caller's goroutine, in
	// parallel, and the writer reads the database for a key only when the
	// request waited longer than its memory of recent keys covers.
	Lookup func(ctx context.Context, key string) ([]*walletd.Entry, error)
	// OnCommit, if set, is called after every commit attempt with the
	// number of commands, of entries, the commit duration and its error.
	// With Sync set, a commit is not yet durable: hand entries on from
	// OnDurable.
	OnCommit func(commands, entries int, d time.Duration, err error)
	// Sync, if set, says the Store's Commit is atomic but not durable, and
	// makes every commit before it durable. The writer then pipelines its
	// group commit (pipeline.go): batch N+1 is built and written while
	// batch N's Sync runs, and a batch is answered only after its Sync.
	// A Sync that fails stops the writer.
	Sync func() error
	// OnDurable, if set, is called with the entries (and the checkpoint,
	// or nil) of every batch that wrote any, once they are durable, in
	// commit order, from one goroutine. The relay takes them from here.
	OnDurable func(entries []*walletd.Entry, cp *walletd.Checkpoint)
	// IdempotencyWindow is how long an Idempotency-Key is remembered after
	// its request committed (idemwindow.go); 0 remembers keys forever.
	IdempotencyWindow time.Duration
	// IdempotencyFilterStartupRows is how many entries of the window
	// NewWriter reads to fill the key filter before it returns (default
	// 100,000); a larger window is read in the background after Open,
	// every key looked up in the ledger until then (keyfilter_build.go).
	IdempotencyFilterStartupRows int
	// IdempotencyFilterMaxBytes caps the key filter's memory (default 32
	// MiB; keyfilter.go).
	IdempotencyFilterMaxBytes int
	// LimitLocation is the time zone whose calendar days and months the
	// daily and monthly spending limits count in (default UTC).
	LimitLocation *time.Location
	// DefaultCurrency is the currency of settings, rules and milestones
	// created without one (default USD).
	DefaultCurrency string
	// WalletCache bounds the wallets the writer keeps in memory
	// (walletcache.go): beyond it, the least recently used wallets whose
	// changes are durable are dropped, and read again from the store when
	// a command needs them. 0 keeps every wallet it read.
	WalletCache int
	Logger      *slog.Logger
}

var _ walletd.Submitter = (*Writer)(nil)

// Writer is the single writer of the ledger. It owns the in-memory state
// (balances, statuses, objects, chain head) and applies every command in a
// batch that it commits in one transaction (group commit). Callers are
// answered only after the commit; a failed commit answers the whole batch
// with an error and leaves the state as it was before the batch.
type Writer struct {
	cfg    WriterConfig
	logger *slog.Logger

	reqs    chan *request
	closing chan struct{}
	stopped chan struct{}
	once    sync.Once
	opened  sync.Once

	// The pipelined commit (pipeline.go): committed batches on their way
	// to the syncer, closed when the syncer ends, a failed Sync, and the
	// last durable seq. pipe is unbuffered: the writer commits batch N+1
	// while batch N syncs, then waits for the syncer to take it, gathering
	// batch N+2 in the queue meanwhile. Fewer, larger batches: a commit
	// costs CPU too.
	pipe   chan *durable
	synced chan struct{}
	failed atomic.Bool
	mark   durableMark

	// State below is owned by the run goroutine.
	ledgerID string
	headSeq  uint64
	headHash walletd.Hash
	lastCP   *walletd.Checkpoint
	keyID    string
	hasher   *Hasher
	state    // wallets and objects, in typed tables

	// gen counts successful commits. recent remembers the idempotency keys
	// (and fingerprints) of the last recentGens commits, so a key committed
	// after a caller's own lookup is still caught without reading.
	gen        atomic.Uint64
	recent     map[string]string // key → fingerprint
	recentRing [recentGens][]string
	// filter, when the store can list its keys, answers "never seen" for
	// most new keys without a database lookup.
	filter *keyFilter
	build  filterBuild
}

// command is what every command type of this package implements on top of
// walletd.Command: the Writer validates and applies it inside a batch,
// against the state as the batch has changed it.
type command interface {
	walletd.Command
	apply(b *batch, r *request) error
}

type request struct {
	ctx context.Context
	cmd command
	key string // Idempotency-Key, "" if none
	fp  string // fingerprint, set when key != ""
	gen uint64 // w.gen before the caller's own key lookup
	// looked says the caller found no committed entry for key at gen.
	looked bool
	reply  chan reply
}

type reply struct {
	res *walletd.Result
	err error
}

// NewWriter restores state from cfg.Store and returns a Writer ready to Open.
// It fails if the stored chain head does not verify with the keyring, if a
// wallet's currency is not configured, or if a stored object cannot be
// read back.
func NewWriter(ctx context.Context, cfg WriterConfig) (*Writer, error) {
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 1000
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 4 * cfg.MaxBatch
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NewID == nil {
		cfg.NewID = walletd.NewID
	}
	if cfg.Currencies == nil {
		cfg.Currencies = walletd.DefaultCurrencies()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.LimitLocation == nil {
		cfg.LimitLocation = time.UTC
	}
	if cfg.DefaultCurrency == "" {
		cfg.DefaultCurrency = "USD"
	}
	if cfg.IdempotencyFilterStartupRows <= 0 {
		cfg.IdempotencyFilterStartupRows = defaultFilterStartupRows
	}
	if cfg.IdempotencyFilterMaxBytes <= 0 {
		cfg.IdempotencyFilterMaxBytes = defaultFilterMaxBytes
	}
	keyID, key, err := cfg.Keyring.ActiveKey()
	if err != nil {
		return nil, err
	}
	w := &Writer{
		cfg:     cfg,
		logger:  cfg.Logger.With("component", "writer"),
		reqs:    make(chan *request, cfg.QueueSize),
		closing: make(chan struct{}),
		stopped: make(chan struct{}),
		pipe:    make(chan *durable),
		synced:  make(chan struct{}),
		recent:  make(map[string]string),
		keyID:   keyID,
		hasher:  NewHasher(key),
	}
	w.initState()
	w.cache.init(cfg.WalletCache)
	step := w.startupSteps()
	st, err := cfg.Store.LoadState(ctx)
	if err != nil {
		return nil, fmt.Errorf("writer: load state: %w", err)
	}
	step("load state", "objects", len(st.Objects))
	w.ledgerID = st.LedgerID
	w.lastCP = st.LastCheckpoint
	if h := st.Head; h != nil {
		k := cfg.Keyring.Key(h.KeyID)
		if k == nil {
			return nil, fmt.Errorf("writer: head entry %d uses key %q, which the keyring lacks", h.Seq, h.KeyID)
		}
		if got := ComputeHash(k, h); got != h.Hash {
			return nil, fmt.Errorf("writer: head entry %d fails its hash; run walletd verify", h.Seq)
		}
		w.headSeq, w.headHash = h.Seq, h.Hash
	}
	from := uint64(0)
	if w.lastCP != nil {
		from = w.lastCP.Seq
		n, err := w.checkChainSince(ctx, w.lastCP)
		if err != nil {
			return nil, fmt.Errorf("writer: %w; run walletd verify", err)
		}
		step("check the chain from the last checkpoint", "checkpoint_seq", from, "head_seq", w.headSeq, "entries", n)
	}
	// Wallet rows are not in the chain: the rows changed after the last
	// checkpoint are checked now, every other one when it is loaded.
	n, err := cfg.Store.CheckWalletStateSince(ctx, from)
	if err != nil {
		return nil, fmt.Errorf("writer: %w; run walletd verify", err)
	}
	step("check wallet rows changed after the last checkpoint", "since_seq", from, "wallets", n)
	curs, err := cfg.Store.WalletCurrencies(ctx)
	if err != nil {
		return nil, fmt.Errorf("writer: %w", err)
	}
	for _, c := range curs {
		// Amounts of a wallet are written at its currency's scale: a
		// currency missing from the configuration would write them wrong.
		if _, err := cfg.Currencies.Scale(c); err != nil {
			return nil, fmt.Errorf("writer: wallets are held in %s: %w; configure the currency with --currencies", c, err)
		}
	}
	step("check wallet currencies", "currencies", len(curs))
	if cfg.Sync != nil {
		// A process that stopped between a commit and its Sync left the
		// commit in the page cache: make what the database holds durable
		// before anything is answered or published from it.
		if err := cfg.Sync(); err != nil {
			return nil, fmt.Errorf("writer: sync: %w", err)
		}
		step("sync")
	}
	w.mark.set(w.headSeq)
	if cfg.Lookup != nil {
		window, rows, err := w.initKeyFilter(ctx)
		if err != nil {
			return nil, fmt.Errorf("writer: list idempotency keys: %w", err)
		}
		step("build the idempotency key filter", "window", cfg.IdempotencyWindow, "window_entries", window,
			"rows_read", rows, "in_background", w.build.pending, "filter_bytes", w.filter.size())
	}
	for _, o := range st.Objects {
		if err := w.restoreObject(o); err != nil {
			return nil, fmt.Errorf("writer: %w", err)
		}
	}
	step("restore objects", "objects", len(st.Objects))
	return w, nil
}

// startupSteps returns a function that logs one step of NewWriter with
// how long it took since the step before.
func (w *Writer) startupSteps() func(step string, args ...any) {
	last := time.Now()
	return func(step string, args ...any) {
		now := time.Now()
		w.logger.Info("start-up: "+step, append(args, "duration", now.Sub(last).Round(time.Microsecond))...)
		last = now
	}
}

// Open starts the writer goroutine.
func (w *Writer) Open() {
	w.opened.Do(func() {
		go w.syncLoop()
		go w.run()
		w.startKeyFilterBuild()
	})
}

// Close stops accepting commands, commits what is queued, and waits for the
// writer goroutine to end. Closing a writer that was never opened just
// marks it closed.
func (w *Writer) Close() error {
	w.once.Do(func() { close(w.closing) })
	started := true
	w.opened.Do(func() { close(w.stopped); started = false })
	<-w.stopped
	w.stopKeyFilterBuild(started)
	return nil
}

// Head returns the seq and hash of the last committed entry. It is safe to
// call only from tests after the writer is closed, or before Open.
func (w *Writer) Head() (uint64, walletd.Hash) { return w.headSeq, w.headHash }

// LedgerID returns the id of the ledger this writer appends to.
func (w *Writer) LedgerID() string { return w.ledgerID }

// Submit applies cmd and waits for its commit.
//
// key is the caller's Idempotency-Key or "". With a key seen before, Submit
// returns the original entries (Result.Replayed) or EIdempotencyConflict if
// the command differs. Returns EInvalid, EInvalidAmount, EInvalidCurrency,
// ECurrencyMismatch, EInsufficientFunds, EWalletFrozen, EWalletExists,
// ESpendingLimit, EKYCRequired, ECodeExpired, ECodeExhausted, ECodeUsed,
// EConflict, ENotFound, or EUnavailable once closed.
//
// ctx bounds only the wait for a place in the queue. Once queued, Submit
// waits for the commit whatever ctx says, so that its answer is always the
// truth: a caller is never told "cancelled" about a command that committed.
func (w *Writer) Submit(ctx context.Context, key string, c walletd.Command) (*walletd.Result, error) {
	cmd, ok := c.(command)
	if !ok {
		return nil, walletd.Errorf(walletd.EInvalid, "%T is not a command of the ledger.", c)
	}
	if err := CheckIdempotencyKey(key); err != nil {
		return nil, err
	}
	r := &request{ctx: ctx, cmd: cmd, key: key, reply: make(chan reply, 1)}
	if key != "" {
		r.fp = Fingerprint(cmd)
		if res, err := w.lookup(ctx, r); res != nil || err != nil {
			return res, err
		}
	}
	select {
	case <-w.closing:
		return nil, ErrClosed
	default:
	}
	select {
	case w.reqs <- r:
	case <-w.closing:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case rep := <-r.reply:
		if rep.err == nil && rep.res.Replayed && rep.res.Object == nil {
			return w.replayed(ctx, cmd, rep.res.Entries)
		}
		return rep.res, rep.err
	case <-w.stopped:
		// The writer ended; our request may have been answered just before.
		select {
		case rep := <-r.reply:
			return rep.res, rep.err
		default:
			return nil, ErrClosed
		}
	}
}

func (w *Writer) run() {
	defer func() {
		close(w.pipe)
		<-w.synced
		close(w.stopped)
	}()
	var tick <-chan time.Time
	if w.cfg.CheckpointInterval > 0 && w.cfg.CheckpointKey != nil {
		t := time.NewTicker(w.cfg.CheckpointInterval)
		defer t.Stop()
		tick = t.C
	}
	reqs := make([]*request, 0, w.cfg.MaxBatch)
	for {
		select {
		case r := <-w.reqs:
			reqs = w.drain(append(reqs[:0], r))
			w.process(reqs)
			w.evictWallets(w.mark.get())
		case <-tick:
			if w.lastCP == nil || w.headSeq > w.lastCP.Seq {
				w.process(nil) // a checkpoint-only batch
				w.evictWallets(w.mark.get())
			}
		case <-w.closing:
			// Finish what is queued; Submit refuses new work from now on.
			for {
				reqs = w.drain(reqs[:0])
				if len(reqs) == 0 {
					return
				}
				w.process(reqs)
				w.evictWallets(w.mark.get())
			}
		}
	}
}

// drain appends queued requests to reqs without blocking, up to MaxBatch.
func (w *Writer) drain(reqs []*request) []*request {
	for len(reqs) < w.cfg.MaxBatch {
		select {
		case r := <-w.reqs:
			reqs = append(reqs, r)
		default:
			return reqs
		}
	}
	return reqs
}
