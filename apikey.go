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

// API key scopes.
const (
	ScopeAdmin        = "admin"
	ScopeWalletsRead  = "wallets:read"
	ScopeWalletsWrite = "wallets:write"
)

// Scopes lists every scope a key may hold.
var Scopes = []string{ScopeAdmin, ScopeWalletsRead, ScopeWalletsWrite}

// APIKey is a bearer credential. Only the SHA-256 of its secret is stored.
type APIKey struct {
	ID         string
	Name       string
	Scopes     []string
	SecretHash []byte
	CreatedAt  time.Time
	RevokedAt  *time.Time
}

// HasScope reports whether k grants scope; admin grants every scope.
func (k *APIKey) HasScope(scope string) bool {
	for _, s := range k.Scopes {
		if s == scope || s == ScopeAdmin {
			return true
		}
	}
	return false
}

// APIKeyService stores API keys.
type APIKeyService interface {
	// CreateAPIKey stores k. Returns EConflict if the id exists.
	CreateAPIKey(ctx context.Context, k *APIKey) error
	// APIKey returns the key with id. Returns ENotFound.
	APIKey(ctx context.Context, id string) (*APIKey, error)
	// APIKeys lists every key, newest first.
	APIKeys(ctx context.Context) ([]*APIKey, error)
	// RevokeAPIKey marks key id revoked. Returns ENotFound.
	RevokeAPIKey(ctx context.Context, id string, at time.Time) error
}

// NewAPIKey makes a key with a random secret and returns it with the token
// to give the caller once: "wdk_<id>.<secret>".
func NewAPIKey(name string, scopes []string, now time.Time) (*APIKey, string, error) {
	if err := CheckScopes(scopes); err != nil {
		return nil, "", err
	} else if err := CheckText("name", name, 100, false); err != nil {
		return nil, "", err
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, "", err
	}
	s := base64.RawURLEncoding.EncodeToString(secret)
	id := NewID("wdk")
	sum := sha256.Sum256([]byte(s))
	k := &APIKey{ID: id, Name: name, Scopes: scopes, SecretHash: sum[:], CreatedAt: now.UTC().Truncate(time.Microsecond)}
	return k, id + "." + s, nil
}

// SplitToken splits a bearer token into key id and secret.
func SplitToken(token string) (id, secret string, ok bool) {
	id, secret, ok = strings.Cut(token, ".")
	if !ok || !strings.HasPrefix(id, "wdk_") || len(id) > 64 || secret == "" || len(secret) > 128 {
		return "", "", false
	}
	return id, secret, true
}

// Matches reports, in constant time, whether secret is k's secret.
func (k *APIKey) Matches(secret string) bool {
	sum := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(sum[:], k.SecretHash) == 1
}

// CheckScopes validates a scope list.
func CheckScopes(scopes []string) error {
	if len(scopes) == 0 {
		return Errorf(EInvalid, "At least one scope is required (%s).", strings.Join(Scopes, ", "))
	}
	for _, s := range scopes {
		known := false
		for _, k := range Scopes {
			known = known || s == k
		}
		if !known {
			return Errorf(EInvalid, "Unknown scope %s (want %s).", QuoteInput(s), strings.Join(Scopes, ", "))
		}
	}
	return nil
}
