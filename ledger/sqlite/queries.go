package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/walletd/walletd/ledger"
)

var (
	_ ledger.APIKeyService = (*DB)(nil)
	_ ledger.EntryIterator = (*EntryIterator)(nil)
)

// Wallet returns the committed state of wallet id.
// Returns ENotFound if there is no such wallet.
func (db *DB) Wallet(ctx context.Context, id string) (*ledger.Wallet, error) {
	w, err := scanWallet(db.read.QueryRowContext(ctx, `SELECT `+walletColumns+` FROM wallets WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ledger.Errorf(ledger.ENotFound, "Wallet %q not found.", id)
	}
	return w, err
}

// Wallets lists wallets ordered by id, after the cursor id, optionally of
// one user only. It returns up to limit wallets.
func (db *DB) Wallets(ctx context.Context, userID, after string, limit int) ([]*ledger.Wallet, error) {
	q := `SELECT ` + walletColumns + ` FROM wallets WHERE id > ?`
	args := []any{after}
	if userID != "" {
		q += ` AND user_id = ?`
		args = append(args, userID)
	}
	q += ` ORDER BY id LIMIT ?`
	args = append(args, limit)
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list wallets: %w", err)
	}
	defer rows.Close()
	var out []*ledger.Wallet
	for rows.Next() {
		w, err := scanWallet(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// Entries returns up to limit entries with seq > afterSeq, in seq order.
func (db *DB) Entries(ctx context.Context, afterSeq uint64, limit int) ([]*ledger.Entry, error) {
	return db.queryEntries(ctx, db.read, `SELECT `+entryColumns+` FROM entries WHERE seq > ? ORDER BY seq LIMIT ?`, afterSeq, limit)
}

// Checkpoints returns up to limit checkpoints with seq > afterSeq; limit 0
// returns them all.
func (db *DB) Checkpoints(ctx context.Context, afterSeq uint64, limit int) ([]*ledger.Checkpoint, error) {
	if limit <= 0 {
		limit = -1
	}
	return db.queryCheckpoints(ctx, db.read, `SELECT seq, ledger_id, head_hash, created_at, signature
		FROM checkpoints WHERE seq > ? ORDER BY seq LIMIT ?`, afterSeq, limit)
}

func (db *DB) queryCheckpoints(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string, args ...any) ([]*ledger.Checkpoint, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: query checkpoints: %w", err)
	}
	defer rows.Close()
	var out []*ledger.Checkpoint
	for rows.Next() {
		var cp ledger.Checkpoint
		var head []byte
		var created string
		if err := rows.Scan(&cp.Seq, &cp.LedgerID, &head, &created, &cp.Signature); err != nil {
			return nil, fmt.Errorf("sqlite: scan checkpoint: %w", err)
		}
		if len(head) != ledger.HashSize {
			return nil, fmt.Errorf("sqlite: checkpoint %d: head hash is %d bytes", cp.Seq, len(head))
		}
		copy(cp.HeadHash[:], head)
		if cp.CreatedAt, err = time.Parse(ledger.TimeFormat, created); err != nil {
			return nil, fmt.Errorf("sqlite: checkpoint %d: created_at: %w", cp.Seq, err)
		}
		out = append(out, &cp)
	}
	return out, rows.Err()
}

// EntryIterator walks every entry in seq order, for verify and export.
type EntryIterator struct {
	rows *sql.Rows
}

// IterateEntries returns an iterator over all entries. Close it when done.
func (db *DB) IterateEntries(ctx context.Context) (*EntryIterator, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+entryColumns+` FROM entries ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: iterate entries: %w", err)
	}
	return &EntryIterator{rows: rows}, nil
}

// Next fills e with the next entry; false at the end.
func (it *EntryIterator) Next(e *ledger.Entry) (bool, error) {
	if !it.rows.Next() {
		return false, it.rows.Err()
	}
	return true, scanEntry(it.rows, e)
}

// Close releases the iterator.
func (it *EntryIterator) Close() error { return it.rows.Close() }

// CreateAPIKey stores k.
func (db *DB) CreateAPIKey(ctx context.Context, k *ledger.APIKey) error {
	_, err := db.write.ExecContext(ctx, `INSERT INTO api_keys (id, name, scopes, secret_hash, created_at) VALUES (?, ?, ?, ?, ?)`,
		k.ID, k.Name, strings.Join(k.Scopes, " "), k.SecretHash, k.CreatedAt.UTC().Format(ledger.TimeFormat))
	if err != nil {
		return FormatError(fmt.Errorf("sqlite: create api key: %w", err))
	}
	return nil
}

// APIKey returns key id. Returns ENotFound.
func (db *DB) APIKey(ctx context.Context, id string) (*ledger.APIKey, error) {
	keys, err := db.apiKeys(ctx, `WHERE id = ?`, id)
	if err != nil {
		return nil, err
	} else if len(keys) == 0 {
		return nil, ledger.Errorf(ledger.ENotFound, "API key %q not found.", id)
	}
	return keys[0], nil
}

// APIKeys lists every key, newest first.
func (db *DB) APIKeys(ctx context.Context) ([]*ledger.APIKey, error) {
	return db.apiKeys(ctx, `ORDER BY id DESC`)
}

// RevokeAPIKey marks key id revoked. Returns ENotFound.
func (db *DB) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	res, err := db.write.ExecContext(ctx, `UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`,
		at.UTC().Format(ledger.TimeFormat), id)
	if err != nil {
		return fmt.Errorf("sqlite: revoke api key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ledger.Errorf(ledger.ENotFound, "Active API key %q not found.", id)
	}
	return nil
}

func (db *DB) apiKeys(ctx context.Context, where string, args ...any) ([]*ledger.APIKey, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, name, scopes, secret_hash, created_at, revoked_at FROM api_keys `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: api keys: %w", err)
	}
	defer rows.Close()
	var out []*ledger.APIKey
	for rows.Next() {
		var k ledger.APIKey
		var scopes, created string
		var revoked sql.NullString
		if err := rows.Scan(&k.ID, &k.Name, &scopes, &k.SecretHash, &created, &revoked); err != nil {
			return nil, fmt.Errorf("sqlite: scan api key: %w", err)
		}
		k.Scopes = strings.Fields(scopes)
		k.CreatedAt, _ = time.Parse(ledger.TimeFormat, created)
		if revoked.Valid {
			t, _ := time.Parse(ledger.TimeFormat, revoked.String)
			k.RevokedAt = &t
		}
		out = append(out, &k)
	}
	return out, rows.Err()
}
