package ledger

import (
	"fmt"
	"strconv"

	"github.com/walletd/walletd"

	"github.com/shopspring/decimal"
)

// Rewards: cashback rules, milestones, referrals and their settings, and
// the credits a completed order earns by them (completeRewards; order.go
// and order_legacy.go complete orders) or loses when refunded
// (reverseCashback).

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

// Op names the command in fingerprints and logs.
func (*SetReferralSettings) Op() string { return "set_referral_settings" }

// Op names the command in fingerprints and logs.
func (*CreateCashbackRule) Op() string { return "create_cashback_rule" }

// Op names the command in fingerprints and logs.
func (*CreateMilestone) Op() string { return "create_milestone" }

// Op names the command in fingerprints and logs.
func (*CreateReferral) Op() string { return "create_referral" }

// Settings are keyed by currency; the entry names it even when the
// request left it to the default.
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

// parseReward parses a reward setting that may be zero ("0", "0.00") or
// absent (zero), at a currency's scale. Returns EInvalidAmount naming
// field.
func parseReward(field, v string, scale int32) (walletd.Money, error) {
	if v == "" {
		return walletd.NewMoney(decimal.Zero, scale), nil
	}
	m, err := walletd.ParseMoney(v, scale)
	if err != nil {
		return walletd.Money{}, walletd.Errorf(walletd.EInvalidAmount, "%s: %s", field, walletd.ErrorMessage(err))
	}
	return m, nil
}

// parsePercent parses a percentage above 0 and at most 100, with at most
// 4 decimals. Returns EInvalid.
func parsePercent(v string) (decimal.Decimal, error) {
	m, err := walletd.ParseMoney(v, 4)
	if err != nil {
		return decimal.Zero, walletd.Errorf(walletd.EInvalid, "percent %s must be a plain decimal above 0 and at most 100, with at most 4 decimals.", walletd.QuoteInput(v))
	}
	p := m.Decimal()
	if !p.IsPositive() || p.GreaterThan(decimal.NewFromInt(100)) {
		return decimal.Zero, walletd.Errorf(walletd.EInvalid, "percent %s must be above 0 and at most 100.", walletd.QuoteInput(v))
	}
	return p, nil
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
	} else if rs.MinOrderTotal, err = optionalAmount("min_order_total", c.MinOrderTotal, s); err != nil {
		return err
	}
	if rs.ReferrerReward.Decimal().IsZero() && rs.RefereeReward.Decimal().IsZero() {
		return walletd.Errorf(walletd.EInvalidAmount, "At least one of referrer_reward and referee_reward must be above zero.")
	}
	b.config(r, walletd.ObjReferralSettings, cur, map[string]string{
		"referrer_reward": rs.ReferrerReward.String(), "referee_reward": rs.RefereeReward.String(), "min_order_total": rs.MinOrderTotal.String(),
	})
	b.referralSettings.put(cur, rs, b.seq)
	b.report(walletd.ObjReferralSettings, cur, rs)
	return nil
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
	rule := &walletd.CashbackRule{ID: b.w.cfg.NewID("cbr"), Currency: cur, Percent: p, CreatedAt: b.now}
	if rule.MaxAmount, err = optionalAmount("max_amount", c.MaxAmount, s); err != nil {
		return err
	} else if rule.MinOrderTotal, err = optionalAmount("min_order_total", c.MinOrderTotal, s); err != nil {
		return err
	}
	b.config(r, walletd.ObjCashbackRule, cur, map[string]string{
		"id": rule.ID, "percent": rule.Percent.String(), "max_amount": rule.MaxAmount.String(), "min_order_total": rule.MinOrderTotal.String(),
	})
	b.cashbackRules.put(rule.ID, rule, b.seq)
	b.report(walletd.ObjCashbackRule, rule.ID, rule)
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
		if m.Threshold, err = optionalAmount("threshold", c.Threshold, s); err != nil {
			return err
		}
	case walletd.MetricOrderCount:
		n, err := strconv.Atoi(c.Threshold)
		if err != nil || n < 1 || n > 1_000_000_000 || strconv.Itoa(n) != c.Threshold {
			return walletd.Errorf(walletd.EInvalid, "threshold of an order_count milestone must be a whole number of orders, 1 or more.")
		}
		m.Threshold = walletd.NewMoney(decimal.NewFromInt(int64(n)), 0)
	default:
		return walletd.Errorf(walletd.EInvalid, "metric must be lifetime_spend or order_count.")
	}
	if !m.Threshold.IsSet() {
		return walletd.Errorf(walletd.EInvalid, "threshold is required.")
	}
	if m.Reward, err = optionalAmount("reward", c.Reward, s); err != nil {
		return err
	} else if !m.Reward.IsSet() {
		return walletd.Errorf(walletd.EInvalidAmount, "reward is required.")
	}
	b.config(r, walletd.ObjMilestone, cur, map[string]string{
		"id": m.ID, "name": m.Name, "metric": m.Metric, "threshold": m.Threshold.String(), "reward": m.Reward.String(),
	})
	b.milestones.put(m.ID, m, b.seq)
	b.report(walletd.ObjMilestone, m.ID, m)
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
	if prev := b.referrals.get(c.RefereeUserID); prev != nil {
		return walletd.Errorf(walletd.EConflict, "User %q was already referred by %q.", c.RefereeUserID, prev.ReferrerUserID)
	}
	ref := &walletd.Referral{ID: b.w.cfg.NewID("ref"), ReferrerUserID: c.ReferrerUserID, RefereeUserID: c.RefereeUserID,
		Status: walletd.StatusPending, CreatedAt: b.now}
	b.config(r, walletd.ObjReferral, "", map[string]string{
		"id": ref.ID, "referrer_user_id": ref.ReferrerUserID, "referee_user_id": ref.RefereeUserID,
	})
	b.referrals.put(ref.RefereeUserID, ref, b.seq)
	b.report(walletd.ObjReferral, ref.RefereeUserID, ref)
	return nil
}

