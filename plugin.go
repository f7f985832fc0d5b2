package walletd

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"
	"time"
)

// The plugin order API (docs/plugin-api.md): WordPress storefront plugins
// exchange a plugin key for short-lived, single-use JWTs and hand over
// completed orders with them. This file holds its domain types and the
// store interface; http/plugin speaks the wire protocol and
// ledger/sqlite stores keys, refresh tokens and spent token ids.

// FlowPlugin marks the entries the plugin API appends (the note of type
// TypePluginOrderProcessed that publishes plugin.order.processed).
const FlowPlugin = "plugin"

// TypePluginOrderProcessed is the type of the note that records a plugin
// order as processed: its metadata carries the plugin.order.processed
// event's data.
const TypePluginOrderProcessed = "plugin_order_processed"

// Plugin field limits.
const (
	MaxPluginNameLen = 100
	MaxSiteURLLen    = 2048
)

// PluginKey is the credential of one storefront plugin: an admin creates
// it, the plugin sends it as plugin_key to generate tokens. Only the
// SHA-256 of its secret is stored.
type PluginKey struct {
	ID         string
	PluginName string
	SecretHash []byte
	CreatedAt  time.Time
	RevokedAt  *time.Time
}

// Active reports whether the key is not revoked.
func (k *PluginKey) Active() bool { return k.RevokedAt == nil }

// Matches reports, in constant time, whether secret is k's secret.
func (k *PluginKey) Matches(secret string) bool {
	sum := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(sum[:], k.SecretHash) == 1
}

// NewPluginKey makes a key for plugin name with a random 256-bit secret
// and returns it with the plugin key to give the admin once:
// "wpk_<id>.<secret>".
func NewPluginKey(name string, now time.Time) (*PluginKey, string, error) {
	if err := CheckText("plugin_name", name, MaxPluginNameLen, true); err != nil {
		return nil, "", err
	} else if strings.TrimSpace(name) != name {
		return nil, "", Errorf(EInvalid, "plugin_name has white space at an end.")
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, "", err
	}
	s := base64.RawURLEncoding.EncodeToString(secret)
	sum := sha256.Sum256([]byte(s))
	k := &PluginKey{ID: NewID("wpk"), PluginName: name, SecretHash: sum[:], CreatedAt: now.UTC().Truncate(time.Microsecond)}
	return k, k.ID + "." + s, nil
}

// SplitPluginKey splits a plugin key into its id and secret.
func SplitPluginKey(key string) (id, secret string, ok bool) {
	id, secret, ok = strings.Cut(key, ".")
	if !ok || !strings.HasPrefix(id, "wpk_") || len(id) > 64 || secret == "" || len(secret) > 128 {
		return "", "", false
	}
	return id, secret, true
}

// RefreshToken is a stored refresh token: opaque to the plugin, kept as
// its SHA-256, single use. Tokens rotated from one another share a
// Family, so that the reuse of a spent one revokes them all.
type RefreshToken struct {
	Hash       []byte
	Family     string
	KeyID      string
	PluginName string
	SiteURL    string
	CreatedAt  time.Time
	ExpiresAt  time.Time
}

// PluginStore keeps the plugin API's state in ledger.db; *sqlite.DB
// implements it. Spends are atomic and durable: once SpendTokenID or
// UseRefreshToken returned, no other call, in this process or after a
// restart, spends the same id again.
type PluginStore interface {
	// CreatePluginKey stores k. Returns EConflict if its id exists.
	CreatePluginKey(ctx context.Context, k *PluginKey) error
	// PluginKey returns key id. Returns ENotFound.
	PluginKey(ctx context.Context, id string) (*PluginKey, error)
	// PluginKeys lists every key, newest first.
	PluginKeys(ctx context.Context) ([]*PluginKey, error)
	// RevokePluginKey marks key id revoked, and every refresh token issued
	// to it. Returns ENotFound if there is no active key id.
	RevokePluginKey(ctx context.Context, id string, at time.Time) error

	// SpendTokenID records jti as used until expires. Returns EConflict if
	// it was already spent.
	SpendTokenID(ctx context.Context, jti, keyID string, at, expires time.Time) error
	// CreateRefreshToken stores t.
	CreateRefreshToken(ctx context.Context, t *RefreshToken) error
	// UseRefreshToken spends the refresh token whose hash is hash and
	// stores next (of the same family) in the same transaction. A token
	// unknown, expired at now, of a revoked family, or whose key was
	// revoked returns EUnauthorized; a token already spent revokes its
	// whole family and returns EUnauthorized. It returns the spent token.
	UseRefreshToken(ctx context.Context, hash []byte, now time.Time, next *RefreshToken) (*RefreshToken, error)
	// RefreshFamilyRevoked reports whether the refresh family was revoked.
	RefreshFamilyRevoked(ctx context.Context, family string) (bool, error)
}

// EUnauthorized is the code of a credential that is unknown, expired,
// spent or revoked.
const EUnauthorized = "unauthorized"
