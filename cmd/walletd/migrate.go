package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/walletd/walletd/ledger/sqlite"
	"github.com/walletd/walletd/migrations"
	"github.com/walletd/walletd/projections"
	"github.com/walletd/walletd/webhooks"
)

// runMigrate applies pending migrations to the databases in the data dir.
// Migrations also run at every start of walletd serve; running them twice
// is harmless.
func runMigrate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	dataDir := dataDirFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	p := dataPaths(*dataDir)
	if err := os.MkdirAll(p.Dir, 0o700); err != nil {
		return err
	}
	for _, db := range []struct {
		name    string
		migrate func(context.Context, string) (*migrations.Result, error)
	}{
		{"ledger.db", sqlite.Migrate},
		{"projections.db", projections.Migrate},
		{"webhooks.db", webhooks.Migrate},
	} {
		res, err := db.migrate(ctx, filepath.Join(p.Dir, db.name))
		if err != nil {
			return err
		}
		fmt.Printf("%s: applied %d migration(s) %v, now at version %d\n", db.name, len(res.Applied), res.Applied, res.Current)
	}
	return nil
}
