package ledger

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/walletd/walletd"

	"github.com/shopspring/decimal"
)

// ---------------------------------------------------------------------------
// Settings and rules

// SetKYCSettings sets the KYC thresholds of a currency.
type SetKYCSettings struct {
	Currency            string `json:"currency"`
	Threshold           string `json:"threshold"`
	CumulativeThreshold string `json:"cumulative_threshold"`
}

// SetReferralSettings sets the referral rewards of a currency.
type SetReferralSettings struct {
	Currency       string `json:"currency"`
	ReferrerReward string `json:"referrer_reward"`
	RefereeReward  string `json:"referee_reward"`
	MinOrderTotal  string `json:"min_order_total"`
}

// CreateCashbackRule adds a cashback rule.
type CreateCashbackRule struct {
	Currency      string `json:"currency"`
	Percent       string `json:"percent"`
	MaxAmount     string `json:"max_amount"`
	MinOrderTotal string `json:"min_order_total"`
}

// CreateMilestone adds a milestone.
type CreateMilestone struct {
	Name      string `json:"name"`
	Metric    string `json:"metric"`
	Threshold string `json:"threshold"`
	Reward    string `json:"reward"`
	Currency  string `json:"currency"`
}

// CreateReferral records that one user referred another.
type CreateReferral struct {
	ReferrerUserID string `json:"referrer_user_id"`
	RefereeUserID  string `json:"referee_user_id"`
}

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

func (*SetKYCSettings) Op() string      { return "set_kyc_settings" }
func (*SetReferralSettings) Op() string { return "set_referral_settings" }
func (*CreateCashbackRule) Op() string  { return "create_cashback_rule" }
func (*CreateMilestone) Op() string     { return "create_milestone" }
func (*CreateReferral) Op() string      { return "create_referral" }
func (*CompleteOrder) Op() string       { return "complete_order" }
func (*RefundOrder) Op() string         { return "refund_order" }

// Settings are keyed by currency; the entry names it even when the
// request left it to the default.
func (c *SetKYCSettings) objectRef(es []*walletd.Entry) (string, string) {
	return walletd.ObjKYCSettings, es[0].Currency
}
func (c *SetReferralSettings) objectRef(es []*walletd.Entry) (string, string) {
	return walletd.ObjReferralSettings, es[0].Currency
}
func (c *CreateCashbackRule) objectRef(es []*walletd.Entry) (string, string) {
	return walletd.ObjCashbackRule, metaOf(es[0])["id"]
}
func (c *CreateMilestone) objectRef(es []*walletd.Entry) (string, string) {
	return walletd.ObjMilestone, metaOf(es[0])["id"]
}
func (c *CreateReferral) objectRef([]*walletd.Entry) (string, string) {
	return walletd.ObjReferral, c.RefereeUserID
}
func (c *CompleteOrder) objectRef([]*walletd.Entry) (string, string) {
	return walletd.ObjOrder, c.OrderID
}
func (c *RefundOrder) objectRef([]*walletd.Entry) (string, string) {
	return walletd.ObjOrder, c.OrderID
}

// currency fills in the default currency and returns its scale.
func (b *batch) currency(c *string) (int32, error) {
	if *c == "" {
		*c = b.w.cfg.DefaultCurrency
	}
	return b.w.cfg.Currencies.Scale(*c)
}

func (c *SetKYCSettings) apply(b *batch, r *request) error {
	cur := c.Currency
	s, err := b.currency(&cur)
	if err != nil {
		return err
	}
	ks := &walletd.KYCSettings{Currency: cur, UpdatedAt: b.now}
	if ks.Threshold, err = parseOptionalAmount("threshold", c.Threshold, s); err != nil {
		return err
	} else if ks.Threshold == "" {
		return walletd.Errorf(walletd.EInvalidAmount, "threshold is required.")
	}
	if ks.CumulativeThreshold, err = parseOptionalAmount("cumulative_threshold", c.CumulativeThreshold, s); err != nil {
		return err
	}
	b.config(r, walletd.ObjKYCSettings, cur, map[string]string{"threshold": ks.Threshold, "cumulative_threshold": ks.CumulativeThreshold})
	b.put(walletd.ObjKYCSettings, cur, ks)
	b.current = ks
	return nil
}

