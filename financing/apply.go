package financing

import (
	"context"
	"fmt"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/ledger"
)

// Meta keys the financing flow notes on an order (ledger.NoteOrder).
const (
	MetaRequest = "wegetfinancing_request" // the request sent
	MetaStatus  = "wegetfinancing_status"  // the last postback's status, with what it did
)

// LedgerApplier applies postbacks to orders and top-ups through the
// ledger's writer; each command carries an Idempotency-Key made from the
// postback's event id, so applying a postback twice is one change.
type LedgerApplier struct {
	Service *Service
}

var _ Applier = (*LedgerApplier)(nil)

// target is what a postback names: an order or a top-up, and the request
// walletd sent for it.
type target struct {
	order   *walletd.ShopOrder
	topup   *walletd.Topup
	request *walletd.FinancingRequest
}

func review(format string, args ...any) (Outcome, error) {
	return Outcome{State: StateReview, Detail: fmt.Sprintf(format, args...)}, nil
}

func ignored(format string, args ...any) (Outcome, error) {
	return Outcome{State: StateIgnored, Detail: fmt.Sprintf(format, args...)}, nil
}

func applied(format string, args ...any) (Outcome, error) {
	return Outcome{State: StateApplied, Detail: fmt.Sprintf(format, args...)}, nil
}

// resolve finds the order or top-up of a postback: by its
// merchant_transaction_id, else (a rejection may lack it) by its
// request_token; and checks that the request_token is the one walletd
// holds for it. A postback for a request walletd never made is for
// review.
func (a *LedgerApplier) resolve(ctx context.Context, p *Postback, d Decision) (*target, string, error) {
	s := a.Service
	var req *walletd.FinancingRequest
	var err error
	switch {
	case d.OrderID != 0 || d.TopupID != "":
		req, err = s.Store.request(ctx, Reference(d.OrderID, d.TopupID), "")
	case p.MerchantTransactionID != "":
		return nil, fmt.Sprintf("merchant_transaction_id %s names no walletd order or top-up", walletd.QuoteInput(p.MerchantTransactionID)), nil
	default:
		req, err = s.Store.request(ctx, "", p.RequestToken)
	}
	if walletd.ErrorCode(err) == walletd.ENotFound {
		return nil, fmt.Sprintf("walletd sent no financing request for %s", walletd.QuoteInput(p.MerchantTransactionID+p.RequestToken)), nil
	} else if err != nil {
		return nil, "", err
	}
	if p.RequestToken != "" && p.RequestToken != req.RequestToken {
		return nil, fmt.Sprintf("request_token %s is not the token of %s's request", walletd.QuoteInput(p.RequestToken), req.Reference), nil
	}
	t := &target{request: req}
	orderID, topupID := ParseReference(req.Reference)
	if topupID != "" {
		v, err := s.Ledger.Object(ctx, walletd.ObjTopup, topupID)
		if err != nil {
			return nil, "", err
		}
		t.topup, _ = v.(*walletd.Topup)
	} else {
		v, err := s.Ledger.Object(ctx, walletd.ObjShopOrder, walletd.IntKey(orderID))
		if err != nil {
			return nil, "", err
		}
		t.order, _ = v.(*walletd.ShopOrder)
	}
	if t.order == nil && t.topup == nil {
		return nil, "", fmt.Errorf("financing: %s is neither an order nor a top-up", req.Reference)
	}
	return t, "", nil
}

// Apply applies a postback's decision. See Applier.
func (a *LedgerApplier) Apply(ctx context.Context, p *Postback) (Outcome, error) {
	a.Service.init()
	// The inbound pipeline applies with several workers: postbacks of one
	// order or top-up go one at a time, so that two refunds cannot both
	// pass the cap before either is recorded, nor a refund overtake the
	// approval it refunds.
	defer a.Service.lock(p.MerchantTransactionID)()
	d := Decide(p)
	t, why, err := a.resolve(ctx, p, d)
	if err != nil {
		return Outcome{}, err
	} else if why != "" {
		return review("%s", why)
	}
	var out Outcome
	switch {
	case d.Action == ActNone:
		out, err = ignored("status %s is not acted on", walletd.QuoteInput(p.Status))
	case t.topup != nil:
		out, err = a.applyTopup(ctx, p, d, t)
	default:
		out, err = a.applyOrder(ctx, p, d, t)
	}
	if t.topup != nil {
		out.TopupID = t.topup.ID
	} else {
		out.OrderID = t.order.ID
	}
	return out, err
}

// key is the Idempotency-Key of a step of postback p.
func key(p *Postback, step string) string { return "wgf-" + p.EventID + "-" + step }

