package inbound

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/shopspring/decimal"
	"github.com/walletd/walletd"
	"github.com/walletd/walletd/ledger"
)

// How an attempt ended.
type class int

const (
	classDone  class = iota // final: success, or an answer that will not change (404)
	classRetry              // may pass: try again later
	classDead               // cannot be applied as it is: the dead-letter queue
)

// apply runs the gateway's rules on r's event and the actions of those
// that match, through the writer. Each command's idempotency key names
// the event row and the action, so an attempt after a crash that came
// after the commit is answered from the ledger and changes nothing.
func (p *Pipeline) apply(ctx context.Context, r *Record) (*Outcome, class, error) {
	if sa, ok := p.Adapters[r.Gateway].(SelfApplier); ok {
		return applySelf(ctx, sa, r)
	}
	ev := &r.Event
	out := &Outcome{Status: http.StatusOK, Message: "Webhook processed successfully", Actions: []string{}}
	g, err := p.DB.Gateway(ctx, r.Gateway)
	if err != nil {
		return failOut(out, "The gateway's settings could not be read."), classRetry, err
	}
	rules := g.rules()
	out.RulesEvaluated = len(rules)
	var matched []Rule
	for _, rule := range rules {
		if rule.matches(ev) {
			matched = append(matched, rule)
		}
	}
	if len(matched) == 0 || ev.Kind == "" {
		return out, classDone, nil // nothing asked: logged and answered 200
	}
	t := &target{ev: ev, key: "inbound-" + strconv.FormatInt(r.ID, 10)}
	switch ev.Target.Type {
	case TargetOrder:
		out.OrderReference = ev.Target.Ref
		o, err := p.findOrder(ctx, ev.Target.Ref)
		if walletd.ErrorCode(err) == walletd.ENotFound {
			out.Status, out.Code, out.Message = http.StatusNotFound, "order_not_found", "Order reference not found"
			return out, classDone, err
		} else if err != nil {
			return failOut(out, "The order could not be read."), classRetry, err
		}
		t.order, out.OrderID = o, &o.ID
	case TargetTopup:
		out.OrderReference = ev.Target.Ref
		v, err := p.Ledger.Object(ctx, walletd.ObjTopup, ev.Target.Ref)
		if walletd.ErrorCode(err) == walletd.ENotFound {
			out.Status, out.Code, out.Message = http.StatusNotFound, "order_not_found", "Order reference not found"
			return out, classDone, err
		} else if err != nil {
			return failOut(out, "The top-up could not be read."), classRetry, err
		}
		t.topup, _ = v.(*walletd.Topup)
		if t.topup == nil {
			return failOut(out, "The top-up could not be read."), classRetry, fmt.Errorf("inbound: top-up %s decoded as %T", ev.Target.Ref, v)
		}
		out.TopupID = t.topup.ID
	}
	if err := t.check(); err != nil {
		out.Status, out.Code, out.Message = http.StatusUnprocessableEntity, "payment_mismatch", walletd.ErrorMessage(err)
		return out, classDead, err
	}
	for _, rule := range matched {
		out.RulesTriggered++
		for _, a := range rule.Actions {
			done, err := p.act(ctx, t, a)
			if err != nil {
				return p.actionFailed(out, a, err)
			}
			if done {
				out.Actions = append(out.Actions, a)
			}
		}
	}
	return out, classDone, nil
}

// applySelf runs an attempt of a SelfApplier and classifies it.
func applySelf(ctx context.Context, sa SelfApplier, r *Record) (*Outcome, class, error) {
	out, dead, err := sa.ApplyEvent(ctx, r)
	if out == nil {
		out = &Outcome{Status: http.StatusOK, Message: "Webhook processed successfully"}
	}
	if out.Actions == nil {
		out.Actions = []string{}
	}
	switch {
	case err != nil:
		if out.Status < 500 {
			failOut(out, "The event could not be applied now.")
		}
		return out, classRetry, err
	case dead:
		if out.Status < 300 {
			out.Status, out.Code = http.StatusUnprocessableEntity, "not_applied"
		}
		return out, classDead, nil
	}
	return out, classDone, nil
}

func failOut(out *Outcome, msg string) *Outcome {
	out.Status, out.Code, out.Message = http.StatusInternalServerError, "processing_error", msg
	return out
}

// actionFailed classifies a refused action.
func (p *Pipeline) actionFailed(out *Outcome, action string, err error) (*Outcome, class, error) {
	code := walletd.ErrorCode(err)
	msg := fmt.Sprintf("%s: %s", action, walletd.ErrorMessage(err))
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), code == walletd.EUnavailable, code == walletd.EInternal:
		return failOut(out, action+" could not run now."), classRetry, err
	case code == walletd.ENotFound:
		out.Status, out.Code, out.Message = http.StatusNotFound, "order_not_found", "Order reference not found"
		return out, classDone, err
	case code == walletd.EInvalidAmount || code == walletd.ECurrencyMismatch:
		out.Status, out.Code, out.Message = http.StatusUnprocessableEntity, "payment_mismatch", msg
	case code == walletd.EConflict:
		out.Status, out.Code, out.Message = http.StatusConflict, "conflict", msg
	default:
		out.Status, out.Code, out.Message = http.StatusUnprocessableEntity, "not_applied", msg
	}
	return out, classDead, err
}

