package ledger

import (
	"bytes"
	"encoding/json"

	"github.com/walletd/walletd"

	"github.com/shopspring/decimal"
)

// Orders: a storefront order walletd completes earns its rewards
// (reward.go) exactly once per order id; a refund reverses its cashback
// as far as the wallet's available funds go.

// CompleteOrder applies the cashback, milestone and referral rules to a
// completed order, exactly once per order id.
type CompleteOrder struct {
	OrderID  string          `json:"order_id"`
	UserID   string          `json:"user_id"`
	Total    string          `json:"total"`
	Currency string          `json:"currency"`
	Items    json.RawMessage `json:"items,omitempty"`
}

// RefundOrder marks a completed order refunded and reverses its cashback.
type RefundOrder struct {
	OrderID string `json:"order_id"`
	Reason  string `json:"reason"`
}

// Op names the command in fingerprints and logs.
func (*CompleteOrder) Op() string { return "complete_order" }

// Op names the command in fingerprints and logs.
func (*RefundOrder) Op() string { return "refund_order" }

func (c *CompleteOrder) objectRef([]*walletd.Entry) (string, string) {
	return walletd.ObjOrder, c.OrderID
}
func (c *RefundOrder) objectRef([]*walletd.Entry) (string, string) {
	return walletd.ObjOrder, c.OrderID
}

func (c *CompleteOrder) apply(b *batch, r *request) error {
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
	walletID := b.walletOf(c.UserID, c.Currency)
	if walletID == "" {
		return walletd.Errorf(walletd.ENotFound, "User %q has no %s wallet.", c.UserID, c.Currency)
	}
	o := &walletd.Order{ID: c.OrderID, UserID: c.UserID, WalletID: walletID, Total: walletd.NewMoney(total, s), Currency: c.Currency,
		Items: items, Status: walletd.StatusCompleted, CompletedAt: b.now, Fingerprint: fp, Awards: []walletd.Award{}}
	w := b.mutable(walletID)
	b.record(r, w, walletd.KindNote, walletd.TypeOrderCompleted, total, "", c.OrderID, sysMeta(walletd.FlowOrder))

	// The user's totals, with this order.
	statsKey := c.UserID + "/" + c.Currency
	stats := walletd.UserStats{UserID: c.UserID, Currency: c.Currency}
	if prev := b.userStats.get(statsKey); prev != nil {
		stats = *prev
	}
	stats.LifetimeSpend = walletd.NewMoney(stats.LifetimeSpend.Decimal().Add(total), s)
	stats.OrderCount++
	b.userStats.put(statsKey, &stats, b.seq)

	if err := b.awardCashback(r, o, w, total, s); err != nil {
		return err
	} else if err := b.awardMilestones(r, o, w, &stats, s); err != nil {
		return err
	} else if err := b.awardReferral(r, o, w, total, s); err != nil {
		return err
	}
	b.orders.put(o.ID, o, b.seq)
	b.report(walletd.ObjOrder, o.ID, o)
	return nil
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
	}
	return buf.Bytes(), nil
}

func (c *RefundOrder) apply(b *batch, r *request) error {
	if err := walletd.CheckText("reason", c.Reason, walletd.MaxReasonLen, false); err != nil {
		return err
	}
	prev := b.orders.get(c.OrderID)
	if prev == nil {
		return walletd.Errorf(walletd.ENotFound, "Order %q not found.", c.OrderID)
	} else if prev.Status != walletd.StatusCompleted {
		return walletd.Errorf(walletd.EConflict, "Order %s is already %s.", c.OrderID, prev.Status)
	}
	o := *prev
	o.Awards = append([]walletd.Award(nil), prev.Awards...)
	cur, err := b.walletOr404(o.WalletID)
	if err != nil {
		return err
	}
	w := b.mutable(cur.ID)
	s := b.scale(w.Currency)
	b.record(r, w, walletd.KindNote, walletd.TypeOrderRefunded, o.Total.Decimal(), c.Reason, o.ID, sysMeta(walletd.FlowOrder))
	// Reverse the cashback, as far as the wallet's available funds go:
	// walletd never takes available below zero.
	for _, a := range prev.Awards {
		if a.Kind != walletd.AwardCashback {
			continue
		}
		amt := decimal.Min(a.Amount.Decimal(), w.Available())
		if !amt.IsPositive() {
			continue
		}
		w.Balance = w.Balance.Sub(amt)
		reason := "Cashback reversed: order " + o.ID + " refunded"
		unrecovered := a.Amount.Decimal().Sub(amt)
		e := b.record(r, w, walletd.KindDebit, walletd.TypeCashbackReversal, amt, reason, o.ID, sysMeta(walletd.FlowCashbackReversal,
			"cashback_transaction_id", a.TransactionID, "unrecovered", nonZero(unrecovered, s)))
		award(&o, walletd.AwardCashbackReversal, e, w, amt, s, a.TransactionID)
		b.afterDebit(r, w)
	}
	o.Status, o.RefundedAt = walletd.StatusRefunded, b.now
	b.orders.put(o.ID, &o, b.seq)
	b.report(walletd.ObjOrder, o.ID, &o)
	return nil
}

// nonZero formats d at scale, or "" (left out of metadata) when it is zero.
func nonZero(d decimal.Decimal, scale int32) string {
	if d.IsZero() {
		return ""
	}
	return walletd.FormatAmount(d, scale)
}
