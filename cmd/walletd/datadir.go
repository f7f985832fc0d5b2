package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/walletd/walletd/webhooks"
)

// insecureDataDirFlag is the flag that lets serve use a data directory that
// group or others may write to.
const insecureDataDirFlag = "insecure-data-dir-permissions"

// checkDataDir makes sure the data directory is walletd's alone before
// serve writes to it. The directory holds the ledger, its HMAC keys, the
// checkpoint signing key and the admin token: whoever may write to it may
// replace any of them.
//
// A missing directory is created with mode 0700. An existing one that
// group or others may write to is refused, unless insecure (the
// --insecure-data-dir-permissions flag), which logs a warning instead.
// Then every file in it (the databases, their -wal and -shm files, the
// keys, the NATS store) that group or others may read or write is set to
// 0600, and each is logged: files made by an older walletd, or copied in,
// may be 0644.
func checkDataDir(dir string, insecure bool, logger *slog.Logger) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("data dir: %w", err)
		}
		// MkdirAll's mode is less the umask; say it exactly.
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("data dir: %w", err)
		}
		logger.Info("created data dir", "data_dir", dir, "mode", "0700")
		return nil
	} else if err != nil {
		return fmt.Errorf("data dir: %w", err)
	} else if !fi.IsDir() {
		return fmt.Errorf("data dir %s is not a directory", dir)
	}
	if mode := fi.Mode().Perm(); mode&0o022 != 0 {
		if !insecure {
			return fmt.Errorf("data dir %s has mode %04o: group or others may write to it, and so replace the ledger or its keys; "+
				"make it the walletd user's alone (chmod 0700 %s), or start with --%s to use it anyway",
				dir, mode, dir, insecureDataDirFlag)
		}
		logger.Warn("data dir is writable by group or others; using it because of --"+insecureDataDirFlag,
			"data_dir", dir, "mode", fmt.Sprintf("%04o", mode))
	}
	return tightenFiles(dir, logger)
}

// tightenFiles sets every regular file under dir that group or others may
// read or write to 0600 and logs each one. It follows dir itself if it is
// a symbolic link, but no link within it.
func tightenFiles(dir string, logger *slog.Logger) error {
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && path != root {
			return nil // removed since it was listed (a NATS temporary file)
		} else if err != nil {
			return err
		} else if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed since it was listed
		} else if err != nil {
			return err
		}
		mode := fi.Mode().Perm()
		if mode&0o077 == 0 {
			return nil
		}
		if err := os.Chmod(path, 0o600); errors.Is(err, fs.ErrNotExist) {
			return nil
		} else if err != nil {
			return err
		}
		logger.Warn("tightened the mode of a file in the data dir", "path", path, "mode", fmt.Sprintf("%04o", mode), "new_mode", "0600")
		return nil
	})
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	return nil
}

// dataDirSealer returns the sealer of secrets kept in webhooks.db, with
// the data dir's webhooks.key (made at first use): outbound endpoint
// secrets, inbound gateway secrets and the financing password share it.
func dataDirSealer(dataDir string) (*webhooks.Sealer, error) {
	key, err := webhooks.LoadOrCreateKey(filepath.Join(dataDir, "webhooks.key"))
	if err != nil {
		return nil, err
	}
	return webhooks.NewSealer(key)
}
