package ledger

import (
	"slices"
	"strconv"
	"strings"

	"github.com/walletd/walletd"

	"github.com/shopspring/decimal"
	"github.com/walletd/walletd/events"
)

// Paying an order and refunding it. A wallet payment is a debit of the
// customer's wallet in the commit that marks the order processing, under
// the rules of every debit; a provider payment is recorded with its
// reference, which pays one order once. A refund reverses exactly what
// was paid.

// methodTitles are the payment methods' names for people
// (payment_method_title).
var methodTitles = map[string]string{
	walletd.PayWallet:         "Wallet balance",
	walletd.PayStripe:         "Stripe",
	walletd.PayPayPal:         "PayPal",
	walletd.PayGeneric:        "Payment gateway",
	walletd.PayWeGetFinancing: "WeGetFinancing",
}

func (c *PayOrder) apply(b *batch, r *request) error {
	if !slices.Contains(walletd.PaymentMethods, c.Method) {
		return walletd.Errorf(walletd.EInvalid, "method must be one of %s.", strings.Join(walletd.PaymentMethods, ", "))
	} else if err := walletd.CheckText("reference", c.Reference, walletd.MaxReferenceLen, false); err != nil {
		return err
	}
	o, err := b.orderIn(c.ID, walletd.OrderPending)
	if err != nil {
		return err
	}
	s := b.scale(o.Currency)
	if c.Method != walletd.PayWallet && (c.Amount == "" || c.Currency == "" || c.Reference == "") {
		return walletd.Errorf(walletd.EInvalid, "A %s payment needs its amount, currency and reference.", c.Method)
	}
	if c.Currency != "" && c.Currency != o.Currency {
		return walletd.Errorf(walletd.ECurrencyMismatch, "Order %d is in %s, not %s.", o.ID, o.Currency, walletd.QuoteInput(c.Currency))
	}
	if c.Amount != "" {
		amount, err := walletd.ParseAmount(c.Amount, s)
		if err != nil {
			return err
		} else if !amount.Equal(o.Total.Decimal()) {
			return walletd.Errorf(walletd.EInvalidAmount, "The payment of %s does not equal order %d's total of %s %s.", walletd.QuoteInput(c.Amount), o.ID, o.Total, o.Currency)
		}
	}
	p := walletd.OrderPayment{ID: int64(len(o.Payments) + 1), Method: c.Method, Amount: o.Total, Currency: o.Currency,
		Reference: c.Reference, Status: walletd.PaymentPaid, CreatedAt: b.now}
	o.Status, o.PaidAt, o.UpdatedAt = walletd.OrderProcessing, b.now, b.now
	o.PaymentMethod, o.PaymentMethodTitle = c.Method, methodTitles[c.Method]
	if c.Method == walletd.PayWallet {
		if c.Reference != "" {
			return walletd.Errorf(walletd.EInvalid, "A wallet payment takes no reference: its reference is its debit.")
		}
		return b.payFromWallet(r, o, p, c.WalletID)
	}
	if prev := b.paymentRefs.get(c.Reference); prev != nil {
		return walletd.Errorf(walletd.EConflict, "The %s payment %s already paid order %d.", prev.Method, walletd.QuoteInput(c.Reference), prev.OrderID)
	}
	o.TransactionID = c.Reference
	o.Payments = append(o.Payments, p)
	b.orderStep(r, o, walletd.TypeOrderPaid, events.OrderUpdated, "")
	b.paymentRefs.put(c.Reference, &walletd.OrderRef{OrderID: o.ID, Method: c.Method}, b.seq)
	b.putOrder(o)
	return nil
}