// reward credits amount to w (the batch's own copy) for a reward.
// Returns EInvalidAmount if it would take the balance to the maximum.
func (b *batch) reward(r *request, w *walletd.Wallet, typ string, amount decimal.Decimal, reason, orderID, meta string) (*walletd.Entry, error) {
	if w.Balance.Add(amount).GreaterThanOrEqual(maxBalance) {
		return nil, walletd.Errorf(walletd.EInvalidAmount, "The reward would take wallet %s above the maximum balance.", w.ID)
	}
	w.Balance = w.Balance.Add(amount)
	return b.record(r, w, walletd.KindCredit, typ, amount, reason, orderID, meta), nil
}

// rewardOrder is what the rewards need of a completed order, whether a
// ShopOrder or an order completion of the old route (walletd.Order): the
// order id its reward entries name (Entry.OrderID, and the reasons), the
// customer, the currency, the total, and the awards to add to.
type rewardOrder struct {
	ref      string
	userID   string
	currency string
	total    walletd.Money
	awards   *[]walletd.Award
}

// award adds the credit e to the order's awards.
func (o *rewardOrder) award(kind string, e *walletd.Entry, w *walletd.Wallet, amount decimal.Decimal, scale int32, ref string) {
	*o.awards = append(*o.awards, walletd.Award{Kind: kind, TransactionID: e.ID, WalletID: w.ID, UserID: w.UserID,
		Amount: walletd.NewMoney(amount, scale), Ref: ref})
}

// completeRewards applies the rules to an order completed now, once: the
// user's totals count it, then the best cashback rule, the milestones the
// totals reach and the referral rewards are credited, w (the batch's own
// copy of the order's wallet) earning all but the referrer's.
func (b *batch) completeRewards(r *request, o *rewardOrder, w *walletd.Wallet, s int32) error {
	statsKey := o.userID + "/" + o.currency
	stats := walletd.UserStats{UserID: o.userID, Currency: o.currency}
	if prev := b.userStats.get(statsKey); prev != nil {
		stats = *prev
	}
	total := o.total.Decimal()
	stats.LifetimeSpend = walletd.NewMoney(stats.LifetimeSpend.Decimal().Add(total), s)
	stats.OrderCount++
	b.userStats.put(statsKey, &stats, b.seq)

	if err := b.awardCashback(r, o, w, total, s); err != nil {
		return err
	} else if err := b.awardMilestones(r, o, w, &stats, s); err != nil {
		return err
	}
	return b.awardReferral(r, o, w, total, s)
}

// reverseCashback takes back the cashback awards among awards, each from
// the wallet it credited, as far as that wallet's available funds go:
// walletd never takes available below zero. The reversals are added to
// o's awards.
func (b *batch) reverseCashback(r *request, o *rewardOrder, awards []walletd.Award) {
	for _, a := range awards {
		if a.Kind != walletd.AwardCashback {
			continue
		}
		if b.wallet(a.WalletID) == nil { // it could not be read: the command fails (b.loadErr)
			return
		}
		w := b.mutable(a.WalletID)
		s := b.scale(w.Currency)
		amt := decimal.Min(a.Amount.Decimal(), w.Available())
		if !amt.IsPositive() {
			continue
		}
		w.Balance = w.Balance.Sub(amt)
		reason := "Cashback reversed: order " + o.ref + " refunded"
		unrecovered := a.Amount.Decimal().Sub(amt)
		e := b.record(r, w, walletd.KindDebit, walletd.TypeCashbackReversal, amt, reason, o.ref, sysMeta(walletd.FlowCashbackReversal,
			"cashback_transaction_id", a.TransactionID, "unrecovered", nonZero(unrecovered, s)))
		o.award(walletd.AwardCashbackReversal, e, w, amt, s, a.TransactionID)
		b.afterDebit(r, w)
	}
}

