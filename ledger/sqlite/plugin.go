package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/sqlitedb"
)

// The plugin API's state (walletd.PluginStore): plugin keys, refresh
// tokens and spent JWT ids, in the tables of migration 00003. Writes go
// through the write connection, each in its own transaction, so a spend
// is on disk (synchronous=FULL) before the caller goes on, and the
// primary keys make every spend happen once however many callers race.

var _ walletd.PluginStore = (*DB)(nil)

func fmtTime(t time.Time) string { return t.UTC().Format(walletd.TimeFormat) }

// CreatePluginKey stores k. Returns EConflict if its id exists.
func (db *DB) CreatePluginKey(ctx context.Context, k *walletd.PluginKey) error {
	_, err := db.write.ExecContext(ctx, `INSERT INTO plugin_keys (id, plugin_name, secret_hash, created_at) VALUES (?, ?, ?, ?)`,
		k.ID, k.PluginName, k.SecretHash, fmtTime(k.CreatedAt))
	if err != nil {
		return fmt.Errorf("sqlite: create plugin key: %w", sqlitedb.FormatError(err))
	}
	return db.Sync() // durable before the key is handed out (OpenPipelined)
}

// PluginKey returns key id. Returns ENotFound.
func (db *DB) PluginKey(ctx context.Context, id string) (*walletd.PluginKey, error) {
	keys, err := db.pluginKeys(ctx, `WHERE id = ?`, id)
	if err != nil {
		return nil, err
	} else if len(keys) == 0 {
		return nil, walletd.Errorf(walletd.ENotFound, "Plugin key %s not found.", walletd.QuoteInput(id))
	}
	return keys[0], nil
}

// PluginKeys lists every key, newest first.
func (db *DB) PluginKeys(ctx context.Context) ([]*walletd.PluginKey, error) {
	return db.pluginKeys(ctx, `ORDER BY id DESC`)
}

// RevokePluginKey marks key id and its refresh tokens revoked. Returns
// ENotFound if there is no active key id.
func (db *DB) RevokePluginKey(ctx context.Context, id string, at time.Time) error {
	return db.inTx(ctx, "revoke plugin key", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE plugin_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, fmtTime(at), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return walletd.Errorf(walletd.ENotFound, "Active plugin key %s not found.", walletd.QuoteInput(id))
		}
		_, err = tx.ExecContext(ctx, `UPDATE plugin_refresh_tokens SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL`, fmtTime(at), id)
		return err
	})
}