// payFromWallet pays o (processing, with its payment p yet to add) from
// walletID, or from its customer's wallet in its currency: a debit under
// the rules of every outgoing amount. The debit is the step's entry, its
// seq the payment's reference.
func (b *batch) payFromWallet(r *request, o *walletd.ShopOrder, p walletd.OrderPayment, walletID string) error {
	if walletID == "" && o.CustomerID != "" {
		if walletID = b.walletOf(o.CustomerID, o.Currency); walletID == "" {
			return walletd.Errorf(walletd.ENotFound, "Customer %s has no %s wallet.", walletd.QuoteInput(o.CustomerID), o.Currency)
		}
	} else if walletID == "" {
		return walletd.Errorf(walletd.EInvalid, "Order %d has no customer_id: give the wallet_id to pay from.", o.ID)
	}
	cur, err := b.walletOr404(walletID)
	if err != nil {
		return err
	} else if cur.Currency != o.Currency {
		return walletd.Errorf(walletd.ECurrencyMismatch, "Wallet %s is in %s, order %d in %s.", cur.ID, cur.Currency, o.ID, o.Currency)
	} else if o.CustomerID != "" && cur.UserID != o.CustomerID {
		return walletd.Errorf(walletd.EInvalid, "Wallet %s is not the wallet of order %d's customer.", cur.ID, o.ID)
	}
	total := o.Total.Decimal()
	if err := b.outgoing(r, cur, total, "payment"); err != nil {
		return err
	}
	w := b.mutable(cur.ID)
	w.Balance = w.Balance.Sub(total)
	p.DayKey, p.MonthKey = b.countOutgoing(w, total)
	seq := strconv.FormatUint(b.seq+1, 10) // the debit's, appended next
	p.WalletID, p.Reference = w.ID, seq
	o.CustomerID, o.WalletID, o.TransactionID = w.UserID, w.ID, seq
	o.Payments = append(o.Payments, p)
	b.record(r, w, walletd.KindDebit, walletd.TypeOrderPayment, total, "Order "+strconv.FormatInt(o.ID, 10), strconv.FormatInt(o.ID, 10),
		orderMeta(o, events.OrderUpdated))
	b.afterDebit(r, w)
	b.putOrder(o)
	return nil
}

// refund refunds order id: it gives back what was paid, marks its
// payments refunded and takes back its cashback.
func (b *batch) refund(r *request, id int64, reason string) error {
	o, err := b.orderIn(id, walletd.OrderProcessing, walletd.OrderCompleted)
	if err != nil {
		return err
	}
	s := b.scale(o.Currency)
	o.Status, o.RefundedAt, o.UpdatedAt = walletd.OrderRefunded, b.now, b.now
	back := decimal.Zero
	var wallet *walletd.OrderPayment // the wallet payment to credit back
	for i := range o.Payments {
		p := &o.Payments[i]
		if p.Status != walletd.PaymentPaid {
			continue
		}
		p.Status, p.RefundedAt = walletd.PaymentRefunded, b.now
		back = back.Add(p.Amount.Decimal())
		if p.Method == walletd.PayWallet {
			wallet = p
		}
	}
	o.Refunds = append(o.Refunds, walletd.OrderRefund{ID: int64(len(o.Refunds) + 1), Reason: reason, Total: walletd.NewMoney(back, s), CreatedAt: b.now})
	awards := slices.Clone(o.Awards)
	ref := strconv.FormatInt(o.ID, 10)
	if wallet == nil {
		b.orderStep(r, o, walletd.TypeOrderRefunded, events.OrderUpdated, reason)
	} else {
		cur, err := b.walletOr404(wallet.WalletID)
		if err != nil {
			return err
		}
		amount := wallet.Amount.Decimal()
		if cur.Balance.Add(amount).GreaterThanOrEqual(maxBalance) {
			return walletd.Errorf(walletd.EInvalidAmount, "The refund would take wallet %s above the maximum balance.", cur.ID)
		}
		w := b.mutable(cur.ID)
		w.Balance = w.Balance.Add(amount)
		uncountOutgoing(w, amount, wallet.DayKey, wallet.MonthKey)
		wallet.RefundReference = strconv.FormatUint(b.seq+1, 10) // the credit's seq, appended next
		b.record(r, w, walletd.KindCredit, walletd.TypeOrderRefund, amount, reason, ref, orderMeta(o, events.OrderUpdated))
	}
	b.reverseCashback(r, &rewardOrder{ref: ref, userID: o.CustomerID, currency: o.Currency, total: o.Total, awards: &o.Awards}, awards)
	b.putOrder(o)
	return nil
}
