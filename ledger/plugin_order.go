package ledger

import (
	"encoding/json"
	"strconv"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/events"
)

// Plugin orders (docs/plugin-api.md): a storefront plugin hands over an
// order its shop was paid for. The writer records it as an order created
// completed (its rewards paid once), opening the customer's wallet first
// when the plugin asks (create_user), and appends a note that publishes
// plugin.order.processed: the event the services behind the plugin API
// (trading accounts, emails) subscribe to. All in one commit.
//
// The same storefront order again (same source and external id) creates
// nothing and reports the order recorded before (Result.Replayed),
// whatever its terms: the plugin's "Order already processed".

// Key of the plugin note's metadata: the event's data as JSON.
const metaPluginEvent = "plugin_event"

// ProcessPluginOrder records a plugin order. Order must name its
// storefront order (Source, ExternalID) and its customer (CustomerID);
// its Status is set to completed.
type ProcessPluginOrder struct {
	Order CreateOrder `json:"order"`
	// CreateUser opens the customer's wallet in the order's currency, with
	// Email, when the customer has none.
	CreateUser bool   `json:"create_user"`
	Email      string `json:"email"`
	// Event is the data of plugin.order.processed; the writer fills in
	// the order id, status, total, wallet and the entry's fields.
	Event events.PluginOrderData `json:"event"`
}

// Op names the command in fingerprints and logs.
func (*ProcessPluginOrder) Op() string { return "process_plugin_order" }

func (c *ProcessPluginOrder) objectRef(es []*walletd.Entry) (string, string) { return orderRef(es, "") }

func (c *ProcessPluginOrder) apply(b *batch, r *request) error {
	o := c.Order
	if err := checkSource(o.Source); err != nil {
		return err
	} else if o.ExternalID == "" || o.CustomerID == "" {
		return walletd.Errorf(walletd.EInvalid, "A plugin order needs its storefront reference and its customer.")
	}
	if ref := b.orderRefs.get(walletd.OrderRefKey(o.Source, o.ExternalID)); ref != nil {
		prev, err := b.order(ref.OrderID)
		if err != nil {
			return err
		}
		b.report(walletd.ObjShopOrder, walletd.IntKey(prev.ID), prev)
		b.repeat = true
		return nil
	}
	if b.walletOf(o.CustomerID, o.Currency) == "" {
		if !c.CreateUser {
			return walletd.Errorf(walletd.ENotFound, "The customer %s has no %s wallet: send processing_options.create_user true, or create the wallet first.",
				walletd.QuoteInput(o.CustomerID), walletd.QuoteInput(o.Currency))
		}
		cw := &CreateWallet{UserID: o.CustomerID, Email: c.Email, Currency: o.Currency}
		if err := cw.apply(b, r); err != nil {
			return err
		}
	}
	o.Status = walletd.OrderCompleted
	if err := o.apply(b, r); err != nil {
		return err
	}
	created, _ := b.current.object.(*walletd.ShopOrder)
	if created == nil {
		return walletd.Errorf(walletd.EInternal, "ledger: the plugin order was not reported")
	}
	w := b.orderWallet(created)
	if w == nil {
		return walletd.Errorf(walletd.EInternal, "ledger: the plugin order has no wallet")
	}
	ev := c.Event
	ev.OrderID, ev.Source, ev.ExternalID = created.ID, created.Source, created.ExternalID
	ev.Status, ev.Total, ev.Currency, ev.WalletID = created.Status, created.Total.String(), created.Currency, w.ID
	data, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	ref := strconv.FormatInt(created.ID, 10)
	b.record(r, w, walletd.KindNote, walletd.TypePluginOrderProcessed, created.Total.Decimal(), "", ref,
		sysMeta(walletd.FlowPlugin, metaOrderID, ref, metaPluginEvent, string(data)))
	b.report(walletd.ObjShopOrder, walletd.IntKey(created.ID), created)
	return nil
}

// pluginEvents returns the event of a plugin note: plugin.order.processed,
// its data the note's metadata with the entry's own fields.
func pluginEvents(e *walletd.Entry, meta map[string]string, mk func(i int, key string, data any) events.Record) []events.Record {
	if e.Type != walletd.TypePluginOrderProcessed {
		return nil
	}
	var d events.PluginOrderData
	if json.Unmarshal([]byte(meta[metaPluginEvent]), &d) != nil {
		return nil
	}
	d.TransactionID, d.LedgerHash, d.Seq = e.Seq, e.Hash.String(), e.Seq
	return []events.Record{mk(0, events.PluginOrderProcessed, d)}
}
