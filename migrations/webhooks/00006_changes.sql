-- A counter of the changes another process must see: a webhook endpoint
-- created, changed or deleted, and a delivery queued or brought forward
-- by the API (a test event, a retry). `walletd serve --webhooks=false`
-- serves the endpoint API and `walletd dispatcher` sends the deliveries;
-- each polls this row and reloads its endpoints (and wakes its senders)
-- when it moved. Triggers keep it in the same transaction as the change,
-- whoever makes it. The dispatcher's own event deliveries and the
-- senders' outcomes do not move it.

-- +goose Up
CREATE TABLE changes (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO changes (id, version) VALUES (1, 0);

CREATE TRIGGER changes_endpoint_insert AFTER INSERT ON endpoints
BEGIN UPDATE changes SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER changes_endpoint_update AFTER UPDATE ON endpoints
BEGIN UPDATE changes SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER changes_endpoint_delete AFTER DELETE ON endpoints
BEGIN UPDATE changes SET version = version + 1 WHERE id = 1; END;

-- A test or ping delivery (the dispatcher records kind 'event' only).
CREATE TRIGGER changes_delivery_queued AFTER INSERT ON deliveries
WHEN NEW.kind <> 'event'
BEGIN UPDATE changes SET version = version + 1 WHERE id = 1; END;

-- A retry by hand: a finished delivery made pending again, or a pending
-- one brought forward (the senders only ever move next_attempt_at later).
CREATE TRIGGER changes_delivery_retried AFTER UPDATE OF state, next_attempt_at ON deliveries
WHEN NEW.state = 'pending' AND (OLD.state <> 'pending' OR NEW.next_attempt_at < OLD.next_attempt_at)
BEGIN UPDATE changes SET version = version + 1 WHERE id = 1; END;

-- +goose Down
DROP TRIGGER changes_delivery_retried;
DROP TRIGGER changes_delivery_queued;
DROP TRIGGER changes_endpoint_delete;
DROP TRIGGER changes_endpoint_update;
DROP TRIGGER changes_endpoint_insert;
DROP TABLE changes;
