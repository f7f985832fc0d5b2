package ledger

import (
	"github.com/walletd/walletd"
)

// Top-ups: money on its way in from a payment method, pending until the
// payment completes (a credit) or fails. Auto-reload starts them too
// (autoreload.go).

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

// Op names the command in fingerprints and logs.
func (*CreateTopup) Op() string { return "create_topup" }

// Op names the command in fingerprints and logs.
func (*CompleteTopup) Op() string { return "complete_topup" }

// Op names the command in fingerprints and logs.
func (*FailTopup) Op() string { return "fail_topup" }

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
		ID: b.w.cfg.NewID("top"), WalletID: cur.ID, UserID: cur.UserID, Amount: walletd.NewMoney(amount, s),
		Currency: cur.Currency, Method: c.Method, ExternalRef: c.ExternalRef, Origin: "api",
		Status: walletd.StatusPending, CreatedAt: b.now, UpdatedAt: b.now,
	}
	w := b.mutable(cur.ID)
	b.record(r, w, walletd.KindNote, walletd.TypeTopupPending, amount, "", "", sysMeta(walletd.FlowTopup,
		"topup_id", t.ID, "method", t.Method, "external_ref", t.ExternalRef))
	b.topups.put(t.ID, t, b.seq)
	b.report(walletd.ObjTopup, t.ID, t)
	return nil
}

// pendingTopup returns a copy of top-up id, which must be pending.
func (b *batch) pendingTopup(id string) (*walletd.Topup, error) {
	t := b.topups.get(id)
	if t == nil {
		return nil, walletd.Errorf(walletd.ENotFound, "Top-up %s not found.", walletd.QuoteInput(id))
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
	amount := t.Amount.Decimal()
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
	b.topups.put(t.ID, t, b.seq)
	b.report(walletd.ObjTopup, t.ID, t)
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
	b.record(r, w, walletd.KindNote, walletd.TypeTopupFailed, t.Amount.Decimal(), c.Reason, "", sysMeta(walletd.FlowTopup,
		"topup_id", t.ID, "method", t.Method, "external_ref", t.ExternalRef))
	t.Status, t.FailureReason, t.UpdatedAt = walletd.StatusFailed, c.Reason, b.now
	b.topups.put(t.ID, t, b.seq)
	b.report(walletd.ObjTopup, t.ID, t)
	return nil
}

// checkMethod validates a payment method name (of a top-up, withdrawal or
// auto-reload): 1 to 32 of a-z, 0-9, _.
func checkMethod(s string, required bool) error {
	if s == "" && !required {
		return nil
	}
	if len(s) == 0 || len(s) > walletd.MaxTypeLen {
		return walletd.Errorf(walletd.EInvalid, "method must be 1 to %d characters.", walletd.MaxTypeLen)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return walletd.Errorf(walletd.EInvalid, "method %q may hold only a-z, 0-9 and _.", s)
		}
	}
	return nil
}
