package ledger

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/walletd/walletd"
)

// command is what every command type of this package implements on top of
// walletd.Command: the Writer validates and applies it inside a batch,
// against the state as the batch has changed it.
type command interface {
	walletd.Command
	apply(b *batch, r *request) error
}

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

// Transfer moves an amount between two wallets of one currency as one
// atomic pair of entries.
type Transfer struct {
	FromWalletID string            `json:"from_wallet_id"`
	ToWalletID   string            `json:"to_wallet_id"`
	Amount       string            `json:"amount"`
	Note         string            `json:"note"`
	Metadata     map[string]string `json:"metadata,omitempty"`
}

// SetStatus freezes or unfreezes a wallet.
type SetStatus struct {
	WalletID string `json:"wallet_id"`
	Frozen   bool   `json:"frozen"`
	Reason   string `json:"reason"`
}

func (*CreateWallet) Op() string { return "create_wallet" }
func (*Post) Op() string         { return "post" }
func (*Transfer) Op() string     { return "transfer" }
func (*SetStatus) Op() string    { return "set_status" }

// Fingerprint returns the hex SHA-256 of the command's canonical JSON,
// prefixed by its operation. Two requests with one Idempotency-Key are the
// same request exactly when their fingerprints are equal.
func Fingerprint(c walletd.Command) string {
	b, _ := json.Marshal(c) // struct fields in order, map keys sorted
	h := sha256.New()
	h.Write([]byte(c.Op()))
	h.Write([]byte{0})
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

func checkEmail(s string) error {
	if err := walletd.CheckText("email", s, walletd.MaxEmailLen, true); err != nil {
		return err
	}
	at := strings.LastIndexByte(s, '@')
	if at < 1 || at == len(s)-1 || strings.ContainsAny(s, " \t<>") {
		return walletd.Errorf(walletd.EInvalid, "email %q is not an email address.", s)
	}
	return nil
}

func checkType(s string) error {
	if len(s) == 0 || len(s) > walletd.MaxTypeLen {
		return walletd.Errorf(walletd.EInvalid, "type must be 1 to %d characters.", walletd.MaxTypeLen)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return walletd.Errorf(walletd.EInvalid, "type %q may hold only a-z, 0-9 and _.", s)
		}
	}
	switch s {
	case walletd.TypeTransferIn, walletd.TypeTransferOut, "open", walletd.KindFreeze, walletd.KindUnfreeze:
		return walletd.Errorf(walletd.EInvalid, "type %q is reserved.", s)
	}
	return nil
}

// CanonicalMetadata validates metadata and returns its canonical JSON: an
// object with sorted keys, or "" when there is none.
func CanonicalMetadata(m map[string]string) (string, error) {
	if len(m) == 0 {
		return "", nil
	} else if len(m) > walletd.MaxMetadataKeys {
		return "", walletd.Errorf(walletd.EInvalid, "metadata has more than %d keys.", walletd.MaxMetadataKeys)
	}
	for k, v := range m {
		if strings.HasPrefix(k, "walletd_") {
			return "", walletd.Errorf(walletd.EInvalid, "metadata keys starting with walletd_ are reserved.")
		}
		if k == "" || len(k) > walletd.MaxMetadataKeyLen || !utf8.ValidString(k) {
			return "", walletd.Errorf(walletd.EInvalid, "metadata keys must be 1 to %d bytes of UTF-8.", walletd.MaxMetadataKeyLen)
		} else if len(v) > walletd.MaxMetadataValLen || !utf8.ValidString(v) {
			return "", walletd.Errorf(walletd.EInvalid, "metadata value of %q is longer than %d bytes or not UTF-8.", k, walletd.MaxMetadataValLen)
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", walletd.Errorf(walletd.EInvalid, "metadata: %v", err)
	}
	return string(b), nil
}

// CheckIdempotencyKey validates an Idempotency-Key header value.
func CheckIdempotencyKey(k string) error {
	if len(k) > walletd.MaxIdempotencyLen {
		return walletd.Errorf(walletd.EInvalid, "Idempotency-Key is longer than %d bytes.", walletd.MaxIdempotencyLen)
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return walletd.Errorf(walletd.EInvalid, "Idempotency-Key must be printable ASCII without spaces.")
		}
	}
	return nil
}
