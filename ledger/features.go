package ledger

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Entry kinds of the wallet features, besides open, credit, debit, freeze
// and unfreeze.
const (
	KindHold    = "hold"    // held rises by amount (a withdrawal is requested)
	KindRelease = "release" // held falls by amount (a withdrawal is rejected)
	KindSettle  = "settle"  // balance and held both fall by amount (a withdrawal is approved)
	KindNote    = "note"    // a step of a flow that moves no money; amount is informational
	KindConfig  = "config"  // a rule, code, setting or referral; no wallet, no amounts
)

// FlowKey is the metadata key naming the flow that made an entry. Callers'
// metadata may not use keys that start with "walletd_", so an entry with
// this key was made by walletd and nobody else.
const FlowKey = "walletd_flow"

// Entry types the flows write.
const (
	TypeTopup            = "topup"
	TypeTopupPending     = "topup_pending"
	TypeTopupFailed      = "topup_failed"
	TypeWithdrawal       = "withdrawal"
	TypeLimitBlocked     = "spending_limit_blocked"
	TypeKYCRequired      = "kyc_required"
	TypeReloadTriggered  = "reload_triggered"
	TypeRedemption       = "redemption"
	TypeCashback         = "cashback"
	TypeCashbackReversal = "cashback_reversal"
	TypeMilestone        = "milestone"
	TypeReferral         = "referral"
	TypeOrderCompleted   = "order_completed"
	TypeOrderRefunded    = "order_refunded"
	TypeLimits           = "limits"
	TypeKYC              = "kyc"
	TypeAutoReload       = "auto_reload"
)

// Flow names, the values of FlowKey.
const (
	FlowTopup            = "topup"
	FlowWithdrawal       = "withdrawal"
	FlowRedemption       = "redemption"
	FlowCashback         = "cashback"
	FlowCashbackReversal = "cashback_reversal"
	FlowMilestone        = "milestone"
	FlowReferral         = "referral"
	FlowOrder            = "order"
	FlowLimit            = "spending_limit"
	FlowKYC              = "kyc"
	FlowReload           = "auto_reload"
	FlowSettings         = "settings"
)

// KYC statuses of a wallet.
const (
	KYCNone     = "none"
	KYCPending  = "pending"
	KYCVerified = "verified"
)

// Statuses of top-ups and withdrawals.
const (
	StatusPending   = "pending"
	StatusCompleted = "completed"
	StatusFailed    = "failed"
	StatusApproved  = "approved"
	StatusRejected  = "rejected"
	StatusRefunded  = "refunded"
)

// Limits are a wallet's spending limits over debits, transfers out and
// withdrawals. An empty string is no limit.
type Limits struct {
	PerTransaction string `json:"per_transaction,omitempty"`
	Daily          string `json:"daily,omitempty"`
	Monthly        string `json:"monthly,omitempty"`
}

// AutoReload tops a wallet up when a debit takes its balance below
// Threshold. Amount "" is off.
type AutoReload struct {
	Threshold string `json:"threshold,omitempty"`
	Amount    string `json:"amount,omitempty"`
	Method    string `json:"method,omitempty"`
}

// WalletFeatures is the part of a wallet's state that the features add:
// settings and the counters the writer checks them with. It is a value
// type: copying a Wallet copies it.
type WalletFeatures struct {
	KYCStatus  string     `json:"kyc_status,omitempty"` // "" is KYCNone
	Limits     Limits     `json:"limits"`
	AutoReload AutoReload `json:"auto_reload"`
	// Spent today and this month, in the limits' time zone.
	DayKey     string `json:"day_key,omitempty"`
	DaySpent   string `json:"day_spent,omitempty"`
	MonthKey   string `json:"month_key,omitempty"`
	MonthSpent string `json:"month_spent,omitempty"`
	// Outgoing is everything ever sent out, for the cumulative KYC threshold.
	Outgoing string `json:"outgoing,omitempty"`
	// ReloadTopupID is the auto-reload top-up still pending, if any.
	ReloadTopupID string `json:"reload_topup_id,omitempty"`
}

