package main

import (
	"path/filepath"
)

// relayPositionFile is the relay's position record in the data dir
// (bus.Relay.PositionFile).
func relayPositionFile(dataDir string) string { return filepath.Join(dataDir, "relay.pos") }
