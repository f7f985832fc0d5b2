package ledger

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/walletd/walletd"

	"github.com/shopspring/decimal"
)

// FlowKey is the metadata key naming the flow that made an entry. Callers'
// metadata may not use keys that start with "walletd_", so an entry with
// this key was made by walletd and nobody else.
const FlowKey = "walletd_flow"

// ---------------------------------------------------------------------------
// Shared rules

// checkMethod validates a payment method name: 1 to 32 of a-z, 0-9, _.
func checkMethod(s string, required bool) error {
	if s == "" && !required {
		return nil
	}
	if len(s) == 0 || len(s) > walletd.MaxTypeLen {
		return walletd.Errorf(walletd.EInvalid, "method must be 1 to %d characters.", walletd.MaxTypeLen)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return walletd.Errorf(walletd.EInvalid, "method %q may hold only a-z, 0-9 and _.", s)
		}
	}
	return nil
}

// parseOptionalAmount parses an optional amount setting: "" is none.
func parseOptionalAmount(field, s string, scale int32) (string, error) {
	if s == "" {
		return "", nil
	}
	d, err := walletd.ParseAmount(s, scale)
	if err != nil {
		return "", walletd.Errorf(walletd.EInvalidAmount, "%s: %s", field, walletd.ErrorMessage(err))
	}
	return walletd.FormatAmount(d, scale), nil
}

// record appends an entry of w (the batch's own copy) that leaves it as it
// now is, and returns it.
func (b *batch) record(r *request, w *walletd.Wallet, kind, typ string, amount decimal.Decimal, reason, orderID, meta string) *walletd.Entry {
	w.UpdatedAt = b.now
	e := b.entryFor(w, kind, typ, amount)
	e.Reason, e.OrderID, e.Metadata = reason, orderID, meta
	b.append(r, e)
	w.LastSeq = e.Seq
	return e
}

