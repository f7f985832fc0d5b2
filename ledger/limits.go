package ledger

import (
	"fmt"
	"strings"

	"github.com/walletd/walletd"

	"github.com/shopspring/decimal"
)

// Spending limits: a wallet's per-transaction, daily and monthly limits
// over everything that leaves it (debits, transfers out, withdrawals),
// checked together with its status, funds and KYC by outgoing.

// SetLimits replaces a wallet's spending limits. A nil field is no limit.
// Limits equal to the wallet's own change nothing and append nothing
// (Result.Unchanged).
type SetLimits struct {
	WalletID       string  `json:"wallet_id"`
	PerTransaction *string `json:"per_transaction"`
	Daily          *string `json:"daily"`
	Monthly        *string `json:"monthly"`
}

// Op names the command in fingerprints and logs.
func (*SetLimits) Op() string { return "set_limits" }

func (c *SetLimits) apply(b *batch, r *request) error {
	cur, err := b.walletOr404(c.WalletID)
	if err != nil {
		return err
	}
	s := b.scale(cur.Currency)
	var l walletd.Limits
	for _, f := range []struct {
		name string
		in   *string
		out  *walletd.Money
	}{{"per_transaction", c.PerTransaction, &l.PerTransaction}, {"daily", c.Daily, &l.Daily}, {"monthly", c.Monthly, &l.Monthly}} {
		if f.in == nil {
			continue
		}
		if *f.out, err = optionalAmount(f.name, *f.in, s); err != nil {
			return err
		}
	}
	if sameLimits(l, cur.Features.Limits) {
		b.unchangedWallet(cur)
		return nil
	}
	w := b.mutable(cur.ID)
	w.Features.Limits = l
	b.record(r, w, walletd.KindNote, walletd.TypeLimits, decimal.Zero, "", "", sysMeta(walletd.FlowLimit,
		"per_transaction", l.PerTransaction.String(), "daily", l.Daily.String(), "monthly", l.Monthly.String()))
	return nil
}

// sameLimits says whether a and b are the same limits, as their entries
// record them: the same amounts, written alike.
func sameLimits(a, b walletd.Limits) bool {
	return a.PerTransaction.String() == b.PerTransaction.String() &&
		a.Daily.String() == b.Daily.String() && a.Monthly.String() == b.Monthly.String()
}

// optionalAmount parses an optional amount setting at a currency's scale:
// "" is none (the zero Money), anything else a positive amount. Returns
// EInvalidAmount naming field.
func optionalAmount(field, s string, scale int32) (walletd.Money, error) {
	if s == "" {
		return walletd.Money{}, nil
	}
	d, err := walletd.ParseAmount(s, scale)
	if err != nil {
		return walletd.Money{}, walletd.Errorf(walletd.EInvalidAmount, "%s: %s", field, walletd.ErrorMessage(err))
	}
	return walletd.NewMoney(d, scale), nil
}

// outgoing checks that amount may leave cur by op (a debit, transfer or
// withdrawal): the wallet's status and funds, then its KYC, then its
// spending limits. A KYC or limit refusal is recorded as an entry of the
// wallet and returned as a *refusal; nothing else about it changes.
func (b *batch) outgoing(r *request, cur *walletd.Wallet, amount decimal.Decimal, op string) error {
	scale := b.scale(cur.Currency)
	what := "A " + op + " of"
	if err := checkDebit(cur, amount, scale); err != nil {
		return err
	}
	if err := b.checkKYC(r, cur, amount, op, what, scale); err != nil {
		return err
	}
	f := &cur.Features
	day, month := b.periods()
	checks := []struct {
		kind    string
		limit   walletd.Money
		spent   decimal.Decimal // what already counts against the limit
		counted bool            // whether the limit counts over a period
	}{
		{"per_transaction", f.Limits.PerTransaction, decimal.Zero, false},
		{"daily", f.Limits.Daily, spentIn(f.DayKey, f.DaySpent, day), true},
		{"monthly", f.Limits.Monthly, spentIn(f.MonthKey, f.MonthSpent, month), true},
	}
	for _, c := range checks {
		if !c.limit.IsSet() || !c.spent.Add(amount).GreaterThan(c.limit.Decimal()) {
			continue
		}
		spent := ""
		if c.counted {
			spent = walletd.FormatAmount(c.spent, scale)
		}
		why := fmt.Sprintf("%s %s %s would exceed the %s spending limit of %s", what, walletd.FormatAmount(amount, scale), cur.Currency, strings.ReplaceAll(c.kind, "_", "-"), c.limit)
		if spent != "" {
			why += fmt.Sprintf(" (%s already spent)", spent)
		}
		why += "."
		w := b.mutable(cur.ID)
		b.record(r, w, walletd.KindNote, walletd.TypeLimitBlocked, amount, why, "", sysMeta(walletd.FlowLimit,
			"operation", op, "limit_kind", c.kind, "limit", c.limit.String(), "spent", spent))
		return &refusal{walletd.Errorf(walletd.ESpendingLimit, "%s", why)}
	}
	return nil
}

// periods returns the day and month keys of the batch time in the limits'
// time zone.
func (b *batch) periods() (day, month string) {
	if b.day == "" {
		t := b.now.In(b.w.cfg.LimitLocation)
		b.day, b.month = t.Format("2006-01-02"), t.Format("2006-01")
	}
	return b.day, b.month
}

// spentIn returns a counter's amount if it counts in the current period
// (key is current), and zero if it counts in a past one.
func spentIn(key string, spent walletd.Money, current string) decimal.Decimal {
	if key != current {
		return decimal.Zero
	}
	return spent.Decimal()
}

// countOutgoing adds amount to w's spending counters (w is the batch's own
// copy), and returns the day and month it counted in.
func (b *batch) countOutgoing(w *walletd.Wallet, amount decimal.Decimal) (day, month string) {
	day, month = b.periods()
	f := &w.Features
	f.DaySpent = walletd.MoneyOf(spentIn(f.DayKey, f.DaySpent, day).Add(amount))
	f.MonthSpent = walletd.MoneyOf(spentIn(f.MonthKey, f.MonthSpent, month).Add(amount))
	f.DayKey, f.MonthKey = day, month
	f.Outgoing = walletd.MoneyOf(f.Outgoing.Decimal().Add(amount))
	return day, month
}

// uncountOutgoing gives amount back to the periods it counted in, if they
// are still the current ones, and to the outgoing total.
func uncountOutgoing(w *walletd.Wallet, amount decimal.Decimal, day, month string) {
	f := &w.Features
	if f.DayKey == day && day != "" {
		f.DaySpent = walletd.MoneyOf(decimal.Max(decimal.Zero, f.DaySpent.Decimal().Sub(amount)))
	}
	if f.MonthKey == month && month != "" {
		f.MonthSpent = walletd.MoneyOf(decimal.Max(decimal.Zero, f.MonthSpent.Decimal().Sub(amount)))
	}
	f.Outgoing = walletd.MoneyOf(decimal.Max(decimal.Zero, f.Outgoing.Decimal().Sub(amount)))
}
