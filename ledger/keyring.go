package ledger

import "github.com/walletd/walletd"

// Keyring is the writer's HMAC keyring (WriterConfig.Keyring,
// VerifyOptions.Keyring). The type lives in the root package, so that
// package keyfile can read and write keyring files without importing the
// ledger.
type Keyring = walletd.Keyring
