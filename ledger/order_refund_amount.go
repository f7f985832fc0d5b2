package ledger

import (
	"slices"
	"strconv"

	"github.com/walletd/walletd"

	"github.com/shopspring/decimal"
	"github.com/walletd/walletd/events"
)

// Partial refunds of provider payments. A provider (a financing lender)
// may refund part of what it paid; walletd records each refund's amount
// in refunds[]. The refunds of an order add up and never exceed what was
// paid; the refund that reaches it refunds the order (status refunded,
// its payments marked refunded, its cashback taken back), as RefundOrder
// does.

// TypeOrderPartRefund is the entry type of a refund of part of a provider
// payment: a note of the order's wallet, or a config entry.
const TypeOrderPartRefund = "order_partial_refund"

// RefundOrderAmount records a refund of Amount (in the order's currency)
// of a paid order (processing or completed) paid by a provider. Reference,
// when given, must be the reference of the order's payment. Returns
// EInvalidAmount when the refunds would exceed what was paid, EInvalid for
// an order paid from a wallet (refund it in full with RefundOrder),
// EConflict for an order not paid.
type RefundOrderAmount struct {
	ID        int64  `json:"id"`
	Amount    string `json:"amount"`
	Reference string `json:"reference,omitempty"`
	Reason    string `json:"reason,omitempty"`
}

// Op names the command in fingerprints and logs.
func (*RefundOrderAmount) Op() string { return "refund_order_amount" }

func (c *RefundOrderAmount) objectRef([]*walletd.Entry) (string, string) {
	return walletd.ObjShopOrder, walletd.IntKey(c.ID)
}

// Refunded returns what the refunds of o have paid back.
func Refunded(o *walletd.ShopOrder) decimal.Decimal {
	sum := decimal.Zero
	for _, f := range o.Refunds {
		sum = sum.Add(f.Total.Decimal())
	}
	return sum
}

func (c *RefundOrderAmount) apply(b *batch, r *request) error {
	if err := walletd.CheckText("reason", c.Reason, walletd.MaxReasonLen, false); err != nil {
		return err
	}
	o, err := b.orderIn(c.ID, walletd.OrderProcessing, walletd.OrderCompleted)
	if err != nil {
		return err
	}
	s := b.scale(o.Currency)
	amount, err := walletd.ParseAmount(c.Amount, s)
	if err != nil {
		return err
	}
	paid := decimal.Zero
	for _, p := range o.Payments {
		if p.Status != walletd.PaymentPaid {
			continue
		}
		if p.Method == walletd.PayWallet {
			return walletd.Errorf(walletd.EInvalid, "Order %d was paid from a wallet: refund it in full.", o.ID)
		} else if c.Reference != "" && p.Reference != c.Reference {
			return walletd.Errorf(walletd.EInvalid, "Order %d was not paid by %s.", o.ID, walletd.QuoteInput(c.Reference))
		}
		paid = paid.Add(p.Amount.Decimal())
	}
	if paid.IsZero() {
		return walletd.Errorf(walletd.EConflict, "Order %d has no provider payment to refund.", o.ID)
	}
	done := Refunded(o)
	left := paid.Sub(done)
	if amount.GreaterThan(left) {
		return walletd.Errorf(walletd.EInvalidAmount, "A refund of %s exceeds what is left to refund of order %d: %s %s.",
			walletd.QuoteInput(c.Amount), o.ID, walletd.NewMoney(left, s), o.Currency)
	}
	o.UpdatedAt = b.now
	o.Refunds = append(o.Refunds, walletd.OrderRefund{ID: int64(len(o.Refunds) + 1), Reason: c.Reason, Total: walletd.NewMoney(amount, s), CreatedAt: b.now})
	if amount.LessThan(left) {
		b.orderStep(r, o, TypeOrderPartRefund, events.OrderUpdated, c.Reason)
		b.putOrder(o)
		return nil
	}
	// The last refund: the order is refunded, as RefundOrder leaves it.
	o.Status, o.RefundedAt = walletd.OrderRefunded, b.now
	for i := range o.Payments {
		if p := &o.Payments[i]; p.Status == walletd.PaymentPaid {
			p.Status, p.RefundedAt = walletd.PaymentRefunded, b.now
		}
	}
	awards := slices.Clone(o.Awards)
	b.orderStep(r, o, walletd.TypeOrderRefunded, events.OrderUpdated, c.Reason)
	b.reverseCashback(r, &rewardOrder{ref: strconv.FormatInt(o.ID, 10), userID: o.CustomerID, currency: o.Currency, total: o.Total, awards: &o.Awards}, awards)
	b.putOrder(o)
	return nil
}
