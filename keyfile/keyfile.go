// Package keyfile reads and writes walletd's key files: the ledger keyring
// (keyring.json, the HMAC keys of the chain), the Ed25519 key pair that
// signs checkpoints (checkpoint.key and checkpoint.pub, PEM), and any other
// secret written to disk, through WriteAtomic. docs/ledger-format.md
// describes the keyring file and the PEM forms that openssl reads.
//
// The ledger holds keys in memory only (walletd.Keyring, an
// ed25519.PrivateKey); file formats, permissions and atomic replacement
// live here, so that the domain does no file I/O.
package keyfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteAtomic writes data to a temporary file beside path, syncs it and
// renames it over path, so readers see the old or the new file, never half
// of one. The temporary file is created 0600 and given mode before any byte
// is written, so a secret is never readable by others, not even for a
// moment.
func WriteAtomic(path string, data []byte, mode os.FileMode) error {
	if err := writeAtomic(path, data, mode); err != nil {
		return fmt.Errorf("keyfile: write %s: %w", path, err)
	}
	return nil
}

func writeAtomic(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