// config appends a config entry: a rule, code, setting or referral was
// created or changed. settings are recorded as its metadata.
func (b *batch) config(r *request, typ, currency string, settings map[string]string) *walletd.Entry {
	m := make(map[string]string, len(settings)+1)
	for k, v := range settings {
		if v != "" {
			m[k] = v
		}
	}
	m[FlowKey] = walletd.FlowSettings
	meta, _ := json.Marshal(m)
	e := &walletd.Entry{Kind: walletd.KindConfig, Type: typ, Currency: currency, Metadata: string(meta)}
	b.append(r, e)
	return e
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

func spentIn(key, spent, current string) decimal.Decimal {
	if key != current {
		return decimal.Zero
	}
	return dec(spent)
}

// outgoing checks that amount may leave w by op (a debit, transfer or
// withdrawal): the wallet's status and funds, then its KYC, then its
// spending limits. A KYC or limit refusal is recorded as an entry of w
// and returned as a *refusal; nothing else about w changes.
func (b *batch) outgoing(r *request, cur *walletd.Wallet, amount decimal.Decimal, op string) error {
	scale := b.scale(cur.Currency)
	what := "A " + op + " of"
	if err := checkDebit(cur, amount, scale); err != nil {
		return err
	}
	f := &cur.Features
	if f.KYC() != walletd.KYCVerified {
		if s, _ := b.obj(walletd.ObjKYCSettings, cur.Currency).(*walletd.KYCSettings); s != nil {
			after := dec(f.Outgoing).Add(amount)
			var why, threshold string
			if s.Threshold != "" && amount.GreaterThan(dec(s.Threshold)) {
				threshold = s.Threshold
				why = fmt.Sprintf("%s %s %s is above the KYC threshold of %s for a wallet whose KYC status is %s.",
					what, walletd.FormatAmount(amount, scale), cur.Currency, s.Threshold, f.KYC())
			} else if s.CumulativeThreshold != "" && after.GreaterThan(dec(s.CumulativeThreshold)) {
				threshold = s.CumulativeThreshold
				why = fmt.Sprintf("%s %s %s would take this wallet's outgoing total to %s, above the cumulative KYC threshold of %s; its KYC status is %s.",
					what, walletd.FormatAmount(amount, scale), cur.Currency, walletd.FormatAmount(after, scale), s.CumulativeThreshold, f.KYC())
			}
			if why != "" {
				w := b.mutable(cur.ID)
				b.record(r, w, walletd.KindNote, walletd.TypeKYCRequired, amount, why, "", sysMeta(walletd.FlowKYC,
					"operation", op, "kyc_status", f.KYC(), "kyc_threshold", threshold))
				return &refusal{walletd.Errorf(walletd.EKYCRequired, "%s", why)}
			}
		}
	}
	day, month := b.periods()
	checks := []struct{ kind, limit, spent string }{
		{"per_transaction", f.Limits.PerTransaction, ""},
		{"daily", f.Limits.Daily, walletd.FormatAmount(spentIn(f.DayKey, f.DaySpent, day), scale)},
		{"monthly", f.Limits.Monthly, walletd.FormatAmount(spentIn(f.MonthKey, f.MonthSpent, month), scale)},
	}
	for _, c := range checks {
		if c.limit == "" || !dec(c.spent).Add(amount).GreaterThan(dec(c.limit)) {
			continue
		}
		why := fmt.Sprintf("%s %s %s would exceed the %s spending limit of %s", what, walletd.FormatAmount(amount, scale), cur.Currency, strings.ReplaceAll(c.kind, "_", "-"), c.limit)
		if c.spent != "" {
			why += fmt.Sprintf(" (%s already spent)", c.spent)
		}
		why += "."
		w := b.mutable(cur.ID)
		b.record(r, w, walletd.KindNote, walletd.TypeLimitBlocked, amount, why, "", sysMeta(walletd.FlowLimit,
			"operation", op, "limit_kind", c.kind, "limit", c.limit, "spent", c.spent))
		return &refusal{walletd.Errorf(walletd.ESpendingLimit, "%s", why)}
	}
	return nil
}

// countOutgoing adds amount to w's spending counters (w is the batch's own
// copy), and returns the day and month it counted in.
func (b *batch) countOutgoing(w *walletd.Wallet, amount decimal.Decimal) (day, month string) {
	day, month = b.periods()
	f := &w.Features
	f.DaySpent = spentIn(f.DayKey, f.DaySpent, day).Add(amount).String()
	f.MonthSpent = spentIn(f.MonthKey, f.MonthSpent, month).Add(amount).String()
	f.DayKey, f.MonthKey = day, month
	f.Outgoing = dec(f.Outgoing).Add(amount).String()
	return day, month
}

// uncountOutgoing gives amount back to the periods it counted in, if they
// are still the current ones.
func uncountOutgoing(w *walletd.Wallet, amount decimal.Decimal, day, month string) {
	f := &w.Features
	if f.DayKey == day && day != "" {
		f.DaySpent = decimal.Max(decimal.Zero, dec(f.DaySpent).Sub(amount)).String()
	}
	if f.MonthKey == month && month != "" {
		f.MonthSpent = decimal.Max(decimal.Zero, dec(f.MonthSpent).Sub(amount)).String()
	}
	f.Outgoing = decimal.Max(decimal.Zero, dec(f.Outgoing).Sub(amount)).String()
}

// afterDebit fires w's auto-reload if a debit took its balance below the
// threshold and no reload is pending: a reload_triggered entry and a
// pending top-up, in the same batch as the debit.
func (b *batch) afterDebit(r *request, w *walletd.Wallet) {
	ar := w.Features.AutoReload
	if ar.Amount == "" || w.Features.ReloadTopupID != "" || !w.Balance.LessThan(dec(ar.Threshold)) {
		return
	}
	method := ar.Method
	if method == "" {
		method = "auto_reload"
	}
	t := &walletd.Topup{
		ID: b.w.cfg.NewID("top"), WalletID: w.ID, UserID: w.UserID, Amount: ar.Amount, Currency: w.Currency,
		Method: method, Origin: "auto_reload", Status: walletd.StatusPending, CreatedAt: b.now, UpdatedAt: b.now,
	}
	b.record(r, w, walletd.KindNote, walletd.TypeReloadTriggered, dec(ar.Amount),
		fmt.Sprintf("Balance fell below the auto-reload threshold of %s.", ar.Threshold), "",
		sysMeta(walletd.FlowReload, "topup_id", t.ID, "threshold", ar.Threshold, "method", method))
	w.Features.ReloadTopupID = t.ID
	b.put(walletd.ObjTopup, t.ID, t)
}

// ---------------------------------------------------------------------------
// Wallet settings: limits, KYC status, auto-reload

// SetLimits replaces a wallet's spending limits. A nil field is no limit.
type SetLimits struct {
	WalletID       string  `json:"wallet_id"`
	PerTransaction *string `json:"per_transaction"`
	Daily          *string `json:"daily"`
	Monthly        *string `json:"monthly"`
}

// SetKYC sets a wallet's KYC status.
type SetKYC struct {
	WalletID string `json:"wallet_id"`
	Status   string `json:"status"`
}

// SetAutoReload sets (or, with Remove, removes) a wallet's auto-reload.
type SetAutoReload struct {
	WalletID  string `json:"wallet_id"`
	Threshold string `json:"threshold"`
	Amount    string `json:"amount"`
	Method    string `json:"method"`
	Remove    bool   `json:"remove"`
}

func (*SetLimits) Op() string     { return "set_limits" }
func (*SetKYC) Op() string        { return "set_kyc" }
func (*SetAutoReload) Op() string { return "set_auto_reload" }

func (b *batch) walletOr404(id string) (*walletd.Wallet, error) {
	w := b.wallet(id)
	if w == nil {
		return nil, walletd.Errorf(walletd.ENotFound, "Wallet %q not found.", id)
	}
	return w, nil
}

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
		out  *string
	}{{"per_transaction", c.PerTransaction, &l.PerTransaction}, {"daily", c.Daily, &l.Daily}, {"monthly", c.Monthly, &l.Monthly}} {
		if f.in == nil {
			continue
		}
		if *f.out, err = parseOptionalAmount(f.name, *f.in, s); err != nil {
			return err
		}
	}
	w := b.mutable(cur.ID)
	w.Features.Limits = l
	b.record(r, w, walletd.KindNote, walletd.TypeLimits, decimal.Zero, "", "", sysMeta(walletd.FlowLimit,
		"per_transaction", l.PerTransaction, "daily", l.Daily, "monthly", l.Monthly))
	return nil
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
	w := b.mutable(cur.ID)
	w.Features.KYCStatus = c.Status
	b.record(r, w, walletd.KindNote, walletd.TypeKYC, decimal.Zero, "", "", sysMeta(walletd.FlowKYC, "kyc_status", c.Status))
	return nil
}

