package walletd

import "time"

// Withdrawal is a withdrawal request: its amount is held until it is
// approved (debited from the hold) or rejected (released).
type Withdrawal struct {
	ID            string    `json:"id"`
	WalletID      string    `json:"wallet_id"`
	UserID        string    `json:"user_id"`
	Amount        Money     `json:"amount"`
	Currency      string    `json:"currency"`
	Method        string    `json:"method"`
	Destination   string    `json:"destination"`
	Status        string    `json:"status"`
	RejectReason  string    `json:"reject_reason"`
	TransactionID string    `json:"transaction_id"` // the debit, once approved
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
	// The limit periods the request counted in, so a rejection can give
	// the amount back to them.
	DayKey   string `json:"day_key,omitempty"`
	MonthKey string `json:"month_key,omitempty"`
}
