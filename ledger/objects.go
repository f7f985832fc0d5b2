package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/walletd/walletd"

	"github.com/shopspring/decimal"
)

type objKey struct{ kind, id string }

func (w *Writer) objectsOf(kind string) map[string]any {
	m := w.objects[kind]
	if m == nil {
		m = make(map[string]any)
		w.objects[kind] = m
	}
	return m
}

// obj returns the object of kind and id as the batch sees it, or nil.
// The value must not be changed: put a changed copy.
func (b *batch) obj(kind, id string) any {
	if v, ok := b.objects[objKey{kind, id}]; ok {
		return v
	}
	return b.w.objects[kind][id]
}

// put stores v (a pointer the caller no longer changes) as the object of
// kind and id, records the seq of the batch's last entry as the one that
// changed it, and records how to take it back.
func (b *batch) put(kind, id string, v any) {
	k := objKey{kind, id}
	prev, had := b.objects[k]
	prevSeq := b.objSeq[k]
	if !had {
		b.objOrder = append(b.objOrder, k)
	}
	b.objects[k] = v
	b.objSeq[k] = b.seq
	b.undo = append(b.undo, func() {
		if had {
			b.objects[k], b.objSeq[k] = prev, prevSeq
			return
		}
		delete(b.objects, k)
		delete(b.objSeq, k)
		b.objOrder = b.objOrder[:len(b.objOrder)-1]
	})
}

// ids returns the ids of every object of kind as the batch sees them, in
// order (ids made by NewID sort by creation time).
func (b *batch) ids(kind string) []string {
	ids := make([]string, 0, len(b.w.objects[kind]))
	for id := range b.w.objects[kind] {
		ids = append(ids, id)
	}
	for k := range b.objects {
		if k.kind == kind {
			if _, ok := b.w.objects[kind][k.id]; !ok {
				ids = append(ids, k.id)
			}
		}
	}
	sort.Strings(ids)
	return ids
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

// replayed builds the Result of a replayed request: its original entries,
// the error it was refused with, and the current state of its object.
func (w *Writer) replayed(ctx context.Context, cmd command, entries []*walletd.Entry) (*walletd.Result, error) {
	if err := refusalOf(entries); err != nil {
		return nil, err
	}
	res := &walletd.Result{Entries: entries, Replayed: true}
	ref, ok := cmd.(objectRefer)
	if !ok {
		return res, nil
	}
	kind, id := ref.objectRef(entries)
	if id == "" {
		return res, nil
	}
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

// metaOf returns the metadata of an entry as a map (nil if none or bad).
func metaOf(e *walletd.Entry) map[string]string {
	if e.Metadata == "" {
		return nil
	}
	var m map[string]string
	if json.Unmarshal([]byte(e.Metadata), &m) != nil {
		return nil
	}
	return m
}

// sysMeta returns the canonical metadata of an entry made by a flow: flow
// under FlowKey, then the given key/value pairs, empty values left out.
func sysMeta(flow string, kv ...string) string {
	m := make(map[string]string, 1+len(kv)/2)
	m[FlowKey] = flow
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			m[kv[i]] = kv[i+1]
		}
	}
	b, _ := json.Marshal(m) // keys sorted
	return string(b)
}

// dec parses a decimal the writer itself formatted; "" is zero.
func dec(s string) decimal.Decimal {
	if s == "" {
		return decimal.Zero
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Zero
	}
	return d
}
