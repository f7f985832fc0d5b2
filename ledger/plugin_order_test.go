package ledger_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/events"
	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/walletdtest"
)

func pluginOrder(ext string, createUser bool) *ledger.ProcessPluginOrder {
	return &ledger.ProcessPluginOrder{
		Order: ledger.CreateOrder{Source: "plugin_shop", ExternalID: ext, Currency: "USD", CustomerID: "jane@example.com",
			Billing: walletd.OrderAddress{Email: "jane@example.com"}, Total: "99.00",
			Lines: []ledger.OrderLineInput{{Name: "Challenge", Quantity: 1, Price: "99.00"}}},
		CreateUser: createUser, Email: "jane@example.com",
		Event: events.PluginOrderData{PluginName: "Shop", SiteURL: "https://shop.example.com",
			ProcessingOptions: events.PluginProcessingOptions{SendEmail: true, CreateUser: createUser}},
	}
}

func TestProcessPluginOrder(t *testing.T) {
	t.Parallel()
	l := walletdtest.MustOpenLedger(t, nil)
	ctx := context.Background()

	t.Run("NoWallet", func(t *testing.T) {
		if _, err := l.Writer.Submit(ctx, "", pluginOrder("1@shop", false)); walletd.ErrorCode(err) != walletd.ENotFound {
			t.Fatalf("got %v", err)
		}
	})
	res, err := l.Writer.Submit(ctx, "", pluginOrder("1@shop", true))
	if err != nil {
		t.Fatal(err)
	}
	o := res.Object.(*walletd.ShopOrder)
	// open, order_completed (+ no rewards configured), the plugin note.
	if res.Replayed || o.Status != walletd.OrderCompleted || o.WalletID == "" || len(res.Entries) != 3 ||
		res.Entries[0].Kind != walletd.KindOpen || res.Entries[2].Type != walletd.TypePluginOrderProcessed {
		t.Fatalf("result %+v entries %d", o, len(res.Entries))
	}
	recs := ledger.EntryEvents(res.Entries[2], ledger.Party{}, ledger.Party{}, "https://wallet.example.com")
	if len(recs) != 1 || recs[0].Envelope.Event != events.PluginOrderProcessed || recs[0].Envelope.ID != res.Entries[2].EventID {
		t.Fatalf("events %+v", recs)
	}
	var d events.PluginOrderData
	if err := json.Unmarshal(recs[0].Envelope.Data, &d); err != nil || d.OrderID != o.ID || d.WalletID != o.WalletID ||
		d.Total != "99.00" || d.Status != "completed" || d.Seq != res.Entries[2].Seq || d.LedgerHash == "" || !d.ProcessingOptions.SendEmail {
		t.Fatalf("data %s", recs[0].Envelope.Data)
	}

	t.Run("Again", func(t *testing.T) {
		again := pluginOrder("1@shop", true)
		again.Order.Total, again.Order.Lines = "5.00", nil // other terms: still the same shop order
		r, err := l.Writer.Submit(ctx, "", again)
		if err != nil || !r.Replayed || len(r.Entries) != 0 || r.Object.(*walletd.ShopOrder).ID != o.ID {
			t.Fatalf("%+v %v", r, err)
		}
	})
	t.Run("ExistingWallet", func(t *testing.T) {
		r, err := l.Writer.Submit(ctx, "", pluginOrder("2@shop", false))
		if err != nil || len(r.Entries) != 2 || r.Object.(*walletd.ShopOrder).WalletID != o.WalletID {
			t.Fatalf("%+v %v", r, err)
		}
	})
	t.Run("BadTerms", func(t *testing.T) {
		bad := pluginOrder("3@shop", true)
		bad.Order.Total = "98.00" // does not add up
		if _, err := l.Writer.Submit(ctx, "", bad); walletd.ErrorCode(err) != walletd.EInvalidAmount {
			t.Fatalf("got %v", err)
		}
		bad = pluginOrder("", true)
		if _, err := l.Writer.Submit(ctx, "", bad); walletd.ErrorCode(err) != walletd.EInvalid {
			t.Fatalf("got %v", err)
		}
	})
	if rep := l.Verify(t); !rep.OK {
		t.Fatalf("verify %+v", rep)
	}
	// Restored from storage, the order ref still answers "already".
	l.Reopen(t)
	r, err := l.Writer.Submit(ctx, "", pluginOrder("1@shop", true))
	if err != nil || !r.Replayed {
		t.Fatalf("after a restart: %+v %v", r, err)
	}
}