func (db *DB) pluginKeys(ctx context.Context, where string, args ...any) ([]*walletd.PluginKey, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, plugin_name, secret_hash, created_at, revoked_at FROM plugin_keys `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: plugin keys: %w", err)
	}
	defer rows.Close()
	var out []*walletd.PluginKey
	for rows.Next() {
		var k walletd.PluginKey
		var created string
		var revoked sql.NullString
		if err := rows.Scan(&k.ID, &k.PluginName, &k.SecretHash, &created, &revoked); err != nil {
			return nil, fmt.Errorf("sqlite: scan plugin key: %w", err)
		}
		k.CreatedAt, _ = time.Parse(walletd.TimeFormat, created)
		if revoked.Valid {
			t, _ := time.Parse(walletd.TimeFormat, revoked.String)
			k.RevokedAt = &t
		}
		out = append(out, &k)
	}
	return out, rows.Err()
}

// SpendTokenID records jti as spent until expires, and forgets the ids
// that expired before at (their tokens no longer validate). Returns
// EConflict if jti was already spent.
func (db *DB) SpendTokenID(ctx context.Context, jti, keyID string, at, expires time.Time) error {
	return db.inTx(ctx, "spend token id", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM plugin_spent_tokens WHERE expires_at < ?`, fmtTime(at.Add(-time.Hour))); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO plugin_spent_tokens (jti, key_id, spent_at, expires_at) VALUES (?, ?, ?, ?)`,
			jti, keyID, fmtTime(at), fmtTime(expires))
		if err != nil {
			if walletd.ErrorCode(sqlitedb.FormatError(err)) == walletd.EConflict {
				return walletd.Errorf(walletd.EConflict, "The token was already used.")
			}
			return err
		}
		return nil
	})
}

// CreateRefreshToken stores t.
func (db *DB) CreateRefreshToken(ctx context.Context, t *walletd.RefreshToken) error {
	return db.inTx(ctx, "create refresh token", func(tx *sql.Tx) error { return insertRefresh(ctx, tx, t) })
}

func insertRefresh(ctx context.Context, tx *sql.Tx, t *walletd.RefreshToken) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO plugin_refresh_tokens (hash, family, key_id, plugin_name, site_url, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, t.Hash, t.Family, t.KeyID, t.PluginName, t.SiteURL, fmtTime(t.CreatedAt), fmtTime(t.ExpiresAt))
	return sqlitedb.FormatError(err)
}

// errRefreshInvalid is the one answer to a refresh token that does not
// refresh: the caller learns nothing of why.
var errRefreshInvalid = walletd.Errorf(walletd.EUnauthorized, "Invalid or expired refresh token")

// UseRefreshToken spends the token of hash and stores next in its family,
// in one transaction. A spent token coming back revokes its family (the
// standard answer to a stolen refresh token: either the thief or the
// plugin holds a live token, and neither can be told apart).
func (db *DB) UseRefreshToken(ctx context.Context, hash []byte, now time.Time, next *walletd.RefreshToken) (*walletd.RefreshToken, error) {
	var used *walletd.RefreshToken
	var reused bool
	err := db.inTx(ctx, "use refresh token", func(tx *sql.Tx) error {
		var t walletd.RefreshToken
		var created, expires string
		var usedAt, revokedAt, keyRevoked sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT r.hash, r.family, r.key_id, r.plugin_name, r.site_url, r.created_at, r.expires_at, r.used_at, r.revoked_at, k.revoked_at
			FROM plugin_refresh_tokens r LEFT JOIN plugin_keys k ON k.id = r.key_id WHERE r.hash = ?`, hash).
			Scan(&t.Hash, &t.Family, &t.KeyID, &t.PluginName, &t.SiteURL, &created, &expires, &usedAt, &revokedAt, &keyRevoked)
		if errors.Is(err, sql.ErrNoRows) {
			return errRefreshInvalid
		} else if err != nil {
			return err
		}
		t.CreatedAt, _ = time.Parse(walletd.TimeFormat, created)
		t.ExpiresAt, _ = time.Parse(walletd.TimeFormat, expires)
		switch {
		case usedAt.Valid:
			// Reuse: revoke the family, committed though the call fails.
			_, err := tx.ExecContext(ctx, `UPDATE plugin_refresh_tokens SET revoked_at = ? WHERE family = ? AND revoked_at IS NULL`, fmtTime(now), t.Family)
			if err != nil {
				return err
			}
			reused = true
			return nil
		case revokedAt.Valid, keyRevoked.Valid, !now.Before(t.ExpiresAt):
			return errRefreshInvalid
		}
		res, err := tx.ExecContext(ctx, `UPDATE plugin_refresh_tokens SET used_at = ? WHERE hash = ? AND used_at IS NULL`, fmtTime(now), hash)
		if err != nil {
			return err
		} else if n, _ := res.RowsAffected(); n != 1 {
			return errRefreshInvalid
		}
		next.Family, next.KeyID, next.PluginName, next.SiteURL = t.Family, t.KeyID, t.PluginName, t.SiteURL
		if err := insertRefresh(ctx, tx, next); err != nil {
			return err
		}
		used = &t
		return nil
	})
	if err != nil {
		return nil, err
	} else if reused {
		return nil, errRefreshInvalid
	}
	return used, nil
}

// RefreshFamilyRevoked reports whether family was revoked (a spent
// refresh token of it came back, or its key was revoked).
func (db *DB) RefreshFamilyRevoked(ctx context.Context, family string) (bool, error) {
	var n int
	err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM plugin_refresh_tokens WHERE family = ? AND revoked_at IS NOT NULL`, family).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("sqlite: refresh family: %w", err)
	}
	return n > 0, nil
}

// inTx runs f in a transaction of the write connection, committing when
// it returns nil, and makes the commit durable before it returns (on a
// database opened by OpenPipelined a commit alone is not): a spent token
// id or refresh token must stay spent after a power loss.
func (db *DB) inTx(ctx context.Context, op string, f func(tx *sql.Tx) error) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		var we *walletd.Error
		if errors.As(err, &we) {
			return err
		}
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: %s: commit: %w", op, err)
	}
	return db.Sync()
}