func (c *SetAutoReload) apply(b *batch, r *request) error {
	cur, err := b.walletOr404(c.WalletID)
	if err != nil {
		return err
	}
	var ar walletd.AutoReload
	if !c.Remove {
		s := b.scale(cur.Currency)
		if ar.Threshold, err = parseOptionalAmount("threshold", c.Threshold, s); err != nil {
			return err
		} else if ar.Threshold == "" {
			return walletd.Errorf(walletd.EInvalidAmount, "threshold is required.")
		}
		if ar.Amount, err = parseOptionalAmount("amount", c.Amount, s); err != nil {
			return err
		} else if ar.Amount == "" {
			return walletd.Errorf(walletd.EInvalidAmount, "amount is required.")
		}
		if err := checkMethod(c.Method, false); err != nil {
			return err
		}
		ar.Method = c.Method
	} else if cur.Features.AutoReload.Amount == "" {
		return walletd.Errorf(walletd.ENotFound, "Wallet %s has no auto-reload.", cur.ID)
	}
	w := b.mutable(cur.ID)
	w.Features.AutoReload = ar
	b.record(r, w, walletd.KindNote, walletd.TypeAutoReload, decimal.Zero, "", "", sysMeta(walletd.FlowReload,
		"threshold", ar.Threshold, "amount", ar.Amount, "method", ar.Method, "removed", boolText(c.Remove)))
	return nil
}

func boolText(v bool) string {
	if v {
		return "true"
	}
	return ""
}

// ---------------------------------------------------------------------------
// Top-ups

// CreateTopup starts a top-up of a wallet: pending until completed or failed.
type CreateTopup struct {
	WalletID    string `json:"wallet_id"`
	Amount      string `json:"amount"`
	Method      string `json:"method"`
	ExternalRef string `json:"external_ref"`
}

// CompleteTopup credits a pending top-up's amount, once.
type CompleteTopup struct {
	TopupID string `json:"topup_id"`
}

// FailTopup marks a pending top-up failed, once.
type FailTopup struct {
	TopupID string `json:"topup_id"`
	Reason  string `json:"reason"`
}

func (*CreateTopup) Op() string   { return "create_topup" }
func (*CompleteTopup) Op() string { return "complete_topup" }
func (*FailTopup) Op() string     { return "fail_topup" }

