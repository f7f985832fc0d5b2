package ledger

import (
	"context"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/events"
)

// The reset-fee flow (docs/reset-fee.md): its secret keys, the pending
// order a request creates with its one-time payment link, the link's
// first visit, the payment from the wallet through the page and the
// expiry that cancels an order left unpaid. Only hashes of the keys,
// link tokens and page sessions reach the writer.

// CreateResetFeeKey records a secret key of the reset-fee endpoint: its
// id, name, the secret's first characters and the SHA-256 of the secret
// (hex). The caller makes the secret and shows it once.
type CreateResetFeeKey struct {
	ID     string `json:"id"`
	Name   string `json:"name,omitempty"`
	Prefix string `json:"prefix"`
	Hash   string `json:"hash"`
}

// RevokeResetFeeKey revokes a reset-fee secret key, once.
type RevokeResetFeeKey struct {
	ID string `json:"id"`
}

// CreateResetFeeOrder creates the pending order of a reset-fee request
// (source reset_fee, one line of the variation, account_id in its
// meta_data, the customer the user whose wallet in the product's currency
// has the billing email) and its payment link: the SHA-256 (hex) of the
// link's token, valid for TTL. A pending reset-fee order of the same
// account and variation is cancelled in the same commit, so its link
// dies.
type CreateResetFeeOrder struct {
	AccountID   string               `json:"account_id"`
	VariationID int64                `json:"variation_id"`
	Billing     walletd.OrderAddress `json:"billing"`
	TokenHash   string               `json:"token_hash"`
	TTL         time.Duration        `json:"ttl"`
}

// SpendPaymentLink spends the payment link of an order at its first
// visit, binding the payment page to the visitor's session (the SHA-256,
// hex, of its cookie). An unknown order or token is ENotFound; a link
// spent or expired, or an order no longer pending, is EConflict.
type SpendPaymentLink struct {
	OrderID     int64  `json:"order_id"`
	TokenHash   string `json:"token_hash"`
	SessionHash string `json:"session_hash"`
}

// PayLinkFromWallet pays an order from its customer's wallet through its
// payment page: the link must have been spent by the session, and not
// have expired. A reset-fee order (a virtual product) is then completed
// in the same commit.
type PayLinkFromWallet struct {
	OrderID     int64  `json:"order_id"`
	SessionHash string `json:"session_hash"`
}

// ExpirePaymentLink cancels an order whose payment link has expired while
// it is still pending (order.updated, status cancelled), and marks the
// link expired. Before the link's expiry (or the end of its hold,
// HoldPaymentLink), or once the order left pending, it is EConflict and
// changes nothing.
type ExpirePaymentLink struct {
	OrderID int64 `json:"order_id"`
}

// Op names the command in fingerprints and logs.
func (*CreateResetFeeKey) Op() string { return "create_reset_fee_key" }

// Op names the command in fingerprints and logs.
func (*RevokeResetFeeKey) Op() string { return "revoke_reset_fee_key" }

// Op names the command in fingerprints and logs.
func (*CreateResetFeeOrder) Op() string { return "create_reset_fee_order" }

// Op names the command in fingerprints and logs.
func (*SpendPaymentLink) Op() string { return "spend_payment_link" }

// Op names the command in fingerprints and logs.
func (*PayLinkFromWallet) Op() string { return "pay_link_from_wallet" }

// Op names the command in fingerprints and logs.
func (*ExpirePaymentLink) Op() string { return "expire_payment_link" }

