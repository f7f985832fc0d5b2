package ledger

import (
	"fmt"

	"github.com/walletd/walletd"
)

// state is the writer's state besides the chain: the wallets (those in its
// cache) and every kind of object, each kind in a typed table. Only the run goroutine
// touches it. A batch changes it in place and records in the journal how
// to take each change back, so that a failed command, or a failed commit,
// leaves it exactly as it was.
//
// Objects are persisted as JSON (walletd.StoredObject) and restored at
// start-up; none is replayed from the entries.
type state struct {
	journal journal

	// wallets holds the wallets the writer read or changed, bounded by the
	// cache (walletcache.go); byUser indexes the ones it holds.
	wallets table[walletd.Wallet]
	byUser  map[string]string // userKey(user, currency) → wallet id
	cache   walletCache

	topups           table[walletd.Topup]            // by id
	withdrawals      table[walletd.Withdrawal]       // by id
	codes            table[walletd.RedemptionCode]   // by id
	codeIndex        table[walletd.CodeIndex]        // by the code
	redemptions      table[walletd.Redemption]       // by code + "/" + user id, per-user-once codes only
	cashbackRules    table[walletd.CashbackRule]     // by id
	milestones       table[walletd.Milestone]        // by id
	milestoneAwards  table[walletd.MilestoneAward]   // by milestone id + "/" + user id
	referrals        table[walletd.Referral]         // by the referee's user id
	kycSettings      table[walletd.KYCSettings]      // by currency
	referralSettings table[walletd.ReferralSettings] // by currency
	orders           table[walletd.Order]            // by order id: the old complete route's completions
	userStats        table[walletd.UserStats]        // by user id + "/" + currency
	shopOrders       table[walletd.ShopOrder]        // by IntKey(id)
	orderRefs        table[walletd.OrderRef]         // by OrderRefKey(source, external_id)
	paymentRefs      table[walletd.OrderRef]         // by provider payment reference
	sequences        table[walletd.Sequence]         // by name
	products         table[walletd.Product]          // by IntKey(id)
	variations       table[walletd.Variation]        // by IntKey(id)
	skus             table[walletd.SKUIndex]         // by SKU
	resetFeeKeys     table[walletd.ResetFeeKey]      // by id
	paymentLinks     table[walletd.PaymentLink]      // by IntKey(order id)
	resetFeeRefs     table[walletd.ResetFeeRef]      // by ResetFeeRefKey(account id, variation id)

	// objects lists the object tables by kind, for restoring and persisting.
	objects map[string]objectTable
	// kinds lists the object kinds in the order a commit persists them.
	kinds []string
}

