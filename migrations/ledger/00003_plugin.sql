-- The plugin order API (docs/plugin-api.md): plugin keys, refresh tokens
-- and the ids of the JWTs already spent. Written outside the writer's
-- batches (like api_keys): none of them is a ledger entry.

-- +goose Up
-- One key per storefront plugin; only the SHA-256 of its secret.
CREATE TABLE plugin_keys (
    id          TEXT PRIMARY KEY,
    plugin_name TEXT NOT NULL,
    secret_hash BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
) WITHOUT ROWID;

-- Refresh tokens, by the SHA-256 of the opaque token. A token is used once
-- (used_at); the tokens rotated from one another share a family, revoked
-- together when a spent one comes back.
CREATE TABLE plugin_refresh_tokens (
    hash        BLOB PRIMARY KEY,
    family      TEXT NOT NULL,
    key_id      TEXT NOT NULL,
    plugin_name TEXT NOT NULL,
    site_url    TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT,
    revoked_at  TEXT
) WITHOUT ROWID;
CREATE INDEX plugin_refresh_tokens_family ON plugin_refresh_tokens (family);
CREATE INDEX plugin_refresh_tokens_key ON plugin_refresh_tokens (key_id);

-- The jti of every JWT that passed order/process, kept until it expires:
-- the primary key is what makes a token single use.
CREATE TABLE plugin_spent_tokens (
    jti        TEXT PRIMARY KEY,
    key_id     TEXT NOT NULL,
    spent_at   TEXT NOT NULL,
    expires_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX plugin_spent_tokens_expires ON plugin_spent_tokens (expires_at);

-- +goose Down
DROP TABLE plugin_spent_tokens;
DROP TABLE plugin_refresh_tokens;
DROP TABLE plugin_keys;