// KYC returns the wallet's KYC status, KYCNone when never set.
func (f *WalletFeatures) KYC() string {
	if f.KYCStatus == "" {
		return KYCNone
	}
	return f.KYCStatus
}

// Topup is a top-up: pending until completed (a credit) or failed.
type Topup struct {
	ID            string    `json:"id"`
	WalletID      string    `json:"wallet_id"`
	UserID        string    `json:"user_id"`
	Amount        string    `json:"amount"`
	Currency      string    `json:"currency"`
	Method        string    `json:"method"`
	ExternalRef   string    `json:"external_ref"`
	Origin        string    `json:"origin"` // "api" or "auto_reload"
	Status        string    `json:"status"`
	FailureReason string    `json:"failure_reason"`
	TransactionID string    `json:"transaction_id"` // the credit, once completed
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// Withdrawal is a withdrawal request: its amount is held until it is
// approved (debited from the hold) or rejected (released).
type Withdrawal struct {
	ID            string    `json:"id"`
	WalletID      string    `json:"wallet_id"`
	UserID        string    `json:"user_id"`
	Amount        string    `json:"amount"`
	Currency      string    `json:"currency"`
	Method        string    `json:"method"`
	Destination   string    `json:"destination"`
	Status        string    `json:"status"`
	RejectReason  string    `json:"reject_reason"`
	TransactionID string    `json:"transaction_id"` // the debit, once approved
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
	// The limit periods the request counted in, so a rejection can give
	// the amount back to them.
	DayKey   string `json:"day_key,omitempty"`
	MonthKey string `json:"month_key,omitempty"`
}

// ---------------------------------------------------------------------------
// Shared rules

// checkMethod validates a payment method name: 1 to 32 of a-z, 0-9, _.
func checkMethod(s string, required bool) error {
	if s == "" && !required {
		return nil
	}
	if len(s) == 0 || len(s) > MaxTypeLen {
		return Errorf(EInvalid, "method must be 1 to %d characters.", MaxTypeLen)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return Errorf(EInvalid, "method %q may hold only a-z, 0-9 and _.", s)
		}
	}
	return nil
}

// parseOptionalAmount parses an optional amount setting: "" is none.
func parseOptionalAmount(field, s string, scale int32) (string, error) {
	if s == "" {
		return "", nil
	}
	d, err := ParseAmount(s, scale)
	if err != nil {
		return "", Errorf(EInvalidAmount, "%s: %s", field, ErrorMessage(err))
	}
	return FormatAmount(d, scale), nil
}

// record appends an entry of w (the batch's own copy) that leaves it as it
// now is, and returns it.
func (b *batch) record(r *request, w *Wallet, kind, typ string, amount decimal.Decimal, reason, orderID, meta string) *Entry {
	w.UpdatedAt = b.now
	e := b.entryFor(w, kind, typ, amount)
	e.Reason, e.OrderID, e.Metadata = reason, orderID, meta
	b.append(r, e)
	w.LastSeq = e.Seq
	return e
}

