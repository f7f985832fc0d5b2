package walletd

import "time"

// Topup is a top-up: pending until completed (a credit) or failed.
type Topup struct {
	ID            string    `json:"id"`
	WalletID      string    `json:"wallet_id"`
	UserID        string    `json:"user_id"`
	Amount        Money     `json:"amount"`
	Currency      string    `json:"currency"`
	Method        string    `json:"method"`
	ExternalRef   string    `json:"external_ref"`
	Origin        string    `json:"origin"` // "api" or "auto_reload"
	Status        string    `json:"status"`
	FailureReason string    `json:"failure_reason"`
	TransactionID string    `json:"transaction_id"` // the credit, once completed
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}
