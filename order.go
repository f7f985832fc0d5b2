package walletd

import (
	"encoding/json"
	"time"
)

// MaxItemsBytes bounds the items an order completion may carry.
const MaxItemsBytes = 16 << 10

// Order is a storefront order walletd completed (and maybe refunded).
type Order struct {
	ID          string          `json:"order_id"`
	UserID      string          `json:"user_id"`
	WalletID    string          `json:"wallet_id"`
	Total       Money           `json:"total"`
	Currency    string          `json:"currency"`
	Items       json.RawMessage `json:"items,omitempty"`
	Status      string          `json:"status"` // completed or refunded
	Awards      []Award         `json:"awards"`
	CompletedAt time.Time       `json:"completed_at"`
	RefundedAt  time.Time       `json:"refunded_at,omitzero"`
	// Fingerprint identifies the completion request, so a repeat with
	// other terms is told apart from a retry.
	Fingerprint string `json:"fingerprint"`
}