// parseReward parses an amount that may be zero ("0", "0.00") or absent.
func parseReward(field, v string, scale int32) (string, error) {
	if v == "" || walletd.CheckAmountSyntax(v, scale) == nil && dec(v).IsZero() {
		return walletd.FormatAmount(decimal.Zero, scale), nil
	}
	return parseOptionalAmount(field, v, scale)
}

func (c *SetReferralSettings) apply(b *batch, r *request) error {
	cur := c.Currency
	s, err := b.currency(&cur)
	if err != nil {
		return err
	}
	rs := &walletd.ReferralSettings{Currency: cur, UpdatedAt: b.now}
	if rs.ReferrerReward, err = parseReward("referrer_reward", c.ReferrerReward, s); err != nil {
		return err
	} else if rs.RefereeReward, err = parseReward("referee_reward", c.RefereeReward, s); err != nil {
		return err
	} else if rs.MinOrderTotal, err = parseOptionalAmount("min_order_total", c.MinOrderTotal, s); err != nil {
		return err
	}
	if dec(rs.ReferrerReward).IsZero() && dec(rs.RefereeReward).IsZero() {
		return walletd.Errorf(walletd.EInvalidAmount, "At least one of referrer_reward and referee_reward must be above zero.")
	}
	b.config(r, walletd.ObjReferralSettings, cur, map[string]string{
		"referrer_reward": rs.ReferrerReward, "referee_reward": rs.RefereeReward, "min_order_total": rs.MinOrderTotal,
	})
	b.put(walletd.ObjReferralSettings, cur, rs)
	b.current = rs
	return nil
}

// parsePercent parses a percentage above 0 and at most 100, with at most
// 4 decimals.
func parsePercent(v string) (decimal.Decimal, error) {
	if err := walletd.CheckAmountSyntax(v, 4); err != nil {
		return decimal.Zero, walletd.Errorf(walletd.EInvalid, "percent %q must be a plain decimal above 0 and at most 100, with at most 4 decimals.", v)
	}
	p := dec(v)
	if !p.IsPositive() || p.GreaterThan(decimal.NewFromInt(100)) {
		return decimal.Zero, walletd.Errorf(walletd.EInvalid, "percent %q must be above 0 and at most 100.", v)
	}
	return p, nil
}

func (c *CreateCashbackRule) apply(b *batch, r *request) error {
	cur := c.Currency
	s, err := b.currency(&cur)
	if err != nil {
		return err
	}
	p, err := parsePercent(c.Percent)
	if err != nil {
		return err
	}
	rule := &walletd.CashbackRule{ID: b.w.cfg.NewID("cbr"), Currency: cur, Percent: p.String(), CreatedAt: b.now}
	if rule.MaxAmount, err = parseOptionalAmount("max_amount", c.MaxAmount, s); err != nil {
		return err
	} else if rule.MinOrderTotal, err = parseOptionalAmount("min_order_total", c.MinOrderTotal, s); err != nil {
		return err
	}
	b.config(r, walletd.ObjCashbackRule, cur, map[string]string{
		"id": rule.ID, "percent": rule.Percent, "max_amount": rule.MaxAmount, "min_order_total": rule.MinOrderTotal,
	})
	b.put(walletd.ObjCashbackRule, rule.ID, rule)
	b.current = rule
	return nil
}

