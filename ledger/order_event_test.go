package ledger_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/events"
	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/walletdtest"
	"github.com/walletd/walletd/webhooks"
)

// TestOrderEvents checks the events of an order's steps: order.created,
// then order.updated on every transition, each with the order as the step
// left it, after the money events of the step's entry.
func TestOrderEvents(t *testing.T) {
	l := walletdtest.MustOpenLedger(t, nil)
	ann := l.MustWallet(t, "ann", "USD")
	l.MustCredit(t, ann, "100")
	p := mustProduct(t, l)
	c := newOrder("ann", "ev-1")
	c.Lines = []ledger.OrderLineInput{{VariationID: p.variations[0]}}
	id := shopOrder(t, mustSubmit(t, l, "", c)).ID
	mustSubmit(t, l, "", &ledger.PayOrder{ID: id, Method: walletd.PayWallet})
	mustSubmit(t, l, "", &ledger.CompleteOrder{ID: id})
	mustSubmit(t, l, "", &ledger.RefundOrder{ID: id, Reason: "changed my mind"})
	guest := pendingOrder(t, l, "guest", "ev-2")
	mustSubmit(t, l, "", &ledger.CancelOrder{ID: guest, Reason: "link expired"})

	var keys []string
	var orders []walletd.ShopOrder
	var woo []webhooks.OrderInput
	for _, e := range allEntries(t, l) {
		for _, r := range ledger.EntryEvents(e, ledger.Party{UserID: e.UserID, Email: "ann@example.com"}, ledger.Party{}, "https://shop.example") {
			if !strings.HasPrefix(r.Key(), "order.") && !strings.HasPrefix(r.Key(), "wallet.order.") && r.Key() != events.WalletDebited && r.Key() != events.WalletCredited {
				continue
			}
			keys = append(keys, r.Key())
			if strings.HasPrefix(r.Key(), "order.") {
				var o walletd.ShopOrder
				if err := json.Unmarshal(r.Envelope.Data, &o); err != nil {
					t.Fatalf("%s data: %v", r.Key(), err)
				}
				orders = append(orders, o)
				var in webhooks.OrderInput
				if err := json.Unmarshal(r.Envelope.Data, &in); err != nil {
					t.Fatalf("%s data is no webhooks.OrderInput: %v", r.Key(), err)
				}
				woo = append(woo, in)
			}
		}
	}
	want := "wallet.credited order.created wallet.debited order.updated wallet.order.completed order.updated wallet.credited order.updated order.created order.updated"
	if got := strings.Join(keys, " "); got != want {
		t.Fatalf("events\n%s\nwant\n%s", got, want)
	}
	var statuses []string
	for _, o := range orders {
		statuses = append(statuses, o.Status)
	}
	if got := strings.Join(statuses, " "); got != "pending processing completed refunded pending cancelled" {
		t.Fatalf("statuses %s", got)
	}
	if o := orders[1]; o.ID != id || o.Payments[0].Method != walletd.PayWallet || o.Lines[0].VariationID != p.variations[0] || o.Total.String() != "49.00" {
		t.Fatalf("order.updated of the payment: %+v", o)
	}
	// The woocommerce format reads the same data.
	in := woo[1]
	if in.ID != id || in.Status != "processing" || in.Billing.Email != "ann@example.com" || in.CustomerID != "ann" || in.Total != "49.00" ||
		in.PaymentMethod != walletd.PayWallet || len(in.Lines) != 1 || in.Lines[0].VariationID != p.variations[0] || in.Lines[0].ProductID != p.id ||
		len(in.MetaData) != 1 || in.MetaData[0].Key != "account_id" || string(in.MetaData[0].Value) != `"MT5-1"` || in.PaidAt.IsZero() {
		t.Fatalf("OrderInput %+v", in)
	}
	body, err := webhooks.WooCommerceOrder(&woo[3])
	if err != nil || !strings.Contains(string(body), `"status":"refunded"`) || !strings.Contains(string(body), `"variation_id":`) {
		t.Fatalf("WooCommerce body %s (%v)", body, err)
	}
}
