// Package walletd is the domain of the walletd wallet ledger service: the
// error type and its codes, ids, money and currencies, the domain types
// that cross package boundaries (wallets, entries, checkpoints, top-ups,
// withdrawals, orders, webhook endpoints, read-model rows) and the service
// interfaces that the other packages implement.
//
// It imports nothing of walletd's but the event catalogue. The packages
// around it are peers that depend on it, not on each other's internals:
// ledger (the single writer and its rules), ledger/sqlite (storage),
// projections (read models), webhooks (outbound delivery) and http (the
// API). Only cmd/walletd wires concrete types together.
package walletd
