package walletd

import (
	"time"
)

// WebhookEndpoint is a receiver as the admin API shows it. It never carries the
// secret: the secret is returned once, by CreateEndpoint and RotateSecret.
type WebhookEndpoint struct {
	ID string
	// NumericID is the endpoint's integer id, positive, unique and never
	// reused: WooCommerce's webhook id (X-WC-Webhook-ID and the creation
	// ping's webhook_id), for receivers that cast it with (int).
	NumericID int64
	Name      string
	URL       string
	// Events is the event filter. Empty: the format's default
	// (webhooks.DefaultEvents): the 16 WalletPro events for walletpro,
	// every event but ledger.checkpoint and config.updated for standard,
	// the order topics for woocommerce.
	Events          []string
	Status          string
	StatusReason    string // why it is suspended or disabled
	APIVersion      string
	Format          string
	CreatedAt       time.Time
	UpdatedAt       time.Time
	SecretRotatedAt time.Time // zero: never rotated
	// PreviousSecretUntil is when the secret before the last rotation stops
	// signing (standard format only); zero when there is none.
	PreviousSecretUntil time.Time
}

// WebhookEndpointInput creates an endpoint. Empty fields take their defaults:
// status active, api_version v1, format walletpro, a generated secret and,
// for the name, the URL's host.
type WebhookEndpointInput struct {
	Name       string
	URL        string
	Events     []string
	Status     string
	APIVersion string
	Format     string
	Secret     string
}

// WebhookEndpointUpdate changes the fields that are not nil.
type WebhookEndpointUpdate struct {
	Name       *string
	URL        *string
	Events     *[]string
	Status     *string // active or disabled
	APIVersion *string
	Format     *string
	Secret     *string // replaces the secret at once, with no grace period
}

// WebhookRotateOptions tunes a secret rotation.
type WebhookRotateOptions struct {
	// Secret is the new secret; empty: generate one.
	Secret string
	// Grace is how long the standard format also signs with the previous
	// secret (default Config.RotationGrace; negative: not at all). The
	// walletpro and woocommerce formats carry exactly one signature and use
	// the new secret at once.
	Grace time.Duration
}

// WebhookDelivery is one event to send to one endpoint.
type WebhookDelivery struct {
	ID            string
	EndpointID    string
	EventID       string // the envelope id: the same on every attempt and manual retry
	Event         string // event key
	Kind          string // event, test or ping
	State         string
	Once          bool // one attempt, no retries (tests, pings, manual retries of finished deliveries)
	Attempts      int
	NextAttemptAt time.Time // meaningful while pending
	LastStatus    int       // HTTP status of the last attempt; 0 when none or no response
	LastError     string
	Payload       []byte // the request body, byte for byte
	ContentType   string
	EventTime     time.Time // when the event entered the stream (created, for tests and pings)
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// WebhookAttempt is one row of the delivery log.
type WebhookAttempt struct {
	ID         int64
	EndpointID string
	DeliveryID string
	EventID    string
	Event      string
	Attempt    int // 1 for the first attempt of a delivery, 2 for its first retry …
	At         time.Time
	HTTPStatus int // 0: no response (see Error)
	ResponseMS int64
	Result     string
	Error      string
	Kind       string
	Manual     bool // a manual retry
}
