package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/walletd/walletd/ledger/sqlite"
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
	res, err := sqlite.Migrate(ctx, p.LedgerDB)
	if err != nil {
		return err
	}
	fmt.Printf("ledger.db: applied %d migration(s) %v, now at version %d\n", len(res.Applied), res.Applied, res.Current)
	return nil
}
