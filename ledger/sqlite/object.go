package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/walletd/walletd"
)

func (db *DB) loadObjects(ctx context.Context) ([]*walletd.StoredObject, error) {
	rows, err := db.write.QueryContext(ctx, `SELECT kind, id, data, seq FROM objects`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: load objects: %w", err)
	}
	defer rows.Close()
	var out []*walletd.StoredObject
	for rows.Next() {
		var o walletd.StoredObject
		var data string
		if err := rows.Scan(&o.Kind, &o.ID, &data, &o.Seq); err != nil {
			return nil, fmt.Errorf("sqlite: scan object: %w", err)
		}
		o.Data = []byte(data)
		out = append(out, &o)
	}
	return out, rows.Err()
}

// LoadObject returns the committed data of one object, from the read pool.
func (db *DB) LoadObject(ctx context.Context, kind, id string) ([]byte, error) {
	var data string
	err := db.read.QueryRowContext(ctx, `SELECT data FROM objects WHERE kind = ? AND id = ?`, kind, id).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, walletd.Errorf(walletd.ENotFound, "No %s %s.", strings.ReplaceAll(kind, "_", " "), walletd.QuoteInput(id))
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: load %s %s: %w", kind, id, err)
	}
	return []byte(data), nil
}

// Objects lists the objects of kind with id > after, in id order, up to
// limit, decoded.
func (db *DB) Objects(ctx context.Context, kind, after string, limit int) ([]any, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, data FROM objects WHERE kind = ? AND id > ? ORDER BY id LIMIT ?`, kind, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list %s: %w", kind, err)
	}
	defer rows.Close()
	var out []any
	for rows.Next() {
		var id, data string
		if err := rows.Scan(&id, &data); err != nil {
			return nil, fmt.Errorf("sqlite: scan %s: %w", kind, err)
		}
		v, err := walletd.DecodeObject(kind, []byte(data))
		if err != nil {
			return nil, fmt.Errorf("sqlite: %s %s: %w", kind, id, err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Object returns one committed object, decoded, or ENotFound.
func (db *DB) Object(ctx context.Context, kind, id string) (any, error) {
	data, err := db.LoadObject(ctx, kind, id)
	if err != nil {
		return nil, err
	}
	return walletd.DecodeObject(kind, data)
}