func (c *CreateMilestone) apply(b *batch, r *request) error {
	if err := walletd.CheckText("name", c.Name, 200, true); err != nil {
		return err
	}
	cur := c.Currency
	s, err := b.currency(&cur)
	if err != nil {
		return err
	}
	m := &walletd.Milestone{ID: b.w.cfg.NewID("mil"), Name: c.Name, Metric: c.Metric, Currency: cur, CreatedAt: b.now}
	switch c.Metric {
	case walletd.MetricLifetimeSpend:
		if m.Threshold, err = parseOptionalAmount("threshold", c.Threshold, s); err != nil {
			return err
		}
	case walletd.MetricOrderCount:
		n, err := strconv.Atoi(c.Threshold)
		if err != nil || n < 1 || n > 1_000_000_000 || strconv.Itoa(n) != c.Threshold {
			return walletd.Errorf(walletd.EInvalid, "threshold of an order_count milestone must be a whole number of orders, 1 or more.")
		}
		m.Threshold = c.Threshold
	default:
		return walletd.Errorf(walletd.EInvalid, "metric must be lifetime_spend or order_count.")
	}
	if m.Threshold == "" {
		return walletd.Errorf(walletd.EInvalid, "threshold is required.")
	}
	if m.Reward, err = parseOptionalAmount("reward", c.Reward, s); err != nil {
		return err
	} else if m.Reward == "" {
		return walletd.Errorf(walletd.EInvalidAmount, "reward is required.")
	}
	b.config(r, walletd.ObjMilestone, cur, map[string]string{
		"id": m.ID, "name": m.Name, "metric": m.Metric, "threshold": m.Threshold, "reward": m.Reward,
	})
	b.put(walletd.ObjMilestone, m.ID, m)
	b.current = m
	return nil
}

func (c *CreateReferral) apply(b *batch, r *request) error {
	if err := walletd.CheckText("referrer_user_id", c.ReferrerUserID, walletd.MaxUserIDLen, true); err != nil {
		return err
	} else if err := walletd.CheckText("referee_user_id", c.RefereeUserID, walletd.MaxUserIDLen, true); err != nil {
		return err
	} else if c.ReferrerUserID == c.RefereeUserID {
		return walletd.Errorf(walletd.EInvalid, "A user cannot refer themselves.")
	}
	if prev, _ := b.obj(walletd.ObjReferral, c.RefereeUserID).(*walletd.Referral); prev != nil {
		return walletd.Errorf(walletd.EConflict, "User %q was already referred by %q.", c.RefereeUserID, prev.ReferrerUserID)
	}
	ref := &walletd.Referral{ID: b.w.cfg.NewID("ref"), ReferrerUserID: c.ReferrerUserID, RefereeUserID: c.RefereeUserID,
		Status: walletd.StatusPending, CreatedAt: b.now}
	b.config(r, walletd.ObjReferral, "", map[string]string{
		"id": ref.ID, "referrer_user_id": ref.ReferrerUserID, "referee_user_id": ref.RefereeUserID,
	})
	b.put(walletd.ObjReferral, ref.RefereeUserID, ref)
	b.current = ref
	return nil
}

// ---------------------------------------------------------------------------
// Orders

