-- Consumer financing (docs/financing.md): the provider settings, the one
-- request sent per order or top-up, and the inbound log of the provider's
-- postbacks. Operational data, like the webhooks': the ledger records
-- what the postbacks did to orders and top-ups. Times are unix
-- milliseconds (UTC).

-- +goose Up

-- The one settings row. The password is sealed with <data-dir>/webhooks.key
-- as endpoint secrets are ("v1:" + base64 of nonce ‖ AES-256-GCM
-- ciphertext, "financing" as associated data).
CREATE TABLE financing_settings (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    api_url     TEXT NOT NULL,
    merchant_id TEXT NOT NULL,
    username    TEXT NOT NULL,
    password    TEXT NOT NULL,
    min_amount  TEXT NOT NULL DEFAULT '',
    max_amount  TEXT NOT NULL DEFAULT '',
    currency    TEXT NOT NULL,
    success_url TEXT NOT NULL DEFAULT '',
    failure_url TEXT NOT NULL DEFAULT '',
    updated_at  INTEGER NOT NULL
);

-- One request per order or top-up (reference = merchant_transaction_id).
-- A row is claimed ('sending') before the provider is called, so that two
-- callers never send two requests; 'created' holds the provider's answer,
-- 'refused' the provider's refusal (nothing was created: the next call
-- sends again). It is also the log of the calls: attempts, the last
-- error, the duration of the last call.
CREATE TABLE financing_requests (
    reference     TEXT PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('order', 'topup')),
    state         TEXT NOT NULL CHECK (state IN ('sending', 'created', 'refused')),
    request_token TEXT,
    href          TEXT NOT NULL DEFAULT '',
    amount        TEXT NOT NULL,
    currency      TEXT NOT NULL,
    claimed_at    INTEGER NOT NULL,
    created_at    INTEGER NOT NULL DEFAULT 0,
    attempts      INTEGER NOT NULL DEFAULT 1,
    last_error    TEXT NOT NULL DEFAULT '',
    duration_ms   INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX financing_requests_token ON financing_requests (request_token) WHERE request_token IS NOT NULL;

-- Every verified postback, recorded before it is answered; event_id (the
-- SHA-256 of the raw body) makes a resend one row.
CREATE TABLE financing_postbacks (
    id                      INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id                TEXT NOT NULL UNIQUE,
    body                    BLOB NOT NULL,
    x_timestamp             TEXT NOT NULL,
    request_token           TEXT NOT NULL DEFAULT '',
    merchant_transaction_id TEXT NOT NULL DEFAULT '',
    status                  TEXT NOT NULL,
    amount                  TEXT NOT NULL DEFAULT '',
    state                   TEXT NOT NULL CHECK (state IN ('received', 'applied', 'ignored', 'review', 'retrying')),
    outcome                 TEXT NOT NULL DEFAULT '',
    attempts                INTEGER NOT NULL DEFAULT 0,
    duplicates              INTEGER NOT NULL DEFAULT 0,
    next_attempt_at         INTEGER NOT NULL DEFAULT 0,
    received_at             INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL
);
CREATE INDEX financing_postbacks_pending ON financing_postbacks (state, next_attempt_at) WHERE state IN ('received', 'retrying');

-- +goose Down
DROP TABLE financing_postbacks;
DROP TABLE financing_requests;
DROP TABLE financing_settings;
