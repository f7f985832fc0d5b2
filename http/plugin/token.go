package plugin

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// JWTs (github.com/golang-jwt/jwt/v5): HS256 only, signed with the active
// key of the data dir's plugin-jwt.json and named by it in the kid header,
// so that tokens signed before a rotation verify with the key that signed
// them until they expire. The parser accepts HS256 alone: "alg": "none",
// another HMAC size and public-key algorithms (the algorithm-confusion
// attack, where an HMAC is computed with a public key as its secret) are
// refused before any key is looked at.

// Claims are the claims of a plugin JWT.
type Claims struct {
	jwt.RegisteredClaims
	// SiteURL is the shop's site_url the token was issued for.
	SiteURL string `json:"site_url"`
	// KeyID is the plugin key that obtained the token.
	KeyID string `json:"key_id"`
	// Family is the refresh-token family the token was issued with: a
	// family revoked (a spent refresh token came back) revokes its JWTs.
	Family        string `json:"fam"`
	PluginVersion string `json:"plugin_version,omitempty"`
}

// maxTokenLen bounds the JWT text the parser reads.
const maxTokenLen = 4096

// randomID returns n random bytes in base64url.
func randomID(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("plugin: crypto/rand: " + err.Error()) // the platform's generator does not fail
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// signToken issues a JWT for plugin (the key's plugin name) valid for d.
func (a *API) signToken(c Claims, plugin string, d time.Duration) (string, *Claims, error) {
	set, err := a.cfg.Keys.Keys()
	if err != nil {
		return "", nil, fmt.Errorf("plugin: signing keys: %w", err)
	}
	key, _ := set.Key(set.Active)
	now := a.cfg.Now().UTC().Truncate(time.Second)
	c.RegisteredClaims = jwt.RegisteredClaims{
		Issuer:    a.cfg.Issuer,
		Subject:   plugin,
		Audience:  jwt.ClaimStrings{Audience},
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(d)),
		ID:        "jti_" + randomID(18),
	}
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, &c)
	t.Header["kid"] = key.ID
	s, err := t.SignedString(key.Secret)
	if err != nil {
		return "", nil, fmt.Errorf("plugin: sign: %w", err)
	}
	return s, &c, nil
}

// errBadToken is every reason a JWT does not validate: the caller learns
// none of them.
var errBadToken = errors.New("plugin: invalid token")

// ParseToken validates a plugin JWT at now with the key set keys and
// issuer iss: HS256 with a known kid, the audience, the issuer, and
// iat/nbf/exp (exp required). It returns the claims, or an error that says
// why for the log.
func ParseToken(s string, keys SigningKeys, iss string, now func() time.Time) (*Claims, error) {
	if len(s) == 0 || len(s) > maxTokenLen {
		return nil, errBadToken
	}
	set, err := keys.Keys()
	if err != nil {
		return nil, fmt.Errorf("plugin: signing keys: %w", err)
	}
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithAudience(Audience),
		jwt.WithIssuer(iss),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(now),
	)
	var c Claims
	_, err = p.ParseWithClaims(s, &c, func(t *jwt.Token) (any, error) {
		if _, ok := t.Method.(*jwt.SigningMethodHMAC); !ok || t.Method.Alg() != jwt.SigningMethodHS256.Alg() {
			return nil, errBadToken
		}
		kid, _ := t.Header["kid"].(string)
		k, ok := set.Key(kid)
		if !ok {
			return nil, errBadToken
		}
		return k.Secret, nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errBadToken, err)
	}
	if c.ID == "" || c.Subject == "" || c.KeyID == "" {
		return nil, fmt.Errorf("%w: claims missing", errBadToken)
	}
	return &c, nil
}

// hashRefresh is what the store keeps of a refresh token.
func hashRefresh(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// newRefreshToken returns a fresh opaque refresh token.
func newRefreshToken() string { return "wrt_" + randomID(32) }
