-- The webhooks database: outbound endpoints, the deliveries recorded for
-- them and the log of attempts. Operational data, kept apart from the
-- ledger so that delivery traffic never contends with the ledger's writer.
-- Times are unix milliseconds (UTC).

-- +goose Up

-- Key/value facts about the database: the dispatcher's stream position.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Receivers. The secret is kept so that walletd can sign (sealed with
-- <data-dir>/webhooks.key when one is configured: "v1:" + base64 of
-- nonce ‖ AES-256-GCM ciphertext, the endpoint id as associated data).
CREATE TABLE endpoints (
    id                  TEXT PRIMARY KEY,              -- whe_ + KSUID
    name                TEXT NOT NULL,
    url                 TEXT NOT NULL,
    events              TEXT NOT NULL,                 -- JSON array of event keys; [] = every event
    status              TEXT NOT NULL CHECK (status IN ('active', 'disabled', 'suspended')),
    api_version         TEXT NOT NULL,
    format              TEXT NOT NULL CHECK (format IN ('walletpro', 'standard', 'woocommerce')),
    secret              TEXT NOT NULL,
    prev_secret         TEXT NOT NULL DEFAULT '',      -- the secret before the last rotation
    prev_secret_until   INTEGER NOT NULL DEFAULT 0,    -- standard format signs with it too until then
    status_reason       TEXT NOT NULL DEFAULT '',      -- why it is suspended or disabled
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    secret_rotated_at   INTEGER NOT NULL DEFAULT 0
);

-- One row per endpoint and event: what is sent (the exact bytes) and
-- where it stands. The unique key makes recording idempotent when the
-- stream delivers an event again.
CREATE TABLE deliveries (
    id              TEXT PRIMARY KEY,                  -- whd_ + KSUID
    endpoint_id     TEXT NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    event_id        TEXT NOT NULL,
    event           TEXT NOT NULL,
    payload         BLOB NOT NULL,                     -- the request body, byte for byte
    content_type    TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed', 'held')),
    kind            TEXT NOT NULL CHECK (kind IN ('event', 'test', 'ping')),
    once            INTEGER NOT NULL DEFAULT 0,        -- 1: one attempt, no retries, no suspension
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_status     INTEGER NOT NULL DEFAULT 0,        -- HTTP status of the last attempt (0: none)
    last_error      TEXT NOT NULL DEFAULT '',
    event_time      INTEGER NOT NULL,                  -- when the event entered the stream
    stream_seq      INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX deliveries_due ON deliveries (endpoint_id, next_attempt_at) WHERE state = 'pending';
CREATE INDEX deliveries_held ON deliveries (endpoint_id) WHERE state = 'held';
CREATE INDEX deliveries_final ON deliveries (updated_at) WHERE state IN ('succeeded', 'failed');

-- The delivery log: the last 100 attempts of each endpoint (trimmed on
-- insert).
CREATE TABLE attempts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint_id TEXT NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    delivery_id TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    event       TEXT NOT NULL,
    attempt     INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    http_status INTEGER NOT NULL,                      -- 0: no response
    response_ms INTEGER NOT NULL,
    result      TEXT NOT NULL,                         -- succeeded, retrying, failed, held, disabled
    error       TEXT NOT NULL DEFAULT '',
    kind        TEXT NOT NULL,
    manual      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX attempts_endpoint ON attempts (endpoint_id, id);
CREATE INDEX attempts_delivery ON attempts (delivery_id);

-- +goose Down
DROP TABLE attempts;
DROP TABLE deliveries;
DROP TABLE endpoints;
DROP TABLE meta;