// awardCashback credits w, the order's wallet, the best of the cashback
// rules the order qualifies for.
func (b *batch) awardCashback(r *request, o *rewardOrder, w *walletd.Wallet, total decimal.Decimal, s int32) error {
	var best *walletd.CashbackRule
	var bestAmt decimal.Decimal
	for _, id := range b.cashbackRules.ids() {
		rule := b.cashbackRules.get(id)
		if rule.Currency != o.currency || rule.MinOrderTotal.IsSet() && total.LessThan(rule.MinOrderTotal.Decimal()) {
			continue
		}
		amt := total.Mul(rule.Percent).Div(decimal.NewFromInt(100)).RoundDown(s)
		if rule.MaxAmount.IsSet() && amt.GreaterThan(rule.MaxAmount.Decimal()) {
			amt = rule.MaxAmount.Decimal()
		}
		if amt.GreaterThan(bestAmt) {
			best, bestAmt = rule, amt
		}
	}
	if best == nil {
		return nil
	}
	e, err := b.reward(r, w, walletd.TypeCashback, bestAmt, fmt.Sprintf("%s%% cashback on order %s", best.Percent, o.ref), o.ref,
		sysMeta(walletd.FlowCashback, "rule_id", best.ID, "percent", best.Percent.String(), "order_total", o.total.String()))
	if err != nil {
		return err
	}
	o.award(walletd.AwardCashback, e, w, bestAmt, s, best.ID)
	return nil
}

// awardMilestones credits w, the order's wallet, the milestones the user's
// totals with this order reach, once per user and milestone.
func (b *batch) awardMilestones(r *request, o *rewardOrder, w *walletd.Wallet, stats *walletd.UserStats, s int32) error {
	for _, id := range b.milestones.ids() {
		m := b.milestones.get(id)
		awardKey := m.ID + "/" + o.userID
		if m.Currency != o.currency || b.milestoneAwards.get(awardKey) != nil {
			continue
		}
		reached := false
		switch m.Metric {
		case walletd.MetricLifetimeSpend:
			reached = !stats.LifetimeSpend.Decimal().LessThan(m.Threshold.Decimal())
		case walletd.MetricOrderCount:
			reached = !decimal.NewFromInt(int64(stats.OrderCount)).LessThan(m.Threshold.Decimal())
		}
		if !reached {
			continue
		}
		e, err := b.reward(r, w, walletd.TypeMilestone, m.Reward.Decimal(), "Milestone: "+m.Name, o.ref,
			sysMeta(walletd.FlowMilestone, "milestone_id", m.ID, "milestone_name", m.Name, "metric", m.Metric, "threshold", m.Threshold.String()))
		if err != nil {
			return err
		}
		b.milestoneAwards.put(awardKey, &walletd.MilestoneAward{MilestoneID: m.ID, UserID: o.userID, OrderID: o.ref, TransactionID: e.ID, CreatedAt: b.now}, b.seq)
		o.award(walletd.AwardMilestone, e, w, m.Reward.Decimal(), s, m.ID)
	}
	return nil
}

// awardReferral rewards the referee (w, the order's wallet) and the
// referrer, in the order's currency, on the referee's first qualifying
// order, once.
func (b *batch) awardReferral(r *request, o *rewardOrder, w *walletd.Wallet, total decimal.Decimal, s int32) error {
	ref := b.referrals.get(o.userID)
	if ref == nil || ref.Status != walletd.StatusPending {
		return nil
	}
	rs := b.referralSettings.get(o.currency)
	if rs == nil || rs.MinOrderTotal.IsSet() && total.LessThan(rs.MinOrderTotal.Decimal()) {
		return nil
	}
	meta := func(role string) string {
		return sysMeta(walletd.FlowReferral, "referral_id", ref.ID, "referral_role", role,
			"referrer_user_id", ref.ReferrerUserID, "referee_user_id", ref.RefereeUserID)
	}
	if amt := rs.RefereeReward.Decimal(); amt.IsPositive() {
		e, err := b.reward(r, w, walletd.TypeReferral, amt, "Referral reward: referred by "+ref.ReferrerUserID, o.ref, meta("referee"))
		if err != nil {
			return err
		}
		o.award(walletd.AwardReferee, e, w, amt, s, ref.ID)
	}
	if amt := rs.ReferrerReward.Decimal(); amt.IsPositive() {
		// The referrer is rewarded in the order's currency, if they hold
		// a wallet in it.
		if rid := b.walletOf(ref.ReferrerUserID, o.currency); rid != "" {
			rw := b.mutable(rid)
			e, err := b.reward(r, rw, walletd.TypeReferral, amt, "Referral reward: referred "+ref.RefereeUserID, o.ref, meta("referrer"))
			if err != nil {
				return err
			}
			o.award(walletd.AwardReferrer, e, rw, amt, s, ref.ID)
		}
	}
	next := *ref
	next.Status, next.OrderID, next.RewardedAt = "rewarded", o.ref, b.now
	b.referrals.put(ref.RefereeUserID, &next, b.seq)
	return nil
}

// nonZero formats d at scale, or "" (left out of metadata) when it is zero.
func nonZero(d decimal.Decimal, scale int32) string {
	if d.IsZero() {
		return ""
	}
	return walletd.FormatAmount(d, scale)
}
