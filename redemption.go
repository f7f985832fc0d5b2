package walletd

import "time"

// RedemptionCode is a code that credits a fixed amount when redeemed.
type RedemptionCode struct {
	ID             string     `json:"id"`
	Code           string     `json:"code"`
	Amount         Money      `json:"amount"`
	Currency       string     `json:"currency"`
	MaxRedemptions int        `json:"max_redemptions"`
	Redemptions    int        `json:"redemptions"`
	PerUserOnce    bool       `json:"per_user_once"`
	ExpiresAt      *time.Time `json:"expires_at"`
	CreatedAt      time.Time  `json:"created_at"`
}

// Redemption records that a user redeemed a per-user-once code.
type Redemption struct {
	Code          string    `json:"code"`
	UserID        string    `json:"user_id"`
	WalletID      string    `json:"wallet_id"`
	TransactionID string    `json:"transaction_id"`
	CreatedAt     time.Time `json:"created_at"`
}

// CodeIndex finds a redemption code's id by the code.
type CodeIndex struct {
	ID string `json:"id"`
}
