package ledger

import (
	"encoding/json"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/events"
)

// Notes on an order: what a payment flow learnt about an order without
// moving it (a financing request sent, a pre-approval, an approval held
// for review), kept in the order's meta_data under one key and in the
// chain as a step of type order_note, so that the order's history shows
// it. A note is allowed in every status: the flow's facts may arrive
// after the order ended.

// TypeOrderNote is the entry type of a note on an order: a note of its
// wallet, or a config entry when the order has none (as every order step
// that moves no money).
const TypeOrderNote = "order_note"

// NoteOrder sets one meta_data entry of an order (Key, to Value: any
// JSON), adding it or replacing the entry of that key, and records the
// change as a step of the order (order.updated) with Reason. Setting a
// key to the value it has appends nothing.
type NoteOrder struct {
	ID     int64           `json:"id"`
	Key    string          `json:"key"`
	Value  json.RawMessage `json:"value"`
	Reason string          `json:"reason,omitempty"`
}

// Op names the command in fingerprints and logs.
func (*NoteOrder) Op() string { return "note_order" }

func (c *NoteOrder) objectRef([]*walletd.Entry) (string, string) {
	return walletd.ObjShopOrder, walletd.IntKey(c.ID)
}

func (c *NoteOrder) apply(b *batch, r *request) error {
	if err := walletd.CheckText("key", c.Key, walletd.MaxOrderMetaKey, true); err != nil {
		return err
	} else if err := walletd.CheckText("reason", c.Reason, walletd.MaxReasonLen, false); err != nil {
		return err
	}
	v, err := compactValue("value", c.Value, walletd.MaxOrderMetaValue)
	if err != nil {
		return err
	}
	cur, err := b.order(c.ID)
	if err != nil {
		return err
	}
	o := cloneOrder(cur)
	found := false
	for i := range o.MetaData {
		if o.MetaData[i].Key != c.Key {
			continue
		}
		if string(o.MetaData[i].Value) == string(v) {
			b.report(walletd.ObjShopOrder, walletd.IntKey(o.ID), cur)
			return nil
		}
		o.MetaData[i].Value, found = v, true
	}
	if !found {
		if len(o.MetaData) >= walletd.MaxOrderMeta {
			return walletd.Errorf(walletd.EConflict, "Order %d already has %d meta_data entries.", o.ID, walletd.MaxOrderMeta)
		}
		var last int64
		for _, m := range o.MetaData {
			last = max(last, m.ID)
		}
		o.MetaData = append(o.MetaData, walletd.OrderMeta{ID: last + 1, Key: c.Key, Value: v})
	}
	o.UpdatedAt = b.now
	b.orderStep(r, o, TypeOrderNote, events.OrderUpdated, c.Reason)
	b.putOrder(o)
	return nil
}
