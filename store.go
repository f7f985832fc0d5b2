package walletd

import (
	"context"
	"time"
)

// LedgerState is what the writer restores at start-up: the chain head, the
// last checkpoint and the objects. Nothing is replayed, and no wallet is
// read: the writer reads a wallet when a command needs it (LoadWallet).
type LedgerState struct {
	LedgerID       string
	Head           *Entry      // nil for an empty ledger
	LastCheckpoint *Checkpoint // nil if none was written yet
	Objects        []*StoredObject
}

// StoredObject is the persisted form of one object of the writer's state
// besides wallets: a top-up, a withdrawal, a rule, a code, an order … Data
// is its JSON. Seq is the ledger seq of the entry that last changed it.
type StoredObject struct {
	Kind string
	ID   string
	Data []byte
	Seq  uint64
}

// LedgerBatch is everything one group commit writes in one transaction.
type LedgerBatch struct {
	Entries    []*Entry        // new entries in seq order
	Wallets    []*Wallet       // every wallet the batch changed, once each, as it ends
	Checkpoint *Checkpoint     // optional
	Objects    []*StoredObject // every object the batch changed, once each, as it ends
}

// LedgerStore is the persistence the ledger writer needs; ledger/sqlite
// implements it.
type LedgerStore interface {
	// LoadState returns the persisted state.
	LoadState(ctx context.Context) (*LedgerState, error)

	// EntriesByIdempotencyKey returns the committed entries of the request
	// made with key, in seq order, or none.
	EntriesByIdempotencyKey(ctx context.Context, key string) ([]*Entry, error)

	// Commit writes b in one durable transaction: all of it or none.
	Commit(ctx context.Context, b *LedgerBatch) error

	// LoadObject returns the data of one stored object, or ENotFound. It
	// reads committed state and may be called from any goroutine.
	LoadObject(ctx context.Context, kind, id string) ([]byte, error)

	// CheckWalletStateSince fails if a wallet row changed by an entry after
	// seq differs from the entry that last changed it (an edit the chain
	// would not catch); it returns how many rows it read. The writer checks
	// the rows changed after the last checkpoint at start-up, and every
	// other row as it loads it.
	CheckWalletStateSince(ctx context.Context, seq uint64) (rows int, err error)
	// LoadWallet returns the committed row of wallet id, or nil if there is
	// none; LoadWalletOf the row of user's wallet in currency. Both fail
	// if the row differs from the entry that last changed it. They read
	// committed state and may be called from any goroutine.
	LoadWallet(ctx context.Context, id string) (*Wallet, error)
	LoadWalletOf(ctx context.Context, user, currency string) (*Wallet, error)
	// UserByEmail returns the wallet and user whose wallet in currency has
	// email, ignoring the case of ASCII letters: of several, the smallest
	// wallet id; "" if none.
	UserByEmail(ctx context.Context, email, currency string) (walletID, userID string, err error)
	// WalletCurrencies returns the currencies wallets are held in.
	WalletCurrencies(ctx context.Context) ([]string, error)
	// Entries returns up to limit entries with seq > afterSeq, in seq order.
	Entries(ctx context.Context, afterSeq uint64, limit int) ([]*Entry, error)

	// IdempotencyKeys calls yield with every idempotency key the ledger
	// holds, once each, so the writer can build its key filter at start-up.
	IdempotencyKeys(yield func(key string)) error
	// IdempotencyKeysSince calls yield with every idempotency key of the
	// entries committed at or after since (the idempotency window), and
	// returns how many rows it read: start-up reads the window, not the
	// ledger.
	IdempotencyKeysSince(ctx context.Context, since time.Time, yield func(key string)) (rows int, err error)
	// FirstSeqSince returns the seq of the first entry committed at or
	// after since, or the head seq + 1 when there is none.
	FirstSeqSince(ctx context.Context, since time.Time) (uint64, error)
	// IdempotencyKeysIn calls yield with the idempotency key of the
	// entries with seq from..to (inclusive) that have one, and returns how
	// many rows it read. It reads committed state and may be called from
	// any goroutine: the writer builds its key filter with it in the
	// background while it commits.
	IdempotencyKeysIn(ctx context.Context, from, to uint64, yield func(key string)) (rows int, err error)
}
