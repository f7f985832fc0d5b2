package walletd

import (
	"context"
	"time"
)

// Command is a request to change the ledger: a value of one of the command
// types of package ledger (CreateWallet, Post, Transfer, CreateTopup …).
// The ledger's writer validates and applies it inside a batch.
type Command interface {
	// Op names the command in its fingerprint and in logs.
	Op() string
}

// Submitter applies ledger commands; *ledger.Writer implements it.
type Submitter interface {
	// Submit applies cmd and waits for its commit. Returns the code of the rule that refused it (EInvalid, EInsufficientFunds, ENotFound, EIdempotencyConflict, EUnavailable …).
	Submit(ctx context.Context, idempotencyKey string, cmd Command) (*Result, error)
}

// LedgerReader is the read side of the ledger; *sqlite.DB implements it.
type LedgerReader interface {
	// Wallet returns wallet id. Returns ENotFound.
	Wallet(ctx context.Context, id string) (*Wallet, error)
	// Wallets lists wallets by id after a cursor, optionally of one user.
	Wallets(ctx context.Context, userID, after string, limit int) ([]*Wallet, error)
	// Entries returns entries with seq > afterSeq in seq order.
	Entries(ctx context.Context, afterSeq uint64, limit int) ([]*Entry, error)
	// Checkpoints returns checkpoints with seq > afterSeq in seq order.
	Checkpoints(ctx context.Context, afterSeq uint64, limit int) ([]*Checkpoint, error)
	// Ping checks the database answers.
	Ping(ctx context.Context) error
	// Object returns the committed object of kind (ledger.ObjTopup …) and
	// id, decoded (*ledger.Topup …). Returns ENotFound.
	Object(ctx context.Context, kind, id string) (any, error)
	// Objects lists the committed objects of kind with id > after, in id
	// order, up to limit, decoded.
	Objects(ctx context.Context, kind, after string, limit int) ([]any, error)
}

// ProjectionReader is the read side of the projections (read models);
// *DB implements it.
type ProjectionReader interface {
	// WaitForSeq returns once the read models reflect ledger seq, or ctx's
	// error.
	WaitForSeq(ctx context.Context, seq uint64) error
	// AppliedSeq returns the ledger seq the read models reflect.
	AppliedSeq() uint64
	// DailyTotals returns the totals of one UTC day, of one currency or
	// ("") of all.
	DailyTotals(ctx context.Context, date time.Time, currency string) ([]DailyTotal, error)
}

// HistoryReader serves transaction history and statements; the ledger's
// own entries back it (sqlite.History), so it is current as soon as a
// write is answered.
type HistoryReader interface {
	// WaitForSeq returns once history reflects ledger seq, or ctx's error.
	WaitForSeq(ctx context.Context, seq uint64) error
	// AppliedSeq returns the ledger seq history is known to reflect.
	AppliedSeq() uint64
	// Transactions returns a page of a wallet's transactions, newest first.
	Transactions(ctx context.Context, q TransactionQuery) (*TransactionPage, error)
	// Statement returns a wallet's statement for [from, to).
	// Returns EInvalid for a period that is empty or too large.
	Statement(ctx context.Context, walletID, currency string, from, to time.Time) (*Statement, error)
}

// WebhookService manages outbound webhook endpoints; *Service
// implements it.
type WebhookService interface {
	// CreateEndpoint saves an endpoint and queues its ping; it returns the
	// secret, shown only here. Returns EInvalid.
	CreateEndpoint(ctx context.Context, in WebhookEndpointInput) (*WebhookEndpoint, string, error)
	// Endpoints lists every endpoint, oldest first.
	Endpoints(ctx context.Context) ([]*WebhookEndpoint, error)
	// Endpoint returns one endpoint. Returns ENotFound.
	Endpoint(ctx context.Context, id string) (*WebhookEndpoint, error)
	// UpdateEndpoint changes the fields set. Returns ENotFound, EInvalid, EConflict.
	UpdateEndpoint(ctx context.Context, id string, up WebhookEndpointUpdate) (*WebhookEndpoint, error)
	// DeleteEndpoint deletes an endpoint, its deliveries and its log. Returns ENotFound.
	DeleteEndpoint(ctx context.Context, id string) error
	// RotateSecret sets a new secret and returns it. Returns ENotFound, EInvalid.
	RotateSecret(ctx context.Context, id string, opt WebhookRotateOptions) (*WebhookEndpoint, string, error)
	// SendTest queues a test event. Returns ENotFound, EInvalid, EConflict.
	SendTest(ctx context.Context, id, event string) (*WebhookDelivery, error)
	// Attempts returns the newest attempts of the log. Returns ENotFound.
	Attempts(ctx context.Context, id string, limit int) ([]*WebhookAttempt, error)
	// Delivery returns one delivery with its payload. Returns ENotFound.
	Delivery(ctx context.Context, endpointID, deliveryID string) (*WebhookDelivery, error)
	// RetryDelivery sends a delivery again now. Returns ENotFound, EConflict.
	RetryDelivery(ctx context.Context, endpointID, deliveryID string) (*WebhookDelivery, error)
	// EnableEndpoint re-enables an endpoint, delivering or discarding what
	// was held. Returns ENotFound.
	EnableEndpoint(ctx context.Context, id string, deliverHeld bool) (*WebhookEndpoint, int64, error)
}
