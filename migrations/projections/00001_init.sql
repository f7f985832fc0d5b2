-- The projections database: read models built from the WALLETD stream.
-- Everything here can be rebuilt by replaying the stream: deleting the file
-- and restarting the projector does exactly that.

-- +goose Up

-- Where the read models stand, written in the same transaction as every
-- batch it describes (exactly-once effect). One row.
CREATE TABLE position (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    stream       TEXT NOT NULL,     -- stream name the position refers to
    stream_seq   INTEGER NOT NULL,  -- last stream sequence applied (or skipped)
    ledger_seq   INTEGER NOT NULL,  -- Walletd-Seq of the last event applied
    ledger_index INTEGER NOT NULL,  -- Walletd-Index of that event (-1: none yet)
    events       INTEGER NOT NULL,  -- events applied since the last reset
    updated_at   TEXT NOT NULL      -- wall clock of the last batch (not compared on rebuild)
);
INSERT INTO position (id, stream, stream_seq, ledger_seq, ledger_index, events, updated_at)
VALUES (1, '', 0, 0, -1, 0, '');

-- One row per wallet: its balance and status as of last_seq.
CREATE TABLE balances (
    wallet_id  TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    user_email TEXT NOT NULL,
    currency   TEXT NOT NULL,
    balance    TEXT NOT NULL,      -- fixed-scale decimal, as the events carry it
    status     TEXT NOT NULL,
    last_seq   INTEGER NOT NULL,   -- ledger seq of the last event that changed the row
    created_at TEXT NOT NULL,      -- RFC 3339 UTC, seconds
    updated_at TEXT NOT NULL
) WITHOUT ROWID;

-- Transaction history: one row per wallet.credited / wallet.debited. Rows
-- are appended in seq order; the one index serves a wallet's history
-- (newest first, by time), its periods and, covering type, its type filter.
-- (Each index more roughly halves the apply rate: see BenchmarkProjector_Apply.)
CREATE TABLE transactions (
    seq            INTEGER PRIMARY KEY,  -- ledger seq
    wallet_id      TEXT NOT NULL,
    transaction_id TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    kind           TEXT NOT NULL,        -- credit or debit
    type           TEXT NOT NULL,
    amount         TEXT NOT NULL,
    currency       TEXT NOT NULL,
    balance_after  TEXT NOT NULL,
    reason         TEXT NOT NULL,
    order_id       TEXT NOT NULL,
    ledger_hash    TEXT NOT NULL,
    created_at     TEXT NOT NULL         -- RFC 3339 UTC, seconds: sorts as text
);
CREATE INDEX transactions_wallet ON transactions (wallet_id, created_at, seq, type);

-- Totals per UTC day, currency, type and kind.
CREATE TABLE daily_totals (
    date     TEXT NOT NULL,     -- YYYY-MM-DD, UTC
    currency TEXT NOT NULL,
    type     TEXT NOT NULL,
    kind     TEXT NOT NULL,     -- credit or debit
    count    INTEGER NOT NULL,
    total    TEXT NOT NULL,     -- exact decimal sum, fixed scale
    PRIMARY KEY (date, currency, type, kind)
) WITHOUT ROWID;

-- +goose Down
DROP TABLE daily_totals;
DROP TABLE transactions;
DROP TABLE balances;
DROP TABLE position;