// target is what an event acts on, as read before acting.
type target struct {
	ev    *Event
	key   string
	order *walletd.ShopOrder
	topup *walletd.Topup
}

// check compares the event's amount and currency with the order's or
// top-up's: a payment must carry them and match exactly; a refund must
// be of the whole amount (a partial one goes to review).
func (t *target) check() error {
	if t.ev.Kind == KindFailed {
		return nil
	}
	wantAmount, wantCurrency := "", ""
	switch {
	case t.order != nil:
		wantAmount, wantCurrency = t.order.Total.String(), t.order.Currency
	case t.topup != nil:
		wantAmount, wantCurrency = t.topup.Amount.String(), t.topup.Currency
	default:
		return nil
	}
	if t.ev.Amount == "" || t.ev.Currency == "" {
		return walletd.Errorf(walletd.EInvalidAmount, "The event carries no amount and currency to check against %s %s.", wantAmount, wantCurrency)
	}
	if t.ev.Currency != wantCurrency {
		return walletd.Errorf(walletd.ECurrencyMismatch, "The payment is in %s, not %s.", walletd.QuoteInput(t.ev.Currency), wantCurrency)
	}
	got, err1 := decimal.NewFromString(t.ev.Amount)
	want, err2 := decimal.NewFromString(wantAmount)
	if err1 != nil || err2 != nil || !got.Equal(want) {
		return walletd.Errorf(walletd.EInvalidAmount, "The payment of %s %s does not match %s %s.", walletd.QuoteInput(t.ev.Amount), t.ev.Currency, wantAmount, wantCurrency)
	}
	return nil
}

// act runs action on t; it returns false for an action with nothing to
// do (the payment was already recorded by another event of it).
func (p *Pipeline) act(ctx context.Context, t *target, action string) (bool, error) {
	ev := t.ev
	submit := func(suffix string, cmd walletd.Command) error {
		ctx, cancel := context.WithTimeout(ctx, p.SubmitTimeout)
		defer cancel()
		_, err := p.Writer.Submit(ctx, t.key+"-"+suffix, cmd)
		return err
	}
	reason := fmt.Sprintf("%s %s %s", ev.Gateway, ev.Type, ev.ProviderID)
	if len(reason) > walletd.MaxReasonLen {
		reason = reason[:walletd.MaxReasonLen]
	}
	switch action {
	case ActionCompleteOrder, ActionMarkOrderPaid:
		o := t.order
		ref := ev.PaymentRef
		if ref == "" {
			ref = ev.ProviderID
		}
		if slices.ContainsFunc(o.Payments, func(pm walletd.OrderPayment) bool { return pm.Reference == ref }) {
			return false, nil // another event of the same payment recorded it
		}
		method := ev.Gateway
		if !slices.Contains(walletd.PaymentMethods, method) || method == walletd.PayWallet {
			method = walletd.PayGeneric
		}
		if err := submit("pay", &ledger.PayOrder{ID: o.ID, Method: method, Amount: o.Total.String(), Currency: o.Currency, Reference: ref}); err != nil {
			return false, err
		}
		if action == ActionCompleteOrder && o.Virtual() {
			if err := submit("complete", &ledger.CompleteOrder{ID: o.ID}); err != nil {
				return false, err
			}
		}
	case ActionRefundOrder:
		return true, submit("refund", &ledger.RefundOrder{ID: t.order.ID, Reason: reason})
	case ActionFailOrder:
		return true, submit("fail", &ledger.FailOrder{ID: t.order.ID, Reason: reason})
	case ActionCompleteTopup:
		return true, submit("topup", &ledger.CompleteTopup{TopupID: t.topup.ID})
	case ActionFailTopup:
		return true, submit("topup-fail", &ledger.FailTopup{TopupID: t.topup.ID, Reason: reason})
	default:
		return false, walletd.Errorf(walletd.EInvalid, "Unknown action %s.", walletd.QuoteInput(action))
	}
	return true, nil
}

// findOrder reads the order ref names: its id, or the external id of an
// order of source api. Returns ENotFound.
func (p *Pipeline) findOrder(ctx context.Context, ref string) (*walletd.ShopOrder, error) {
	if ref == "" || len(ref) > walletd.MaxOrderIDLen {
		return nil, walletd.Errorf(walletd.ENotFound, "Order %s not found.", walletd.QuoteInput(ref))
	}
	var lookupErr error
	id, ok := ledger.FindOrder(ref, func(key string) (int64, bool) {
		v, err := p.Ledger.Object(ctx, walletd.ObjOrderRef, key)
		if err != nil {
			if walletd.ErrorCode(err) != walletd.ENotFound {
				lookupErr = err
			}
			return 0, false
		}
		r, _ := v.(*walletd.OrderRef)
		if r == nil {
			return 0, false
		}
		return r.OrderID, true
	})
	if lookupErr != nil {
		return nil, lookupErr
	} else if !ok {
		return nil, walletd.Errorf(walletd.ENotFound, "Order %s not found.", walletd.QuoteInput(ref))
	}
	v, err := p.Ledger.Object(ctx, walletd.ObjShopOrder, walletd.IntKey(id))
	if err != nil {
		return nil, err
	}
	o, _ := v.(*walletd.ShopOrder)
	if o == nil {
		return nil, fmt.Errorf("inbound: order %d decoded as %T", id, v)
	}
	return o, nil
}
