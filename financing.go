package walletd

import "time"

// Consumer financing (docs/financing.md): walletd asks a financing
// provider speaking WeGetFinancing's API to finance an order or a top-up,
// and the provider's signed postback with the lender's decision pays,
// fails, cancels or refunds it. These are the types that cross package
// lines; package financing speaks the protocol.

// FinancingSettings is the financing configuration as the API shows it:
// the password is never shown, only whether one is set.
type FinancingSettings struct {
	// APIURL is the provider's API base URL
	// (https://api.sandbox.wegetfinancing.com or
	// https://api.wegetfinancing.com).
	APIURL     string `json:"api_url"`
	MerchantID string `json:"merchant_id"`
	Username   string `json:"username"`
	// PasswordSet reports that a password is stored (sealed at rest).
	PasswordSet bool `json:"password_set"`
	// MinAmount and MaxAmount bound the amounts offered financing ("" for
	// no bound), in Currency, the one currency financed.
	MinAmount string `json:"min_amount,omitempty"`
	MaxAmount string `json:"max_amount,omitempty"`
	Currency  string `json:"currency"`
	// SuccessURL and FailureURL are where the provider sends the customer
	// back; by default walletd's own pages under the public URL.
	SuccessURL string `json:"success_url"`
	FailureURL string `json:"failure_url"`
	// PostbackURL is the URL to enter in the provider's portal (Integration
	// → Postback Settings): derived from walletd's public URL.
	PostbackURL string    `json:"postback_url"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// FinancingSettingsInput is what an admin sets. MinAmount, MaxAmount,
// Currency, SuccessURL and FailureURL are optional.
type FinancingSettingsInput struct {
	APIURL     string `json:"api_url"`
	MerchantID string `json:"merchant_id"`
	Username   string `json:"username"`
	Password   string `json:"password"`
	MinAmount  string `json:"min_amount,omitempty"`
	MaxAmount  string `json:"max_amount,omitempty"`
	Currency   string `json:"currency,omitempty"`
	SuccessURL string `json:"success_url,omitempty"`
	FailureURL string `json:"failure_url,omitempty"`
}

// FinancingRequest is one financing request sent to the provider for an
// order or a top-up: at most one per order or top-up.
type FinancingRequest struct {
	// Reference is walletd's reference sent as merchant_transaction_id:
	// the order's id in decimal, or the top-up's id (top_…).
	Reference string `json:"reference"`
	// Kind is "order" or "topup".
	Kind string `json:"kind"`
	// RequestToken is the provider's id of the request (request_token, or
	// inv_id in the API reference's answer).
	RequestToken string    `json:"request_token"`
	Href         string    `json:"href"`
	Amount       Money     `json:"amount"`
	Currency     string    `json:"currency"`
	CreatedAt    time.Time `json:"created_at,omitzero"`
	// State is created (the provider made it), sending (a call without
	// an answer yet, or that timed out) or refused (the provider refused
	// the last call: the next call sends again). Attempts counts the
	// calls, LastError says why the last one failed, DurationMS how long
	// it took.
	State      string `json:"state"`
	Attempts   int    `json:"attempts"`
	LastError  string `json:"last_error,omitempty"`
	DurationMS int64  `json:"duration_ms"`
}

// FinancingPostback is one postback as the inbound log keeps it.
type FinancingPostback struct {
	ID int64 `json:"id"`
	// EventID identifies the postback for deduplication: the hex SHA-256
	// of its raw body (a resend is byte for byte the same).
	EventID      string `json:"event_id"`
	RequestToken string `json:"request_token,omitempty"`
	Reference    string `json:"merchant_transaction_id,omitempty"`
	Status       string `json:"status"`
	Amount       string `json:"amount,omitempty"`
	// State is received (not yet applied), applied, ignored (nothing to
	// do: a duplicate, a preapproval), review (not applied: a person must
	// look, e.g. an approved amount that is not the order's total; a dead
	// letter of the inbound pipeline), retrying (applying failed; it is
	// tried again) or discarded (taken out of the dead-letter queue).
	State      string    `json:"state"`
	Outcome    string    `json:"outcome,omitempty"`
	Attempts   int       `json:"attempts"`
	Duplicates int       `json:"duplicates"`
	ReceivedAt time.Time `json:"received_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Financing request kinds.
const (
	FinancingOrder = "order"
	FinancingTopup = "topup"
)
