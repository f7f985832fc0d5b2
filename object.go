package walletd

import (
	"encoding/json"
	"fmt"
)

// Object kinds: the state the writer keeps besides wallets. Each is stored
// as JSON in ledger.db and restored at start-up; none is replayed.
const (
	ObjTopup            = "topup"
	ObjWithdrawal       = "withdrawal"
	ObjCode             = "redemption_code"       // keyed by id
	ObjCodeIndex        = "redemption_code_index" // keyed by the code
	ObjRedemption       = "redemption"            // one user's redemption of a per-user-once code
	ObjCashbackRule     = "cashback_rule"
	ObjMilestone        = "milestone"
	ObjMilestoneAward   = "milestone_award" // one user's award of a milestone
	ObjReferral         = "referral"        // keyed by the referee's user id
	ObjKYCSettings      = "kyc_settings"    // keyed by currency
	ObjReferralSettings = "referral_settings"
	ObjOrder            = "order"
	ObjUserStats        = "user_stats" // keyed by user id and currency
)

// objectTypes makes a new value of each object kind, for DecodeObject.
var objectTypes = map[string]func() any{
	ObjTopup:            func() any { return new(Topup) },
	ObjWithdrawal:       func() any { return new(Withdrawal) },
	ObjCode:             func() any { return new(RedemptionCode) },
	ObjCodeIndex:        func() any { return new(CodeIndex) },
	ObjRedemption:       func() any { return new(Redemption) },
	ObjCashbackRule:     func() any { return new(CashbackRule) },
	ObjMilestone:        func() any { return new(Milestone) },
	ObjMilestoneAward:   func() any { return new(MilestoneAward) },
	ObjReferral:         func() any { return new(Referral) },
	ObjKYCSettings:      func() any { return new(KYCSettings) },
	ObjReferralSettings: func() any { return new(ReferralSettings) },
	ObjOrder:            func() any { return new(Order) },
	ObjUserStats:        func() any { return new(UserStats) },
}

// DecodeObject decodes stored object data of kind into a pointer to its
// type (*Topup for ObjTopup …), for readers of the stored objects. Amounts
// are read strictly (Money.UnmarshalText): a malformed one is an error.
func DecodeObject(kind string, data []byte) (any, error) {
	mk, ok := objectTypes[kind]
	if !ok {
		return nil, fmt.Errorf("unknown object kind %q", kind)
	}
	v := mk()
	if err := json.Unmarshal(data, v); err != nil {
		return nil, err
	}
	return v, nil
}