// credit credits amount to w (the batch's own copy) for a reward.
func (b *batch) reward(r *request, w *walletd.Wallet, typ string, amount decimal.Decimal, reason, orderID, meta string) (*walletd.Entry, error) {
	if w.Balance.Add(amount).GreaterThanOrEqual(maxBalance) {
		return nil, walletd.Errorf(walletd.EInvalidAmount, "The reward would take wallet %s above the maximum balance.", w.ID)
	}
	w.Balance = w.Balance.Add(amount)
	return b.record(r, w, walletd.KindCredit, typ, amount, reason, orderID, meta), nil
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
	if prev, _ := b.obj(walletd.ObjOrder, c.OrderID).(*walletd.Order); prev != nil {
		if prev.Fingerprint != fp {
			return walletd.Errorf(walletd.EConflict, "Order %q was already completed with other terms (user %s, total %s %s).",
				c.OrderID, prev.UserID, prev.Total, prev.Currency)
		}
		b.current = prev
		b.repeat = true
		return nil
	}
	walletID := b.walletOf(c.UserID, c.Currency)
	if walletID == "" {
		return walletd.Errorf(walletd.ENotFound, "User %q has no %s wallet.", c.UserID, c.Currency)
	}
	o := &walletd.Order{ID: c.OrderID, UserID: c.UserID, WalletID: walletID, Total: walletd.FormatAmount(total, s), Currency: c.Currency,
		Items: items, Status: walletd.StatusCompleted, CompletedAt: b.now, Fingerprint: fp, Awards: []walletd.Award{}}
	w := b.mutable(walletID)
	b.record(r, w, walletd.KindNote, walletd.TypeOrderCompleted, total, "", c.OrderID, sysMeta(walletd.FlowOrder))

	// The user's totals, with this order.
	statsKey := c.UserID + "/" + c.Currency
	stats := walletd.UserStats{UserID: c.UserID, Currency: c.Currency}
	if prev, _ := b.obj(walletd.ObjUserStats, statsKey).(*walletd.UserStats); prev != nil {
		stats = *prev
	}
	stats.LifetimeSpend = walletd.FormatAmount(dec(stats.LifetimeSpend).Add(total), s)
	stats.OrderCount++
	b.put(walletd.ObjUserStats, statsKey, &stats)

	// Cashback: the best of the rules the order qualifies for.
	var best *walletd.CashbackRule
	var bestAmt decimal.Decimal
	for _, id := range b.ids(walletd.ObjCashbackRule) {
		rule := b.obj(walletd.ObjCashbackRule, id).(*walletd.CashbackRule)
		if rule.Currency != c.Currency || rule.MinOrderTotal != "" && total.LessThan(dec(rule.MinOrderTotal)) {
			continue
		}
		amt := total.Mul(dec(rule.Percent)).Div(decimal.NewFromInt(100)).RoundDown(s)
		if rule.MaxAmount != "" && amt.GreaterThan(dec(rule.MaxAmount)) {
			amt = dec(rule.MaxAmount)
		}
		if amt.GreaterThan(bestAmt) {
			best, bestAmt = rule, amt
		}
	}
	if best != nil {
		e, err := b.reward(r, w, walletd.TypeCashback, bestAmt, fmt.Sprintf("%s%% cashback on order %s", best.Percent, c.OrderID), c.OrderID,
			sysMeta(walletd.FlowCashback, "rule_id", best.ID, "percent", best.Percent, "order_total", o.Total))
		if err != nil {
			return err
		}
		o.Awards = append(o.Awards, walletd.Award{Kind: walletd.AwardCashback, TransactionID: e.ID, WalletID: w.ID, UserID: w.UserID, Amount: e.Amount, Ref: best.ID})
	}

	// Milestones reached by this order, once per user.
	for _, id := range b.ids(walletd.ObjMilestone) {
		m := b.obj(walletd.ObjMilestone, id).(*walletd.Milestone)
		awardKey := m.ID + "/" + c.UserID
		if m.Currency != c.Currency || b.obj(walletd.ObjMilestoneAward, awardKey) != nil {
			continue
		}
		reached := false
		switch m.Metric {
		case walletd.MetricLifetimeSpend:
			reached = !dec(stats.LifetimeSpend).LessThan(dec(m.Threshold))
		case walletd.MetricOrderCount:
			n, _ := strconv.Atoi(m.Threshold)
			reached = stats.OrderCount >= n
		}
		if !reached {
			continue
		}
		e, err := b.reward(r, w, walletd.TypeMilestone, dec(m.Reward), "Milestone: "+m.Name, c.OrderID,
			sysMeta(walletd.FlowMilestone, "milestone_id", m.ID, "milestone_name", m.Name, "metric", m.Metric, "threshold", m.Threshold))
		if err != nil {
			return err
		}
		b.put(walletd.ObjMilestoneAward, awardKey, &walletd.MilestoneAward{MilestoneID: m.ID, UserID: c.UserID, OrderID: c.OrderID, TransactionID: e.ID, CreatedAt: b.now})
		o.Awards = append(o.Awards, walletd.Award{Kind: walletd.AwardMilestone, TransactionID: e.ID, WalletID: w.ID, UserID: w.UserID, Amount: e.Amount, Ref: m.ID})
	}

	// Referral: the referee's first qualifying order rewards both, once.
	if ref, _ := b.obj(walletd.ObjReferral, c.UserID).(*walletd.Referral); ref != nil && ref.Status == walletd.StatusPending {
		if rs, _ := b.obj(walletd.ObjReferralSettings, c.Currency).(*walletd.ReferralSettings); rs != nil &&
			(rs.MinOrderTotal == "" || !total.LessThan(dec(rs.MinOrderTotal))) {
			meta := func(role string) string {
				return sysMeta(walletd.FlowReferral, "referral_id", ref.ID, "referral_role", role,
					"referrer_user_id", ref.ReferrerUserID, "referee_user_id", ref.RefereeUserID)
			}
			if amt := dec(rs.RefereeReward); amt.IsPositive() {
				e, err := b.reward(r, w, walletd.TypeReferral, amt, "Referral reward: referred by "+ref.ReferrerUserID, c.OrderID, meta("referee"))
				if err != nil {
					return err
				}
				o.Awards = append(o.Awards, walletd.Award{Kind: walletd.AwardReferee, TransactionID: e.ID, WalletID: w.ID, UserID: w.UserID, Amount: e.Amount, Ref: ref.ID})
			}
			if amt := dec(rs.ReferrerReward); amt.IsPositive() {
				// The referrer is rewarded in the order's currency, if
				// they hold a wallet in it.
				if rid := b.walletOf(ref.ReferrerUserID, c.Currency); rid != "" {
					rw := b.mutable(rid)
					e, err := b.reward(r, rw, walletd.TypeReferral, amt, "Referral reward: referred "+ref.RefereeUserID, c.OrderID, meta("referrer"))
					if err != nil {
						return err
					}
					o.Awards = append(o.Awards, walletd.Award{Kind: walletd.AwardReferrer, TransactionID: e.ID, WalletID: rw.ID, UserID: rw.UserID, Amount: e.Amount, Ref: ref.ID})
				}
			}
			next := *ref
			next.Status, next.OrderID, next.RewardedAt = "rewarded", c.OrderID, b.now
			b.put(walletd.ObjReferral, ref.RefereeUserID, &next)
		}
	}
	b.put(walletd.ObjOrder, o.ID, o)
	b.current = o
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

// walletOf returns the id of user's wallet in currency, or "".
func (b *batch) walletOf(user, currency string) string {
	uk := userKey(user, currency)
	if id, ok := b.byUser[uk]; ok {
		return id
	}
	return b.w.byUser[uk]
}

func (c *RefundOrder) apply(b *batch, r *request) error {
	if err := walletd.CheckText("reason", c.Reason, walletd.MaxReasonLen, false); err != nil {
		return err
	}
	prev, _ := b.obj(walletd.ObjOrder, c.OrderID).(*walletd.Order)
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
	b.record(r, w, walletd.KindNote, walletd.TypeOrderRefunded, dec(o.Total), c.Reason, o.ID, sysMeta(walletd.FlowOrder))
	// Reverse the cashback, as far as the wallet's available funds go:
	// walletd never takes available below zero.
	for _, a := range prev.Awards {
		if a.Kind != walletd.AwardCashback {
			continue
		}
		amt := decimal.Min(dec(a.Amount), w.Available())
		if !amt.IsPositive() {
			continue
		}
		w.Balance = w.Balance.Sub(amt)
		reason := "Cashback reversed: order " + o.ID + " refunded"
		unrecovered := dec(a.Amount).Sub(amt)
		e := b.record(r, w, walletd.KindDebit, walletd.TypeCashbackReversal, amt, reason, o.ID, sysMeta(walletd.FlowCashbackReversal,
			"cashback_transaction_id", a.TransactionID, "unrecovered", nonZero(unrecovered, b.scale(w.Currency))))
		o.Awards = append(o.Awards, walletd.Award{Kind: walletd.AwardCashbackReversal, TransactionID: e.ID, WalletID: w.ID, UserID: w.UserID, Amount: e.Amount, Ref: a.TransactionID})
		b.afterDebit(r, w)
	}
	o.Status, o.RefundedAt = walletd.StatusRefunded, b.now
	b.put(walletd.ObjOrder, o.ID, &o)
	b.current = &o
	return nil
}

func nonZero(d decimal.Decimal, scale int32) string {
	if d.IsZero() {
		return ""
	}
	return walletd.FormatAmount(d, scale)
}
