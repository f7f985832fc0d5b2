-- Transaction history served from the ledger's own entries
-- (docs/architecture.md, "History"): a wallet's credits and debits, newest
-- first by creation time (to the second) then seq, its periods and its
-- cursors, without a copy in projections.db.

-- +goose Up
-- The key is the wallet and the second of created_at, the order the API
-- pages in; seq, the rowid, ends every index entry, so (wallet, second,
-- seq) is one index walk. created_at is the batch's wall-clock time, which
-- may step back between batches (NTP), so seq order alone would not do.
CREATE INDEX entries_wallet_time ON entries (wallet_id, substr(created_at, 1, 19));

-- +goose Down
DROP INDEX entries_wallet_time;
