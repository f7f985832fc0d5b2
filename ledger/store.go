package ledger

import "context"

// State is what the writer restores at start-up: the persisted wallet rows,
// the chain head and the last checkpoint. Nothing is replayed.
type State struct {
	LedgerID       string
	Wallets        []*Wallet
	Head           *Entry      // nil for an empty ledger
	LastCheckpoint *Checkpoint // nil if none was written yet
}

// Batch is everything one group commit writes in one transaction.
type Batch struct {
	Entries    []*Entry    // new entries in seq order
	Wallets    []*Wallet   // every wallet the batch changed, once each, as it ends
	Checkpoint *Checkpoint // optional
}

// Store is the persistence the Writer needs. ledger/sqlite implements it.
type Store interface {
	// LoadState returns the persisted state.
	LoadState(ctx context.Context) (*State, error)

	// EntriesByIdempotencyKey returns the committed entries of the request
	// made with key, in seq order, or none.
	EntriesByIdempotencyKey(ctx context.Context, key string) ([]*Entry, error)

	// Commit writes b in one durable transaction: all of it or none.
	Commit(ctx context.Context, b *Batch) error

	// CheckWalletState fails if a persisted wallet row differs from the
	// entry that last changed it (an edit the chain would not catch).
	CheckWalletState(ctx context.Context) error
}
