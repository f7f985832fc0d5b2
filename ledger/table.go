package ledger

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/walletd/walletd"
)

// journal records how to take back each change a batch made to the
// writer's state, oldest first. A failed command rolls it back to the mark
// taken before the command; a failed commit rolls it back to the start of
// the batch; a commit forgets it.
type journal struct {
	undo []func()
}

// record adds how to take back the change just made.
func (j *journal) record(undo func()) { j.undo = append(j.undo, undo) }

// mark returns the journal's position, for rollback.
func (j *journal) mark() int { return len(j.undo) }

// rollback takes back every change recorded since mark, newest first.
func (j *journal) rollback(mark int) {
	for i := len(j.undo) - 1; i >= mark; i-- {
		j.undo[i]()
		j.undo[i] = nil
	}
	j.undo = j.undo[:mark]
}

// forget drops the record of a committed batch.
func (j *journal) forget() {
	clear(j.undo)
	j.undo = j.undo[:0]
}

// table holds the rows of one kind of the writer's state, by id: the
// wallets, or the objects of one kind (top-ups, orders …).
//
// A committed row is never changed in place: put replaces it, so a
// pointer read from a table, and handed to a caller in a Result, stays as
// it was. Only edit hands out a row to change in place, and only the
// batch's own copy of it; wallets use it, whose pointers never leave the
// writer.
//
// Every change is recorded in the journal, so rolling the journal back
// takes it back, and in the table's list of the rows the batch under way
// changed, which the commit persists.
type table[T any] struct {
	kind    string
	rows    map[string]*T
	journal *journal
	changed map[string]uint64 // rows the batch changed → seq of the entry that last changed each
	order   []string          // the rows the batch changed, in first-change order
}

func newTable[T any](kind string, j *journal) table[T] {
	return table[T]{kind: kind, rows: make(map[string]*T), journal: j, changed: make(map[string]uint64)}
}

// get returns row id, or nil. The row must not be changed: put a changed
// copy.
func (t *table[T]) get(id string) *T { return t.rows[id] }

// put stores v, which its caller no longer changes, as row id, changed by
// the entry at seq.
func (t *table[T]) put(id string, v *T, seq uint64) {
	prev, had := t.rows[id]
	prevSeq, dirty := t.changed[id]
	t.rows[id] = v
	t.changed[id] = seq
	if !dirty {
		t.order = append(t.order, id)
	}
	t.journal.record(func() {
		if had {
			t.rows[id] = prev
		} else {
			delete(t.rows, id)
		}
		if dirty {
			t.changed[id] = prevSeq
		} else {
			delete(t.changed, id)
			t.order = t.order[:len(t.order)-1]
		}
	})
}

// edit returns the batch's own copy of row id, which must exist, for
// changing in place: the first edit in a batch copies the committed row,
// later ones return that copy. Either way the journal can take back what
// the caller then does to it.
func (t *table[T]) edit(id string) *T {
	cur := t.rows[id]
	if _, dirty := t.changed[id]; dirty {
		prev := *cur
		t.journal.record(func() { *cur = prev })
		return cur
	}
	cp := *cur
	t.put(id, &cp, 0)
	return &cp
}

// ids returns the id of every row, sorted: in creation order for ids made
// by NewID.
func (t *table[T]) ids() []string {
	ids := make([]string, 0, len(t.rows))
	for id := range t.rows {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// changes returns the rows the batch changed, in first-change order.
func (t *table[T]) changes() []*T {
	out := make([]*T, 0, len(t.order))
	for _, id := range t.order {
		out = append(out, t.rows[id])
	}
	return out
}

// settle forgets which rows the batch changed, once it is committed or
// rolled back.
func (t *table[T]) settle() {
	clear(t.changed)
	t.order = t.order[:0]
}

// objectTable is what restoring and persisting need of a table of
// objects, whatever its row type.
type objectTable interface {
	// load restores a row from its stored JSON, outside any batch.
	load(id string, data []byte) error
	// stored appends the rows the batch changed to out, as stored objects.
	stored(out []*walletd.StoredObject) ([]*walletd.StoredObject, error)
	settle()
}

func (t *table[T]) load(id string, data []byte) error {
	v := new(T)
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("object %s %s: %w", t.kind, id, err)
	}
	t.rows[id] = v
	return nil
}

func (t *table[T]) stored(out []*walletd.StoredObject) ([]*walletd.StoredObject, error) {
	for _, id := range t.order {
		data, err := json.Marshal(t.rows[id])
		if err != nil {
			return out, fmt.Errorf("encode %s %s: %w", t.kind, id, err)
		}
		out = append(out, &walletd.StoredObject{Kind: t.kind, ID: id, Data: data, Seq: t.changed[id]})
	}
	return out, nil
}
