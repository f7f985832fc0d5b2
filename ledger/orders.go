package ledger

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/shopspring/decimal"
)

// KYCSettings gate outgoing operations of wallets of one currency whose
// KYC status is not verified: a single operation above Threshold, or one
// that takes the wallet's outgoing total above CumulativeThreshold.
type KYCSettings struct {
	Currency            string    `json:"currency"`
	Threshold           string    `json:"threshold"`
	CumulativeThreshold string    `json:"cumulative_threshold"`
	UpdatedAt           time.Time `json:"updated_at"`
}

// ReferralSettings are the rewards of a referral in one currency.
type ReferralSettings struct {
	Currency       string    `json:"currency"`
	ReferrerReward string    `json:"referrer_reward"`
	RefereeReward  string    `json:"referee_reward"`
	MinOrderTotal  string    `json:"min_order_total"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// CashbackRule pays Percent of a qualifying order's total back, at most
// MaxAmount, for orders of at least MinOrderTotal.
type CashbackRule struct {
	ID            string    `json:"id"`
	Currency      string    `json:"currency"`
	Percent       string    `json:"percent"`
	MaxAmount     string    `json:"max_amount"`
	MinOrderTotal string    `json:"min_order_total"`
	CreatedAt     time.Time `json:"created_at"`
}

// Milestone metrics.
const (
	MetricLifetimeSpend = "lifetime_spend"
	MetricOrderCount    = "order_count"
)

// Milestone rewards a user once, when a metric of their completed orders
// in Currency reaches Threshold.
type Milestone struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Metric    string    `json:"metric"`
	Threshold string    `json:"threshold"`
	Reward    string    `json:"reward"`
	Currency  string    `json:"currency"`
	CreatedAt time.Time `json:"created_at"`
}

// MilestoneAward records that a user got a milestone's reward.
type MilestoneAward struct {
	MilestoneID   string    `json:"milestone_id"`
	UserID        string    `json:"user_id"`
	OrderID       string    `json:"order_id"`
	TransactionID string    `json:"transaction_id"`
	CreatedAt     time.Time `json:"created_at"`
}

// Referral links a referee to the user who referred them. It is rewarded
// once, on the referee's first qualifying order.
type Referral struct {
	ID             string    `json:"id"`
	ReferrerUserID string    `json:"referrer_user_id"`
	RefereeUserID  string    `json:"referee_user_id"`
	Status         string    `json:"status"` // pending or rewarded
	OrderID        string    `json:"order_id"`
	CreatedAt      time.Time `json:"created_at"`
	RewardedAt     time.Time `json:"rewarded_at,omitzero"`
}

// UserStats are a user's completed orders in one currency.
type UserStats struct {
	UserID        string `json:"user_id"`
	Currency      string `json:"currency"`
	LifetimeSpend string `json:"lifetime_spend"`
	OrderCount    int    `json:"order_count"`
}

// MaxItemsBytes bounds the items an order completion may carry.
const MaxItemsBytes = 16 << 10

// Award kinds of an order.
const (
	AwardCashback         = "cashback"
	AwardCashbackReversal = "cashback_reversal"
	AwardMilestone        = "milestone"
	AwardReferee          = "referral_referee"
	AwardReferrer         = "referral_referrer"
)

// Award is one credit (or reversal) an order caused.
type Award struct {
	Kind          string `json:"kind"`
	TransactionID string `json:"transaction_id"`
	WalletID      string `json:"wallet_id"`
	UserID        string `json:"user_id"`
	Amount        string `json:"amount"`
	Ref           string `json:"ref"` // the rule, milestone or referral
}

// Order is a storefront order walletd completed (and maybe refunded).
type Order struct {
	ID          string          `json:"order_id"`
	UserID      string          `json:"user_id"`
	WalletID    string          `json:"wallet_id"`
	Total       string          `json:"total"`
	Currency    string          `json:"currency"`
	Items       json.RawMessage `json:"items,omitempty"`
	Status      string          `json:"status"` // completed or refunded
	Awards      []Award         `json:"awards"`
	CompletedAt time.Time       `json:"completed_at"`
	RefundedAt  time.Time       `json:"refunded_at,omitzero"`
	// Fingerprint identifies the completion request, so a repeat with
	// other terms is told apart from a retry.
	Fingerprint string `json:"fingerprint"`
}

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

func (*SetKYCSettings) op() string      { return "set_kyc_settings" }
func (*SetReferralSettings) op() string { return "set_referral_settings" }
func (*CreateCashbackRule) op() string  { return "create_cashback_rule" }
func (*CreateMilestone) op() string     { return "create_milestone" }
func (*CreateReferral) op() string      { return "create_referral" }
func (*CompleteOrder) op() string       { return "complete_order" }
func (*RefundOrder) op() string         { return "refund_order" }

// Settings are keyed by currency; the entry names it even when the
// request left it to the default.
func (c *SetKYCSettings) objectRef(es []*Entry) (string, string) {
	return ObjKYCSettings, es[0].Currency
}
func (c *SetReferralSettings) objectRef(es []*Entry) (string, string) {
	return ObjReferralSettings, es[0].Currency
}
func (c *CreateCashbackRule) objectRef(es []*Entry) (string, string) {
	return ObjCashbackRule, metaOf(es[0])["id"]
}
func (c *CreateMilestone) objectRef(es []*Entry) (string, string) {
	return ObjMilestone, metaOf(es[0])["id"]
}
func (c *CreateReferral) objectRef([]*Entry) (string, string) { return ObjReferral, c.RefereeUserID }
func (c *CompleteOrder) objectRef([]*Entry) (string, string)  { return ObjOrder, c.OrderID }
func (c *RefundOrder) objectRef([]*Entry) (string, string)    { return ObjOrder, c.OrderID }

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
	ks := &KYCSettings{Currency: cur, UpdatedAt: b.now}
	if ks.Threshold, err = parseOptionalAmount("threshold", c.Threshold, s); err != nil {
		return err
	} else if ks.Threshold == "" {
		return Errorf(EInvalidAmount, "threshold is required.")
	}
	if ks.CumulativeThreshold, err = parseOptionalAmount("cumulative_threshold", c.CumulativeThreshold, s); err != nil {
		return err
	}
	b.config(r, ObjKYCSettings, cur, map[string]string{"threshold": ks.Threshold, "cumulative_threshold": ks.CumulativeThreshold})
	b.put(ObjKYCSettings, cur, ks)
	b.current = ks
	return nil
}

// parseReward parses an amount that may be zero ("0", "0.00") or absent.
func parseReward(field, v string, scale int32) (string, error) {
	if v == "" || checkAmountSyntax(v, scale) == nil && dec(v).IsZero() {
		return FormatAmount(decimal.Zero, scale), nil
	}
	return parseOptionalAmount(field, v, scale)
}

func (c *SetReferralSettings) apply(b *batch, r *request) error {
	cur := c.Currency
	s, err := b.currency(&cur)
	if err != nil {
		return err
	}
	rs := &ReferralSettings{Currency: cur, UpdatedAt: b.now}
	if rs.ReferrerReward, err = parseReward("referrer_reward", c.ReferrerReward, s); err != nil {
		return err
	} else if rs.RefereeReward, err = parseReward("referee_reward", c.RefereeReward, s); err != nil {
		return err
	} else if rs.MinOrderTotal, err = parseOptionalAmount("min_order_total", c.MinOrderTotal, s); err != nil {
		return err
	}
	if dec(rs.ReferrerReward).IsZero() && dec(rs.RefereeReward).IsZero() {
		return Errorf(EInvalidAmount, "At least one of referrer_reward and referee_reward must be above zero.")
	}
	b.config(r, ObjReferralSettings, cur, map[string]string{
		"referrer_reward": rs.ReferrerReward, "referee_reward": rs.RefereeReward, "min_order_total": rs.MinOrderTotal,
	})
	b.put(ObjReferralSettings, cur, rs)
	b.current = rs
	return nil
}

// parsePercent parses a percentage above 0 and at most 100, with at most
// 4 decimals.
func parsePercent(v string) (decimal.Decimal, error) {
	if err := checkAmountSyntax(v, 4); err != nil {
		return decimal.Zero, Errorf(EInvalid, "percent %q must be a plain decimal above 0 and at most 100, with at most 4 decimals.", v)
	}
	p := dec(v)
	if !p.IsPositive() || p.GreaterThan(decimal.NewFromInt(100)) {
		return decimal.Zero, Errorf(EInvalid, "percent %q must be above 0 and at most 100.", v)
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
	rule := &CashbackRule{ID: b.w.cfg.NewID("cbr"), Currency: cur, Percent: p.String(), CreatedAt: b.now}
	if rule.MaxAmount, err = parseOptionalAmount("max_amount", c.MaxAmount, s); err != nil {
		return err
	} else if rule.MinOrderTotal, err = parseOptionalAmount("min_order_total", c.MinOrderTotal, s); err != nil {
		return err
	}
	b.config(r, ObjCashbackRule, cur, map[string]string{
		"id": rule.ID, "percent": rule.Percent, "max_amount": rule.MaxAmount, "min_order_total": rule.MinOrderTotal,
	})
	b.put(ObjCashbackRule, rule.ID, rule)
	b.current = rule
	return nil
}

func (c *CreateMilestone) apply(b *batch, r *request) error {
	if err := checkText("name", c.Name, 200, true); err != nil {
		return err
	}
	cur := c.Currency
	s, err := b.currency(&cur)
	if err != nil {
		return err
	}
	m := &Milestone{ID: b.w.cfg.NewID("mil"), Name: c.Name, Metric: c.Metric, Currency: cur, CreatedAt: b.now}
	switch c.Metric {
	case MetricLifetimeSpend:
		if m.Threshold, err = parseOptionalAmount("threshold", c.Threshold, s); err != nil {
			return err
		}
	case MetricOrderCount:
		n, err := strconv.Atoi(c.Threshold)
		if err != nil || n < 1 || n > 1_000_000_000 || strconv.Itoa(n) != c.Threshold {
			return Errorf(EInvalid, "threshold of an order_count milestone must be a whole number of orders, 1 or more.")
		}
		m.Threshold = c.Threshold
	default:
		return Errorf(EInvalid, "metric must be lifetime_spend or order_count.")
	}
	if m.Threshold == "" {
		return Errorf(EInvalid, "threshold is required.")
	}
	if m.Reward, err = parseOptionalAmount("reward", c.Reward, s); err != nil {
		return err
	} else if m.Reward == "" {
		return Errorf(EInvalidAmount, "reward is required.")
	}
	b.config(r, ObjMilestone, cur, map[string]string{
		"id": m.ID, "name": m.Name, "metric": m.Metric, "threshold": m.Threshold, "reward": m.Reward,
	})
	b.put(ObjMilestone, m.ID, m)
	b.current = m
	return nil
}

func (c *CreateReferral) apply(b *batch, r *request) error {
	if err := checkText("referrer_user_id", c.ReferrerUserID, MaxUserIDLen, true); err != nil {
		return err
	} else if err := checkText("referee_user_id", c.RefereeUserID, MaxUserIDLen, true); err != nil {
		return err
	} else if c.ReferrerUserID == c.RefereeUserID {
		return Errorf(EInvalid, "A user cannot refer themselves.")
	}
	if prev, _ := b.obj(ObjReferral, c.RefereeUserID).(*Referral); prev != nil {
		return Errorf(EConflict, "User %q was already referred by %q.", c.RefereeUserID, prev.ReferrerUserID)
	}
	ref := &Referral{ID: b.w.cfg.NewID("ref"), ReferrerUserID: c.ReferrerUserID, RefereeUserID: c.RefereeUserID,
		Status: StatusPending, CreatedAt: b.now}
	b.config(r, ObjReferral, "", map[string]string{
		"id": ref.ID, "referrer_user_id": ref.ReferrerUserID, "referee_user_id": ref.RefereeUserID,
	})
	b.put(ObjReferral, ref.RefereeUserID, ref)
	b.current = ref
	return nil
}

// ---------------------------------------------------------------------------
// Orders

// credit credits amount to w (the batch's own copy) for a reward.
func (b *batch) reward(r *request, w *Wallet, typ string, amount decimal.Decimal, reason, orderID, meta string) (*Entry, error) {
	if w.Balance.Add(amount).GreaterThanOrEqual(maxBalance) {
		return nil, Errorf(EInvalidAmount, "The reward would take wallet %s above the maximum balance.", w.ID)
	}
	w.Balance = w.Balance.Add(amount)
	return b.record(r, w, KindCredit, typ, amount, reason, orderID, meta), nil
}

func (c *CompleteOrder) apply(b *batch, r *request) error {
	if err := checkText("order_id", c.OrderID, MaxOrderIDLen, true); err != nil {
		return err
	} else if err := checkText("user_id", c.UserID, MaxUserIDLen, true); err != nil {
		return err
	}
	s, err := b.w.cfg.Currencies.Scale(c.Currency)
	if err != nil {
		return err
	}
	total, err := ParseAmount(c.Total, s)
	if err != nil {
		return err
	}
	items, err := compactItems(c.Items)
	if err != nil {
		return err
	}
	fp := Fingerprint(&CompleteOrder{OrderID: c.OrderID, UserID: c.UserID, Total: FormatAmount(total, s), Currency: c.Currency, Items: items})
	if prev, _ := b.obj(ObjOrder, c.OrderID).(*Order); prev != nil {
		if prev.Fingerprint != fp {
			return Errorf(EConflict, "Order %q was already completed with other terms (user %s, total %s %s).",
				c.OrderID, prev.UserID, prev.Total, prev.Currency)
		}
		b.current = prev
		b.repeat = true
		return nil
	}
	walletID := b.walletOf(c.UserID, c.Currency)
	if walletID == "" {
		return Errorf(ENotFound, "User %q has no %s wallet.", c.UserID, c.Currency)
	}
	o := &Order{ID: c.OrderID, UserID: c.UserID, WalletID: walletID, Total: FormatAmount(total, s), Currency: c.Currency,
		Items: items, Status: StatusCompleted, CompletedAt: b.now, Fingerprint: fp, Awards: []Award{}}
	w := b.mutable(walletID)
	b.record(r, w, KindNote, TypeOrderCompleted, total, "", c.OrderID, sysMeta(FlowOrder))

	// The user's totals, with this order.
	statsKey := c.UserID + "/" + c.Currency
	stats := UserStats{UserID: c.UserID, Currency: c.Currency}
	if prev, _ := b.obj(ObjUserStats, statsKey).(*UserStats); prev != nil {
		stats = *prev
	}
	stats.LifetimeSpend = FormatAmount(dec(stats.LifetimeSpend).Add(total), s)
	stats.OrderCount++
	b.put(ObjUserStats, statsKey, &stats)

	// Cashback: the best of the rules the order qualifies for.
	var best *CashbackRule
	var bestAmt decimal.Decimal
	for _, id := range b.ids(ObjCashbackRule) {
		rule := b.obj(ObjCashbackRule, id).(*CashbackRule)
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
		e, err := b.reward(r, w, TypeCashback, bestAmt, fmt.Sprintf("%s%% cashback on order %s", best.Percent, c.OrderID), c.OrderID,
			sysMeta(FlowCashback, "rule_id", best.ID, "percent", best.Percent, "order_total", o.Total))
		if err != nil {
			return err
		}
		o.Awards = append(o.Awards, Award{Kind: AwardCashback, TransactionID: e.ID, WalletID: w.ID, UserID: w.UserID, Amount: e.Amount, Ref: best.ID})
	}

	// Milestones reached by this order, once per user.
	for _, id := range b.ids(ObjMilestone) {
		m := b.obj(ObjMilestone, id).(*Milestone)
		awardKey := m.ID + "/" + c.UserID
		if m.Currency != c.Currency || b.obj(ObjMilestoneAward, awardKey) != nil {
			continue
		}
		reached := false
		switch m.Metric {
		case MetricLifetimeSpend:
			reached = !dec(stats.LifetimeSpend).LessThan(dec(m.Threshold))
		case MetricOrderCount:
			n, _ := strconv.Atoi(m.Threshold)
			reached = stats.OrderCount >= n
		}
		if !reached {
			continue
		}
		e, err := b.reward(r, w, TypeMilestone, dec(m.Reward), "Milestone: "+m.Name, c.OrderID,
			sysMeta(FlowMilestone, "milestone_id", m.ID, "milestone_name", m.Name, "metric", m.Metric, "threshold", m.Threshold))
		if err != nil {
			return err
		}
		b.put(ObjMilestoneAward, awardKey, &MilestoneAward{MilestoneID: m.ID, UserID: c.UserID, OrderID: c.OrderID, TransactionID: e.ID, CreatedAt: b.now})
		o.Awards = append(o.Awards, Award{Kind: AwardMilestone, TransactionID: e.ID, WalletID: w.ID, UserID: w.UserID, Amount: e.Amount, Ref: m.ID})
	}

	// Referral: the referee's first qualifying order rewards both, once.
	if ref, _ := b.obj(ObjReferral, c.UserID).(*Referral); ref != nil && ref.Status == StatusPending {
		if rs, _ := b.obj(ObjReferralSettings, c.Currency).(*ReferralSettings); rs != nil &&
			(rs.MinOrderTotal == "" || !total.LessThan(dec(rs.MinOrderTotal))) {
			meta := func(role string) string {
				return sysMeta(FlowReferral, "referral_id", ref.ID, "referral_role", role,
					"referrer_user_id", ref.ReferrerUserID, "referee_user_id", ref.RefereeUserID)
			}
			if amt := dec(rs.RefereeReward); amt.IsPositive() {
				e, err := b.reward(r, w, TypeReferral, amt, "Referral reward: referred by "+ref.ReferrerUserID, c.OrderID, meta("referee"))
				if err != nil {
					return err
				}
				o.Awards = append(o.Awards, Award{Kind: AwardReferee, TransactionID: e.ID, WalletID: w.ID, UserID: w.UserID, Amount: e.Amount, Ref: ref.ID})
			}
			if amt := dec(rs.ReferrerReward); amt.IsPositive() {
				// The referrer is rewarded in the order's currency, if
				// they hold a wallet in it.
				if rid := b.walletOf(ref.ReferrerUserID, c.Currency); rid != "" {
					rw := b.mutable(rid)
					e, err := b.reward(r, rw, TypeReferral, amt, "Referral reward: referred "+ref.RefereeUserID, c.OrderID, meta("referrer"))
					if err != nil {
						return err
					}
					o.Awards = append(o.Awards, Award{Kind: AwardReferrer, TransactionID: e.ID, WalletID: rw.ID, UserID: rw.UserID, Amount: e.Amount, Ref: ref.ID})
				}
			}
			next := *ref
			next.Status, next.OrderID, next.RewardedAt = "rewarded", c.OrderID, b.now
			b.put(ObjReferral, ref.RefereeUserID, &next)
		}
	}
	b.put(ObjOrder, o.ID, o)
	b.current = o
	return nil
}

// compactItems returns an order's items as compact JSON, so that their
// layout is not part of the order's terms; null is no items.
func compactItems(items json.RawMessage) (json.RawMessage, error) {
	if len(items) == 0 || string(items) == "null" {
		return nil, nil
	} else if len(items) > MaxItemsBytes {
		return nil, Errorf(EInvalid, "items is larger than %d bytes.", MaxItemsBytes)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, items); err != nil {
		return nil, Errorf(EInvalid, "items is not valid JSON.")
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
	if err := checkText("reason", c.Reason, MaxReasonLen, false); err != nil {
		return err
	}
	prev, _ := b.obj(ObjOrder, c.OrderID).(*Order)
	if prev == nil {
		return Errorf(ENotFound, "Order %q not found.", c.OrderID)
	} else if prev.Status != StatusCompleted {
		return Errorf(EConflict, "Order %s is already %s.", c.OrderID, prev.Status)
	}
	o := *prev
	o.Awards = append([]Award(nil), prev.Awards...)
	cur, err := b.walletOr404(o.WalletID)
	if err != nil {
		return err
	}
	w := b.mutable(cur.ID)
	b.record(r, w, KindNote, TypeOrderRefunded, dec(o.Total), c.Reason, o.ID, sysMeta(FlowOrder))
	// Reverse the cashback, as far as the wallet's available funds go:
	// walletd never takes available below zero.
	for _, a := range prev.Awards {
		if a.Kind != AwardCashback {
			continue
		}
		amt := decimal.Min(dec(a.Amount), w.Available())
		if !amt.IsPositive() {
			continue
		}
		w.Balance = w.Balance.Sub(amt)
		reason := "Cashback reversed: order " + o.ID + " refunded"
		unrecovered := dec(a.Amount).Sub(amt)
		e := b.record(r, w, KindDebit, TypeCashbackReversal, amt, reason, o.ID, sysMeta(FlowCashbackReversal,
			"cashback_transaction_id", a.TransactionID, "unrecovered", nonZero(unrecovered, b.scale(w.Currency))))
		o.Awards = append(o.Awards, Award{Kind: AwardCashbackReversal, TransactionID: e.ID, WalletID: w.ID, UserID: w.UserID, Amount: e.Amount, Ref: a.TransactionID})
		b.afterDebit(r, w)
	}
	o.Status, o.RefundedAt = StatusRefunded, b.now
	b.put(ObjOrder, o.ID, &o)
	b.current = &o
	return nil
}

func nonZero(d decimal.Decimal, scale int32) string {
	if d.IsZero() {
		return ""
	}
	return FormatAmount(d, scale)
}
