package ledger

import (
	"crypto/rand"
	"fmt"
	"strings"
	"time"

	"github.com/walletd/walletd"
)

// Redemption codes: a code credits a fixed amount when redeemed, a limited
// number of times, maybe once per user, maybe until it expires. The chain
// records a code's terms and the last four characters of the code, never
// the code itself: whoever reads the ledger or the stream must not be able
// to redeem it.

// MaxCodeLen bounds redemption codes.
const MaxCodeLen = 64

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

// Op names the command in fingerprints and logs.
func (*CreateRedemptionCode) Op() string { return "create_redemption_code" }

// Op names the command in fingerprints and logs.
func (*Redeem) Op() string { return "redeem" }

func (c *CreateRedemptionCode) objectRef(es []*walletd.Entry) (string, string) {
	return walletd.ObjCode, metaOf(es[0])["id"]
}

// NormalizeCode returns the form codes are stored and matched in: trimmed
// and upper-case.
func NormalizeCode(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

func checkCode(code string) error {
	if len(code) < 4 || len(code) > MaxCodeLen {
		return walletd.Errorf(walletd.EInvalid, "code must be 4 to %d characters.", MaxCodeLen)
	}
	for i := 0; i < len(code); i++ {
		if c := code[i]; (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '-' && c != '_' {
			return walletd.Errorf(walletd.EInvalid, "code may hold only letters, digits, - and _.")
		}
	}
	return nil
}

// codeHint is what the ledger shows of a code: its last four characters.
func codeHint(code string) string { return "…" + code[len(code)-4:] }

// codeAlphabet leaves out letters and digits that read alike (0/O, 1/I/L).
const codeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// generateCode returns a new random code, XXXX-XXXX-XXXX. crypto/rand's
// Read never fails: it crashes the program rather than return weak bytes.
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

// codeByText returns the redemption code whose text is code, or nil.
func (b *batch) codeByText(code string) *walletd.RedemptionCode {
	idx := b.codeIndex.get(code)
	if idx == nil {
		return nil
	}
	return b.codes.get(idx.ID)
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
	if b.codeIndex.get(code) != nil {
		return walletd.Errorf(walletd.EConflict, "Redemption code %s already exists.", code)
	}
	rc := &walletd.RedemptionCode{
		ID: b.w.cfg.NewID("rdc"), Code: code, Amount: walletd.NewMoney(amount, s), Currency: c.Currency,
		MaxRedemptions: c.MaxRedemptions, PerUserOnce: c.PerUserOnce, ExpiresAt: expires, CreatedAt: b.now,
	}
	exp := ""
	if expires != nil {
		exp = expires.Format(time.RFC3339)
	}
	b.config(r, walletd.ObjCode, c.Currency, map[string]string{
		"id": rc.ID, "code_hint": codeHint(code), "amount": rc.Amount.String(),
		"max_redemptions": fmt.Sprint(rc.MaxRedemptions), "per_user_once": boolText(rc.PerUserOnce), "expires_at": exp,
	})
	b.codes.put(rc.ID, rc, b.seq)
	b.codeIndex.put(code, &walletd.CodeIndex{ID: rc.ID}, b.seq)
	b.report(walletd.ObjCode, rc.ID, rc)
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
	if rc.PerUserOnce && b.redemptions.get(userKey) != nil {
		return walletd.Errorf(walletd.ECodeUsed, "User %q has already redeemed this code.", cur.UserID)
	}
	amount := rc.Amount.Decimal()
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
	b.codes.put(rc.ID, &next, b.seq)
	if rc.PerUserOnce {
		b.redemptions.put(userKey, &walletd.Redemption{Code: code, UserID: cur.UserID, WalletID: cur.ID, TransactionID: e.ID, CreatedAt: b.now}, b.seq)
	}
	return nil
}
