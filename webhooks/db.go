package webhooks

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/walletd/walletd"

	"github.com/mattn/go-sqlite3"
	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/migrations"
)

// DB is an open webhooks.db: one write connection, which the dispatcher,
// the committer and admin changes share (each writes in batches), and a
// pool of read-only connections. WAL lets the senders read beside the
// writer; synchronous=FULL because a delivery recorded and acknowledged
// on the stream must survive a power loss.
type DB struct {
	Path  string
	write *sql.DB
	read  *sql.DB
	seal  cipher.AEAD // nil: secrets are stored as they are
}

// Open opens (creating if needed) webhooks.db at path and applies its
// migrations. sealKey, if not nil, is a 32-byte AES-256 key that seals
// endpoint secrets at rest (see LoadOrCreateKey).
func Open(ctx context.Context, path string, sealKey []byte) (*DB, error) {
	db := &DB{Path: path}
	if sealKey != nil {
		block, err := aes.NewCipher(sealKey)
		if err != nil || len(sealKey) != 32 {
			return nil, fmt.Errorf("webhooks: seal key: want 32 bytes")
		}
		if db.seal, err = cipher.NewGCM(block); err != nil {
			return nil, fmt.Errorf("webhooks: seal key: %w", err)
		}
	}
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "FULL")
	q.Set("_foreign_keys", "on")
	q.Set("_busy_timeout", "10000")
	q.Set("_txlock", "immediate")
	w, err := sql.Open("sqlite3", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("webhooks: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("webhooks: open %s: %w", path, err)
	}
	db.write = w
	if _, err := migrations.Up(ctx, w, "webhooks"); err != nil {
		w.Close()
		return nil, err
	}
	q.Set("_query_only", "true")
	q.Del("_txlock")
	if db.read, err = sql.Open("sqlite3", "file:"+path+"?"+q.Encode()); err != nil {
		w.Close()
		return nil, fmt.Errorf("webhooks: open reader %s: %w", path, err)
	}
	db.read.SetMaxOpenConns(8)
	db.read.SetMaxIdleConns(8)
	return db, nil
}

// Migrate applies pending migrations to the webhooks database at path.
func Migrate(ctx context.Context, path string) (*migrations.Result, error) {
	return migrations.UpFile(ctx, path, "webhooks")
}

// Close closes both connection pools.
func (db *DB) Close() error {
	var errs []error
	if db.read != nil {
		errs = append(errs, db.read.Close())
	}
	if db.write != nil {
		errs = append(errs, db.write.Close())
	}
	return errors.Join(errs...)
}

// LoadOrCreateKey reads the 32-byte secret-sealing key at path (hex), or
// creates it with mode 0600 when the file does not exist. Losing it makes
// the stored endpoint secrets unusable: their endpoints then need a new
// secret (rotate-secret).
func LoadOrCreateKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key := make([]byte, 32)
		rand.Read(key)
		if err := ledger.WriteFileAtomic(path, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("webhooks: key %s: %w", path, err)
		}
		return key, nil
	} else if err != nil {
		return nil, fmt.Errorf("webhooks: key %s: %w", path, err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("webhooks: key %s: want 64 hex digits", path)
	}
	return key, nil
}

const sealedPrefix = "v1:"

// sealSecret returns the stored form of an endpoint's secret.
func (db *DB) sealSecret(endpointID, secret string) string {
	if db.seal == nil || secret == "" {
		return secret
	}
	nonce := make([]byte, db.seal.NonceSize())
	rand.Read(nonce)
	out := db.seal.Seal(nonce, nonce, []byte(secret), []byte(endpointID))
	return sealedPrefix + base64.StdEncoding.EncodeToString(out)
}

// openSecret is the inverse of sealSecret.
func (db *DB) openSecret(endpointID, stored string) (string, error) {
	if !strings.HasPrefix(stored, sealedPrefix) {
		return stored, nil
	}
	if db.seal == nil {
		return "", errors.New("the secret is sealed and no webhooks key is configured")
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(stored, sealedPrefix))
	if err != nil || len(b) < db.seal.NonceSize() {
		return "", errors.New("the sealed secret is malformed")
	}
	n := db.seal.NonceSize()
	plain, err := db.seal.Open(nil, b[:n], b[n:], []byte(endpointID))
	if err != nil {
		return "", errors.New("the secret cannot be opened with this webhooks key: rotate the endpoint's secret")
	}
	return string(plain), nil
}

// ms and fromMS convert times to the stored unix milliseconds.
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// formatError turns SQLite constraint errors into domain errors.
func formatError(err error) error {
	var se sqlite3.Error
	if errors.As(err, &se) && se.Code == sqlite3.ErrConstraint {
		return walletd.Errorf(walletd.EConflict, "The change conflicts with existing data.")
	}
	return err
}
