package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/walletd/walletd/keyfile"
)

// relayKeyFile is the relay's MAC key in the data directory (hex, 0600):
// it proves which stream messages walletd wrote (bus.HeaderMAC).
const relayKeyFile = "relay.key"

// loadOrCreateRelayKey reads the relay's MAC key from dataDir, creating it
// on first use.
func loadOrCreateRelayKey(dataDir string) ([]byte, error) {
	path := filepath.Join(dataDir, relayKeyFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("relay key: %w", err)
		}
		if err := keyfile.WriteAtomic(path, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
			return nil, err
		}
		return key, nil
	}
	if err != nil {
		return nil, fmt.Errorf("relay key: %w", err)
	}
	return parseRelayKey(path, b)
}

// loadRelayKey reads the relay's MAC key at path, for a process that only
// verifies (walletd projector): it never makes one.
func loadRelayKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("relay key: %w", err)
	}
	return parseRelayKey(path, b)
}

func parseRelayKey(path string, b []byte) ([]byte, error) {
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) < 32 {
		return nil, fmt.Errorf("relay key: %s is not 32 hex-encoded bytes", path)
	}
	return key, nil
}
