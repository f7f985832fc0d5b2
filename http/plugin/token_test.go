package plugin_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/walletd/walletd/http/plugin"
	"github.com/walletd/walletd/keyfile"
)

func TestGenerateToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, generous)
	body := func(mod func(m map[string]any)) map[string]any {
		m := map[string]any{"plugin_name": testPlugin, "plugin_key": e.Key, "plugin_version": "1.0.0", "site_url": testSite}
		if mod != nil {
			mod(m)
		}
		return m
	}
	t.Run("OK", func(t *testing.T) {
		for _, path := range []string{"/plugin/generate-token/", "/plugin/generate-token", "/api/plugin/generate-token/", "/api/plugin/generate-token"} {
			r := e.post(t, path, body(nil)).expect(t, 200, "")
			if r.str("token_type") != "Bearer" || r.str("api_version") != "1.0" || r.str("plugin_name") != testPlugin ||
				r.Body["expires_in_hours"] != float64(24) || r.Body["expires_in_seconds"] != float64(86400) ||
				!strings.HasPrefix(r.str("refresh_token"), "wrt_") {
				t.Fatalf("%s: %s", path, r.Raw)
			}
			c, err := plugin.ParseToken(r.str("jwt_token"), e.Keys, testIssuer, e.Clock.Now)
			if err != nil {
				t.Fatal(err)
			}
			if c.Subject != testPlugin || c.SiteURL != testSite || c.KeyID != e.KeyID || c.ID == "" || c.Family == "" ||
				!c.ExpiresAt.Equal(e.Clock.Now().Add(24*time.Hour)) || c.Audience[0] != plugin.Audience || c.Issuer != testIssuer {
				t.Fatalf("claims %+v", c)
			}
		}
	})
	t.Run("Duration", func(t *testing.T) {
		for in, want := range map[any]float64{1: 1, 168: 168, "48": 48, nil: 24} {
			r := e.post(t, "/plugin/generate-token/", body(func(m map[string]any) { m["token_duration_hours"] = in })).expect(t, 200, "")
			if r.Body["expires_in_hours"] != want {
				t.Fatalf("%v: %s", in, r.Raw)
			}
		}
		for _, in := range []any{0, 169, -1, 1.5, "1e2", "24h", true, []int{1}, "", "024"} {
			b := body(func(m map[string]any) { m["token_duration_hours"] = in })
			r := e.post(t, "/plugin/generate-token/", b).expect(t, 400, "")
			if r.str("field") != "token_duration_hours" {
				t.Fatalf("%v: %s", in, r.Raw)
			}
		}
		raw := `{"plugin_name":"` + testPlugin + `","plugin_key":"` + e.Key + `","plugin_version":"1","site_url":"https://a.example","token_duration_hours":1e400}`
		e.post(t, "/plugin/generate-token/", raw).expect(t, 400, "")
	})
	t.Run("MissingFields", func(t *testing.T) {
		r := e.post(t, "/plugin/generate-token/", map[string]any{"plugin_name": testPlugin, "site_url": "", "extra": 1}).expect(t, 400, "Missing required fields")
		req, _ := r.Body["required"].([]any)
		rec, _ := r.Body["received"].([]any)
		if len(req) != 4 || len(rec) != 3 || rec[0] != "extra" || rec[1] != "plugin_name" {
			t.Fatalf("%s", r.Raw)
		}
		e.post(t, "/plugin/generate-token/", `{}`).expect(t, 400, "Missing required fields")
	})
	t.Run("BadInput", func(t *testing.T) {
		for name, b := range map[string]string{
			"malformed": `{"plugin_name":`, "array": `[1]`, "string": `"x"`, "empty": ``, "trailing": `{} {}`,
			"duplicate":  `{"plugin_name":"a","plugin_name":"b"}`,
			"badUTF8":    "{\"plugin_name\":\"\xff\"}",
			"wrongType":  `{"plugin_name":12,"plugin_key":"k","plugin_version":"1","site_url":"https://a.example"}`,
			"badSite":    `{"plugin_name":"a","plugin_key":"k","plugin_version":"1","site_url":"ftp://a.example"}`,
			"siteNoHost": `{"plugin_name":"a","plugin_key":"k","plugin_version":"1","site_url":"https:///x"}`,
			"control":    `{"plugin_name":"a\u0000","plugin_key":"k","plugin_version":"1","site_url":"https://a.example"}`,
		} {
			if r := e.post(t, "/plugin/generate-token/", b); r.Status != 400 || r.str("error") == "" {
				t.Errorf("%s: %d %s", name, r.Status, r.Raw)
			}
		}
		e.post(t, "/plugin/generate-token/", `{"plugin_name":"`+strings.Repeat("a", 2<<20)+`"}`).expect(t, 413, "")
	})
	t.Run("InvalidKey", func(t *testing.T) {
		for name, key := range map[string]string{
			"garbage": "nope", "unknown": "wpk_3MZ70s1aPXSmc7yIY6UYVf8T9lt.secret", "wrongSecret": e.KeyID + ".wrong",
			"truncated": e.Key[:len(e.Key)-1], "other prefix": strings.Replace(e.Key, "wpk_", "wdk_", 1),
		} {
			r := e.post(t, "/plugin/generate-token/", body(func(m map[string]any) { m["plugin_key"] = key }))
			if r.Status != 401 || r.str("error") != "Invalid plugin key" {
				t.Errorf("%s: %d %s", name, r.Status, r.Raw)
			}
		}
		// The key is bound to its plugin's name.
		e.post(t, "/plugin/generate-token/", body(func(m map[string]any) { m["plugin_name"] = "Another Plugin" })).expect(t, 401, "Invalid plugin key")
	})
	t.Run("Revoked", func(t *testing.T) {
		id, key := e.newKey(t, "Revoked Plugin")
		b := map[string]any{"plugin_name": "Revoked Plugin", "plugin_key": key, "plugin_version": "1", "site_url": testSite}
		e.post(t, "/plugin/generate-token/", b).expect(t, 200, "")
		if err := e.L.DB.RevokePluginKey(context.Background(), id, time.Now()); err != nil {
			t.Fatal(err)
		}
		e.post(t, "/plugin/generate-token/", b).expect(t, 401, "Invalid plugin key")
		e.post(t, "/plugin/test/", map[string]any{"plugin_name": "Revoked Plugin", "plugin_key": key}).expect(t, 401, "Invalid plugin key")
	})
	t.Run("MethodNotAllowed", func(t *testing.T) {
		r := e.do(t, "GET", "/plugin/generate-token/", "").expect(t, 405, "")
		if r.Header.Get("Allow") != "POST" || r.str("error") == "" {
			t.Fatalf("%v %s", r.Header, r.Raw)
		}
		e.do(t, "DELETE", "/api/plugin/health", "").expect(t, 405, "")
	})
}

