package http_test

import (
	"context"
	"strings"
	"testing"
)

func TestAuth(t *testing.T) {
	s := mustServer(t)
	w := s.mustWallet(t, "u1", "USD")
	t.Run("ErrNoToken", func(t *testing.T) {
		r := s.do(t, "GET", "/v1/wallets/"+w.ID, "", "Authorization", "")
		r.expect(t, 401, "unauthorized")
		if r.Header.Get("WWW-Authenticate") == "" {
			t.Fatal("no WWW-Authenticate")
		}
	})
	t.Run("ErrBadToken", func(t *testing.T) {
		s.do(t, "GET", "/v1/wallets/"+w.ID, "", "Authorization", "Bearer wdk_x.y").expect(t, 401, "unauthorized")
		s.do(t, "GET", "/v1/wallets/"+w.ID, "", "Authorization", "Bearer garbage").expect(t, 401, "unauthorized")
		s.do(t, "GET", "/v1/wallets/"+w.ID, "", "Authorization", "Basic Zm9vOmJhcg==").expect(t, 401, "unauthorized")
		wrong := s.Admin[:strings.IndexByte(s.Admin, '.')] + ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		s.do(t, "GET", "/v1/wallets/"+w.ID, "", "Authorization", "Bearer "+wrong).expect(t, 401, "unauthorized")
	})
	// A read-only key reads but cannot write or administer.
	r := s.do(t, "POST", "/v1/api-keys", `{"name":"reader","scopes":["wallets:read"]}`)
	r.expect(t, 201, "")
	var key struct{ ID, Token string }
	r.data(t, &key)
	reader := "Bearer " + key.Token
	s.do(t, "GET", "/v1/wallets/"+w.ID, "", "Authorization", reader).expect(t, 200, "")
	s.do(t, "POST", "/v1/wallets/"+w.ID+"/credit", `{"amount":"1.00"}`, "Authorization", reader).expect(t, 403, "forbidden")
	s.do(t, "GET", "/v1/ledger/verify", "", "Authorization", reader).expect(t, 403, "forbidden")
	s.do(t, "POST", "/v1/api-keys", `{"name":"x","scopes":["root"]}`).expect(t, 400, "invalid_request")
	s.do(t, "POST", "/v1/api-keys", `{"name":"x","scopes":[]}`).expect(t, 400, "invalid_request")

	list := s.do(t, "GET", "/v1/api-keys", "")
	list.expect(t, 200, "")
	if strings.Contains(string(list.Raw), key.Token) || strings.Contains(string(list.Raw), "secret") {
		t.Fatal("the key list shows secrets")
	}
	t.Run("Revoke", func(t *testing.T) {
		s.do(t, "DELETE", "/v1/api-keys/"+key.ID, "").expect(t, 200, "")
		s.do(t, "GET", "/v1/wallets/"+w.ID, "", "Authorization", reader).expect(t, 401, "unauthorized")
		s.do(t, "DELETE", "/v1/api-keys/"+key.ID, "").expect(t, 404, "not_found")
	})
	// Keys are stored hashed: the token's secret is nowhere in the database.
	var n int
	secret := key.Token[strings.IndexByte(key.Token, '.')+1:]
	if err := s.L.DB.ReadDB().QueryRowContext(context.Background(), `SELECT count(*) FROM api_keys WHERE CAST(secret_hash AS TEXT) LIKE '%' || ? || '%'`, secret).Scan(&n); err != nil || n != 0 {
		t.Fatalf("secret stored in clear (n=%d, err=%v)", n, err)
	}
}