func (c *CreateTopup) objectRef(es []*walletd.Entry) (string, string) {
	return walletd.ObjTopup, metaOf(es[0])["topup_id"]
}
func (c *CompleteTopup) objectRef([]*walletd.Entry) (string, string) {
	return walletd.ObjTopup, c.TopupID
}
func (c *FailTopup) objectRef([]*walletd.Entry) (string, string) { return walletd.ObjTopup, c.TopupID }

func (c *CreateTopup) apply(b *batch, r *request) error {
	cur, err := b.walletOr404(c.WalletID)
	if err != nil {
		return err
	}
	s := b.scale(cur.Currency)
	amount, err := walletd.ParseAmount(c.Amount, s)
	if err != nil {
		return err
	} else if err := checkMethod(c.Method, true); err != nil {
		return err
	} else if err := walletd.CheckText("external_ref", c.ExternalRef, walletd.MaxOrderIDLen, false); err != nil {
		return err
	}
	t := &walletd.Topup{
		ID: b.w.cfg.NewID("top"), WalletID: cur.ID, UserID: cur.UserID, Amount: walletd.FormatAmount(amount, s),
		Currency: cur.Currency, Method: c.Method, ExternalRef: c.ExternalRef, Origin: "api",
		Status: walletd.StatusPending, CreatedAt: b.now, UpdatedAt: b.now,
	}
	w := b.mutable(cur.ID)
	b.record(r, w, walletd.KindNote, walletd.TypeTopupPending, amount, "", "", sysMeta(walletd.FlowTopup,
		"topup_id", t.ID, "method", t.Method, "external_ref", t.ExternalRef))
	b.put(walletd.ObjTopup, t.ID, t)
	b.current = t
	return nil
}

// pendingTopup returns a copy of top-up id, which must be pending.
func (b *batch) pendingTopup(id string) (*walletd.Topup, error) {
	t, _ := b.obj(walletd.ObjTopup, id).(*walletd.Topup)
	if t == nil {
		return nil, walletd.Errorf(walletd.ENotFound, "Top-up %q not found.", id)
	} else if t.Status != walletd.StatusPending {
		return nil, walletd.Errorf(walletd.EConflict, "Top-up %s is already %s.", id, t.Status)
	}
	cp := *t
	return &cp, nil
}

func (c *CompleteTopup) apply(b *batch, r *request) error {
	t, err := b.pendingTopup(c.TopupID)
	if err != nil {
		return err
	}
	cur, err := b.walletOr404(t.WalletID)
	if err != nil {
		return err
	}
	amount := dec(t.Amount)
	if cur.Balance.Add(amount).GreaterThanOrEqual(maxBalance) {
		return walletd.Errorf(walletd.EInvalidAmount, "The top-up would take the balance above the maximum.")
	}
	w := b.mutable(cur.ID)
	w.Balance = w.Balance.Add(amount)
	if w.Features.ReloadTopupID == t.ID {
		w.Features.ReloadTopupID = ""
	}
	e := b.record(r, w, walletd.KindCredit, walletd.TypeTopup, amount, "Top-up "+t.ID, "", sysMeta(walletd.FlowTopup,
		"topup_id", t.ID, "method", t.Method, "external_ref", t.ExternalRef))
	t.Status, t.TransactionID, t.UpdatedAt = walletd.StatusCompleted, e.ID, b.now
	b.put(walletd.ObjTopup, t.ID, t)
	b.current = t
	return nil
}

func (c *FailTopup) apply(b *batch, r *request) error {
	if err := walletd.CheckText("reason", c.Reason, walletd.MaxReasonLen, false); err != nil {
		return err
	}
	t, err := b.pendingTopup(c.TopupID)
	if err != nil {
		return err
	}
	cur, err := b.walletOr404(t.WalletID)
	if err != nil {
		return err
	}
	w := b.mutable(cur.ID)
	if w.Features.ReloadTopupID == t.ID {
		w.Features.ReloadTopupID = ""
	}
	b.record(r, w, walletd.KindNote, walletd.TypeTopupFailed, dec(t.Amount), c.Reason, "", sysMeta(walletd.FlowTopup,
		"topup_id", t.ID, "method", t.Method, "external_ref", t.ExternalRef))
	t.Status, t.FailureReason, t.UpdatedAt = walletd.StatusFailed, c.Reason, b.now
	b.put(walletd.ObjTopup, t.ID, t)
	b.current = t
	return nil
}