// TestParseToken_Refused: tokens that must never validate, whatever
// their claims: alg none, algorithm confusion (RS256 with the HMAC secret
// as a "public key", and HS256 signed with a public key's PEM), other
// HMAC sizes, an unknown kid, a wrong audience or issuer, expired, not
// yet valid, without exp.
func TestParseToken_Refused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, generous)
	set, err := e.Keys.Keys()
	if err != nil {
		t.Fatal(err)
	}
	key, _ := set.Key(set.Active)
	now := e.Clock.Now()
	claims := func(mod func(c *plugin.Claims)) *plugin.Claims {
		c := &plugin.Claims{SiteURL: testSite, KeyID: e.KeyID, Family: "fam_x", RegisteredClaims: jwt.RegisteredClaims{
			Issuer: testIssuer, Subject: testPlugin, Audience: jwt.ClaimStrings{plugin.Audience}, ID: "jti_x",
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}}
		if mod != nil {
			mod(c)
		}
		return c
	}
	sign := func(m jwt.SigningMethod, c *plugin.Claims, kid string, secret any) string {
		tok := jwt.NewWithClaims(m, c)
		tok.Header["kid"] = kid
		s, err := tok.SignedString(secret)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good := sign(jwt.SigningMethodHS256, claims(nil), key.ID, key.Secret)
	if _, err := plugin.ParseToken(good, e.Keys, testIssuer, e.Clock.Now); err != nil {
		t.Fatalf("a good token: %v", err)
	}
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	pubDER, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	none := sign(jwt.SigningMethodNone, claims(nil), key.ID, jwt.UnsafeAllowNoneSignatureType)
	parts := strings.Split(good, ".")
	noneHeader := "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0" // {"alg":"none","typ":"JWT"}
	cases := map[string]string{
		"none":             none,
		"none, good body":  noneHeader + "." + parts[1] + ".",
		"none, good sig":   noneHeader + "." + parts[1] + "." + parts[2],
		"RS256":            sign(jwt.SigningMethodRS256, claims(nil), key.ID, rsaKey),
		"HS256 with a PEM": sign(jwt.SigningMethodHS256, claims(nil), key.ID, pubPEM),
		"HS512":            sign(jwt.SigningMethodHS512, claims(nil), key.ID, key.Secret),
		"HS384":            sign(jwt.SigningMethodHS384, claims(nil), key.ID, key.Secret),
		"unknown kid":      sign(jwt.SigningMethodHS256, claims(nil), "jwk_nope", key.Secret),
		"no kid":           sign(jwt.SigningMethodHS256, claims(nil), "", key.Secret),
		"wrong secret":     sign(jwt.SigningMethodHS256, claims(nil), key.ID, []byte(strings.Repeat("k", 32))),
		"audience":         sign(jwt.SigningMethodHS256, claims(func(c *plugin.Claims) { c.Audience = jwt.ClaimStrings{"other"} }), key.ID, key.Secret),
		"issuer":           sign(jwt.SigningMethodHS256, claims(func(c *plugin.Claims) { c.Issuer = "http://evil.test" }), key.ID, key.Secret),
		"expired":          sign(jwt.SigningMethodHS256, claims(func(c *plugin.Claims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Second)) }), key.ID, key.Secret),
		"no exp":           sign(jwt.SigningMethodHS256, claims(func(c *plugin.Claims) { c.ExpiresAt = nil }), key.ID, key.Secret),
		"future iat":       sign(jwt.SigningMethodHS256, claims(func(c *plugin.Claims) { c.IssuedAt = jwt.NewNumericDate(now.Add(time.Hour)) }), key.ID, key.Secret),
		"not before":       sign(jwt.SigningMethodHS256, claims(func(c *plugin.Claims) { c.NotBefore = jwt.NewNumericDate(now.Add(time.Hour)) }), key.ID, key.Secret),
		"no jti":           sign(jwt.SigningMethodHS256, claims(func(c *plugin.Claims) { c.ID = "" }), key.ID, key.Secret),
		"tampered":         parts[0] + "." + parts[1] + "x." + parts[2],
		"huge":             strings.Repeat("a", 5000),
	}
	e.post(t, "/api/plugin/order/process/", process("", order(1))).expect(t, 400, "Missing required fields")
	for name, tok := range cases {
		if _, err := plugin.ParseToken(tok, e.Keys, testIssuer, e.Clock.Now); err == nil {
			t.Errorf("%s: accepted", name)
		}
		// And over HTTP: 401 with the guide's message, nothing spent.
		e.post(t, "/api/plugin/order/process/", process(tok, order(1))).expect(t, 401, "Invalid, expired, or already used JWT token")
	}
}