// sameAmount reports whether the amount a postback gave ("" = none) is m.
func sameAmount(given string, m walletd.Money) bool {
	if given == "" {
		return true
	}
	d, err := walletd.ParseAmount(given, m.Scale())
	return err == nil && d.Equal(m.Decimal())
}

func (a *LedgerApplier) applyOrder(ctx context.Context, p *Postback, d Decision, t *target) (Outcome, error) {
	s, o, token := a.Service, t.order, t.request.RequestToken
	note := func(what string) {
		s.noteOrder(ctx, o.ID, MetaStatus, map[string]string{"status": p.Status, "request_token": token, "event_id": p.EventID, "outcome": what},
			"WeGetFinancing: "+p.Status)
	}
	submit := func(step string, cmd walletd.Command) error {
		_, err := s.Writer.Submit(ctx, key(p, step), cmd)
		return err
	}
	switch d.Action {
	case ActPreapprove:
		note("recorded: the customer has not accepted an offer yet")
		return ignored("preapproved: noted on order %d, nothing else", o.ID)
	case ActApprove:
		if !sameAmount(d.Amount, o.Total) {
			note("not applied: the approved amount is not the order's total")
			return review("approved amount %s is not order %d's total of %s %s", walletd.QuoteInput(d.Amount), o.ID, o.Total, o.Currency)
		}
		err := submit("pay", &ledger.PayOrder{ID: o.ID, Method: walletd.PayWeGetFinancing, Amount: o.Total.String(), Currency: o.Currency, Reference: token})
		if err != nil {
			return a.refused(ctx, o.ID, err, func(cur *walletd.ShopOrder) bool {
				return cur.TransactionID == token && cur.PaymentMethod == walletd.PayWeGetFinancing
			})
		}
		if o.Virtual() {
			if err := submit("complete", &ledger.CompleteOrder{ID: o.ID}); err != nil && walletd.ErrorCode(err) != walletd.EConflict {
				return Outcome{}, err
			}
			return applied("order %d paid and completed (virtual products)", o.ID)
		}
		return applied("order %d paid", o.ID)
	case ActReject, ActCancel:
		var cmd walletd.Command = &ledger.FailOrder{ID: o.ID, Reason: "WeGetFinancing: the financing application was rejected"}
		status := walletd.OrderFailed
		if d.Action == ActCancel {
			cmd, status = &ledger.CancelOrder{ID: o.ID, Reason: "WeGetFinancing: the financing application was cancelled"}, walletd.OrderCancelled
		}
		if err := submit(d.Action, cmd); err != nil {
			return a.refused(ctx, o.ID, err, func(cur *walletd.ShopOrder) bool { return cur.Status == status })
		}
		return applied("order %d %s", o.ID, status)
	case ActRefund:
		if d.Amount == "" {
			return review("the refund names no amount")
		}
		err := submit("refund", &ledger.RefundOrderAmount{ID: o.ID, Amount: d.Amount, Reference: token, Reason: "WeGetFinancing refund"})
		if err != nil {
			return a.refused(ctx, o.ID, err, func(*walletd.ShopOrder) bool { return false })
		}
		return applied("order %d refunded %s %s", o.ID, d.Amount, o.Currency)
	}
	return ignored("nothing to do")
}

// refused turns the writer's refusal of a postback's step into an
// outcome: ignored when the order is already as the step would leave it
// (done reports that), review for any other refusal; an error the writer
// did not decide (unavailable, internal) is returned, to try again.
func (a *LedgerApplier) refused(ctx context.Context, id int64, err error, done func(*walletd.ShopOrder) bool) (Outcome, error) {
	switch walletd.ErrorCode(err) {
	case walletd.EUnavailable, walletd.EInternal:
		return Outcome{}, err
	}
	if v, rerr := a.Service.Ledger.Object(ctx, walletd.ObjShopOrder, walletd.IntKey(id)); rerr == nil {
		if cur, ok := v.(*walletd.ShopOrder); ok && done(cur) {
			return ignored("order %d is already %s", id, cur.Status)
		}
	}
	return review("order %d: %s", id, walletd.ErrorMessage(err))
}