// ---------------------------------------------------------------------------
// Withdrawals

// RequestWithdrawal holds an amount of a wallet for a withdrawal.
type RequestWithdrawal struct {
	WalletID    string `json:"wallet_id"`
	Amount      string `json:"amount"`
	Method      string `json:"method"`
	Destination string `json:"destination"`
}

// ApproveWithdrawal debits a pending withdrawal from its hold, once.
type ApproveWithdrawal struct {
	WithdrawalID string `json:"withdrawal_id"`
}

// RejectWithdrawal releases a pending withdrawal's hold, once.
type RejectWithdrawal struct {
	WithdrawalID string `json:"withdrawal_id"`
	Reason       string `json:"reason"`
}

func (*RequestWithdrawal) Op() string { return "request_withdrawal" }
func (*ApproveWithdrawal) Op() string { return "approve_withdrawal" }
func (*RejectWithdrawal) Op() string  { return "reject_withdrawal" }

func (c *RequestWithdrawal) objectRef(es []*walletd.Entry) (string, string) {
	return walletd.ObjWithdrawal, metaOf(es[0])["withdrawal_id"]
}
func (c *ApproveWithdrawal) objectRef([]*walletd.Entry) (string, string) {
	return walletd.ObjWithdrawal, c.WithdrawalID
}
func (c *RejectWithdrawal) objectRef([]*walletd.Entry) (string, string) {
	return walletd.ObjWithdrawal, c.WithdrawalID
}

func (c *RequestWithdrawal) apply(b *batch, r *request) error {
	cur, err := b.walletOr404(c.WalletID)
	if err != nil {
		return err
	}
	s := b.scale(cur.Currency)
	amount, err := walletd.ParseAmount(c.Amount, s)
	if err != nil {
		return err
	} else if err := checkMethod(c.Method, true); err != nil {
		return err
	} else if err := walletd.CheckText("destination", c.Destination, walletd.MaxReasonLen, false); err != nil {
		return err
	}
	if err := b.outgoing(r, cur, amount, "withdrawal"); err != nil {
		return err
	}
	d := &walletd.Withdrawal{
		ID: b.w.cfg.NewID("wdr"), WalletID: cur.ID, UserID: cur.UserID, Amount: walletd.FormatAmount(amount, s),
		Currency: cur.Currency, Method: c.Method, Destination: c.Destination, Status: walletd.StatusPending,
		CreatedAt: b.now, UpdatedAt: b.now,
	}
	w := b.mutable(cur.ID)
	w.Held = w.Held.Add(amount)
	d.DayKey, d.MonthKey = b.countOutgoing(w, amount)
	b.record(r, w, walletd.KindHold, walletd.TypeWithdrawal, amount, "", "", sysMeta(walletd.FlowWithdrawal,
		"withdrawal_id", d.ID, "method", d.Method, "destination", d.Destination))
	b.put(walletd.ObjWithdrawal, d.ID, d)
	b.current = d
	return nil
}

func (b *batch) pendingWithdrawal(id string) (*walletd.Withdrawal, *walletd.Wallet, error) {
	d, _ := b.obj(walletd.ObjWithdrawal, id).(*walletd.Withdrawal)
	if d == nil {
		return nil, nil, walletd.Errorf(walletd.ENotFound, "Withdrawal %q not found.", id)
	} else if d.Status != walletd.StatusPending {
		return nil, nil, walletd.Errorf(walletd.EConflict, "Withdrawal %s is already %s.", id, d.Status)
	}
	cur, err := b.walletOr404(d.WalletID)
	if err != nil {
		return nil, nil, err
	}
	cp := *d
	return &cp, cur, nil
}

func (c *ApproveWithdrawal) apply(b *batch, r *request) error {
	d, cur, err := b.pendingWithdrawal(c.WithdrawalID)
	if err != nil {
		return err
	}
	if cur.Status == walletd.StatusFrozen {
		return walletd.Errorf(walletd.EWalletFrozen, "Wallet %s is frozen.", cur.ID)
	}
	amount := dec(d.Amount)
	w := b.mutable(cur.ID)
	w.Balance, w.Held = w.Balance.Sub(amount), w.Held.Sub(amount)
	e := b.record(r, w, walletd.KindSettle, walletd.TypeWithdrawal, amount, "Withdrawal "+d.ID, "", sysMeta(walletd.FlowWithdrawal,
		"withdrawal_id", d.ID, "method", d.Method, "destination", d.Destination))
	d.Status, d.TransactionID, d.UpdatedAt = walletd.StatusApproved, e.ID, b.now
	b.put(walletd.ObjWithdrawal, d.ID, d)
	b.afterDebit(r, w)
	b.current = d
	return nil
}