func (c *CreateResetFeeKey) objectRef([]*walletd.Entry) (string, string) {
	return walletd.ObjResetFeeKey, c.ID
}
func (c *RevokeResetFeeKey) objectRef([]*walletd.Entry) (string, string) {
	return walletd.ObjResetFeeKey, c.ID
}
func (c *CreateResetFeeOrder) objectRef(es []*walletd.Entry) (string, string) {
	for _, e := range slices.Backward(es) { // the new order's step follows an earlier order's cancellation
		if m := metaOf(e); m[metaOrderEvent] == events.OrderCreated {
			if id, ok := walletd.ParseOrderID(m[metaOrderID]); ok {
				return walletd.ObjShopOrder, walletd.IntKey(id)
			}
		}
	}
	return "", ""
}
func (c *SpendPaymentLink) objectRef([]*walletd.Entry) (string, string) {
	return walletd.ObjShopOrder, walletd.IntKey(c.OrderID)
}
func (c *PayLinkFromWallet) objectRef([]*walletd.Entry) (string, string) {
	return walletd.ObjShopOrder, walletd.IntKey(c.OrderID)
}
func (c *ExpirePaymentLink) objectRef([]*walletd.Entry) (string, string) {
	return walletd.ObjShopOrder, walletd.IntKey(c.OrderID)
}

// checkHash validates a SHA-256 digest in lower-case hex.
func checkHash(field, s string) error {
	if b, err := hex.DecodeString(s); err != nil || len(b) != 32 || strings.ToLower(s) != s {
		return walletd.Errorf(walletd.EInvalid, "%s must be a SHA-256 digest in lower-case hex.", field)
	}
	return nil
}

// hashEqual compares two digests in constant time.
func hashEqual(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func (c *CreateResetFeeKey) apply(b *batch, r *request) error {
	if err := walletd.CheckText("id", c.ID, 64, true); err != nil {
		return err
	} else if err := walletd.CheckText("name", c.Name, walletd.MaxNameLen, false); err != nil {
		return err
	} else if err := walletd.CheckText("prefix", c.Prefix, 16, true); err != nil {
		return err
	} else if err := checkHash("hash", c.Hash); err != nil {
		return err
	} else if b.resetFeeKeys.get(c.ID) != nil {
		return walletd.Errorf(walletd.EConflict, "Reset-fee key %s exists.", walletd.QuoteInput(c.ID))
	}
	for _, k := range b.resetFeeKeys.rows {
		if k.Hash == c.Hash {
			return walletd.Errorf(walletd.EConflict, "That secret is a reset-fee key already.")
		}
	}
	k := &walletd.ResetFeeKey{ID: c.ID, Name: c.Name, Prefix: c.Prefix, Hash: c.Hash, CreatedAt: b.now}
	b.config(r, walletd.TypeResetFeeKey, b.w.cfg.DefaultCurrency, map[string]string{"id": k.ID, "name": k.Name, "prefix": k.Prefix, "action": "created"})
	b.resetFeeKeys.put(k.ID, k, b.seq)
	b.report(walletd.ObjResetFeeKey, k.ID, k)
	return nil
}

func (c *RevokeResetFeeKey) apply(b *batch, r *request) error {
	prev := b.resetFeeKeys.get(c.ID)
	if prev == nil {
		return walletd.Errorf(walletd.ENotFound, "Reset-fee key %s not found.", walletd.QuoteInput(c.ID))
	} else if !prev.Active() {
		return walletd.Errorf(walletd.EConflict, "Reset-fee key %s is revoked already.", c.ID)
	}
	k := *prev
	k.RevokedAt = b.now
	b.config(r, walletd.TypeResetFeeKey, b.w.cfg.DefaultCurrency, map[string]string{"id": k.ID, "name": k.Name, "prefix": k.Prefix, "action": "revoked"})
	b.resetFeeKeys.put(k.ID, &k, b.seq)
	b.report(walletd.ObjResetFeeKey, k.ID, &k)
	return nil
}

// userByEmail returns the user whose wallet in currency has email (the
// case of ASCII letters ignored): of several, the one of the smallest
// wallet id; "" if none. It reads the committed wallets' index in the
// store and the wallets the batch under way created (a wallet's email
// never changes).
func (b *batch) userByEmail(email, currency string) string {
	if email == "" {
		return ""
	}
	best, user, err := b.w.cfg.Store.UserByEmail(context.Background(), email, currency)
	if err != nil {
		b.w.logger.Error("wallet by email", "error", err)
		if b.loadErr == nil {
			b.loadErr = walletd.Errorf(walletd.EInternal, "The ledger could not look up the wallets of an email; the server log says why.")
		}
		return ""
	}
	for _, id := range b.wallets.order {
		if w := b.wallets.rows[id]; w != nil && w.Currency == currency && asciiEqualFold(w.Email, email) && (best == "" || id < best) {
			best, user = id, w.UserID
		}
	}
	return user
}

// asciiEqualFold says whether a and b are equal but for the case of ASCII
// letters, as SQLite's NOCASE collation compares.
func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		ca, cb := a[i], b[i]
		if 'A' <= ca && ca <= 'Z' {
			ca += 'a' - 'A'
		}
		if 'A' <= cb && cb <= 'Z' {
			cb += 'a' - 'A'
		}
		if ca != cb {
			return false
		}
	}
	return true
}

