package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/keyfile"
	"github.com/walletd/walletd/ledger/sqlite"
)

// The data directory serve starts on: its lock, its keys and the first
// admin API key.

// prepareDataDir creates the data directory (0700) and takes its lock, so
// that two writers never share a ledger.
func prepareDataDir(p paths) (unlock func(), err error) {
	if err := os.MkdirAll(p.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	return lockDataDir(p.Dir)
}

// lockDataDir takes an exclusive, non-blocking lock on <dir>/LOCK.
func lockDataDir(dir string) (func(), error) {
	f, err := os.OpenFile(dir+"/LOCK", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data dir lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("data dir %s is in use by another walletd process", dir)
		}
		return nil, fmt.Errorf("data dir lock: %w", err)
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// loadOrCreateKeys loads the HMAC keyring and the checkpoint key pair,
// creating them (mode 0600) on first start.
// A ledger that already has entries never gets a new keyring: without its
// keys the chain can be neither verified nor extended.
func loadOrCreateKeys(p paths, hasEntries bool, logger *slog.Logger) (*walletd.Keyring, ed25519.PrivateKey, string, error) {
	kr, err := keyfile.LoadKeyring(p.Keyring)
	if errors.Is(err, os.ErrNotExist) {
		if hasEntries {
			return nil, nil, "", fmt.Errorf("%s is missing but %s has entries: restore the keyring, the chain cannot be verified or extended without it", p.Keyring, p.LedgerDB)
		}
		if kr, err = walletd.NewKeyring(time.Now()); err == nil {
			err = keyfile.SaveKeyring(p.Keyring, kr)
			logger.Info("created ledger keyring", "path", p.Keyring, "key_id", kr.Active)
		}
	}
	if err != nil {
		return nil, nil, "", err
	}
	if _, err := os.Stat(p.CheckpointKey); errors.Is(err, os.ErrNotExist) {
		if hasEntries {
			return nil, nil, "", fmt.Errorf("%s is missing but %s has entries: restore the checkpoint key", p.CheckpointKey, p.LedgerDB)
		}
		if err := keyfile.GenerateCheckpointKey(p.CheckpointKey, p.CheckpointPub); err != nil {
			return nil, nil, "", fmt.Errorf("checkpoint key: %w", err)
		}
		logger.Info("created checkpoint key pair", "public_key", p.CheckpointPub)
	}
	priv, err := keyfile.LoadCheckpointKey(p.CheckpointKey)
	if err != nil {
		return nil, nil, "", err
	}
	pubPEM, err := os.ReadFile(p.CheckpointPub)
	if err != nil {
		return nil, nil, "", fmt.Errorf("checkpoint public key: %w", err)
	}
	return kr, priv, string(pubPEM), nil
}

// ensureAdminKey creates the first admin API key when the ledger has none,
// writes it to <data-dir>/admin.key (0600) and prints it once. The file is
// written before the key is stored, so a crash in between leaves no key
// that nobody holds.
func ensureAdminKey(ctx context.Context, db *sqlite.DB, p paths, logger *slog.Logger) error {
	keys, err := db.APIKeys(ctx)
	if err != nil {
		return err
	} else if len(keys) > 0 {
		return nil
	}
	k, token, err := walletd.NewAPIKey("admin (first start)", []string{walletd.ScopeAdmin}, time.Now())
	if err != nil {
		return err
	}
	if err := keyfile.WriteAtomic(p.AdminKey, []byte(token+"\n"), 0o600); err != nil {
		return fmt.Errorf("admin key: %w", err)
	}
	if err := db.CreateAPIKey(ctx, k); err != nil {
		return err
	}
	fmt.Printf("walletd: created admin API key (saved to %s):\n%s\n", p.AdminKey, token)
	logger.Info("created admin API key", "key_id", k.ID, "path", p.AdminKey)
	return nil
}

// readToken returns the token in a key file, trimmed.
func readToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}
