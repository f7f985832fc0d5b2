-- Financing postbacks go through the shared inbound pipeline
-- (docs/financing.md, docs/inbound-webhooks.md): the pipeline's
-- inbound_events and inbound_log replace financing_postbacks. Every row of
-- financing_postbacks moves into them, so that nothing recorded is lost on
-- upgrade and a resend of a postback recorded before the upgrade is still
-- a duplicate (the provider event id is the same SHA-256 of the body):
--   received, retrying -> pending (applied by the pipeline at start-up),
--   applied, ignored   -> done,
--   review             -> dead (the dead-letter queue: redrive or discard).
-- The log also records the calls walletd makes to a provider (direction
-- 'out': WeGetFinancing's create request), and financing_refunds the
-- refunds of financed top-ups debited from wallets, one row per postback.

-- +goose Up

ALTER TABLE inbound_log ADD COLUMN direction TEXT NOT NULL DEFAULT 'in' CHECK (direction IN ('in', 'out'));

INSERT OR IGNORE INTO inbound_events (gateway, provider_event_id, event_type, event, body, test, state, attempts, next_attempt_at,
    outcome, last_error, dead_reason, received_at, updated_at)
SELECT 'wegetfinancing', event_id, status,
    json_object('gateway', 'wegetfinancing', 'provider_event_id', event_id, 'event_type', status,
        'kind', CASE status WHEN 'approved' THEN 'payment.succeeded' WHEN 'rejected' THEN 'payment.failed'
            WHEN 'cancelled' THEN 'payment.failed' WHEN 'refund' THEN 'payment.refunded' ELSE '' END,
        'target', json_object(
            'type', CASE WHEN merchant_transaction_id LIKE 'top\_%' ESCAPE '\' THEN 'topup'
                WHEN merchant_transaction_id GLOB '[1-9]*' AND merchant_transaction_id NOT GLOB '*[^0-9]*' THEN 'order' ELSE '' END,
            'ref', merchant_transaction_id),
        'amount', amount, 'payment_ref', request_token),
    body, 0,
    CASE state WHEN 'received' THEN 'pending' WHEN 'retrying' THEN 'pending' WHEN 'review' THEN 'dead' ELSE 'done' END,
    attempts, next_attempt_at,
    CASE WHEN state IN ('received', 'retrying') THEN ''
        ELSE json_object('status', CASE state WHEN 'review' THEN 422 ELSE 200 END,
            'code', CASE state WHEN 'review' THEN 'review' ELSE '' END, 'message', outcome, 'order_id', NULL,
            'rules_evaluated', 0, 'rules_triggered', 0, 'actions_executed', json_array(), 'result', state) END,
    CASE state WHEN 'retrying' THEN outcome ELSE '' END,
    CASE state WHEN 'review' THEN outcome ELSE '' END,
    received_at, updated_at
FROM financing_postbacks ORDER BY id;

INSERT INTO inbound_log (at, gateway, event_row, provider_event_id, event_type, status, outcome, http_status, processing_time_ms, error_message, direction)
SELECT p.received_at, 'wegetfinancing', e.id, p.event_id, p.status,
    CASE p.state WHEN 'received' THEN 'pending' WHEN 'retrying' THEN 'pending' WHEN 'review' THEN 'error' ELSE 'success' END,
    'accepted', CASE p.state WHEN 'review' THEN 422 WHEN 'received' THEN 202 WHEN 'retrying' THEN 202 ELSE 200 END, 0,
    CASE p.state WHEN 'review' THEN p.outcome ELSE '' END, 'in'
FROM financing_postbacks p JOIN inbound_events e ON e.gateway = 'wegetfinancing' AND e.provider_event_id = p.event_id
ORDER BY p.id;

DROP TABLE financing_postbacks;

-- One row per refund postback of a financed top-up whose amount was
-- debited from the wallet: the refunds of a top-up add up to at most its
-- amount.
CREATE TABLE financing_refunds (
    event_id    TEXT PRIMARY KEY,
    reference   TEXT NOT NULL,
    amount      TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX financing_refunds_reference ON financing_refunds (reference);

-- +goose Down
DROP TABLE financing_refunds;
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
ALTER TABLE inbound_log DROP COLUMN direction;
