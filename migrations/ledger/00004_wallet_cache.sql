-- The writer's bounded wallet cache (docs/scale.md): it reads a wallet when
-- a command needs it instead of every wallet at start-up.

-- +goose Up
-- Start-up checks only the wallet rows changed after the last checkpoint.
CREATE INDEX wallets_last_seq ON wallets (last_seq);
-- The reset-fee orders find their customer by billing email (ASCII case
-- ignored), and start-up lists the wallets' currencies, without a scan.
CREATE INDEX wallets_currency_email ON wallets (currency, email COLLATE NOCASE);

-- +goose Down
DROP INDEX wallets_currency_email;
DROP INDEX wallets_last_seq;