// config appends a config entry: a rule, code, setting or referral was
// created or changed. settings are recorded as its metadata.
func (b *batch) config(r *request, typ, currency string, settings map[string]string) *Entry {
	m := make(map[string]string, len(settings)+1)
	for k, v := range settings {
		if v != "" {
			m[k] = v
		}
	}
	m[FlowKey] = FlowSettings
	meta, _ := json.Marshal(m)
	e := &Entry{Kind: KindConfig, Type: typ, Currency: currency, Metadata: string(meta)}
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
func (b *batch) outgoing(r *request, cur *Wallet, amount decimal.Decimal, op string) error {
	scale := b.scale(cur.Currency)
	what := "A " + op + " of"
	if err := checkDebit(cur, amount, scale); err != nil {
		return err
	}
	f := &cur.Features
	if f.KYC() != KYCVerified {
		if s, _ := b.obj(ObjKYCSettings, cur.Currency).(*KYCSettings); s != nil {
			after := dec(f.Outgoing).Add(amount)
			var why, threshold string
			if s.Threshold != "" && amount.GreaterThan(dec(s.Threshold)) {
				threshold = s.Threshold
				why = fmt.Sprintf("%s %s %s is above the KYC threshold of %s for a wallet whose KYC status is %s.",
					what, FormatAmount(amount, scale), cur.Currency, s.Threshold, f.KYC())
			} else if s.CumulativeThreshold != "" && after.GreaterThan(dec(s.CumulativeThreshold)) {
				threshold = s.CumulativeThreshold
				why = fmt.Sprintf("%s %s %s would take this wallet's outgoing total to %s, above the cumulative KYC threshold of %s; its KYC status is %s.",
					what, FormatAmount(amount, scale), cur.Currency, FormatAmount(after, scale), s.CumulativeThreshold, f.KYC())
			}
			if why != "" {
				w := b.mutable(cur.ID)
				b.record(r, w, KindNote, TypeKYCRequired, amount, why, "", sysMeta(FlowKYC,
					"operation", op, "kyc_status", f.KYC(), "kyc_threshold", threshold))
				return &refusal{Errorf(EKYCRequired, "%s", why)}
			}
		}
	}
	day, month := b.periods()
	checks := []struct{ kind, limit, spent string }{
		{"per_transaction", f.Limits.PerTransaction, ""},
		{"daily", f.Limits.Daily, FormatAmount(spentIn(f.DayKey, f.DaySpent, day), scale)},
		{"monthly", f.Limits.Monthly, FormatAmount(spentIn(f.MonthKey, f.MonthSpent, month), scale)},
	}
	for _, c := range checks {
		if c.limit == "" || !dec(c.spent).Add(amount).GreaterThan(dec(c.limit)) {
			continue
		}
		why := fmt.Sprintf("%s %s %s would exceed the %s spending limit of %s", what, FormatAmount(amount, scale), cur.Currency, strings.ReplaceAll(c.kind, "_", "-"), c.limit)
		if c.spent != "" {
			why += fmt.Sprintf(" (%s already spent)", c.spent)
		}
		why += "."
		w := b.mutable(cur.ID)
		b.record(r, w, KindNote, TypeLimitBlocked, amount, why, "", sysMeta(FlowLimit,
			"operation", op, "limit_kind", c.kind, "limit", c.limit, "spent", c.spent))
		return &refusal{Errorf(ESpendingLimit, "%s", why)}
	}
	return nil
}

// countOutgoing adds amount to w's spending counters (w is the batch's own
// copy), and returns the day and month it counted in.
func (b *batch) countOutgoing(w *Wallet, amount decimal.Decimal) (day, month string) {
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
func uncountOutgoing(w *Wallet, amount decimal.Decimal, day, month string) {
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
func (b *batch) afterDebit(r *request, w *Wallet) {
	ar := w.Features.AutoReload
	if ar.Amount == "" || w.Features.ReloadTopupID != "" || !w.Balance.LessThan(dec(ar.Threshold)) {
		return
	}
	method := ar.Method
	if method == "" {
		method = "auto_reload"
	}
	t := &Topup{
		ID: b.w.cfg.NewID("top"), WalletID: w.ID, UserID: w.UserID, Amount: ar.Amount, Currency: w.Currency,
		Method: method, Origin: "auto_reload", Status: StatusPending, CreatedAt: b.now, UpdatedAt: b.now,
	}
	b.record(r, w, KindNote, TypeReloadTriggered, dec(ar.Amount),
		fmt.Sprintf("Balance fell below the auto-reload threshold of %s.", ar.Threshold), "",
		sysMeta(FlowReload, "topup_id", t.ID, "threshold", ar.Threshold, "method", method))
	w.Features.ReloadTopupID = t.ID
	b.put(ObjTopup, t.ID, t)
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

func (*SetLimits) op() string     { return "set_limits" }
func (*SetKYC) op() string        { return "set_kyc" }
func (*SetAutoReload) op() string { return "set_auto_reload" }

func (b *batch) walletOr404(id string) (*Wallet, error) {
	w := b.wallet(id)
	if w == nil {
		return nil, Errorf(ENotFound, "Wallet %q not found.", id)
	}
	return w, nil
}

func (c *SetLimits) apply(b *batch, r *request) error {
	cur, err := b.walletOr404(c.WalletID)
	if err != nil {
		return err
	}
	s := b.scale(cur.Currency)
	var l Limits
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
	b.record(r, w, KindNote, TypeLimits, decimal.Zero, "", "", sysMeta(FlowLimit,
		"per_transaction", l.PerTransaction, "daily", l.Daily, "monthly", l.Monthly))
	return nil
}

func (c *SetKYC) apply(b *batch, r *request) error {
	cur, err := b.walletOr404(c.WalletID)
	if err != nil {
		return err
	}
	switch c.Status {
	case KYCNone, KYCPending, KYCVerified:
	default:
		return Errorf(EInvalid, "status must be none, pending or verified.")
	}
	w := b.mutable(cur.ID)
	w.Features.KYCStatus = c.Status
	b.record(r, w, KindNote, TypeKYC, decimal.Zero, "", "", sysMeta(FlowKYC, "kyc_status", c.Status))
	return nil
}

func (c *SetAutoReload) apply(b *batch, r *request) error {
	cur, err := b.walletOr404(c.WalletID)
	if err != nil {
		return err
	}
	var ar AutoReload
	if !c.Remove {
		s := b.scale(cur.Currency)
		if ar.Threshold, err = parseOptionalAmount("threshold", c.Threshold, s); err != nil {
			return err
		} else if ar.Threshold == "" {
			return Errorf(EInvalidAmount, "threshold is required.")
		}
		if ar.Amount, err = parseOptionalAmount("amount", c.Amount, s); err != nil {
			return err
		} else if ar.Amount == "" {
			return Errorf(EInvalidAmount, "amount is required.")
		}
		if err := checkMethod(c.Method, false); err != nil {
			return err
		}
		ar.Method = c.Method
	} else if cur.Features.AutoReload.Amount == "" {
		return Errorf(ENotFound, "Wallet %s has no auto-reload.", cur.ID)
	}
	w := b.mutable(cur.ID)
	w.Features.AutoReload = ar
	b.record(r, w, KindNote, TypeAutoReload, decimal.Zero, "", "", sysMeta(FlowReload,
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

func (*CreateTopup) op() string   { return "create_topup" }
func (*CompleteTopup) op() string { return "complete_topup" }
func (*FailTopup) op() string     { return "fail_topup" }

func (c *CreateTopup) objectRef(es []*Entry) (string, string) {
	return ObjTopup, metaOf(es[0])["topup_id"]
}
func (c *CompleteTopup) objectRef([]*Entry) (string, string) { return ObjTopup, c.TopupID }
func (c *FailTopup) objectRef([]*Entry) (string, string)     { return ObjTopup, c.TopupID }

func (c *CreateTopup) apply(b *batch, r *request) error {
	cur, err := b.walletOr404(c.WalletID)
	if err != nil {
		return err
	}
	s := b.scale(cur.Currency)
	amount, err := ParseAmount(c.Amount, s)
	if err != nil {
		return err
	} else if err := checkMethod(c.Method, true); err != nil {
		return err
	} else if err := checkText("external_ref", c.ExternalRef, MaxOrderIDLen, false); err != nil {
		return err
	}
	t := &Topup{
		ID: b.w.cfg.NewID("top"), WalletID: cur.ID, UserID: cur.UserID, Amount: FormatAmount(amount, s),
		Currency: cur.Currency, Method: c.Method, ExternalRef: c.ExternalRef, Origin: "api",
		Status: StatusPending, CreatedAt: b.now, UpdatedAt: b.now,
	}
	w := b.mutable(cur.ID)
	b.record(r, w, KindNote, TypeTopupPending, amount, "", "", sysMeta(FlowTopup,
		"topup_id", t.ID, "method", t.Method, "external_ref", t.ExternalRef))
	b.put(ObjTopup, t.ID, t)
	b.current = t
	return nil
}

// pendingTopup returns a copy of top-up id, which must be pending.
func (b *batch) pendingTopup(id string) (*Topup, error) {
	t, _ := b.obj(ObjTopup, id).(*Topup)
	if t == nil {
		return nil, Errorf(ENotFound, "Top-up %q not found.", id)
	} else if t.Status != StatusPending {
		return nil, Errorf(EConflict, "Top-up %s is already %s.", id, t.Status)
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
		return Errorf(EInvalidAmount, "The top-up would take the balance above the maximum.")
	}
	w := b.mutable(cur.ID)
	w.Balance = w.Balance.Add(amount)
	if w.Features.ReloadTopupID == t.ID {
		w.Features.ReloadTopupID = ""
	}
	e := b.record(r, w, KindCredit, TypeTopup, amount, "Top-up "+t.ID, "", sysMeta(FlowTopup,
		"topup_id", t.ID, "method", t.Method, "external_ref", t.ExternalRef))
	t.Status, t.TransactionID, t.UpdatedAt = StatusCompleted, e.ID, b.now
	b.put(ObjTopup, t.ID, t)
	b.current = t
	return nil
}

func (c *FailTopup) apply(b *batch, r *request) error {
	if err := checkText("reason", c.Reason, MaxReasonLen, false); err != nil {
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
	b.record(r, w, KindNote, TypeTopupFailed, dec(t.Amount), c.Reason, "", sysMeta(FlowTopup,
		"topup_id", t.ID, "method", t.Method, "external_ref", t.ExternalRef))
	t.Status, t.FailureReason, t.UpdatedAt = StatusFailed, c.Reason, b.now
	b.put(ObjTopup, t.ID, t)
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

func (*RequestWithdrawal) op() string { return "request_withdrawal" }
func (*ApproveWithdrawal) op() string { return "approve_withdrawal" }
func (*RejectWithdrawal) op() string  { return "reject_withdrawal" }

func (c *RequestWithdrawal) objectRef(es []*Entry) (string, string) {
	return ObjWithdrawal, metaOf(es[0])["withdrawal_id"]
}
func (c *ApproveWithdrawal) objectRef([]*Entry) (string, string) {
	return ObjWithdrawal, c.WithdrawalID
}
func (c *RejectWithdrawal) objectRef([]*Entry) (string, string) { return ObjWithdrawal, c.WithdrawalID }

func (c *RequestWithdrawal) apply(b *batch, r *request) error {
	cur, err := b.walletOr404(c.WalletID)
	if err != nil {
		return err
	}
	s := b.scale(cur.Currency)
	amount, err := ParseAmount(c.Amount, s)
	if err != nil {
		return err
	} else if err := checkMethod(c.Method, true); err != nil {
		return err
	} else if err := checkText("destination", c.Destination, MaxReasonLen, false); err != nil {
		return err
	}
	if err := b.outgoing(r, cur, amount, "withdrawal"); err != nil {
		return err
	}
	d := &Withdrawal{
		ID: b.w.cfg.NewID("wdr"), WalletID: cur.ID, UserID: cur.UserID, Amount: FormatAmount(amount, s),
		Currency: cur.Currency, Method: c.Method, Destination: c.Destination, Status: StatusPending,
		CreatedAt: b.now, UpdatedAt: b.now,
	}
	w := b.mutable(cur.ID)
	w.Held = w.Held.Add(amount)
	d.DayKey, d.MonthKey = b.countOutgoing(w, amount)
	b.record(r, w, KindHold, TypeWithdrawal, amount, "", "", sysMeta(FlowWithdrawal,
		"withdrawal_id", d.ID, "method", d.Method, "destination", d.Destination))
	b.put(ObjWithdrawal, d.ID, d)
	b.current = d
	return nil
}

func (b *batch) pendingWithdrawal(id string) (*Withdrawal, *Wallet, error) {
	d, _ := b.obj(ObjWithdrawal, id).(*Withdrawal)
	if d == nil {
		return nil, nil, Errorf(ENotFound, "Withdrawal %q not found.", id)
	} else if d.Status != StatusPending {
		return nil, nil, Errorf(EConflict, "Withdrawal %s is already %s.", id, d.Status)
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
	if cur.Status == StatusFrozen {
		return Errorf(EWalletFrozen, "Wallet %s is frozen.", cur.ID)
	}
	amount := dec(d.Amount)
	w := b.mutable(cur.ID)
	w.Balance, w.Held = w.Balance.Sub(amount), w.Held.Sub(amount)
	e := b.record(r, w, KindSettle, TypeWithdrawal, amount, "Withdrawal "+d.ID, "", sysMeta(FlowWithdrawal,
		"withdrawal_id", d.ID, "method", d.Method, "destination", d.Destination))
	d.Status, d.TransactionID, d.UpdatedAt = StatusApproved, e.ID, b.now
	b.put(ObjWithdrawal, d.ID, d)
	b.afterDebit(r, w)
	b.current = d
	return nil
}

func (c *RejectWithdrawal) apply(b *batch, r *request) error {
	if err := checkText("reason", c.Reason, MaxReasonLen, false); err != nil {
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
	b.record(r, w, KindRelease, TypeWithdrawal, amount, c.Reason, "", sysMeta(FlowWithdrawal,
		"withdrawal_id", d.ID, "method", d.Method, "destination", d.Destination))
	d.Status, d.RejectReason, d.UpdatedAt = StatusRejected, c.Reason, b.now
	b.put(ObjWithdrawal, d.ID, d)
	b.current = d
	return nil
}

// ---------------------------------------------------------------------------
// Redemption codes

// RedemptionCode is a code that credits a fixed amount when redeemed.
type RedemptionCode struct {
	ID             string     `json:"id"`
	Code           string     `json:"code"`
	Amount         string     `json:"amount"`
	Currency       string     `json:"currency"`
	MaxRedemptions int        `json:"max_redemptions"`
	Redemptions    int        `json:"redemptions"`
	PerUserOnce    bool       `json:"per_user_once"`
	ExpiresAt      *time.Time `json:"expires_at"`
	CreatedAt      time.Time  `json:"created_at"`
}

// Redemption records that a user redeemed a per-user-once code.
type Redemption struct {
	Code          string    `json:"code"`
	UserID        string    `json:"user_id"`
	WalletID      string    `json:"wallet_id"`
	TransactionID string    `json:"transaction_id"`
	CreatedAt     time.Time `json:"created_at"`
}

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

func (*CreateRedemptionCode) op() string { return "create_redemption_code" }
func (*Redeem) op() string               { return "redeem" }

func (c *CreateRedemptionCode) objectRef(es []*Entry) (string, string) {
	return ObjCode, metaOf(es[0])["id"]
}

// CodeIndex finds a redemption code's id by the code.
type CodeIndex struct {
	ID string `json:"id"`
}

// codeByText returns the redemption code whose text is code, or nil.
func (b *batch) codeByText(code string) *RedemptionCode {
	idx, _ := b.obj(ObjCodeIndex, code).(*CodeIndex)
	if idx == nil {
		return nil
	}
	rc, _ := b.obj(ObjCode, idx.ID).(*RedemptionCode)
	return rc
}

// MaxCodeLen bounds redemption codes.
const MaxCodeLen = 64

// NormalizeCode returns the form codes are stored and matched in: trimmed
// and upper-case.
func NormalizeCode(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

func checkCode(code string) error {
	if len(code) < 4 || len(code) > MaxCodeLen {
		return Errorf(EInvalid, "code must be 4 to %d characters.", MaxCodeLen)
	}
	for i := 0; i < len(code); i++ {
		if c := code[i]; !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return Errorf(EInvalid, "code may hold only letters, digits, - and _.")
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
	amount, err := ParseAmount(c.Amount, s)
	if err != nil {
		return err
	}
	if c.MaxRedemptions < 1 || c.MaxRedemptions > 1_000_000_000 {
		return Errorf(EInvalid, "max_redemptions must be between 1 and 1000000000.")
	}
	var expires *time.Time
	if c.ExpiresAt != "" {
		t, err := time.Parse(time.RFC3339, c.ExpiresAt)
		if err != nil {
			return Errorf(EInvalid, "expires_at must be an RFC 3339 time such as 2026-12-31T23:59:59Z.")
		} else if !t.After(b.now) {
			return Errorf(EInvalid, "expires_at is in the past.")
		}
		t = t.UTC()
		expires = &t
	}
	if b.obj(ObjCodeIndex, code) != nil {
		return Errorf(EConflict, "Redemption code %s already exists.", code)
	}
	rc := &RedemptionCode{
		ID: b.w.cfg.NewID("rdc"), Code: code, Amount: FormatAmount(amount, s), Currency: c.Currency,
		MaxRedemptions: c.MaxRedemptions, PerUserOnce: c.PerUserOnce, ExpiresAt: expires, CreatedAt: b.now,
	}
	exp := ""
	if expires != nil {
		exp = expires.Format(time.RFC3339)
	}
	// The chain records the code's terms, not the code itself: whoever
	// reads the ledger or the stream must not be able to redeem it.
	b.config(r, ObjCode, c.Currency, map[string]string{
		"id": rc.ID, "code_hint": codeHint(code), "amount": rc.Amount,
		"max_redemptions": fmt.Sprint(rc.MaxRedemptions), "per_user_once": boolText(rc.PerUserOnce), "expires_at": exp,
	})
	b.put(ObjCode, rc.ID, rc)
	b.put(ObjCodeIndex, code, &CodeIndex{ID: rc.ID})
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
		return Errorf(EInvalid, "code is required.")
	}
	rc := b.codeByText(code)
	if rc == nil {
		return Errorf(ENotFound, "Redemption code not found.")
	} else if rc.Currency != cur.Currency {
		return Errorf(ECurrencyMismatch, "The code is for %s and wallet %s holds %s.", rc.Currency, cur.ID, cur.Currency)
	} else if rc.ExpiresAt != nil && !b.now.Before(*rc.ExpiresAt) {
		return Errorf(ECodeExpired, "The code expired at %s.", rc.ExpiresAt.Format(time.RFC3339))
	} else if rc.Redemptions >= rc.MaxRedemptions {
		return Errorf(ECodeExhausted, "The code has been redeemed the most times it may be.")
	}
	userKey := code + "/" + cur.UserID
	if rc.PerUserOnce && b.obj(ObjRedemption, userKey) != nil {
		return Errorf(ECodeUsed, "User %q has already redeemed this code.", cur.UserID)
	}
	amount := dec(rc.Amount)
	if cur.Balance.Add(amount).GreaterThanOrEqual(maxBalance) {
		return Errorf(EInvalidAmount, "The credit would take the balance above the maximum.")
	}
	w := b.mutable(cur.ID)
	w.Balance = w.Balance.Add(amount)
	// As at creation, the chain names the code by id and hint only: a
	// code with uses left must not be readable from the ledger or stream.
	e := b.record(r, w, KindCredit, TypeRedemption, amount, "Redemption code "+rc.ID, "", sysMeta(FlowRedemption,
		"code_id", rc.ID, "code_hint", codeHint(code)))
	next := *rc
	next.Redemptions++
	b.put(ObjCode, rc.ID, &next)
	if rc.PerUserOnce {
		b.put(ObjRedemption, userKey, &Redemption{Code: code, UserID: cur.UserID, WalletID: cur.ID, TransactionID: e.ID, CreatedAt: b.now})
	}
	return nil
}
