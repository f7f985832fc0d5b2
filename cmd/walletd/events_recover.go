package main

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/walletd/walletd/events/bus"
	"github.com/walletd/walletd/ledger/sqlite"
)

// openLedgerSource opens the data dir's ledger.db for a consumer that runs
// in a process of its own (walletd projector, projections rebuild), so
// that it recovers from the ledger what the bounded stream dropped
// (bus.Consumer.Ledger). With no ledger.db there (the projector runs on
// another machine) it returns nil: the consumer then logs what it lost.
func openLedgerSource(ctx context.Context, dataDir string) (bus.Source, func(), error) {
	p := dataPaths(dataDir)
	if _, err := os.Stat(p.LedgerDB); errors.Is(err, fs.ErrNotExist) {
		return nil, func() {}, nil
	}
	db, err := sqlite.Open(ctx, p.LedgerDB)
	if err != nil {
		return nil, nil, err
	}
	return sqlite.NewOutbox(db, ""), func() { db.Close() }, nil
}

// relayPositionFile is the relay's position record in the data dir
// (bus.Relay.PositionFile).
func relayPositionFile(dataDir string) string { return filepath.Join(dataDir, "relay.pos") }
