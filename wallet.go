package walletd

import (
	"time"

	"github.com/shopspring/decimal"
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
