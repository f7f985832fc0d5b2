package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/sqlitedb"
)

var _ walletd.APIKeyService = (*DB)(nil)

// CreateAPIKey stores k. Returns EConflict if a key with its id exists.
func (db *DB) CreateAPIKey(ctx context.Context, k *walletd.APIKey) error {
	_, err := db.write.ExecContext(ctx, `INSERT INTO api_keys (id, name, scopes, secret_hash, created_at) VALUES (?, ?, ?, ?, ?)`,
		k.ID, k.Name, strings.Join(k.Scopes, " "), k.SecretHash, k.CreatedAt.UTC().Format(walletd.TimeFormat))
	if err != nil {
		return fmt.Errorf("sqlite: create api key: %w", sqlitedb.FormatError(err))
	}
	return db.Sync() // durable before the key is handed out (OpenPipelined)
}

// APIKey returns key id. Returns ENotFound.
func (db *DB) APIKey(ctx context.Context, id string) (*walletd.APIKey, error) {
	keys, err := db.apiKeys(ctx, `WHERE id = ?`, id)
	if err != nil {
		return nil, err
	} else if len(keys) == 0 {
		return nil, walletd.Errorf(walletd.ENotFound, "API key %s not found.", walletd.QuoteInput(id))
	}
	return keys[0], nil
}

// APIKeys lists every key, newest first.
func (db *DB) APIKeys(ctx context.Context) ([]*walletd.APIKey, error) {
	return db.apiKeys(ctx, `ORDER BY id DESC`)
}

// RevokeAPIKey marks key id revoked. Returns ENotFound.
func (db *DB) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	res, err := db.write.ExecContext(ctx, `UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`,
		at.UTC().Format(walletd.TimeFormat), id)
	if err != nil {
		return fmt.Errorf("sqlite: revoke api key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return walletd.Errorf(walletd.ENotFound, "Active API key %s not found.", walletd.QuoteInput(id))
	}
	return db.Sync() // durable before the revocation is confirmed (OpenPipelined)
}

func (db *DB) apiKeys(ctx context.Context, where string, args ...any) ([]*walletd.APIKey, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, name, scopes, secret_hash, created_at, revoked_at FROM api_keys `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: api keys: %w", err)
	}
	defer rows.Close()
	var out []*walletd.APIKey
	for rows.Next() {
		var k walletd.APIKey
		var scopes, created string
		var revoked sql.NullString
		if err := rows.Scan(&k.ID, &k.Name, &scopes, &k.SecretHash, &created, &revoked); err != nil {
			return nil, fmt.Errorf("sqlite: scan api key: %w", err)
		}
		k.Scopes = strings.Fields(scopes)
		k.CreatedAt, _ = time.Parse(walletd.TimeFormat, created)
		if revoked.Valid {
			t, _ := time.Parse(walletd.TimeFormat, revoked.String)
			k.RevokedAt = &t
		}
		out = append(out, &k)
	}
	return out, rows.Err()
}
