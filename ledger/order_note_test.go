package ledger_test

import (
	"encoding/json"
	"testing"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/walletdtest"
)

func TestNoteOrder(t *testing.T) {
	l := walletdtest.MustOpenLedger(t, nil)
	id := pendingOrder(t, l, "guest", "n-1")
	note := &ledger.NoteOrder{ID: id, Key: "wegetfinancing_request", Value: json.RawMessage(`{"request_token": "abc"}`), Reason: "sent"}
	res := mustSubmit(t, l, "", note)
	o := shopOrder(t, res)
	if len(res.Entries) != 1 || res.Entries[0].Type != ledger.TypeOrderNote || o.Status != walletd.OrderPending ||
		len(o.MetaData) != 2 || string(o.MetaData[1].Value) != `{"request_token":"abc"}` || o.MetaData[1].ID != 2 {
		t.Fatalf("entries %+v order %+v", res.Entries, o)
	}
	t.Run("SameValueAppendsNothing", func(t *testing.T) {
		res := mustSubmit(t, l, "", note)
		if len(res.Entries) != 0 {
			t.Fatalf("%d entries", len(res.Entries))
		}
	})
	t.Run("Replace", func(t *testing.T) {
		o := shopOrder(t, mustSubmit(t, l, "", &ledger.NoteOrder{ID: id, Key: "wegetfinancing_request", Value: json.RawMessage(`"x"`)}))
		if len(o.MetaData) != 2 || string(o.MetaData[1].Value) != `"x"` || o.MetaData[1].ID != 2 {
			t.Fatalf("meta %+v", o.MetaData)
		}
	})
	t.Run("Errors", func(t *testing.T) {
		for name, c := range map[string]struct {
			cmd  *ledger.NoteOrder
			code string
		}{
			"UnknownOrder": {&ledger.NoteOrder{ID: 999, Key: "k", Value: json.RawMessage(`1`)}, walletd.ENotFound},
			"NoKey":        {&ledger.NoteOrder{ID: id, Value: json.RawMessage(`1`)}, walletd.EInvalid},
			"NoValue":      {&ledger.NoteOrder{ID: id, Key: "k"}, walletd.EInvalid},
			"BadJSON":      {&ledger.NoteOrder{ID: id, Key: "k", Value: json.RawMessage(`{`)}, walletd.EInvalid},
		} {
			t.Run(name, func(t *testing.T) {
				_, err := submit(l, "", c.cmd)
				wantCode(t, err, c.code)
			})
		}
	})
}

func TestRefundOrderAmount(t *testing.T) {
	l := walletdtest.MustOpenLedger(t, nil)
	ann := l.MustWallet(t, "ann", "USD")
	l.MustCredit(t, ann, "100")
	paid := func(t *testing.T, external, ref string) int64 {
		id := pendingOrder(t, l, "ann", external)
		mustSubmit(t, l, "", &ledger.PayOrder{ID: id, Method: walletd.PayWeGetFinancing, Amount: "25.50", Currency: "USD", Reference: ref})
		return id
	}
	t.Run("PartsAddUp", func(t *testing.T) {
		id := paid(t, "r-1", "tok-1")
		o := shopOrder(t, mustSubmit(t, l, "", &ledger.RefundOrderAmount{ID: id, Amount: "10.00", Reason: "part"}))
		if o.Status != walletd.OrderProcessing || len(o.Refunds) != 1 || ledger.Refunded(o).String() != "10" {
			t.Fatalf("order %+v", o)
		}
		_, err := submit(l, "", &ledger.RefundOrderAmount{ID: id, Amount: "15.51"})
		wantCode(t, err, walletd.EInvalidAmount)
		o = shopOrder(t, mustSubmit(t, l, "", &ledger.RefundOrderAmount{ID: id, Amount: "15.50", Reference: "tok-1"}))
		if o.Status != walletd.OrderRefunded || o.Payments[0].Status != walletd.PaymentRefunded || ledger.Refunded(o).String() != "25.5" {
			t.Fatalf("order %+v", o)
		}
		_, err = submit(l, "", &ledger.RefundOrderAmount{ID: id, Amount: "0.01"})
		wantCode(t, err, walletd.EConflict)
	})
	t.Run("Errors", func(t *testing.T) {
		id := paid(t, "r-2", "tok-2")
		for _, bad := range []string{"1e400", "-0", "0.001", "NaN", "", "0"} {
			_, err := submit(l, "", &ledger.RefundOrderAmount{ID: id, Amount: bad})
			if walletd.ErrorCode(err) != walletd.EInvalidAmount && walletd.ErrorCode(err) != walletd.EInvalid {
				t.Fatalf("amount %q: %v", bad, err)
			}
		}
		_, err := submit(l, "", &ledger.RefundOrderAmount{ID: id, Amount: "1.00", Reference: "other"})
		wantCode(t, err, walletd.EInvalid)
		pending := pendingOrder(t, l, "ann", "r-3")
		_, err = submit(l, "", &ledger.RefundOrderAmount{ID: pending, Amount: "1.00"})
		wantCode(t, err, walletd.EConflict)
		byWallet := pendingOrder(t, l, "ann", "r-4")
		mustSubmit(t, l, "", &ledger.PayOrder{ID: byWallet, Method: walletd.PayWallet})
		_, err = submit(l, "", &ledger.RefundOrderAmount{ID: byWallet, Amount: "1.00"})
		wantCode(t, err, walletd.EInvalid)
		o := shopOrder(t, mustSubmit(t, l, "", newOrder("ann", "r-2")))
		if len(o.Refunds) != 0 {
			t.Fatalf("refunds %+v", o.Refunds)
		}
	})
}
