package sqlite

import (
	"context"
	"fmt"

	"github.com/walletd/walletd"
)

// Pages of the key lists the admin API answers (GET /v1/api-keys and
// /v1/plugin-keys): one page read from the database, with the count of
// every key, so that no answer holds more than its limit in memory.

// APIKeysPage returns at most limit keys, newest first, from the
// offset-th on, and how many keys there are.
func (db *DB) APIKeysPage(ctx context.Context, offset, limit int) ([]*walletd.APIKey, int, error) {
	var total int
	if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM api_keys`).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("sqlite: count api keys: %w", err)
	}
	keys, err := db.apiKeys(ctx, `ORDER BY id DESC LIMIT ? OFFSET ?`, limit, offset)
	return keys, total, err
}

// PluginKeysPage returns at most limit plugin keys, newest first, from
// the offset-th on, and how many keys there are.
func (db *DB) PluginKeysPage(ctx context.Context, offset, limit int) ([]*walletd.PluginKey, int, error) {
	var total int
	if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM plugin_keys`).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("sqlite: count plugin keys: %w", err)
	}
	keys, err := db.pluginKeys(ctx, `ORDER BY id DESC LIMIT ? OFFSET ?`, limit, offset)
	return keys, total, err
}
