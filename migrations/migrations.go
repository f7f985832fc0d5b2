// Package migrations holds walletd's embedded, numbered SQL migrations, one
// folder per database file, and applies them with pressly/goose. Package
// sqlitedb opens the databases and runs Up on them; this package opens
// nothing itself.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
)

//go:embed ledger/*.sql projections/*.sql webhooks/*.sql
var files embed.FS

// Databases lists the database names that have migrations.
var Databases = []string{"ledger", "projections", "webhooks"}

// Result reports what Up applied.
type Result struct {
	Applied []int64 // versions applied by this call
	Current int64   // version after the call
}

// Up applies the pending migrations of database name ("ledger") to db, each
// in its own transaction, and records them. Running it twice is harmless.
func Up(ctx context.Context, db *sql.DB, name string) (*Result, error) {
	sub, err := fs.Sub(files, name)
	if err != nil {
		return nil, fmt.Errorf("migrations: %s: %w", name, err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, sub)
	if err != nil {
		return nil, fmt.Errorf("migrations: %s: %w", name, err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrations: %s: up: %w", name, err)
	}
	res := &Result{}
	for _, r := range results {
		res.Applied = append(res.Applied, r.Source.Version)
	}
	if res.Current, err = p.GetDBVersion(ctx); err != nil {
		return nil, fmt.Errorf("migrations: %s: version: %w", name, err)
	}
	return res, nil
}
