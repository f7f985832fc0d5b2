package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/walletd/walletd"

	"github.com/shopspring/decimal"
)

// batch is one group commit under way. Its commands change the writer's
// state in place (state.go), with every change in the journal; the batch
// itself keeps the entries it appended and the chain head after them.
// Nothing reaches the store before the commit, and a failed commit rolls
// the journal back to the batch's start.
type batch struct {
	w *Writer
	*state
	now     time.Time
	day     string // the batch's day and month in the limits' zone, once asked
	month   string
	seq     uint64
	head    walletd.Hash
	entries []*walletd.Entry
	results map[*request]*outcome
	// keys are the idempotency keys claimed in this batch; replayOf maps
	// a request to the earlier one of the batch whose key it repeats.
	keys     map[string]*request
	replayOf map[*request]*request
	// What the command under way reports in its Result.
	current   report
	repeat    bool            // it found its work already done (an order completed before)
	unchanged *walletd.Wallet // it found the wallet already as asked: see unchangedWallet
	// loadErr is why a wallet the command needed could not be read: it
	// fails the command whatever the command made of the missing wallet.
	loadErr error
}

// report is the object a command reports in its Result.
type report struct {
	kind, id string
	object   any
}

// outcome is what a command in a batch came to: its result, or the
// refusal it recorded in the ledger.
type outcome struct {
	walletd.Result
	err error
}

func (w *Writer) process(reqs []*request) {
	b := &batch{
		w:       w,
		state:   &w.state,
		now:     w.cfg.Now().UTC().Truncate(time.Microsecond),
		seq:     w.headSeq,
		head:    w.headHash,
		results: make(map[*request]*outcome, len(reqs)),
	}
	errs := make(map[*request]error)
	var err error
	for _, r := range reqs {
		if err := r.ctx.Err(); err != nil {
			errs[r] = err
			continue
		}
		if err := b.applyRequest(r); err != nil {
			errs[r] = err
		}
	}

	// Every batch reaches its callers through deliver, in order: with a
	// pipelined commit, even an answer that wrote nothing may rest on the
	// state of an earlier batch that is not durable yet.
	if w.cfg.Sync != nil {
		reqs = append([]*request(nil), reqs...) // run reuses its slice
	}
	d := &durable{b: b, reqs: reqs, errs: errs}
	cp := b.checkpoint(reqs == nil)
	if len(b.entries) == 0 && cp == nil {
		w.abortBatch() // nothing to write, so nothing may have changed
		w.deliver(d)
		return
	}
	if w.failed.Load() {
		err = errSyncFailed
	} else {
		err = b.commit(len(reqs), cp)
	}
	if err != nil {
		w.logger.Error("commit failed", "error", err, "commands", len(reqs))
		w.abortBatch()
		for _, r := range reqs {
			if errs[r] == nil {
				errs[r] = fmt.Errorf("writer: commit: %w", err)
			}
		}
		w.deliver(d)
		return
	}
	// Committed: the batch's state becomes the writer's, its wallets
	// pinned in the cache until it is durable.
	w.pinWallets(b.seq)
	w.commitBatch()
	w.headSeq, w.headHash = b.seq, b.head
	if cp != nil {
		w.lastCP = cp
	}
	w.remember(b.keys)
	d.wrote, d.cp, d.head = true, cp, b.seq
	w.deliver(d)
}

// checkpoint returns the checkpoint the batch ends with, if one is due:
// CheckpointEvery entries since the last one, or, for a batch the timer
// started, any entry since.
func (b *batch) checkpoint(timer bool) *walletd.Checkpoint {
	w := b.w
	if w.cfg.CheckpointKey == nil || b.seq == 0 {
		return nil
	}
	last := uint64(0)
	if w.lastCP != nil {
		last = w.lastCP.Seq
	}
	due := w.cfg.CheckpointEvery > 0 && b.seq-last >= w.cfg.CheckpointEvery
	if timer && b.seq > last {
		due = true
	}
	if !due {
		return nil
	}
	cp := &walletd.Checkpoint{LedgerID: w.ledgerID, Seq: b.seq, HeadHash: b.head, CreatedAt: b.now}
	cp.Sign(w.cfg.CheckpointKey)
	return cp
}

