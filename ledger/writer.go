package ledger

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/walletd/walletd"

	"github.com/shopspring/decimal"
)

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
	OnCommit func(commands, entries int, d time.Duration, err error)
	// LimitLocation is the time zone whose calendar days and months the
	// daily and monthly spending limits count in (default UTC).
	LimitLocation *time.Location
	// DefaultCurrency is the currency of settings, rules and milestones
	// created without one (default USD).
	DefaultCurrency string
	Logger          *slog.Logger
}

var _ walletd.Submitter = (*Writer)(nil)

// Writer is the single writer of the ledger. It owns the in-memory state
// (balances, statuses, chain head) and applies every command in a batch
// that it commits in one transaction (group commit). Callers are answered
// only after the commit; a failed commit answers the whole batch with an
// error and leaves the state as it was before the batch.
type Writer struct {
	cfg    WriterConfig
	logger *slog.Logger

	reqs    chan *request
	closing chan struct{}
	stopped chan struct{}
	once    sync.Once
	opened  sync.Once

	// State below is owned by the run goroutine.
	ledgerID string
	wallets  map[string]*walletd.Wallet
	byUser   map[string]string // userKey(user, currency) → wallet id
	headSeq  uint64
	headHash walletd.Hash
	lastCP   *walletd.Checkpoint
	keyID    string
	hasher   *Hasher
	// objects holds every object of the state besides wallets, by kind and
	// id. Values are pointers that are never changed once committed: a
	// batch changes a copy.
	objects map[string]map[string]any

	// gen counts successful commits. recent remembers the idempotency keys
	// (and fingerprints) of the last recentGens commits, so a key committed
	// after a caller's own lookup is still caught without reading.
	gen        atomic.Uint64
	recent     map[string]string // key → fingerprint
	recentRing [recentGens][]string
	// filter, when the store can list its keys, answers "never seen" for
	// most new keys without a database lookup.
	filter *keyFilter
}

// recentGens is how many commits the writer remembers keys for.
const recentGens = 256

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
// It fails if the stored chain head does not verify with the keyring.
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
		wallets: make(map[string]*walletd.Wallet),
		byUser:  make(map[string]string),
		recent:  make(map[string]string),
		objects: make(map[string]map[string]any),
		keyID:   keyID,
		hasher:  NewHasher(key),
	}
	st, err := cfg.Store.LoadState(ctx)
	if err != nil {
		return nil, fmt.Errorf("writer: load state: %w", err)
	}
	if err := cfg.Store.CheckWalletState(ctx); err != nil {
		return nil, fmt.Errorf("writer: %w; run walletd verify", err)
	}
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
	for _, wal := range st.Wallets {
		if wal.LastSeq > w.headSeq {
			return nil, fmt.Errorf("writer: wallet %s was changed at seq %d, after the head %d", wal.ID, wal.LastSeq, w.headSeq)
		}
		w.wallets[wal.ID] = wal
		w.byUser[userKey(wal.UserID, wal.Currency)] = wal.ID
	}
	if cfg.Lookup != nil {
		var keys []string
		if err := cfg.Store.IdempotencyKeys(func(k string) { keys = append(keys, k) }); err != nil {
			return nil, fmt.Errorf("writer: list idempotency keys: %w", err)
		}
		w.filter = newKeyFilter(len(keys))
		for _, k := range keys {
			w.filter.add(k)
		}
	}
	for _, o := range st.Objects {
		v, err := walletd.DecodeObject(o.Kind, o.Data)
		if err != nil {
			return nil, fmt.Errorf("writer: object %s %s: %w", o.Kind, o.ID, err)
		}
		w.objectsOf(o.Kind)[o.ID] = v
	}
	return w, nil
}

// Open starts the writer goroutine.
func (w *Writer) Open() { w.opened.Do(func() { go w.run() }) }

