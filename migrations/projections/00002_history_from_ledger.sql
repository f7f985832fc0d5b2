-- Transaction history and balances are served from ledger.db (its entries
-- and wallets tables): the projector keeps only what only it builds, the
-- daily totals.

-- +goose Up
DROP TABLE transactions;
DROP TABLE balances;

-- +goose Down
CREATE TABLE balances (
    wallet_id  TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    user_email TEXT NOT NULL,
    currency   TEXT NOT NULL,
    balance    TEXT NOT NULL,
    status     TEXT NOT NULL,
    last_seq   INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE transactions (
    seq            INTEGER PRIMARY KEY,
    wallet_id      TEXT NOT NULL,
    transaction_id TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    kind           TEXT NOT NULL,
    type           TEXT NOT NULL,
    amount         TEXT NOT NULL,
    currency       TEXT NOT NULL,
    balance_after  TEXT NOT NULL,
    reason         TEXT NOT NULL,
    order_id       TEXT NOT NULL,
    ledger_hash    TEXT NOT NULL,
    created_at     TEXT NOT NULL
);
CREATE INDEX transactions_wallet ON transactions (wallet_id, created_at, seq, type);
-- The rows are rebuilt by replaying the stream into a projector of the
-- previous version (Reset, then run it).
