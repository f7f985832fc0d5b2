-- The wallet features: top-ups, withdrawals, limits, KYC, auto-reload,
-- redemption codes, rules and orders.

-- +goose Up
-- A wallet's limits, KYC status, auto-reload and spending counters (JSON).
ALTER TABLE wallets ADD COLUMN features TEXT NOT NULL DEFAULT '{}';

-- Every other object of the writer's state, as JSON: top-ups, withdrawals,
-- redemption codes, cashback rules, milestones, referrals, settings,
-- orders, user totals. Written in the same transaction as the entries that
-- change them; seq is the entry that last did.
CREATE TABLE objects (
    kind TEXT NOT NULL,
    id   TEXT NOT NULL,
    data TEXT NOT NULL,
    seq  INTEGER NOT NULL,
    PRIMARY KEY (kind, id)
) WITHOUT ROWID;

-- +goose Down
DROP TABLE objects;
ALTER TABLE wallets DROP COLUMN features;