// TestSigningKeyRotation: after `walletd keys rotate-plugin-jwt-key`
// (keyfile.Rotate + save), new tokens carry the new kid and tokens signed
// by the previous key still validate until they expire.
func TestSigningKeyRotation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, generous)
	old, _ := e.tokens(t)
	set, err := keyfile.LoadJWTKeys(e.KeyPath)
	if err != nil {
		t.Fatal(err)
	}
	oldKid := set.Active
	if err := set.Rotate(time.Now(), plugin.MaxTokenHours*time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := keyfile.SaveJWTKeys(e.KeyPath, set); err != nil {
		t.Fatal(err)
	}
	e.Keys.Reload()
	fresh, _ := e.tokens(t)
	kid := func(s string) string {
		tok, _, err := jwt.NewParser().ParseUnverified(s, &plugin.Claims{})
		if err != nil {
			t.Fatal(err)
		}
		k, _ := tok.Header["kid"].(string)
		return k
	}
	if kid(old) != oldKid || kid(fresh) != set.Active || oldKid == set.Active {
		t.Fatalf("kids: old %s fresh %s active %s", kid(old), kid(fresh), set.Active)
	}
	e.post(t, "/plugin/order/process/", process(old, order("rot-1"))).expect(t, 201, "")
	e.post(t, "/plugin/order/process/", process(fresh, order("rot-2"))).expect(t, 201, "")
	// A key retired longer ago than the longest token lives is dropped.
	if err := set.Rotate(time.Now().Add(plugin.MaxTokenHours*time.Hour+time.Hour), plugin.MaxTokenHours*time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, ok := set.Key(oldKid); ok {
		t.Fatal("the old key was kept past every token's expiry")
	}
}
