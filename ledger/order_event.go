package ledger

import (
	"encoding/json"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/events"
)

// orderEvents returns the events of an entry that records a step of an
// order (its metadata carries the order): the money events of the entry
// first (wallet.debited for a wallet payment, wallet.credited for its
// refund, wallet.order.completed or wallet.order.refunded for a note of
// the order's wallet), then order.created or order.updated, whose data is
// the order as the step left it (walletd.ShopOrder's JSON). mk makes the
// i-th event of the entry.
func orderEvents(e *walletd.Entry, owner Party, meta map[string]string, mk func(i int, key string, data any) events.Record) []events.Record {
	var out []events.Record
	switch e.Kind {
	case walletd.KindDebit:
		out = append(out, mk(0, events.WalletDebited, txnData(e, owner)))
	case walletd.KindCredit:
		out = append(out, mk(0, events.WalletCredited, txnData(e, owner)))
	case walletd.KindNote:
		key := ""
		switch e.Type {
		case walletd.TypeOrderCompleted:
			key = events.OrderCompleted
		case walletd.TypeOrderRefunded:
			key = events.OrderRefunded
		}
		if key != "" {
			fd := flowData(e, owner, meta)
			fd.OrderTotal = e.Amount
			out = append(out, mk(0, key, fd))
		}
	}
	key := events.OrderUpdated
	if meta[metaOrderEvent] == events.OrderCreated {
		key = events.OrderCreated
	}
	return append(out, mk(len(out), key, json.RawMessage(meta[metaOrder])))
}
