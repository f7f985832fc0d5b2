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
	ObjOrder            = "order"      // an order completion of the old complete route, keyed by the storefront's order id
	ObjUserStats        = "user_stats" // keyed by user id and currency
	ObjShopOrder        = "shop_order" // keyed by IntKey(id)
	ObjOrderRef         = "order_ref"  // keyed by OrderRefKey(source, external_id)
	ObjPaymentRef       = "payment_ref"
	ObjSequence         = "sequence" // keyed by the sequence's name
	ObjProduct          = "product"  // keyed by IntKey(id)
	ObjVariation        = "variation"
	ObjSKU              = "sku" // keyed by the SKU
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
	ObjShopOrder:        func() any { return new(ShopOrder) },
	ObjOrderRef:         func() any { return new(OrderRef) },
	ObjPaymentRef:       func() any { return new(OrderRef) },
	ObjSequence:         func() any { return new(Sequence) },
	ObjProduct:          func() any { return new(Product) },
	ObjVariation:        func() any { return new(Variation) },
	ObjSKU:              func() any { return new(SKUIndex) },
	ObjResetFeeKey:      func() any { return new(ResetFeeKey) },
	ObjPaymentLink:      func() any { return new(PaymentLink) },
	ObjResetFeeRef:      func() any { return new(ResetFeeRef) },
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
