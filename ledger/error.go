// Package ledger is walletd's domain: wallets, entries, money rules, the
// HMAC chain, signed checkpoints and the single-writer append path.
//
// It imports no transport. Storage sits behind the Store interface
// (implemented in ledger/sqlite); HTTP and the command line live elsewhere.
package ledger

import "github.com/walletd/walletd"

// ErrClosed is returned by the writer once it has been closed.
var ErrClosed = &walletd.Error{Code: walletd.EUnavailable, Message: "The ledger writer is shut down."}