func (s *state) initState() {
	j := &s.journal
	s.wallets = newTable[walletd.Wallet]("wallet", j)
	s.byUser = make(map[string]string)
	s.topups = newTable[walletd.Topup](walletd.ObjTopup, j)
	s.withdrawals = newTable[walletd.Withdrawal](walletd.ObjWithdrawal, j)
	s.codes = newTable[walletd.RedemptionCode](walletd.ObjCode, j)
	s.codeIndex = newTable[walletd.CodeIndex](walletd.ObjCodeIndex, j)
	s.redemptions = newTable[walletd.Redemption](walletd.ObjRedemption, j)
	s.cashbackRules = newTable[walletd.CashbackRule](walletd.ObjCashbackRule, j)
	s.milestones = newTable[walletd.Milestone](walletd.ObjMilestone, j)
	s.milestoneAwards = newTable[walletd.MilestoneAward](walletd.ObjMilestoneAward, j)
	s.referrals = newTable[walletd.Referral](walletd.ObjReferral, j)
	s.kycSettings = newTable[walletd.KYCSettings](walletd.ObjKYCSettings, j)
	s.referralSettings = newTable[walletd.ReferralSettings](walletd.ObjReferralSettings, j)
	s.orders = newTable[walletd.Order](walletd.ObjOrder, j)
	s.userStats = newTable[walletd.UserStats](walletd.ObjUserStats, j)
	s.shopOrders = newTable[walletd.ShopOrder](walletd.ObjShopOrder, j)
	s.orderRefs = newTable[walletd.OrderRef](walletd.ObjOrderRef, j)
	s.paymentRefs = newTable[walletd.OrderRef](walletd.ObjPaymentRef, j)
	s.sequences = newTable[walletd.Sequence](walletd.ObjSequence, j)
	s.products = newTable[walletd.Product](walletd.ObjProduct, j)
	s.variations = newTable[walletd.Variation](walletd.ObjVariation, j)
	s.skus = newTable[walletd.SKUIndex](walletd.ObjSKU, j)
	s.resetFeeKeys = newTable[walletd.ResetFeeKey](walletd.ObjResetFeeKey, j)
	s.paymentLinks = newTable[walletd.PaymentLink](walletd.ObjPaymentLink, j)
	s.resetFeeRefs = newTable[walletd.ResetFeeRef](walletd.ObjResetFeeRef, j)
	s.objects = map[string]objectTable{
		walletd.ObjTopup:            &s.topups,
		walletd.ObjWithdrawal:       &s.withdrawals,
		walletd.ObjCode:             &s.codes,
		walletd.ObjCodeIndex:        &s.codeIndex,
		walletd.ObjRedemption:       &s.redemptions,
		walletd.ObjCashbackRule:     &s.cashbackRules,
		walletd.ObjMilestone:        &s.milestones,
		walletd.ObjMilestoneAward:   &s.milestoneAwards,
		walletd.ObjReferral:         &s.referrals,
		walletd.ObjKYCSettings:      &s.kycSettings,
		walletd.ObjReferralSettings: &s.referralSettings,
		walletd.ObjOrder:            &s.orders,
		walletd.ObjUserStats:        &s.userStats,
		walletd.ObjShopOrder:        &s.shopOrders,
		walletd.ObjOrderRef:         &s.orderRefs,
		walletd.ObjPaymentRef:       &s.paymentRefs,
		walletd.ObjSequence:         &s.sequences,
		walletd.ObjProduct:          &s.products,
		walletd.ObjVariation:        &s.variations,
		walletd.ObjSKU:              &s.skus,
		walletd.ObjResetFeeKey:      &s.resetFeeKeys,
		walletd.ObjPaymentLink:      &s.paymentLinks,
		walletd.ObjResetFeeRef:      &s.resetFeeRefs,
	}
	s.kinds = []string{
		walletd.ObjTopup, walletd.ObjWithdrawal, walletd.ObjCode, walletd.ObjCodeIndex, walletd.ObjRedemption,
		walletd.ObjCashbackRule, walletd.ObjMilestone, walletd.ObjMilestoneAward, walletd.ObjReferral,
		walletd.ObjKYCSettings, walletd.ObjReferralSettings, walletd.ObjOrder, walletd.ObjUserStats,
		walletd.ObjShopOrder, walletd.ObjOrderRef, walletd.ObjPaymentRef, walletd.ObjSequence,
		walletd.ObjProduct, walletd.ObjVariation, walletd.ObjSKU,
		walletd.ObjResetFeeKey, walletd.ObjPaymentLink, walletd.ObjResetFeeRef,
	}
}

// restoreObject decodes a stored object into the table of its kind.
func (s *state) restoreObject(o *walletd.StoredObject) error {
	t, ok := s.objects[o.Kind]
	if !ok {
		return fmt.Errorf("object %s %s: unknown object kind %q", o.Kind, o.ID, o.Kind)
	}
	return t.load(o.ID, o.Data)
}

// setUser records that user key uk has wallet id.
func (s *state) setUser(uk, id string) {
	prev, had := s.byUser[uk]
	s.byUser[uk] = id
	s.journal.record(func() {
		if had {
			s.byUser[uk] = prev
		} else {
			delete(s.byUser, uk)
		}
	})
}

// changes returns what the batch under way changed, as a commit writes it:
// every wallet and every object it changed, once each, as they now are.
func (s *state) changes() ([]*walletd.Wallet, []*walletd.StoredObject, error) {
	var objs []*walletd.StoredObject
	for _, kind := range s.kinds {
		var err error
		if objs, err = s.objects[kind].stored(objs); err != nil {
			return nil, nil, err
		}
	}
	return s.wallets.changes(), objs, nil
}

// commitBatch makes the batch's changes the committed state.
func (s *state) commitBatch() {
	s.journal.forget()
	s.settle()
}

// abortBatch takes back every change of the batch.
func (s *state) abortBatch() {
	s.journal.rollback(0)
	s.settle()
}

func (s *state) settle() {
	s.wallets.settle()
	for _, t := range s.objects {
		t.settle()
	}
}