func (a *LedgerApplier) applyTopup(ctx context.Context, p *Postback, d Decision, t *target) (Outcome, error) {
	s, tp := a.Service, t.topup
	var cmd walletd.Command
	want := ""
	switch d.Action {
	case ActPreapprove:
		return ignored("preapproved: top-up %s stays pending", tp.ID)
	case ActApprove:
		if !sameAmount(d.Amount, tp.Amount) {
			return review("approved amount %s is not top-up %s's amount of %s %s", walletd.QuoteInput(d.Amount), tp.ID, tp.Amount, tp.Currency)
		}
		cmd, want = &ledger.CompleteTopup{TopupID: tp.ID}, walletd.StatusCompleted
	case ActReject, ActCancel:
		cmd, want = &ledger.FailTopup{TopupID: tp.ID, Reason: "WeGetFinancing: the financing application was " + p.Status}, walletd.StatusFailed
	case ActRefund:
		return a.refundTopup(ctx, p, d, tp)
	default:
		return ignored("nothing to do")
	}
	if _, err := s.Writer.Submit(ctx, key(p, d.Action), cmd); err != nil {
		switch walletd.ErrorCode(err) {
		case walletd.EUnavailable, walletd.EInternal:
			return Outcome{}, err
		}
		if v, rerr := s.Ledger.Object(ctx, walletd.ObjTopup, tp.ID); rerr == nil {
			if cur, ok := v.(*walletd.Topup); ok && cur.Status == want {
				return ignored("top-up %s is already %s", tp.ID, want)
			}
		}
		return review("top-up %s: %s", tp.ID, walletd.ErrorMessage(err))
	}
	return applied("top-up %s %s", tp.ID, want)
}

// TypeTopupRefund is the type of the debit that takes a financed
// top-up's refund back from the wallet.
const TypeTopupRefund = "topup_refund"

// refundTopup takes a refund of a financed top-up back from the wallet it
// credited: the provider returned the customer's money (or cancelled the
// loan), so the wallet must not keep it. The debit goes through the
// writer's rules (available balance, frozen wallet, limits): a wallet
// that cannot pay it now is left as it is and the postback goes to
// review (the dead-letter queue), with the reason; redriving it later
// debits it then. Refunds of one top-up add up to at most its amount.
func (a *LedgerApplier) refundTopup(ctx context.Context, p *Postback, d Decision, tp *walletd.Topup) (Outcome, error) {
	s := a.Service
	if tp.Status != walletd.StatusCompleted {
		return review("top-up %s is %s: nothing was credited, so there is nothing to take back for the refund", tp.ID, tp.Status)
	}
	if d.Amount == "" {
		return review("the refund of top-up %s names no amount", tp.ID)
	}
	amount, err := walletd.ParseAmount(d.Amount, tp.Amount.Scale())
	if err != nil {
		return review("the refund amount %s of top-up %s is not an amount of %s: %s", walletd.QuoteInput(d.Amount), tp.ID, tp.Currency, walletd.ErrorMessage(err))
	}
	done, err := s.Store.refunded(ctx, tp.ID, p.EventID)
	if err != nil {
		return Outcome{}, err
	}
	total := amount
	for _, v := range done {
		prev, err := walletd.ParseAmount(v, tp.Amount.Scale())
		if err != nil {
			return Outcome{}, fmt.Errorf("financing: stored refund %q of %s: %w", v, tp.ID, err)
		}
		total = total.Add(prev)
	}
	if total.GreaterThan(tp.Amount.Decimal()) {
		return review("a refund of %s %s would take the refunds of top-up %s to %s, above its %s %s", amount.StringFixed(tp.Amount.Scale()), tp.Currency,
			tp.ID, total.StringFixed(tp.Amount.Scale()), tp.Amount, tp.Currency)
	}
	money := walletd.NewMoney(amount, tp.Amount.Scale()).String()
	_, err = s.Writer.Submit(ctx, key(p, "refund"), &ledger.Post{WalletID: tp.WalletID, Kind: walletd.KindDebit, Amount: money,
		Type: TypeTopupRefund, Reason: "WeGetFinancing refund of top-up " + tp.ID,
		Metadata: map[string]string{"topup_id": tp.ID, "request_token": p.RequestToken, "financing_event": p.EventID}})
	if err != nil {
		switch walletd.ErrorCode(err) {
		case walletd.EUnavailable, walletd.EInternal:
			return Outcome{}, err
		}
		return review("the refund of %s %s for top-up %s could not be debited from wallet %s: %s Redrive this postback once the wallet can pay it, or settle it by hand and discard it",
			money, tp.Currency, tp.ID, tp.WalletID, walletd.ErrorMessage(err))
	}
	if err := s.Store.addRefund(ctx, p.EventID, tp.ID, money, s.Now()); err != nil {
		return Outcome{}, err
	}
	return applied("top-up %s: the refund of %s %s was debited from wallet %s", tp.ID, money, tp.Currency, tp.WalletID)
}