func (c *CreateResetFeeOrder) apply(b *batch, r *request) error {
	if err := walletd.CheckText("account_id", c.AccountID, walletd.MaxOrderIDLen, true); err != nil {
		return err
	} else if err := checkHash("token_hash", c.TokenHash); err != nil {
		return err
	} else if c.TTL < walletd.MinLinkTTL || c.TTL > walletd.MaxLinkTTL {
		return walletd.Errorf(walletd.EInvalid, "ttl must be from %s to %s.", walletd.MinLinkTTL, walletd.MaxLinkTTL)
	}
	v := b.variations.get(walletd.IntKey(c.VariationID))
	if v == nil || v.Deleted {
		return walletd.Errorf(walletd.ENotFound, "product_id %d is not a variation of the catalogue.", c.VariationID)
	}
	refKey := walletd.ResetFeeRefKey(c.AccountID, c.VariationID)
	if ref := b.resetFeeRefs.get(refKey); ref != nil {
		if prev := b.shopOrders.get(walletd.IntKey(ref.OrderID)); prev != nil && prev.Status == walletd.OrderPending {
			if err := b.endUnpaid(r, prev.ID, "A new reset-fee request for the same account and product replaced this order.",
				walletd.OrderCancelled, walletd.TypeOrderCancelled); err != nil {
				return err
			}
		}
	}
	account, err := json.Marshal(c.AccountID)
	if err != nil {
		return walletd.Errorf(walletd.EInvalid, "account_id: %v", err)
	}
	co := &CreateOrder{Source: walletd.SourceResetFee, Currency: v.Currency, CustomerID: b.userByEmail(c.Billing.Email, v.Currency),
		Billing: c.Billing, Lines: []OrderLineInput{{VariationID: c.VariationID}},
		MetaData: []OrderMetaInput{{Key: walletd.MetaAccountID, Value: account}}}
	if err := co.apply(b, r); err != nil {
		return err
	}
	o, _ := b.current.object.(*walletd.ShopOrder)
	if o == nil {
		return walletd.Errorf(walletd.EInternal, "The reset-fee order was not created.")
	}
	key := walletd.IntKey(o.ID)
	b.paymentLinks.put(key, &walletd.PaymentLink{OrderID: o.ID, TokenHash: c.TokenHash, Status: walletd.LinkActive,
		CreatedAt: b.now, ExpiresAt: b.now.Add(c.TTL)}, b.seq)
	b.resetFeeRefs.put(refKey, &walletd.ResetFeeRef{OrderID: o.ID}, b.seq)
	b.report(walletd.ObjShopOrder, key, o)
	return nil
}

// errLinkInvalid is the answer to a link whose order or token is unknown:
// the same for both, so that a guess learns nothing.
func errLinkInvalid() error {
	return walletd.Errorf(walletd.ENotFound, "This payment link is not valid.")
}

