package ledger

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// Wallet statuses.
const (
	StatusActive = "active"
	StatusFrozen = "frozen"
)

// Field limits for what callers send.
const (
	MaxUserIDLen      = 128
	MaxEmailLen       = 254
	MaxReasonLen      = 500
	MaxOrderIDLen     = 128
	MaxTypeLen        = 32
	MaxMetadataKeys   = 50
	MaxMetadataKeyLen = 40
	MaxMetadataValLen = 500
	MaxIdempotencyLen = 255
)

// Wallet is the current state of one wallet: one owner, one currency.
type Wallet struct {
	ID        string
	UserID    string
	Email     string
	Currency  string
	Balance   decimal.Decimal
	Held      decimal.Decimal
	Status    string
	CreatedAt time.Time
	UpdatedAt time.Time
	LastSeq   uint64 // seq of the last entry that changed this wallet
	Features  WalletFeatures
}

// Available returns balance minus held: what a debit may take.
func (w *Wallet) Available() decimal.Decimal { return w.Balance.Sub(w.Held) }

// Command is a request to change the ledger. Commands are validated and
// applied by the Writer, inside a batch, against the state as the batch has
// changed it.
type Command interface {
	// op names the command in its fingerprint and in logs.
	op() string
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

func (*CreateWallet) op() string { return "create_wallet" }
func (*Post) op() string         { return "post" }
func (*Transfer) op() string     { return "transfer" }
func (*SetStatus) op() string    { return "set_status" }

// Fingerprint returns the hex SHA-256 of the command's canonical JSON,
// prefixed by its operation. Two requests with one Idempotency-Key are the
// same request exactly when their fingerprints are equal.
func Fingerprint(c Command) string {
	b, _ := json.Marshal(c) // struct fields in order, map keys sorted
	h := sha256.New()
	h.Write([]byte(c.op()))
	h.Write([]byte{0})
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

func checkText(field, s string, max int, required bool) error {
	if required && strings.TrimSpace(s) == "" {
		return Errorf(EInvalid, "%s is required.", field)
	} else if len(s) > max {
		return Errorf(EInvalid, "%s is longer than %d bytes.", field, max)
	} else if !utf8.ValidString(s) {
		return Errorf(EInvalid, "%s is not valid UTF-8.", field)
	}
	for _, r := range s {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return Errorf(EInvalid, "%s contains control characters.", field)
		}
	}
	return nil
}

func checkEmail(s string) error {
	if err := checkText("email", s, MaxEmailLen, true); err != nil {
		return err
	}
	at := strings.LastIndexByte(s, '@')
	if at < 1 || at == len(s)-1 || strings.ContainsAny(s, " \t<>") {
		return Errorf(EInvalid, "email %q is not an email address.", s)
	}
	return nil
}

func checkType(s string) error {
	if len(s) == 0 || len(s) > MaxTypeLen {
		return Errorf(EInvalid, "type must be 1 to %d characters.", MaxTypeLen)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return Errorf(EInvalid, "type %q may hold only a-z, 0-9 and _.", s)
		}
	}
	switch s {
	case TypeTransferIn, TypeTransferOut, "open", KindFreeze, KindUnfreeze:
		return Errorf(EInvalid, "type %q is reserved.", s)
	}
	return nil
}

// CanonicalMetadata validates metadata and returns its canonical JSON: an
// object with sorted keys, or "" when there is none.
func CanonicalMetadata(m map[string]string) (string, error) {
	if len(m) == 0 {
		return "", nil
	} else if len(m) > MaxMetadataKeys {
		return "", Errorf(EInvalid, "metadata has more than %d keys.", MaxMetadataKeys)
	}
	for k, v := range m {
		if strings.HasPrefix(k, "walletd_") {
			return "", Errorf(EInvalid, "metadata keys starting with walletd_ are reserved.")
		}
		if k == "" || len(k) > MaxMetadataKeyLen || !utf8.ValidString(k) {
			return "", Errorf(EInvalid, "metadata keys must be 1 to %d bytes of UTF-8.", MaxMetadataKeyLen)
		} else if len(v) > MaxMetadataValLen || !utf8.ValidString(v) {
			return "", Errorf(EInvalid, "metadata value of %q is longer than %d bytes or not UTF-8.", k, MaxMetadataValLen)
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", Errorf(EInvalid, "metadata: %v", err)
	}
	return string(b), nil
}

// CheckIdempotencyKey validates an Idempotency-Key header value.
func CheckIdempotencyKey(k string) error {
	if len(k) > MaxIdempotencyLen {
		return Errorf(EInvalid, "Idempotency-Key is longer than %d bytes.", MaxIdempotencyLen)
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return Errorf(EInvalid, "Idempotency-Key must be printable ASCII without spaces.")
		}
	}
	return nil
}
