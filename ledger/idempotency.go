package ledger

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/walletd/walletd"
)

// Idempotency: a request with an Idempotency-Key is applied once. A repeat
// with the same key and the same command (the same fingerprint) is
// answered with the original entries (Result.Replayed); with another
// command, EIdempotencyConflict.
//
// A key is checked three ways, cheapest first. The caller's goroutine asks
// the key filter and, on a "maybe", the database (Writer.lookup); the
// writer then checks the keys of its own batch and of the last recentGens
// commits, which a caller's lookup may have missed (batch.claim); only a
// request that waited through more commits than that is looked up again
// in the writer.

// recentGens is how many commits the writer remembers keys for.
const recentGens = 256

// Fingerprint returns the hex SHA-256 of the command's canonical JSON,
// prefixed by its operation. Two requests with one Idempotency-Key are the
// same request exactly when their fingerprints are equal.
func Fingerprint(c walletd.Command) string {
	// Struct fields in order, map keys sorted. Only a command carrying
	// invalid raw JSON (CompleteOrder.Items) fails to encode; it is
	// fingerprinted by its op alone, and its own validation refuses it, so
	// no committed request ever has that fingerprint.
	b, _ := json.Marshal(c)
	h := sha256.New()
	h.Write([]byte(c.Op()))
	h.Write([]byte{0})
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// CheckIdempotencyKey validates an Idempotency-Key header value.
func CheckIdempotencyKey(k string) error {
	if len(k) > walletd.MaxIdempotencyLen {
		return walletd.Errorf(walletd.EInvalid, "Idempotency-Key is longer than %d bytes.", walletd.MaxIdempotencyLen)
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return walletd.Errorf(walletd.EInvalid, "Idempotency-Key must be printable ASCII without spaces.")
		}
	}
	return nil
}

func idempotencyConflict(key string) error {
	return walletd.Errorf(walletd.EIdempotencyConflict, "Idempotency-Key %s was already used with a different request.", walletd.QuoteInput(key))
}

// lookup checks r's key in the caller's goroutine, before r is queued: it
// returns the replayed result or the conflict when the ledger holds the
// key, and nil, nil when r must go to the writer.
func (w *Writer) lookup(ctx context.Context, r *request) (*walletd.Result, error) {
	if w.cfg.Lookup == nil {
		return nil, nil
	}
	r.gen = w.gen.Load() // before the lookup: see batch.claim
	if w.mayHoldKey(r.key) {
		entries, err := w.cfg.Lookup(ctx, r.key)
		if err != nil {
			return nil, fmt.Errorf("writer: idempotency lookup: %w", err)
		}
		entries = w.inWindow(entries)
		if len(entries) > 0 {
			if entries[0].RequestHash != r.fp {
				return nil, idempotencyConflict(r.key)
			}
			if err := w.waitDurable(ctx, entries); err != nil {
				return nil, err
			}
			return w.replayed(ctx, r.cmd, entries)
		}
	}
	r.looked = true
	return nil, nil
}

