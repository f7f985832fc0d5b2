-- Integer endpoint ids. WooCommerce identifies a webhook by an integer
-- (X-WC-Webhook-ID, the creation ping's webhook_id=<n>) and receivers
-- cast it with (int), so every endpoint gets one besides its whe_ id: a
-- positive integer from its own sequence, never reused after a deletion.
-- Existing endpoints are numbered 1, 2 … in creation order.

-- +goose Up

ALTER TABLE endpoints ADD COLUMN numeric_id INTEGER NOT NULL DEFAULT 0;

UPDATE endpoints SET numeric_id = (
    SELECT n FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY created_at, id) AS n FROM endpoints) AS numbered
    WHERE numbered.id = endpoints.id
);

CREATE UNIQUE INDEX endpoints_numeric_id ON endpoints (numeric_id);

-- Named counters: the last value handed out.
CREATE TABLE sequences (
    name TEXT PRIMARY KEY,
    last INTEGER NOT NULL
);
INSERT INTO sequences (name, last) SELECT 'endpoint_numeric_id', COALESCE(MAX(numeric_id), 0) FROM endpoints;

-- +goose Down
DROP TABLE sequences;
DROP INDEX endpoints_numeric_id;
ALTER TABLE endpoints DROP COLUMN numeric_id;
