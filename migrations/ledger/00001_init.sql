-- The ledger database: the source of truth.

-- +goose Up
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Current state of every wallet, rewritten once per batch that changes it.
CREATE TABLE wallets (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    email      TEXT NOT NULL,
    currency   TEXT NOT NULL,
    balance    TEXT NOT NULL,
    held       TEXT NOT NULL,
    status     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    last_seq   INTEGER NOT NULL,
    UNIQUE (user_id, currency)
);

-- The chain. Each row is also the outbox row of its event and carries the
-- idempotency key of the request that made it.
CREATE TABLE entries (
    seq             INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    event_id        TEXT NOT NULL,
    kind            TEXT NOT NULL,
    type            TEXT NOT NULL,
    wallet_id       TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    email           TEXT NOT NULL,
    currency        TEXT NOT NULL,
    amount          TEXT NOT NULL,
    balance_after   TEXT NOT NULL,
    held_after      TEXT NOT NULL,
    reason          TEXT NOT NULL,
    order_id        TEXT NOT NULL,
    transfer_id     TEXT NOT NULL,
    counterparty    TEXT NOT NULL,
    metadata        TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash    TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    key_id          TEXT NOT NULL,
    prev_hash       BLOB NOT NULL,
    hash            BLOB NOT NULL
);
-- Only the indexes the writer needs: every index is one more B-tree the
-- group commit writes to. History by wallet is served by projections.
CREATE INDEX entries_idempotency_key ON entries (idempotency_key) WHERE idempotency_key <> '';

-- Ed25519-signed chain heads.
CREATE TABLE checkpoints (
    seq        INTEGER PRIMARY KEY,
    ledger_id  TEXT NOT NULL,
    head_hash  BLOB NOT NULL,
    created_at TEXT NOT NULL,
    signature  BLOB NOT NULL
);

-- API keys: only the SHA-256 of the secret part is stored.
CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    scopes      TEXT NOT NULL,
    secret_hash BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);

-- +goose Down
DROP TABLE api_keys;
DROP TABLE checkpoints;
DROP TABLE entries;
DROP TABLE wallets;
DROP TABLE meta;
