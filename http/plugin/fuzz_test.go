package plugin_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/http/plugin"
	"github.com/walletd/walletd/keyfile"
)

// FuzzParseObject: the body parser of every endpoint (generate-token's
// first) never panics, and what it accepts is one JSON object whose keys
// are its members.
func FuzzParseObject(f *testing.F) {
	for _, s := range []string{
		`{"plugin_name":"Your Plugin Name","plugin_key":"wpk_x.y","plugin_version":"1.0.0","site_url":"https://shop.example.com","token_duration_hours":24}`,
		`{}`, `[]`, `{"a":1,"a":2}`, `{"a":"\ud800"}`, "{\"a\":\"\xff\"}", `{"a":1} x`, `{"token_duration_hours":1e400}`, ``, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, keys, err := plugin.ParseObject(b)
		if err != nil {
			if walletd.ErrorCode(err) != walletd.EInvalid {
				t.Fatalf("error code %v", err)
			}
			return
		}
		if len(m) != len(keys) || !json.Valid(b) {
			t.Fatalf("%q: %d members, %d keys", b, len(m), len(keys))
		}
		for _, k := range keys {
			if _, ok := m[k]; !ok {
				t.Fatalf("key %q missing", k)
			}
		}
	})
}

// FuzzParseOrderData: the order_data parser never panics; what it
// accepts has a positive total at the currency's scale, an email, and
// products within bounds.
func FuzzParseOrderData(f *testing.F) {
	for _, s := range []string{
		`{"order_id":12345,"status":"completed","total":"99.00","currency":"USD","customer":{"email":"test@example.com","first_name":"John","last_name":"Doe","phone":"+1234567890","country":"US"},"products":[{"name":"Challenge Account - $10,000","account_size":"10000","challenge_type":"standard","price":"99.00"}]}`,
		`{"order_id":"wc-1","total":99.5,"currency":"usd","customer":{"email":"a@b"},"products":[{"name":"x","price":99.5,"account_size":10000,"quantity":"2"}]}`,
		`{"order_id":1,"total":"1e400","currency":"USD","customer":{"email":"a@b"}}`,
		`{"order_id":1,"total":"-0","currency":"USD","customer":{"email":"a@b"}}`,
		`{"order_id":1,"total":"0.001","currency":"USD","customer":{"email":"a@b"}}`,
		`{"order_id":1,"total":"NaN","currency":"JPY","customer":{"email":"a@b"}}`,
		`{"order_id":1.5}`, `[]`, `null`, `{"products":{}}`,
	} {
		f.Add([]byte(s))
	}
	cur := walletd.DefaultCurrencies()
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return // the body parser refuses it first
		}
		od, err := plugin.ParseOrderData(b, cur)
		if err != nil {
			var fe *plugin.FieldError
			if !errors.As(err, &fe) || !strings.HasPrefix(fe.Field, "order_data") {
				t.Fatalf("error %T %v", err, err)
			}
			return
		}
		if !od.Total.IsPositive() || od.Total.Exponent() < -od.Scale || od.OrderID == "" || !strings.Contains(od.Customer.Email, "@") ||
			len(od.Products) > plugin.MaxProducts {
			t.Fatalf("accepted %+v", od)
		}
		for _, p := range od.Products {
			if p.Quantity < 1 || p.Quantity > walletd.MaxLineQuantity || p.Price.IsNegative() || p.Name == "" {
				t.Fatalf("product %+v", p)
			}
		}
	})
}

// fixedKeys is a key set for the token fuzzer.
type fixedKeys struct{ set *keyfile.JWTKeySet }

func (k fixedKeys) Keys() (*keyfile.JWTKeySet, error) { return k.set, nil }

// FuzzParseToken: the JWT parser never panics and accepts nothing it did
// not sign (the seeds include alg none, HS512 and garbage).
func FuzzParseToken(f *testing.F) {
	set, err := keyfile.NewJWTKeySet(time.Now())
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		"eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ4In0.",
		"eyJhbGciOiJIUzUxMiIsImtpZCI6Imp3a194In0.eyJzdWIiOiJ4In0.c2ln",
		"a.b.c", "..", "", strings.Repeat("a", 5000), "eyJ.eyJ.eyJ",
	} {
		f.Add(s)
	}
	now := func() time.Time { return time.Unix(1_800_000_000, 0) }
	f.Fuzz(func(t *testing.T, s string) {
		if c, err := plugin.ParseToken(s, fixedKeys{set}, testIssuer, now); err == nil {
			t.Fatalf("accepted a token it did not sign: %q %+v", s, c)
		}
	})
}