// commit writes the batch's entries, the wallets and objects it changed
// and cp in one transaction, and reports the attempt to OnCommit.
func (b *batch) commit(commands int, cp *walletd.Checkpoint) error {
	wallets, objects, err := b.changes()
	if err != nil {
		return err
	}
	dbb := &walletd.LedgerBatch{Entries: b.entries, Wallets: wallets, Checkpoint: cp, Objects: objects}
	start := time.Now()
	err = b.w.cfg.Store.Commit(context.WithoutCancel(context.Background()), dbb)
	if b.w.cfg.OnCommit != nil {
		b.w.cfg.OnCommit(commands, len(b.entries), time.Since(start), err)
	}
	return err
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
			res := b.results[orig].Result
			res.Replayed = true
			r.reply <- reply{res: &res}
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

// applyRequest applies one request in the batch: its idempotency key
// first, then its command. A command that fails leaves no trace: the
// journal takes back its changes and the batch forgets its entries. A
// refusal recorded in the ledger (a *refusal) is kept.
func (b *batch) applyRequest(r *request) error {
	if r.key != "" {
		if done, err := b.claim(r); done || err != nil {
			return err
		}
	}
	mark, snap := b.journal.mark(), b.snapshot()
	b.current, b.repeat, b.unchanged, b.loadErr = report{}, false, nil, nil
	err := r.cmd.apply(b, r)
	if b.loadErr != nil {
		err, b.loadErr = b.loadErr, nil
	}
	var ref *refusal
	if err != nil && !errors.As(err, &ref) {
		b.journal.rollback(mark)
		b.restore(snap)
		return err
	}
	// A command that changed nothing binds its key to nothing, here as in
	// the store: a repeat is applied afresh.
	if r.key != "" && b.unchanged == nil {
		if b.keys == nil {
			b.keys = make(map[string]*request)
		}
		b.keys[r.key] = r
	}
	es := b.entries[snap.entries:len(b.entries):len(b.entries)]
	out := &outcome{Result: walletd.Result{
		Entries: es, Replayed: b.repeat, Wallets: b.balances(es),
		Object: b.current.object, ObjectKind: b.current.kind, ObjectID: b.current.id,
		Unchanged: b.unchanged,
	}}
	if ref != nil {
		out.err = ref.err
	}
	b.results[r] = out
	return nil
}

// report makes v, object id of kind, the object of the command's Result.
func (b *batch) report(kind, id string, v any) { b.current = report{kind: kind, id: id, object: v} }

// unchangedWallet ends a command that found wallet w already as it asked
// (a setting set to its current value): it appends nothing, and its
// Result carries a copy of w as Result.Unchanged, for the caller to answer
// with the current state.
func (b *batch) unchangedWallet(w *walletd.Wallet) {
	c := *w
	b.unchanged = &c
}

// balances returns the wallets the entries es changed, as they are now:
// the state the command left them in.
func (b *batch) balances(es []*walletd.Entry) []walletd.WalletBalance {
	var out []walletd.WalletBalance
	for _, e := range es {
		if e.WalletID == "" || indexOfWallet(out, e.WalletID) >= 0 {
			continue
		}
		w := b.wallets.get(e.WalletID)
		s := b.scale(w.Currency)
		out = append(out, walletd.WalletBalance{WalletID: w.ID, Currency: w.Currency,
			Balance: walletd.NewMoney(w.Balance, s), Held: walletd.NewMoney(w.Held, s), Seq: w.LastSeq})
	}
	return out
}

// batchSnap is where the batch's chain stood before a command, so that a
// command that fails can take back what it appended.
type batchSnap struct {
	seq     uint64
	head    walletd.Hash
	entries int
}

func (b *batch) snapshot() batchSnap {
	return batchSnap{seq: b.seq, head: b.head, entries: len(b.entries)}
}

func (b *batch) restore(s batchSnap) {
	b.seq, b.head = s.seq, s.head
	b.entries = b.entries[:s.entries]
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

// scale returns the scale of a wallet's currency. Wallet currencies are
// known: checked when the wallet is created and when the writer starts.
func (b *batch) scale(currency string) int32 {
	s, err := b.w.cfg.Currencies.Scale(currency)
	if err != nil {
		panic(fmt.Sprintf("writer: wallet currency %s: %v", currency, err))
	}
	return s
}

// currency fills in the default currency of settings, rules and
// milestones created without one, and returns its scale. Returns
// EInvalidCurrency.
func (b *batch) currency(c *string) (int32, error) {
	if *c == "" {
		*c = b.w.cfg.DefaultCurrency
	}
	return b.w.cfg.Currencies.Scale(*c)
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

// record appends an entry of w (the batch's own copy) that leaves it as it
// now is, and returns it.
func (b *batch) record(r *request, w *walletd.Wallet, kind, typ string, amount decimal.Decimal, reason, orderID, meta string) *walletd.Entry {
	w.UpdatedAt = b.now
	e := b.entryFor(w, kind, typ, amount)
	e.Reason, e.OrderID, e.Metadata = reason, orderID, meta
	b.append(r, e)
	w.LastSeq = e.Seq
	return e
}

// config appends a config entry: a rule, code, setting or referral was
// created or changed. settings are recorded as its metadata.
func (b *batch) config(r *request, typ, currency string, settings map[string]string) *walletd.Entry {
	m := make(map[string]string, len(settings)+1)
	for k, v := range settings {
		if v != "" {
			m[k] = v
		}
	}
	m[FlowKey] = walletd.FlowSettings
	meta, err := json.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("writer: encode config metadata: %v", err)) // a map of strings always encodes
	}
	e := &walletd.Entry{Kind: walletd.KindConfig, Type: typ, Currency: currency, Metadata: string(meta)}
	b.append(r, e)
	return e
}
