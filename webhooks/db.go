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
	"os"
	"strings"
	"time"

	"github.com/walletd/walletd/keyfile"
	"github.com/walletd/walletd/migrations"
	"github.com/walletd/walletd/sqlitedb"
)

// DB is an open webhooks.db: one write connection, which the dispatcher,
// the committer and admin changes share (each writes in batches), and a
// pool of read-only connections. WAL lets the senders read beside the
// writer; synchronous=FULL because a delivery recorded and acknowledged
// on the stream must survive a power loss.
type DB struct {
	// Path is the database file.
	Path  string
	pools *sqlitedb.DB
	write *sql.DB     // pools.Write
	read  *sql.DB     // pools.Read
	seal  cipher.AEAD // nil: secrets are stored as they are
}

// options opens webhooks.db with synchronous=FULL: a delivery recorded and
// acknowledged on the stream must survive a power loss.
var options = sqlitedb.Options{Migrations: "webhooks", Synchronous: sqlitedb.SyncFull}

// Open opens (creating if needed, mode 0600) webhooks.db at path and applies its
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
	pools, err := sqlitedb.Open(ctx, path, options)
	if err != nil {
		return nil, err // it names the operation and the path
	}
	db.pools, db.write, db.read = pools, pools.Write, pools.Read
	return db, nil
}

// Migrate applies pending migrations to the webhooks database at path.
func Migrate(ctx context.Context, path string) (*migrations.Result, error) {
	return sqlitedb.Migrate(ctx, path, options)
}

// Close closes both connection pools.
func (db *DB) Close() error { return db.pools.Close() }

// LoadOrCreateKey reads the 32-byte secret-sealing key at path (hex), or
// creates it with mode 0600 when the file does not exist. Losing it makes
// the stored endpoint secrets unusable: their endpoints then need a new
// secret (rotate-secret).
func LoadOrCreateKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key := make([]byte, 32)
		rand.Read(key)
		if err := keyfile.WriteAtomic(path, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
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