func (c *SpendPaymentLink) apply(b *batch, r *request) error {
	if err := checkHash("session_hash", c.SessionHash); err != nil {
		return err
	}
	l := b.paymentLinks.get(walletd.IntKey(c.OrderID))
	if l == nil || !hashEqual(l.TokenHash, c.TokenHash) {
		return errLinkInvalid()
	}
	switch {
	case l.Status == walletd.LinkSpent:
		return walletd.Errorf(walletd.EConflict, "This payment link was used already: a payment link opens once.")
	case l.Status == walletd.LinkExpired || !b.now.Before(l.ExpiresAt):
		return walletd.Errorf(walletd.EConflict, "This payment link has expired.")
	}
	o, err := b.order(c.OrderID)
	if err != nil {
		return err
	} else if o.Status != walletd.OrderPending {
		return walletd.Errorf(walletd.EConflict, "Order %d is %s: its payment link is no longer valid.", o.ID, o.Status)
	}
	n := *l
	n.Status, n.SessionHash, n.SpentAt = walletd.LinkSpent, c.SessionHash, b.now
	b.config(r, walletd.TypePaymentLinkSpent, o.Currency, map[string]string{"id": strconv.FormatInt(o.ID, 10), "order_id": strconv.FormatInt(o.ID, 10)})
	b.paymentLinks.put(walletd.IntKey(o.ID), &n, b.seq)
	b.report(walletd.ObjShopOrder, walletd.IntKey(o.ID), o)
	return nil
}

func (c *PayLinkFromWallet) apply(b *batch, r *request) error {
	l := b.paymentLinks.get(walletd.IntKey(c.OrderID))
	if l == nil || l.Status != walletd.LinkSpent || c.SessionHash == "" || !hashEqual(l.SessionHash, c.SessionHash) {
		return walletd.Errorf(walletd.ENotFound, "This payment page is not open in this browser.")
	} else if !b.now.Before(l.ExpiresAt) {
		return walletd.Errorf(walletd.EConflict, "The payment link of order %d has expired.", c.OrderID)
	}
	o, err := b.orderIn(c.OrderID, walletd.OrderPending)
	if err != nil {
		return err
	}
	walletID := ""
	if o.CustomerID == "" { // no wallet had the email when the order was made: maybe one has now
		user := b.userByEmail(o.Billing.Email, o.Currency)
		if walletID = b.walletOf(user, o.Currency); user == "" || walletID == "" {
			return walletd.Errorf(walletd.ENotFound, "No %s wallet belongs to %s.", o.Currency, walletd.QuoteInput(o.Billing.Email))
		}
	}
	if err := (&PayOrder{ID: o.ID, Method: walletd.PayWallet, WalletID: walletID}).apply(b, r); err != nil {
		return err
	}
	if o.Virtual() { // nothing to ship: done once paid
		return (&CompleteOrder{ID: o.ID}).apply(b, r)
	}
	return nil
}

func (c *ExpirePaymentLink) apply(b *batch, r *request) error {
	key := walletd.IntKey(c.OrderID)
	l := b.paymentLinks.get(key)
	if l == nil {
		return walletd.Errorf(walletd.ENotFound, "Order %d has no payment link.", c.OrderID)
	} else if l.Status == walletd.LinkExpired {
		return walletd.Errorf(walletd.EConflict, "The payment link of order %d has expired already.", c.OrderID)
	} else if at := l.ExpiryAt(); b.now.Before(at) { // the link, or a provider checkout's hold (HoldPaymentLink)
		return walletd.Errorf(walletd.EConflict, "The payment link of order %d expires at %s.", c.OrderID, at.Format(time.RFC3339Nano))
	}
	if err := b.endUnpaid(r, c.OrderID, "The payment link expired unpaid.", walletd.OrderCancelled, walletd.TypeOrderCancelled); err != nil {
		return err
	}
	n := *l
	n.Status, n.ExpiredAt = walletd.LinkExpired, b.now
	b.paymentLinks.put(key, &n, b.seq)
	b.report(walletd.ObjShopOrder, key, b.shopOrders.get(key))
	return nil
}