// Close stops accepting commands, commits what is queued, and waits for the
// writer goroutine to end. Closing a writer that was never opened just
// marks it closed.
func (w *Writer) Close() error {
	w.once.Do(func() { close(w.closing) })
	w.opened.Do(func() { close(w.stopped) })
	<-w.stopped
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
// ENotFound, or EUnavailable once closed.
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
		if w.cfg.Lookup != nil {
			r.gen = w.gen.Load() // before the lookup: see applyRequest
			if w.filter == nil || w.filter.mayContain(key) {
				entries, err := w.cfg.Lookup(ctx, key)
				if err != nil {
					return nil, fmt.Errorf("writer: idempotency lookup: %w", err)
				}
				if len(entries) > 0 {
					if entries[0].RequestHash != r.fp {
						return nil, idempotencyConflict(key)
					}
					return w.replayed(ctx, cmd, entries)
				}
			}
			r.looked = true
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
	defer close(w.stopped)
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
		case <-tick:
			if w.lastCP == nil || w.headSeq > w.lastCP.Seq {
				w.process(nil) // a checkpoint-only batch
			}
		case <-w.closing:
			// Finish what is queued; Submit refuses new work from now on.
			for {
				reqs = w.drain(reqs[:0])
				if len(reqs) == 0 {
					return
				}
				w.process(reqs)
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

// batch is the state a group commit has changed so far, over the writer's
// committed state. Nothing reaches the writer's maps before the commit.
type batch struct {
	w        *Writer
	now      time.Time
	wallets  map[string]*walletd.Wallet // copies of the wallets this batch changed
	order    []string                   // wallet ids in first-change order
	objects  map[objKey]any             // objects this batch created or changed
	objOrder []objKey                   // their keys in first-change order
	objSeq   map[objKey]uint64          // the seq of the entry that last changed each
	undo     []func()                   // how to take back the current command's changes
	day      string                     // the batch's day and month in the limits' zone, once asked
	month    string
	byUser   map[string]string
	seq      uint64
	head     walletd.Hash
	entries  []*walletd.Entry
	keys     map[string]*request // idempotency keys claimed in this batch
	results  map[*request]*outcome
	current  any  // the object the current command reports in its Result
	repeat   bool // the current command found its work already done (an order completed before)
	replayOf map[*request]*request
}

func (w *Writer) process(reqs []*request) {
	b := &batch{
		w:       w,
		now:     w.cfg.Now().UTC().Truncate(time.Microsecond),
		wallets: make(map[string]*walletd.Wallet),
		objects: make(map[objKey]any),
		objSeq:  make(map[objKey]uint64),
		byUser:  make(map[string]string),
		seq:     w.headSeq,
		head:    w.headHash,
		results: make(map[*request]*outcome, len(reqs)),
	}
	errs := make(map[*request]error)
	for _, r := range reqs {
		if err := r.ctx.Err(); err != nil {
			errs[r] = err
			continue
		}
		if err := b.applyRequest(r); err != nil {
			errs[r] = err
		}
	}

	var cp *walletd.Checkpoint
	if w.cfg.CheckpointKey != nil && b.seq > 0 {
		last := uint64(0)
		if w.lastCP != nil {
			last = w.lastCP.Seq
		}
		due := w.cfg.CheckpointEvery > 0 && b.seq-last >= w.cfg.CheckpointEvery
		if reqs == nil && b.seq > last { // timer
			due = true
		}
		if due {
			cp = &walletd.Checkpoint{LedgerID: w.ledgerID, Seq: b.seq, HeadHash: b.head, CreatedAt: b.now}
			cp.Sign(w.cfg.CheckpointKey)
		}
	}

	if len(b.entries) > 0 || cp != nil {
		dbb := &walletd.LedgerBatch{Entries: b.entries, Checkpoint: cp}
		for _, id := range b.order {
			dbb.Wallets = append(dbb.Wallets, b.wallets[id])
		}
		for _, k := range b.objOrder {
			data, err := json.Marshal(b.objects[k])
			if err != nil {
				panic(fmt.Sprintf("writer: encode %s %s: %v", k.kind, k.id, err))
			}
			dbb.Objects = append(dbb.Objects, &walletd.StoredObject{Kind: k.kind, ID: k.id, Data: data, Seq: b.objSeq[k]})
		}
		start := time.Now()
		err := w.cfg.Store.Commit(context.WithoutCancel(context.Background()), dbb)
		if w.cfg.OnCommit != nil {
			w.cfg.OnCommit(len(reqs), len(b.entries), time.Since(start), err)
		}
		if err != nil {
			w.logger.Error("commit failed", "error", err, "commands", len(reqs))
			for _, r := range reqs {
				if errs[r] == nil {
					errs[r] = fmt.Errorf("writer: commit: %w", err)
				}
			}
			b.answer(reqs, errs)
			return
		}
		// Committed: the batch's state becomes the writer's.
		for id, wal := range b.wallets {
			w.wallets[id] = wal
		}
		for k, id := range b.byUser {
			w.byUser[k] = id
		}
		for k, v := range b.objects {
			w.objectsOf(k.kind)[k.id] = v
		}
		w.headSeq, w.headHash = b.seq, b.head
		if cp != nil {
			w.lastCP = cp
		}
		w.remember(b.keys)
	}
	b.answer(reqs, errs)
}

func (b *batch) answer(reqs []*request, errs map[*request]error) {
	for _, r := range reqs {
		if err := errs[r]; err != nil {
			r.reply <- reply{err: err}
			continue
		}
		if orig, ok := b.replayOf[r]; ok {
			if err := errs[orig]; err != nil {
				r.reply <- reply{err: err}
				continue
			} else if err := b.results[orig].err; err != nil {
				r.reply <- reply{err: err}
				continue
			}
			o := b.results[orig]
			r.reply <- reply{res: &walletd.Result{Entries: o.Entries, Replayed: true, Object: o.Object}}
			continue
		}
		res := b.results[r]
		if res.err != nil {
			r.reply <- reply{err: res.err}
			continue
		}
		r.reply <- reply{res: &res.Result}
	}
}

func (b *batch) applyRequest(r *request) error {
	if r.key != "" {
		if prev, ok := b.keys[r.key]; ok {
			if prev.fp != r.fp {
				return idempotencyConflict(r.key)
			}
			if b.replayOf == nil {
				b.replayOf = make(map[*request]*request)
			}
			b.replayOf[r] = prev
			return nil
		}
		// The caller looked at gen r.gen and found nothing: only a commit
		// since then can hold the key, and the writer remembers those,
		// unless the request waited through more than recentGens commits.
		fp, seen := b.w.recent[r.key]
		if seen && fp != r.fp {
			return idempotencyConflict(r.key)
		}
		var entries []*walletd.Entry
		stale := r.looked && b.w.gen.Load()-r.gen >= recentGens && (b.w.filter == nil || b.w.filter.mayContain(r.key))
		if seen || !r.looked || stale {
			var err error
			if entries, err = b.w.cfg.Store.EntriesByIdempotencyKey(r.ctx, r.key); err != nil {
				return fmt.Errorf("writer: idempotency lookup: %w", err)
			}
		}
		if len(entries) > 0 {
			if entries[0].RequestHash != r.fp {
				return idempotencyConflict(r.key)
			}
			if err := refusalOf(entries); err != nil {
				return err
			}
			b.results[r] = &outcome{Result: walletd.Result{Entries: entries, Replayed: true}}
			return nil
		}
	}
	mark := len(b.entries)
	snap := b.snapshot()
	b.undo = b.undo[:0]
	b.current, b.repeat = nil, false
	err := r.cmd.apply(b, r)
	var ref *refusal
	if err != nil && !errors.As(err, &ref) {
		for i := len(b.undo) - 1; i >= 0; i-- {
			b.undo[i]()
		}
		b.undo = b.undo[:0]
		b.restore(snap, mark)
		return err
	}
	b.undo = b.undo[:0]
	if r.key != "" {
		if b.keys == nil {
			b.keys = make(map[string]*request)
		}
		b.keys[r.key] = r
	}
	out := &outcome{Result: walletd.Result{Entries: b.entries[mark:len(b.entries):len(b.entries)], Object: b.current, Replayed: b.repeat}}
	if ref != nil {
		out.err = ref.err
	}
	b.results[r] = out
	return nil
}

// outcome is what a command in a batch came to: its result, or the
// refusal it recorded in the ledger.
type outcome struct {
	walletd.Result
	err error
}

// remember records the keys of a committed batch and forgets those of the
// commit recentGens ago, then counts the commit. Only the run goroutine
// calls it.
func (w *Writer) remember(keys map[string]*request) {
	g := w.gen.Load() + 1
	slot := &w.recentRing[g%recentGens]
	for _, k := range *slot {
		delete(w.recent, k)
	}
	*slot = (*slot)[:0]
	for k, r := range keys {
		w.recent[k] = r.fp
		*slot = append(*slot, k)
		if w.filter != nil {
			w.filter.add(k) // before the commit is counted: see keyFilter
		}
	}
	w.gen.Store(g)
}

func idempotencyConflict(key string) error {
	return walletd.Errorf(walletd.EIdempotencyConflict, "Idempotency-Key %q was already used with a different request.", key)
}

// batchSnap lets a command that fails undo what it appended. Commands check
// every rule before they change a wallet, so only entries, seq and head can
// have moved when one fails.
type batchSnap struct {
	seq  uint64
	head walletd.Hash
}

func (b *batch) snapshot() batchSnap { return batchSnap{seq: b.seq, head: b.head} }

func (b *batch) restore(s batchSnap, mark int) {
	b.seq, b.head = s.seq, s.head
	b.entries = b.entries[:mark]
}

// wallet returns the batch's copy of wallet id for reading, or nil.
func (b *batch) wallet(id string) *walletd.Wallet {
	if w, ok := b.wallets[id]; ok {
		return w
	}
	return b.w.wallets[id]
}

// mutable returns the batch's own copy of wallet id, copying it on first
// use, and records how to take back what the current command does to it.
func (b *batch) mutable(id string) *walletd.Wallet {
	if w, ok := b.wallets[id]; ok {
		prev := *w
		b.undo = append(b.undo, func() { *w = prev })
		return w
	}
	orig := b.w.wallets[id]
	cp := *orig
	b.wallets[id] = &cp
	b.order = append(b.order, id)
	b.undo = append(b.undo, func() {
		delete(b.wallets, id)
		b.order = b.order[:len(b.order)-1]
	})
	return &cp
}

// append chains e after the batch head and adds it to the batch.
func (b *batch) append(r *request, e *walletd.Entry) {
	b.seq++
	e.Seq = b.seq
	e.ID = b.w.cfg.NewID("txn")
	e.EventID = b.w.cfg.NewID("wph")
	e.CreatedAt = b.now
	e.KeyID = b.w.keyID
	e.IdempotencyKey = r.key
	e.RequestHash = r.fp
	e.PrevHash = b.head
	e.Hash = b.w.hasher.Sum(e)
	b.head = e.Hash
	b.entries = append(b.entries, e)
}

func (b *batch) scale(currency string) int32 {
	s, _ := b.w.cfg.Currencies.Scale(currency)
	return s
}

// entryFor returns an entry for wallet w with its state after the change.
func (b *batch) entryFor(w *walletd.Wallet, kind, typ string, amount decimal.Decimal) *walletd.Entry {
	s := b.scale(w.Currency)
	return &walletd.Entry{
		Kind:         kind,
		Type:         typ,
		WalletID:     w.ID,
		UserID:       w.UserID,
		Currency:     w.Currency,
		Amount:       walletd.FormatAmount(amount, s),
		BalanceAfter: walletd.FormatAmount(w.Balance, s),
		HeldAfter:    walletd.FormatAmount(w.Held, s),
	}
}

func (c *CreateWallet) apply(b *batch, r *request) error {
	if err := walletd.CheckText("user_id", c.UserID, walletd.MaxUserIDLen, true); err != nil {
		return err
	} else if err := checkEmail(c.Email); err != nil {
		return err
	}
	if _, err := b.w.cfg.Currencies.Scale(c.Currency); err != nil {
		return err
	}
	uk := userKey(c.UserID, c.Currency)
	if id, ok := b.byUser[uk]; ok || b.w.byUser[uk] != "" {
		if !ok {
			id = b.w.byUser[uk]
		}
		return walletd.Errorf(walletd.EWalletExists, "User %q already has a %s wallet (%s).", c.UserID, c.Currency, id)
	}
	w := &walletd.Wallet{
		ID:        b.w.cfg.NewID("wal"),
		UserID:    c.UserID,
		Email:     c.Email,
		Currency:  c.Currency,
		Status:    walletd.StatusActive,
		CreatedAt: b.now,
		UpdatedAt: b.now,
	}
	b.wallets[w.ID] = w
	b.order = append(b.order, w.ID)
	b.byUser[uk] = w.ID
	b.undo = append(b.undo, func() {
		delete(b.wallets, w.ID)
		b.order = b.order[:len(b.order)-1]
		delete(b.byUser, uk)
	})
	e := b.entryFor(w, walletd.KindOpen, "open", decimal.Zero)
	e.Email = c.Email
	b.append(r, e)
	w.LastSeq = e.Seq
	return nil
}

func (c *Post) apply(b *batch, r *request) error {
	cur := b.wallet(c.WalletID)
	if cur == nil {
		return walletd.Errorf(walletd.ENotFound, "Wallet %q not found.", c.WalletID)
	}
	amount, err := walletd.ParseAmount(c.Amount, b.scale(cur.Currency))
	if err != nil {
		return err
	}
	if err := checkType(c.Type); err != nil {
		return err
	} else if err := walletd.CheckText("reason", c.Reason, walletd.MaxReasonLen, false); err != nil {
		return err
	} else if err := walletd.CheckText("order_id", c.OrderID, walletd.MaxOrderIDLen, false); err != nil {
		return err
	}
	meta, err := CanonicalMetadata(c.Metadata)
	if err != nil {
		return err
	}
	switch c.Kind {
	case walletd.KindCredit:
		if cur.Balance.Add(amount).GreaterThanOrEqual(maxBalance) {
			return walletd.Errorf(walletd.EInvalidAmount, "The credit would take the balance above the maximum.")
		}
	case walletd.KindDebit:
		if err := b.outgoing(r, cur, amount, "debit"); err != nil {
			return err
		}
	default:
		return walletd.Errorf(walletd.EInvalid, "kind must be credit or debit.")
	}
	w := b.mutable(c.WalletID)
	if c.Kind == walletd.KindCredit {
		w.Balance = w.Balance.Add(amount)
	} else {
		w.Balance = w.Balance.Sub(amount)
		b.countOutgoing(w, amount)
	}
	w.UpdatedAt = b.now
	e := b.entryFor(w, c.Kind, c.Type, amount)
	e.Reason, e.OrderID, e.Metadata = c.Reason, c.OrderID, meta
	b.append(r, e)
	w.LastSeq = e.Seq
	if c.Kind == walletd.KindDebit {
		b.afterDebit(r, w)
	}
	return nil
}

// checkDebit enforces the rules every outgoing amount obeys.
func checkDebit(w *walletd.Wallet, amount decimal.Decimal, scale int32) error {
	if w.Status == walletd.StatusFrozen {
		return walletd.Errorf(walletd.EWalletFrozen, "Wallet %s is frozen.", w.ID)
	}
	if w.Available().LessThan(amount) {
		return walletd.Errorf(walletd.EInsufficientFunds, "Wallet %s has %s %s available.", w.ID, w.Available().StringFixed(scale), w.Currency)
	}
	return nil
}

func (c *Transfer) apply(b *batch, r *request) error {
	from, to := b.wallet(c.FromWalletID), b.wallet(c.ToWalletID)
	if from == nil {
		return walletd.Errorf(walletd.ENotFound, "Wallet %q not found.", c.FromWalletID)
	} else if to == nil {
		return walletd.Errorf(walletd.ENotFound, "Wallet %q not found.", c.ToWalletID)
	} else if from.ID == to.ID {
		return walletd.Errorf(walletd.EInvalid, "A transfer needs two different wallets.")
	} else if from.Currency != to.Currency {
		return walletd.Errorf(walletd.ECurrencyMismatch, "Wallet %s holds %s and wallet %s holds %s.", from.ID, from.Currency, to.ID, to.Currency)
	}
	amount, err := walletd.ParseAmount(c.Amount, b.scale(from.Currency))
	if err != nil {
		return err
	}
	if err := walletd.CheckText("note", c.Note, walletd.MaxReasonLen, false); err != nil {
		return err
	}
	meta, err := CanonicalMetadata(c.Metadata)
	if err != nil {
		return err
	}
	if to.Balance.Add(amount).GreaterThanOrEqual(maxBalance) {
		return walletd.Errorf(walletd.EInvalidAmount, "The transfer would take the recipient's balance above the maximum.")
	}
	if err := b.outgoing(r, from, amount, "transfer"); err != nil {
		return err
	}
	transferID := b.w.cfg.NewID("tfr")

	fw := b.mutable(from.ID)
	fw.Balance = fw.Balance.Sub(amount)
	b.countOutgoing(fw, amount)
	fw.UpdatedAt = b.now
	out := b.entryFor(fw, walletd.KindDebit, walletd.TypeTransferOut, amount)
	out.Reason, out.TransferID, out.Counterparty, out.Metadata = c.Note, transferID, to.ID, meta
	b.append(r, out)
	fw.LastSeq = out.Seq

	tw := b.mutable(to.ID)
	tw.Balance = tw.Balance.Add(amount)
	tw.UpdatedAt = b.now
	in := b.entryFor(tw, walletd.KindCredit, walletd.TypeTransferIn, amount)
	in.Reason, in.TransferID, in.Counterparty, in.Metadata = c.Note, transferID, from.ID, meta
	b.append(r, in)
	tw.LastSeq = in.Seq
	b.afterDebit(r, fw)
	return nil
}

func (c *SetStatus) apply(b *batch, r *request) error {
	cur := b.wallet(c.WalletID)
	if cur == nil {
		return walletd.Errorf(walletd.ENotFound, "Wallet %q not found.", c.WalletID)
	}
	if err := walletd.CheckText("reason", c.Reason, walletd.MaxReasonLen, false); err != nil {
		return err
	}
	kind, status := walletd.KindUnfreeze, walletd.StatusActive
	if c.Frozen {
		kind, status = walletd.KindFreeze, walletd.StatusFrozen
	}
	if cur.Status == status {
		return walletd.Errorf(walletd.EConflict, "Wallet %s is already %s.", cur.ID, status)
	}
	w := b.mutable(c.WalletID)
	w.Status = status
	w.UpdatedAt = b.now
	e := b.entryFor(w, kind, kind, decimal.Zero)
	e.Reason = c.Reason
	b.append(r, e)
	w.LastSeq = e.Seq
	return nil
}

func userKey(userID, currency string) string { return userID + "\x00" + currency }
