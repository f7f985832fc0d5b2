package ledger

import (
	"github.com/walletd/walletd"
)

// Withdrawals: money on its way out to a payment method. The request holds
// the amount (and counts it against the spending limits); approval debits
// it from the hold, rejection releases it and gives it back to the limits.

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

// Op names the command in fingerprints and logs.
func (*RequestWithdrawal) Op() string { return "request_withdrawal" }

// Op names the command in fingerprints and logs.
func (*ApproveWithdrawal) Op() string { return "approve_withdrawal" }

// Op names the command in fingerprints and logs.
func (*RejectWithdrawal) Op() string { return "reject_withdrawal" }

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
		ID: b.w.cfg.NewID("wdr"), WalletID: cur.ID, UserID: cur.UserID, Amount: walletd.NewMoney(amount, s),
		Currency: cur.Currency, Method: c.Method, Destination: c.Destination, Status: walletd.StatusPending,
		CreatedAt: b.now, UpdatedAt: b.now,
	}
	w := b.mutable(cur.ID)
	w.Held = w.Held.Add(amount)
	d.DayKey, d.MonthKey = b.countOutgoing(w, amount)
	b.record(r, w, walletd.KindHold, walletd.TypeWithdrawal, amount, "", "", sysMeta(walletd.FlowWithdrawal,
		"withdrawal_id", d.ID, "method", d.Method, "destination", d.Destination))
	b.withdrawals.put(d.ID, d, b.seq)
	b.report(walletd.ObjWithdrawal, d.ID, d)
	return nil
}

// pendingWithdrawal returns a copy of withdrawal id, which must be
// pending, and its wallet.
func (b *batch) pendingWithdrawal(id string) (*walletd.Withdrawal, *walletd.Wallet, error) {
	d := b.withdrawals.get(id)
	if d == nil {
		return nil, nil, walletd.Errorf(walletd.ENotFound, "Withdrawal %s not found.", walletd.QuoteInput(id))
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
	amount := d.Amount.Decimal()
	w := b.mutable(cur.ID)
	w.Balance, w.Held = w.Balance.Sub(amount), w.Held.Sub(amount)
	e := b.record(r, w, walletd.KindSettle, walletd.TypeWithdrawal, amount, "Withdrawal "+d.ID, "", sysMeta(walletd.FlowWithdrawal,
		"withdrawal_id", d.ID, "method", d.Method, "destination", d.Destination))
	d.Status, d.TransactionID, d.UpdatedAt = walletd.StatusApproved, e.ID, b.now
	b.withdrawals.put(d.ID, d, b.seq)
	b.afterDebit(r, w)
	b.report(walletd.ObjWithdrawal, d.ID, d)
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
	amount := d.Amount.Decimal()
	w := b.mutable(cur.ID)
	w.Held = w.Held.Sub(amount)
	uncountOutgoing(w, amount, d.DayKey, d.MonthKey)
	b.record(r, w, walletd.KindRelease, walletd.TypeWithdrawal, amount, c.Reason, "", sysMeta(walletd.FlowWithdrawal,
		"withdrawal_id", d.ID, "method", d.Method, "destination", d.Destination))
	d.Status, d.RejectReason, d.UpdatedAt = walletd.StatusRejected, c.Reason, b.now
	b.withdrawals.put(d.ID, d, b.seq)
	b.report(walletd.ObjWithdrawal, d.ID, d)
	return nil
}
