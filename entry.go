package walletd

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"time"
)

// Entry kinds. Every change of wallet state is one entry of one kind.
const (
	KindOpen     = "open"     // a wallet is created; amount is zero
	KindCredit   = "credit"   // balance rises by amount
	KindDebit    = "debit"    // balance falls by amount
	KindFreeze   = "freeze"   // the wallet refuses debits from now on
	KindUnfreeze = "unfreeze" // the wallet accepts debits again
)

// Transfer types: the type of the two legs of a transfer.
const (
	TypeTransferOut = "transfer_out"
	TypeTransferIn  = "transfer_in"
)

// CanonicalVersion names the canonical encoding in use. It is the first
// field of every encoded entry, so a later encoding can never collide with it.
const CanonicalVersion = "walletd.entry.v1"

// TimeFormat is the fixed-width UTC time format used in entries, in their
// canonical encoding and in exports.
const TimeFormat = "2006-01-02T15:04:05.000000Z"

// HashSize is the size of prev_hash and hash.
const HashSize = sha256.Size

// Hash is an HMAC-SHA256 value of the chain.
type Hash [HashSize]byte

// String returns the lower-case hex form of h.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// ParseHash parses a 64-character hex hash.
func ParseHash(s string) (Hash, error) {
	var h Hash
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != HashSize {
		return h, Errorf(EInvalid, "Hash %q is not 64 hex characters.", s)
	}
	copy(h[:], b)
	return h, nil
}

// Entry is one link of the ledger chain. Its fields are frozen by
// CanonicalVersion: adding, removing or reordering one needs a new version.
type Entry struct {
	Seq            uint64    // 1, 2, 3 … with no gaps
	ID             string    // transaction id, "txn_" + KSUID
	EventID        string    // id of the event this entry publishes, "wph_" + KSUID
	Kind           string    // one of the Kind* constants
	Type           string    // business type: topup, cashback, order_payment, transfer_out …
	WalletID       string    // the wallet changed
	UserID         string    // the wallet's owner
	Email          string    // the owner's email; set on open entries only
	Currency       string    // the wallet's currency
	Amount         string    // fixed-scale decimal, "0.00" for kinds without an amount
	BalanceAfter   string    // balance after this entry
	HeldAfter      string    // held amount after this entry
	Reason         string    // free text
	OrderID        string    // storefront order this entry belongs to, if any
	TransferID     string    // shared by the two legs of a transfer
	Counterparty   string    // the other wallet of a transfer
	Metadata       string    // canonical JSON object of string values, or ""
	IdempotencyKey string    // the caller's Idempotency-Key, shared by all entries of one request
	RequestHash    string    // hex SHA-256 of the canonical request, for conflict detection
	CreatedAt      time.Time // UTC, microsecond precision
	KeyID          string    // id of the keyring key that made Hash
	PrevHash       Hash      // Hash of entry Seq-1; zero for entry 1
	Hash           Hash      // HMAC-SHA256(key[KeyID], PrevHash ‖ Canonical())
}

// AppendCanonical appends the canonical encoding of e to dst and returns it.
//
// The encoding is a sequence of fields in a fixed order, each written as a
// 4-byte big-endian length followed by that many bytes of UTF-8 text:
// version, seq, id, event_id, kind, type, wallet_id, user_id, email,
// currency, amount, balance_after, held_after, reason, order_id,
// transfer_id, counterparty_wallet_id, metadata, idempotency_key,
// request_hash, created_at, key_id. Seq is decimal ASCII; created_at uses
// TimeFormat. docs/ledger-format.md is the reference for auditors.
func (e *Entry) AppendCanonical(dst []byte) []byte {
	var num [20]byte
	dst = appendField(dst, CanonicalVersion)
	dst = appendFieldBytes(dst, strconv.AppendUint(num[:0], e.Seq, 10))
	dst = appendField(dst, e.ID)
	dst = appendField(dst, e.EventID)
	dst = appendField(dst, e.Kind)
	dst = appendField(dst, e.Type)
	dst = appendField(dst, e.WalletID)
	dst = appendField(dst, e.UserID)
	dst = appendField(dst, e.Email)
	dst = appendField(dst, e.Currency)
	dst = appendField(dst, e.Amount)
	dst = appendField(dst, e.BalanceAfter)
	dst = appendField(dst, e.HeldAfter)
	dst = appendField(dst, e.Reason)
	dst = appendField(dst, e.OrderID)
	dst = appendField(dst, e.TransferID)
	dst = appendField(dst, e.Counterparty)
	dst = appendField(dst, e.Metadata)
	dst = appendField(dst, e.IdempotencyKey)
	dst = appendField(dst, e.RequestHash)
	var ts [32]byte
	dst = appendFieldBytes(dst, e.CreatedAt.UTC().AppendFormat(ts[:0], TimeFormat))
	dst = appendField(dst, e.KeyID)
	return dst
}

// Canonical returns the canonical encoding of e.
func (e *Entry) Canonical() []byte { return e.AppendCanonical(make([]byte, 0, 512)) }

func appendField(dst []byte, s string) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(s)))
	return append(dst, s...)
}

func appendFieldBytes(dst []byte, b []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(b)))
	return append(dst, b...)
}

// Entry kinds of the wallet features, besides open, credit, debit, freeze
// and unfreeze.
const (
	KindHold    = "hold"    // held rises by amount (a withdrawal is requested)
	KindRelease = "release" // held falls by amount (a withdrawal is rejected)
	KindSettle  = "settle"  // balance and held both fall by amount (a withdrawal is approved)
	KindNote    = "note"    // a step of a flow that moves no money; amount is informational
	KindConfig  = "config"  // a rule, code, setting or referral; no wallet, no amounts
)

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
