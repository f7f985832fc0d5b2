package ledger

import (
	"fmt"
	"strings"

	"github.com/walletd/walletd"

	"github.com/shopspring/decimal"
)

// maxBalance is the largest balance a wallet may hold: no credit may take
// a balance to it.
var maxBalance = decimal.New(1, walletd.MaxAmountDigits)

// CreateWallet opens a wallet. One wallet per user per currency.
type CreateWallet struct {
	UserID   string `json:"user_id"`
	Email    string `json:"email"`
	Currency string `json:"currency"`
}

// Post credits or debits one wallet.
type Post struct {
	WalletID string            `json:"wallet_id"`
	Kind     string            `json:"kind"` // KindCredit or KindDebit
	Amount   string            `json:"amount"`
	Type     string            `json:"type"`
	Reason   string            `json:"reason"`
	OrderID  string            `json:"order_id"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

// SetStatus freezes or unfreezes a wallet.
type SetStatus struct {
	WalletID string `json:"wallet_id"`
	Frozen   bool   `json:"frozen"`
	Reason   string `json:"reason"`
}

// Op names the command in fingerprints and logs.
func (*CreateWallet) Op() string { return "create_wallet" }

// Op names the command in fingerprints and logs.
func (*Post) Op() string { return "post" }

// Op names the command in fingerprints and logs.
func (*SetStatus) Op() string { return "set_status" }

func userKey(userID, currency string) string { return userID + "\x00" + currency }

// wallet returns wallet id as the batch has left it, or nil. The wallet
// must not be changed: use mutable. A wallet the writer does not hold is
// read from the store (walletcache.go).
func (b *batch) wallet(id string) *walletd.Wallet {
	if w := b.wallets.get(id); w != nil {
		b.cache.hits.Add(1)
		b.cache.touch(id)
		return w
	}
	if id == "" {
		return nil
	}
	return b.loadWallet(id)
}

// walletOr404 returns wallet id as the batch has left it, or ENotFound.
func (b *batch) walletOr404(id string) (*walletd.Wallet, error) {
	w := b.wallet(id)
	if w == nil {
		return nil, walletd.Errorf(walletd.ENotFound, "Wallet %s not found.", walletd.QuoteInput(id))
	}
	return w, nil
}

// mutable returns the batch's own copy of wallet id, which exists, for
// changing in place; the journal can take back what the command does to
// it.
// A wallet the writer does not hold is read first; one that cannot be read
// gives a scratch copy that nothing keeps, as its command fails
// (b.loadErr) and the batch forgets what it did.
func (b *batch) mutable(id string) *walletd.Wallet {
	if b.wallets.get(id) == nil && b.wallet(id) == nil {
		if b.loadErr != nil {
			return &walletd.Wallet{ID: id, Currency: b.w.cfg.DefaultCurrency}
		}
		panic(fmt.Sprintf("writer: wallet %s changed but not found", id))
	}
	return b.wallets.edit(id)
}

// walletOf returns the id of user's wallet in currency, or "".
func (b *batch) walletOf(user, currency string) string {
	if id, ok := b.byUser[userKey(user, currency)]; ok {
		return id
	}
	if user == "" {
		return ""
	}
	if w := b.loadWalletOf(user, currency); w != nil {
		return w.ID
	}
	return ""
}

func (c *CreateWallet) apply(b *batch, r *request) error {
	if err := walletd.CheckText("user_id", c.UserID, walletd.MaxUserIDLen, true); err != nil {
		return err
	} else if err := checkEmail(c.Email); err != nil {
		return err
	}
	if _, err := b.w.cfg.Currencies.Scale(c.Currency); err != nil {
		return err
	}
	uk := userKey(c.UserID, c.Currency)
	if id := b.walletOf(c.UserID, c.Currency); id != "" {
		return walletd.Errorf(walletd.EWalletExists, "User %q already has a %s wallet (%s).", c.UserID, c.Currency, id)
	}
	w := &walletd.Wallet{
		ID:        b.w.cfg.NewID("wal"),
		UserID:    c.UserID,
		Email:     c.Email,
		Currency:  c.Currency,
		Status:    walletd.StatusActive,
		CreatedAt: b.now,
		UpdatedAt: b.now,
	}
	b.wallets.put(w.ID, w, 0)
	b.setUser(uk, w.ID)
	e := b.entryFor(w, walletd.KindOpen, "open", decimal.Zero)
	e.Email = c.Email
	b.append(r, e)
	w.LastSeq = e.Seq
	return nil
}

func (c *Post) apply(b *batch, r *request) error {
	cur := b.wallet(c.WalletID)
	if cur == nil {
		return walletd.Errorf(walletd.ENotFound, "Wallet %s not found.", walletd.QuoteInput(c.WalletID))
	}
	amount, err := walletd.ParseAmount(c.Amount, b.scale(cur.Currency))
	if err != nil {
		return err
	}
	if err := checkType(c.Type); err != nil {
		return err
	} else if err := walletd.CheckText("reason", c.Reason, walletd.MaxReasonLen, false); err != nil {
		return err
	} else if err := walletd.CheckText("order_id", c.OrderID, walletd.MaxOrderIDLen, false); err != nil {
		return err
	}
	meta, err := CanonicalMetadata(c.Metadata)
	if err != nil {
		return err
	}
	switch c.Kind {
	case walletd.KindCredit:
		if cur.Balance.Add(amount).GreaterThanOrEqual(maxBalance) {
			return walletd.Errorf(walletd.EInvalidAmount, "The credit would take the balance above the maximum.")
		}
	case walletd.KindDebit:
		if err := b.outgoing(r, cur, amount, "debit"); err != nil {
			return err
		}
	default:
		return walletd.Errorf(walletd.EInvalid, "kind must be credit or debit.")
	}
	w := b.mutable(c.WalletID)
	if c.Kind == walletd.KindCredit {
		w.Balance = w.Balance.Add(amount)
	} else {
		w.Balance = w.Balance.Sub(amount)
		b.countOutgoing(w, amount)
	}
	w.UpdatedAt = b.now
	e := b.entryFor(w, c.Kind, c.Type, amount)
	e.Reason, e.OrderID, e.Metadata = c.Reason, c.OrderID, meta
	b.append(r, e)
	w.LastSeq = e.Seq
	if c.Kind == walletd.KindDebit {
		b.afterDebit(r, w)
	}
	return nil
}

// checkDebit enforces the rules every outgoing amount obeys.
func checkDebit(w *walletd.Wallet, amount decimal.Decimal, scale int32) error {
	if w.Status == walletd.StatusFrozen {
		return walletd.Errorf(walletd.EWalletFrozen, "Wallet %s is frozen.", w.ID)
	}
	if w.Available().LessThan(amount) {
		return walletd.Errorf(walletd.EInsufficientFunds, "Wallet %s has %s %s available.", w.ID, w.Available().StringFixed(scale), w.Currency)
	}
	return nil
}

func (c *SetStatus) apply(b *batch, r *request) error {
	cur := b.wallet(c.WalletID)
	if cur == nil {
		return walletd.Errorf(walletd.ENotFound, "Wallet %s not found.", walletd.QuoteInput(c.WalletID))
	}
	if err := walletd.CheckText("reason", c.Reason, walletd.MaxReasonLen, false); err != nil {
		return err
	}
	kind, status := walletd.KindUnfreeze, walletd.StatusActive
	if c.Frozen {
		kind, status = walletd.KindFreeze, walletd.StatusFrozen
	}
	if cur.Status == status {
		return walletd.Errorf(walletd.EConflict, "Wallet %s is already %s.", cur.ID, status)
	}
	w := b.mutable(c.WalletID)
	w.Status = status
	w.UpdatedAt = b.now
	e := b.entryFor(w, kind, kind, decimal.Zero)
	e.Reason = c.Reason
	b.append(r, e)
	w.LastSeq = e.Seq
	return nil
}

func checkEmail(s string) error {
	if err := walletd.CheckText("email", s, walletd.MaxEmailLen, true); err != nil {
		return err
	}
	at := strings.LastIndexByte(s, '@')
	if at < 1 || at == len(s)-1 || strings.ContainsAny(s, " \t<>") {
		return walletd.Errorf(walletd.EInvalid, "email %s is not an email address.", walletd.QuoteInput(s))
	}
	return nil
}

func checkType(s string) error {
	if len(s) == 0 || len(s) > walletd.MaxTypeLen {
		return walletd.Errorf(walletd.EInvalid, "type must be 1 to %d characters.", walletd.MaxTypeLen)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return walletd.Errorf(walletd.EInvalid, "type %q may hold only a-z, 0-9 and _.", s)
		}
	}
	switch s {
	case walletd.TypeTransferIn, walletd.TypeTransferOut, "open", walletd.KindFreeze, walletd.KindUnfreeze:
		return walletd.Errorf(walletd.EInvalid, "type %q is reserved.", s)
	}
	return nil
}
