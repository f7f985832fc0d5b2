package ledger

import (
	"fmt"

	"github.com/walletd/walletd"

	"github.com/shopspring/decimal"
)

// Auto-reload: when a debit takes a wallet's balance below its threshold,
// the writer starts a top-up of a set amount, one at a time.

// SetAutoReload sets (or, with Remove, removes) a wallet's auto-reload.
// Setting the auto-reload the wallet already has changes nothing and
// appends nothing (Result.Unchanged). Removing an auto-reload the wallet
// does not have is ENotFound, as before: a DELETE names something to
// remove.
type SetAutoReload struct {
	WalletID  string `json:"wallet_id"`
	Threshold string `json:"threshold"`
	Amount    string `json:"amount"`
	Method    string `json:"method"`
	Remove    bool   `json:"remove"`
}

// Op names the command in fingerprints and logs.
func (*SetAutoReload) Op() string { return "set_auto_reload" }

func (c *SetAutoReload) apply(b *batch, r *request) error {
	cur, err := b.walletOr404(c.WalletID)
	if err != nil {
		return err
	}
	var ar walletd.AutoReload
	if !c.Remove {
		s := b.scale(cur.Currency)
		if ar.Threshold, err = optionalAmount("threshold", c.Threshold, s); err != nil {
			return err
		} else if !ar.Threshold.IsSet() {
			return walletd.Errorf(walletd.EInvalidAmount, "threshold is required.")
		}
		if ar.Amount, err = optionalAmount("amount", c.Amount, s); err != nil {
			return err
		} else if !ar.Amount.IsSet() {
			return walletd.Errorf(walletd.EInvalidAmount, "amount is required.")
		}
		if err := checkMethod(c.Method, false); err != nil {
			return err
		}
		ar.Method = c.Method
	} else if !cur.Features.AutoReload.Amount.IsSet() {
		return walletd.Errorf(walletd.ENotFound, "Wallet %s has no auto-reload.", cur.ID)
	}
	if !c.Remove && sameAutoReload(ar, cur.Features.AutoReload) {
		b.unchangedWallet(cur)
		return nil
	}
	w := b.mutable(cur.ID)
	w.Features.AutoReload = ar
	b.record(r, w, walletd.KindNote, walletd.TypeAutoReload, decimal.Zero, "", "", sysMeta(walletd.FlowReload,
		"threshold", ar.Threshold.String(), "amount", ar.Amount.String(), "method", ar.Method, "removed", boolText(c.Remove)))
	return nil
}

// sameAutoReload says whether a and b are the same auto-reload, as their
// entries record it.
func sameAutoReload(a, b walletd.AutoReload) bool {
	return a.Threshold.String() == b.Threshold.String() && a.Amount.String() == b.Amount.String() && a.Method == b.Method
}

// afterDebit fires w's auto-reload if a debit took its balance below the
// threshold and no reload is pending: a reload_triggered entry and a
// pending top-up, in the same batch as the debit. w is the batch's own
// copy.
func (b *batch) afterDebit(r *request, w *walletd.Wallet) {
	ar := w.Features.AutoReload
	if !ar.Amount.IsSet() || w.Features.ReloadTopupID != "" || !w.Balance.LessThan(ar.Threshold.Decimal()) {
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
	b.record(r, w, walletd.KindNote, walletd.TypeReloadTriggered, ar.Amount.Decimal(),
		fmt.Sprintf("Balance fell below the auto-reload threshold of %s.", ar.Threshold), "",
		sysMeta(walletd.FlowReload, "topup_id", t.ID, "threshold", ar.Threshold.String(), "method", method))
	w.Features.ReloadTopupID = t.ID
	b.topups.put(t.ID, t, b.seq)
}
