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

// DecodeObject decodes stored object data of kind into its type.
func DecodeObject(kind string, data []byte) (any, error) {
	var v any
	switch kind {
	case ObjTopup:
		v = new(Topup)
	case ObjWithdrawal:
		v = new(Withdrawal)
	case ObjCode:
		v = new(RedemptionCode)
	case ObjCodeIndex:
		v = new(CodeIndex)
	case ObjRedemption:
		v = new(Redemption)
	case ObjCashbackRule:
		v = new(CashbackRule)
	case ObjMilestone:
		v = new(Milestone)
	case ObjMilestoneAward:
		v = new(MilestoneAward)
	case ObjReferral:
		v = new(Referral)
	case ObjKYCSettings:
		v = new(KYCSettings)
	case ObjReferralSettings:
		v = new(ReferralSettings)
	case ObjOrder:
		v = new(Order)
	case ObjUserStats:
		v = new(UserStats)
	default:
		return nil, fmt.Errorf("unknown object kind %q", kind)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return nil, err
	}
	return v, nil
}
