package ledger

import (
	"fmt"

	"github.com/walletd/walletd"

	"github.com/shopspring/decimal"
)

// KYC: a wallet's KYC status, and per currency the thresholds above which
// an outgoing operation of a wallet that is not verified is refused.

// SetKYC sets a wallet's KYC status. The status the wallet already has
// changes nothing and appends nothing (Result.Unchanged); "none" is the
// status of a wallet whose status was never set.
type SetKYC struct {
	WalletID string `json:"wallet_id"`
	Status   string `json:"status"`
}

// SetKYCSettings sets the KYC thresholds of a currency.
type SetKYCSettings struct {
	Currency            string `json:"currency"`
	Threshold           string `json:"threshold"`
	CumulativeThreshold string `json:"cumulative_threshold"`
}

// Op names the command in fingerprints and logs.
func (*SetKYC) Op() string { return "set_kyc" }

// Op names the command in fingerprints and logs.
func (*SetKYCSettings) Op() string { return "set_kyc_settings" }

// Settings are keyed by currency; the entry names it even when the
// request left it to the default.
func (c *SetKYCSettings) objectRef(es []*walletd.Entry) (string, string) {
	return walletd.ObjKYCSettings, es[0].Currency
}

func (c *SetKYC) apply(b *batch, r *request) error {
	cur, err := b.walletOr404(c.WalletID)
	if err != nil {
		return err
	}
	switch c.Status {
	case walletd.KYCNone, walletd.KYCPending, walletd.KYCVerified:
	default:
		return walletd.Errorf(walletd.EInvalid, "status must be none, pending or verified.")
	}
	if c.Status == cur.Features.KYC() {
		b.unchangedWallet(cur)
		return nil
	}
	w := b.mutable(cur.ID)
	w.Features.KYCStatus = c.Status
	b.record(r, w, walletd.KindNote, walletd.TypeKYC, decimal.Zero, "", "", sysMeta(walletd.FlowKYC, "kyc_status", c.Status))
	return nil
}

func (c *SetKYCSettings) apply(b *batch, r *request) error {
	cur := c.Currency
	s, err := b.currency(&cur)
	if err != nil {
		return err
	}
	ks := &walletd.KYCSettings{Currency: cur, UpdatedAt: b.now}
	if ks.Threshold, err = optionalAmount("threshold", c.Threshold, s); err != nil {
		return err
	} else if !ks.Threshold.IsSet() {
		return walletd.Errorf(walletd.EInvalidAmount, "threshold is required.")
	}
	if ks.CumulativeThreshold, err = optionalAmount("cumulative_threshold", c.CumulativeThreshold, s); err != nil {
		return err
	}
	b.config(r, walletd.ObjKYCSettings, cur, map[string]string{"threshold": ks.Threshold.String(), "cumulative_threshold": ks.CumulativeThreshold.String()})
	b.kycSettings.put(cur, ks, b.seq)
	b.report(walletd.ObjKYCSettings, cur, ks)
	return nil
}

// checkKYC refuses amount leaving cur by op if the wallet is not verified
// and amount is above its currency's KYC threshold, or would take its
// outgoing total above the cumulative one. The refusal is recorded as an
// entry of the wallet and returned as a *refusal.
func (b *batch) checkKYC(r *request, cur *walletd.Wallet, amount decimal.Decimal, op, what string, scale int32) error {
	f := &cur.Features
	if f.KYC() == walletd.KYCVerified {
		return nil
	}
	s := b.kycSettings.get(cur.Currency)
	if s == nil {
		return nil
	}
	after := f.Outgoing.Decimal().Add(amount)
	var why, threshold string
	if s.Threshold.IsSet() && amount.GreaterThan(s.Threshold.Decimal()) {
		threshold = s.Threshold.String()
		why = fmt.Sprintf("%s %s %s is above the KYC threshold of %s for a wallet whose KYC status is %s.",
			what, walletd.FormatAmount(amount, scale), cur.Currency, threshold, f.KYC())
	} else if s.CumulativeThreshold.IsSet() && after.GreaterThan(s.CumulativeThreshold.Decimal()) {
		threshold = s.CumulativeThreshold.String()
		why = fmt.Sprintf("%s %s %s would take this wallet's outgoing total to %s, above the cumulative KYC threshold of %s; its KYC status is %s.",
			what, walletd.FormatAmount(amount, scale), cur.Currency, walletd.FormatAmount(after, scale), threshold, f.KYC())
	}
	if why == "" {
		return nil
	}
	w := b.mutable(cur.ID)
	b.record(r, w, walletd.KindNote, walletd.TypeKYCRequired, amount, why, "", sysMeta(walletd.FlowKYC,
		"operation", op, "kyc_status", f.KYC(), "kyc_threshold", threshold))
	return &refusal{walletd.Errorf(walletd.EKYCRequired, "%s", why)}
}
