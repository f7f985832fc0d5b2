package financing

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/ledger"
)

// MetaVirtual is the meta_data key that marks an order of virtual
// products: an approval completes it at once (processing otherwise).
const MetaVirtual = "virtual"

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
	d := Decide(p)
	t, why, err := a.resolve(ctx, p, d)
	if err != nil {
		return Outcome{}, err
	} else if why != "" {
		return review("%s", why)
	}
	if d.Action == ActNone {
		return ignored("status %s is not acted on", walletd.QuoteInput(p.Status))
	}
	if t.topup != nil {
		return a.applyTopup(ctx, p, d, t)
	}
	return a.applyOrder(ctx, p, d, t)
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
		if virtual(o) {
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

// virtual reports whether an order is of virtual products (meta_data
// "virtual": true, or a reset-fee order, which its payment page
// completes once paid).
func virtual(o *walletd.ShopOrder) bool {
	if o.Source == walletd.SourceResetFee {
		return true
	}
	i := slices.IndexFunc(o.MetaData, func(m walletd.OrderMeta) bool { return m.Key == MetaVirtual })
	if i < 0 {
		return false
	}
	var v any
	return json.Unmarshal(o.MetaData[i].Value, &v) == nil && (v == true || v == "true" || v == "yes" || v == float64(1))
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
		return review("a refund of top-up %s is not reversed automatically: debit the wallet if it is due", tp.ID)
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
