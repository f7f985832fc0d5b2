package walletd

import (
	"time"

	"github.com/shopspring/decimal"
)

// KYCSettings gate outgoing operations of wallets of one currency whose
// KYC status is not verified: a single operation above Threshold, or one
// that takes the wallet's outgoing total above CumulativeThreshold.
type KYCSettings struct {
	Currency            string    `json:"currency"`
	Threshold           Money     `json:"threshold"`
	CumulativeThreshold Money     `json:"cumulative_threshold"` // none: no cumulative threshold
	UpdatedAt           time.Time `json:"updated_at"`
}

// ReferralSettings are the rewards of a referral in one currency.
type ReferralSettings struct {
	Currency       string    `json:"currency"`
	ReferrerReward Money     `json:"referrer_reward"` // may be zero
	RefereeReward  Money     `json:"referee_reward"`  // may be zero
	MinOrderTotal  Money     `json:"min_order_total"` // none: any order qualifies
	UpdatedAt      time.Time `json:"updated_at"`
}

// CashbackRule pays Percent of a qualifying order's total back, at most
// MaxAmount, for orders of at least MinOrderTotal.
type CashbackRule struct {
	ID            string          `json:"id"`
	Currency      string          `json:"currency"`
	Percent       decimal.Decimal `json:"percent"`         // above 0, at most 100; stored in its shortest form ("2.5")
	MaxAmount     Money           `json:"max_amount"`      // none: no cap
	MinOrderTotal Money           `json:"min_order_total"` // none: any order qualifies
	CreatedAt     time.Time       `json:"created_at"`
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
	Threshold Money     `json:"threshold"` // an amount, or for MetricOrderCount a whole number of orders
	Reward    Money     `json:"reward"`
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
	LifetimeSpend Money  `json:"lifetime_spend"`
	OrderCount    int    `json:"order_count"`
}

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
	Amount        Money  `json:"amount"`
	Ref           string `json:"ref"` // the rule, milestone or referral
}