// claim checks r's key in the writer. It returns done when r needs no
// applying: its key repeats an earlier request of the batch (answered with
// that request's result) or a committed one (answered with its entries).
func (b *batch) claim(r *request) (done bool, err error) {
	if prev, ok := b.keys[r.key]; ok {
		if prev.fp != r.fp {
			return false, idempotencyConflict(r.key)
		}
		if b.replayOf == nil {
			b.replayOf = make(map[*request]*request)
		}
		b.replayOf[r] = prev
		return true, nil
	}
	// The caller looked at gen r.gen and found nothing: only a commit
	// since then can hold the key, and the writer remembers those,
	// unless the request waited through more than recentGens commits.
	fp, seen := b.w.recent[r.key]
	if seen && fp != r.fp {
		return false, idempotencyConflict(r.key)
	}
	stale := r.looked && b.w.gen.Load()-r.gen >= recentGens && b.w.mayHoldKey(r.key)
	if !seen && r.looked && !stale {
		return false, nil
	}
	entries, err := b.w.cfg.Store.EntriesByIdempotencyKey(r.ctx, r.key)
	if err != nil {
		return false, fmt.Errorf("writer: idempotency lookup: %w", err)
	}
	entries = b.w.inWindow(entries)
	if len(entries) == 0 {
		return false, nil
	}
	if entries[0].RequestHash != r.fp {
		return false, idempotencyConflict(r.key)
	}
	if err := refusalOf(entries); err != nil {
		return false, err
	}
	// Submit completes the result (object, wallets) outside the writer.
	b.results[r] = &outcome{Result: walletd.Result{Entries: entries, Replayed: true}}
	return true, nil
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

// refusal is an error a command answers with after it recorded the refusal
// in the ledger (wallet.spending_limit.blocked, wallet.kyc.required): the
// batch keeps the refusal's entry and the caller gets err.
type refusal struct{ err *walletd.Error }

func (r *refusal) Error() string { return r.err.Error() }

// Refusal entry types, and the error code each answers with.
var refusalCodes = map[string]string{
	walletd.TypeLimitBlocked: walletd.ESpendingLimit,
	walletd.TypeKYCRequired:  walletd.EKYCRequired,
}

// refusalOf returns the error a request's committed entries recorded, if
// they record a refusal.
func refusalOf(entries []*walletd.Entry) error {
	if len(entries) == 1 && entries[0].Kind == walletd.KindNote {
		if code, ok := refusalCodes[entries[0].Type]; ok {
			return walletd.Errorf(code, "%s", entries[0].Reason)
		}
	}
	return nil
}

// objectRefer is a command whose Result carries an object, and that can
// name it from the command's committed entries when a request is replayed.
type objectRefer interface {
	objectRef(entries []*walletd.Entry) (kind, id string)
}

// replayed builds the Result of a replayed request: its original entries
// and the wallets as they left them, the error it was refused with, and
// the current state of its object.
func (w *Writer) replayed(ctx context.Context, cmd command, entries []*walletd.Entry) (*walletd.Result, error) {
	if err := refusalOf(entries); err != nil {
		return nil, err
	}
	wallets, err := balancesOf(entries)
	if err != nil {
		return nil, err
	}
	res := &walletd.Result{Entries: entries, Replayed: true, Wallets: wallets}
	ref, ok := cmd.(objectRefer)
	if !ok {
		return res, nil
	}
	kind, id := ref.objectRef(entries)
	if id == "" {
		return res, nil
	}
	res.ObjectKind, res.ObjectID = kind, id
	data, err := w.cfg.Store.LoadObject(ctx, kind, id)
	if err != nil {
		var le *walletd.Error
		if errors.As(err, &le) && le.Code == walletd.ENotFound {
			return res, nil
		}
		return nil, fmt.Errorf("writer: load %s %s: %w", kind, id, err)
	}
	if res.Object, err = walletd.DecodeObject(kind, data); err != nil {
		return nil, fmt.Errorf("writer: decode %s %s: %w", kind, id, err)
	}
	return res, nil
}

// balancesOf returns the wallets committed entries changed, each as its
// last entry among them left it: Result.Wallets of a replay.
func balancesOf(entries []*walletd.Entry) ([]walletd.WalletBalance, error) {
	var out []walletd.WalletBalance
	for _, e := range entries {
		if e.WalletID == "" {
			continue
		}
		var bal, held walletd.Money
		if err := bal.UnmarshalText([]byte(e.BalanceAfter)); err != nil {
			return nil, fmt.Errorf("writer: entry %d balance_after: %w", e.Seq, err)
		} else if err := held.UnmarshalText([]byte(e.HeldAfter)); err != nil {
			return nil, fmt.Errorf("writer: entry %d held_after: %w", e.Seq, err)
		}
		wb := walletd.WalletBalance{WalletID: e.WalletID, Currency: e.Currency, Balance: bal, Held: held, Seq: e.Seq}
		if i := indexOfWallet(out, e.WalletID); i >= 0 {
			out[i] = wb
		} else {
			out = append(out, wb)
		}
	}
	return out, nil
}

func indexOfWallet(bs []walletd.WalletBalance, id string) int {
	for i := range bs {
		if bs[i].WalletID == id {
			return i
		}
	}
	return -1
}
