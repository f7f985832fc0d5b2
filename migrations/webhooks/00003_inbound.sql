-- Inbound payment-gateway webhooks (package webhooks/inbound): the
-- gateways' settings, every event received (the durable record that is
-- processed, retried and dead-lettered, unique per provider event id) and
-- the log of every reception, refused ones included. Times are unix
-- milliseconds (UTC).

-- +goose Up

-- One row per configured gateway. config is the JSON of the settings
-- that are not secret; secret is sealed like the outbound endpoints'
-- secrets ("v1:" + base64 of nonce ‖ AES-256-GCM ciphertext, the gateway
-- name as associated data) when a webhooks key is configured.
CREATE TABLE inbound_gateways (
    gateway     TEXT PRIMARY KEY,
    config      TEXT NOT NULL,
    secret      TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- One row per provider event: recorded before it is processed, so that a
-- crash loses nothing; the unique key makes a second delivery of the same
-- event find the first. state: pending (to process, at next_attempt_at),
-- done (outcome final), dead (in the dead-letter queue), discarded.
CREATE TABLE inbound_events (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    gateway            TEXT NOT NULL,
    provider_event_id  TEXT NOT NULL,
    event_type         TEXT NOT NULL,
    event              TEXT NOT NULL,               -- the universal event, JSON
    body               BLOB NOT NULL,               -- the raw body as received
    test               INTEGER NOT NULL DEFAULT 0,  -- sent by the test endpoint
    state              TEXT NOT NULL CHECK (state IN ('pending', 'done', 'dead', 'discarded')),
    attempts           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at    INTEGER NOT NULL,
    outcome            TEXT NOT NULL DEFAULT '',    -- the answer, JSON
    last_error         TEXT NOT NULL DEFAULT '',
    dead_reason        TEXT NOT NULL DEFAULT '',
    received_at        INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    UNIQUE (gateway, provider_event_id)
);
CREATE INDEX inbound_events_due ON inbound_events (state, next_attempt_at);

-- One row per reception, refused or not (never a secret or a signature).
-- status is the seed's: success, error, pending (recorded, not yet
-- processed).
CREATE TABLE inbound_log (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    at                  INTEGER NOT NULL,
    gateway             TEXT NOT NULL,
    event_row           INTEGER,                    -- inbound_events.id, when recorded
    provider_event_id   TEXT NOT NULL DEFAULT '',
    event_type          TEXT NOT NULL DEFAULT '',
    status              TEXT NOT NULL CHECK (status IN ('success', 'error', 'pending')),
    outcome             TEXT NOT NULL,              -- accepted, duplicate, invalid_signature, rate_limited …
    http_status         INTEGER NOT NULL,
    order_id            INTEGER,
    processing_time_ms  INTEGER NOT NULL DEFAULT 0,
    rules_triggered     INTEGER NOT NULL DEFAULT 0,
    error_message       TEXT NOT NULL DEFAULT '',
    remote_ip           TEXT NOT NULL DEFAULT '',
    test                INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX inbound_log_gateway ON inbound_log (gateway, id);
CREATE INDEX inbound_log_event ON inbound_log (event_row) WHERE event_row IS NOT NULL;

-- +goose Down
DROP TABLE inbound_log;
DROP TABLE inbound_events;
DROP TABLE inbound_gateways;