func (c *RejectWithdrawal) apply(b *batch, r *request) error {
	if err := walletd.CheckText("reason", c.Reason, walletd.MaxReasonLen, false); err != nil {
		return err
	}
	d, cur, err := b.pendingWithdrawal(c.WithdrawalID)
	if err != nil {
		return err
	}
	amount := dec(d.Amount)
	w := b.mutable(cur.ID)
	w.Held = w.Held.Sub(amount)
	uncountOutgoing(w, amount, d.DayKey, d.MonthKey)
	b.record(r, w, walletd.KindRelease, walletd.TypeWithdrawal, amount, c.Reason, "", sysMeta(walletd.FlowWithdrawal,
		"withdrawal_id", d.ID, "method", d.Method, "destination", d.Destination))
	d.Status, d.RejectReason, d.UpdatedAt = walletd.StatusRejected, c.Reason, b.now
	b.put(walletd.ObjWithdrawal, d.ID, d)
	b.current = d
	return nil
}

// ---------------------------------------------------------------------------
// Redemption codes

// CreateRedemptionCode creates a code; Code "" generates one.
type CreateRedemptionCode struct {
	Code           string `json:"code"`
	Amount         string `json:"amount"`
	Currency       string `json:"currency"`
	MaxRedemptions int    `json:"max_redemptions"`
	PerUserOnce    bool   `json:"per_user_once"`
	ExpiresAt      string `json:"expires_at"`
}

// Redeem credits a code's amount to a wallet.
type Redeem struct {
	WalletID string `json:"wallet_id"`
	Code     string `json:"code"`
}

func (*CreateRedemptionCode) Op() string { return "create_redemption_code" }
func (*Redeem) Op() string               { return "redeem" }

func (c *CreateRedemptionCode) objectRef(es []*walletd.Entry) (string, string) {
	return walletd.ObjCode, metaOf(es[0])["id"]
}

// codeByText returns the redemption code whose text is code, or nil.
func (b *batch) codeByText(code string) *walletd.RedemptionCode {
	idx, _ := b.obj(walletd.ObjCodeIndex, code).(*walletd.CodeIndex)
	if idx == nil {
		return nil
	}
	rc, _ := b.obj(walletd.ObjCode, idx.ID).(*walletd.RedemptionCode)
	return rc
}

// MaxCodeLen bounds redemption codes.
const MaxCodeLen = 64

// NormalizeCode returns the form codes are stored and matched in: trimmed
// and upper-case.
func NormalizeCode(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

func checkCode(code string) error {
	if len(code) < 4 || len(code) > MaxCodeLen {
		return walletd.Errorf(walletd.EInvalid, "code must be 4 to %d characters.", MaxCodeLen)
	}
	for i := 0; i < len(code); i++ {
		if c := code[i]; !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return walletd.Errorf(walletd.EInvalid, "code may hold only letters, digits, - and _.")
		}
	}
	return nil
}

// codeHint is what the ledger shows of a code: its last four characters.
func codeHint(code string) string { return "…" + code[len(code)-4:] }

// codeAlphabet leaves out letters and digits that read alike (0/O, 1/I/L).
const codeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

func generateCode() string {
	var raw [12]byte
	rand.Read(raw[:])
	out := make([]byte, 0, 14)
	for i, c := range raw {
		if i == 4 || i == 8 {
			out = append(out, '-')
		}
		out = append(out, codeAlphabet[int(c)%len(codeAlphabet)])
	}
	return string(out)
}

