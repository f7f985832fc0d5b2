package ledger

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/walletd/walletd"
)

// The old complete and refund routes, before orders had integer ids,
// recorded order completions (walletd.Order, object kind ObjOrder) keyed
// by the storefront's order id: CompleteOrder and RefundOrder with an
// OrderID. Their rows stay as they are: a repeat of such a completion is
// answered from its row, and RefundOrder refunds it. The routes now record
// orders (CreateOrder with source api and status completed:
// docs/orders.md, "The old routes"); the commands' old form is kept for
// the completions recorded before, and for ledgers and tools that still
// submit it.

// applyLegacy records a completion of the storefront order c.OrderID and
// applies the cashback, milestone and referral rules to it, exactly once
// per order id.
func (c *CompleteOrder) applyLegacy(b *batch, r *request) error {
	if err := walletd.CheckText("order_id", c.OrderID, walletd.MaxOrderIDLen, true); err != nil {
		return err
	} else if err := walletd.CheckText("user_id", c.UserID, walletd.MaxUserIDLen, true); err != nil {
		return err
	}
	s, err := b.w.cfg.Currencies.Scale(c.Currency)
	if err != nil {
		return err
	}
	total, err := walletd.ParseAmount(c.Total, s)
	if err != nil {
		return err
	}
	items, err := compactItems(c.Items)
	if err != nil {
		return err
	}
	fp := Fingerprint(&CompleteOrder{OrderID: c.OrderID, UserID: c.UserID, Total: walletd.FormatAmount(total, s), Currency: c.Currency, Items: items})
	if prev := b.orders.get(c.OrderID); prev != nil {
		if prev.Fingerprint != fp {
			return walletd.Errorf(walletd.EConflict, "Order %q was already completed with other terms (user %s, total %s %s).",
				c.OrderID, prev.UserID, prev.Total, prev.Currency)
		}
		b.report(walletd.ObjOrder, prev.ID, prev)
		b.repeat = true
		return nil
	}
	// An order id names one order: not a completion and an order both.
	if id, ok := b.findOrder(c.OrderID); ok && b.shopOrders.get(walletd.IntKey(id)) != nil {
		return walletd.Errorf(walletd.EConflict, "Order %s exists; complete it by POST /v1/orders/%d/complete.", walletd.QuoteInput(c.OrderID), id)
	}
	walletID := b.walletOf(c.UserID, c.Currency)
	if walletID == "" {
		return walletd.Errorf(walletd.ENotFound, "User %q has no %s wallet.", c.UserID, c.Currency)
	}
	o := &walletd.Order{ID: c.OrderID, UserID: c.UserID, WalletID: walletID, Total: walletd.NewMoney(total, s), Currency: c.Currency,
		Items: items, Status: walletd.StatusCompleted, CompletedAt: b.now, Fingerprint: fp, Awards: []walletd.Award{}}
	w := b.mutable(walletID)
	b.record(r, w, walletd.KindNote, walletd.TypeOrderCompleted, total, "", c.OrderID, sysMeta(walletd.FlowOrder))
	ro := &rewardOrder{ref: o.ID, userID: o.UserID, currency: o.Currency, total: o.Total, awards: &o.Awards}
	if err := b.completeRewards(r, ro, w, s); err != nil {
		return err
	}
	b.orders.put(o.ID, o, b.seq)
	b.report(walletd.ObjOrder, o.ID, o)
	return nil
}

// legacyFingerprint is the fingerprint the old route's completion of
// order id would carry for these terms, for comparing a CreateOrder with
// a completion recorded before.
func legacyFingerprint(id, userID string, total walletd.Money, currency string, items json.RawMessage) string {
	return Fingerprint(&CompleteOrder{OrderID: id, UserID: userID, Total: total.String(), Currency: currency, Items: items})
}

// compactItems returns an order's items as compact JSON, so that their
// layout is not part of the order's terms; null is no items.
func compactItems(items json.RawMessage) (json.RawMessage, error) {
	if len(items) == 0 || string(items) == "null" {
		return nil, nil
	} else if len(items) > walletd.MaxItemsBytes {
		return nil, walletd.Errorf(walletd.EInvalid, "items is larger than %d bytes.", walletd.MaxItemsBytes)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, items); err != nil {
		return nil, walletd.Errorf(walletd.EInvalid, "items is not valid JSON.")
	} else if err := walletd.CheckRawJSON("items", buf.Bytes()); err != nil {
		// json.Compact checks no UTF-8, surrogates or duplicate keys.
		return nil, err
	}
	return buf.Bytes(), nil
}

func (c *RefundOrder) apply(b *batch, r *request) error {
	if err := walletd.CheckText("reason", c.Reason, walletd.MaxReasonLen, false); err != nil {
		return err
	}
	id := c.ID
	switch {
	case id != 0 && c.OrderID != "":
		return walletd.Errorf(walletd.EInvalid, "Refund an order by its id or by its order_id, not both.")
	case id == 0 && b.orders.get(c.OrderID) != nil:
		return c.applyLegacy(b, r)
	case id == 0:
		found, ok := b.findOrder(c.OrderID)
		if !ok {
			return walletd.Errorf(walletd.ENotFound, "Order %q not found.", c.OrderID)
		}
		id = found
	}
	return b.refund(r, id, c.Reason)
}

// applyLegacy refunds a completion of the old route: it marks it refunded
// and reverses its cashback.
func (c *RefundOrder) applyLegacy(b *batch, r *request) error {
	prev := b.orders.get(c.OrderID)
	if prev.Status != walletd.StatusCompleted {
		return walletd.Errorf(walletd.EConflict, "Order %s is already %s.", c.OrderID, prev.Status)
	}
	o := *prev
	o.Awards = append([]walletd.Award(nil), prev.Awards...)
	cur, err := b.walletOr404(o.WalletID)
	if err != nil {
		return err
	}
	w := b.mutable(cur.ID)
	b.record(r, w, walletd.KindNote, walletd.TypeOrderRefunded, o.Total.Decimal(), c.Reason, o.ID, sysMeta(walletd.FlowOrder))
	b.reverseCashback(r, &rewardOrder{ref: o.ID, userID: o.UserID, currency: o.Currency, total: o.Total, awards: &o.Awards}, prev.Awards)
	o.Status, o.RefundedAt = walletd.StatusRefunded, b.now
	b.orders.put(o.ID, &o, b.seq)
	b.report(walletd.ObjOrder, o.ID, &o)
	return nil
}

// legacyIDTaken reports whether an old completion holds the id n, which
// the order sequence then skips.
func (b *batch) legacyIDTaken(n int64) bool { return b.orders.get(strconv.FormatInt(n, 10)) != nil }