func (c *CreateRedemptionCode) apply(b *batch, r *request) error {
	code := NormalizeCode(c.Code)
	if code == "" {
		code = generateCode()
	} else if err := checkCode(code); err != nil {
		return err
	}
	s, err := b.w.cfg.Currencies.Scale(c.Currency)
	if err != nil {
		return err
	}
	amount, err := walletd.ParseAmount(c.Amount, s)
	if err != nil {
		return err
	}
	if c.MaxRedemptions < 1 || c.MaxRedemptions > 1_000_000_000 {
		return walletd.Errorf(walletd.EInvalid, "max_redemptions must be between 1 and 1000000000.")
	}
	var expires *time.Time
	if c.ExpiresAt != "" {
		t, err := time.Parse(time.RFC3339, c.ExpiresAt)
		if err != nil {
			return walletd.Errorf(walletd.EInvalid, "expires_at must be an RFC 3339 time such as 2026-12-31T23:59:59Z.")
		} else if !t.After(b.now) {
			return walletd.Errorf(walletd.EInvalid, "expires_at is in the past.")
		}
		t = t.UTC()
		expires = &t
	}
	if b.obj(walletd.ObjCodeIndex, code) != nil {
		return walletd.Errorf(walletd.EConflict, "Redemption code %s already exists.", code)
	}
	rc := &walletd.RedemptionCode{
		ID: b.w.cfg.NewID("rdc"), Code: code, Amount: walletd.FormatAmount(amount, s), Currency: c.Currency,
		MaxRedemptions: c.MaxRedemptions, PerUserOnce: c.PerUserOnce, ExpiresAt: expires, CreatedAt: b.now,
	}
	exp := ""
	if expires != nil {
		exp = expires.Format(time.RFC3339)
	}
	// The chain records the code's terms, not the code itself: whoever
	// reads the ledger or the stream must not be able to redeem it.
	b.config(r, walletd.ObjCode, c.Currency, map[string]string{
		"id": rc.ID, "code_hint": codeHint(code), "amount": rc.Amount,
		"max_redemptions": fmt.Sprint(rc.MaxRedemptions), "per_user_once": boolText(rc.PerUserOnce), "expires_at": exp,
	})
	b.put(walletd.ObjCode, rc.ID, rc)
	b.put(walletd.ObjCodeIndex, code, &walletd.CodeIndex{ID: rc.ID})
	b.current = rc
	return nil
}

func (c *Redeem) apply(b *batch, r *request) error {
	cur, err := b.walletOr404(c.WalletID)
	if err != nil {
		return err
	}
	code := NormalizeCode(c.Code)
	if code == "" {
		return walletd.Errorf(walletd.EInvalid, "code is required.")
	}
	rc := b.codeByText(code)
	if rc == nil {
		return walletd.Errorf(walletd.ENotFound, "Redemption code not found.")
	} else if rc.Currency != cur.Currency {
		return walletd.Errorf(walletd.ECurrencyMismatch, "The code is for %s and wallet %s holds %s.", rc.Currency, cur.ID, cur.Currency)
	} else if rc.ExpiresAt != nil && !b.now.Before(*rc.ExpiresAt) {
		return walletd.Errorf(walletd.ECodeExpired, "The code expired at %s.", rc.ExpiresAt.Format(time.RFC3339))
	} else if rc.Redemptions >= rc.MaxRedemptions {
		return walletd.Errorf(walletd.ECodeExhausted, "The code has been redeemed the most times it may be.")
	}
	userKey := code + "/" + cur.UserID
	if rc.PerUserOnce && b.obj(walletd.ObjRedemption, userKey) != nil {
		return walletd.Errorf(walletd.ECodeUsed, "User %q has already redeemed this code.", cur.UserID)
	}
	amount := dec(rc.Amount)
	if cur.Balance.Add(amount).GreaterThanOrEqual(maxBalance) {
		return walletd.Errorf(walletd.EInvalidAmount, "The credit would take the balance above the maximum.")
	}
	w := b.mutable(cur.ID)
	w.Balance = w.Balance.Add(amount)
	// As at creation, the chain names the code by id and hint only: a
	// code with uses left must not be readable from the ledger or stream.
	e := b.record(r, w, walletd.KindCredit, walletd.TypeRedemption, amount, "Redemption code "+rc.ID, "", sysMeta(walletd.FlowRedemption,
		"code_id", rc.ID, "code_hint", codeHint(code)))
	next := *rc
	next.Redemptions++
	b.put(walletd.ObjCode, rc.ID, &next)
	if rc.PerUserOnce {
		b.put(walletd.ObjRedemption, userKey, &walletd.Redemption{Code: code, UserID: cur.UserID, WalletID: cur.ID, TransactionID: e.ID, CreatedAt: b.now})
	}
	return nil
}
