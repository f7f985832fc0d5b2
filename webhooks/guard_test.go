package webhooks_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/webhooks"
)

func TestGuard_Check(t *testing.T) {
	t.Parallel()
	g := &webhooks.Guard{}
	for _, tc := range []struct {
		addr    string
		allowed bool
	}{
		{"8.8.8.8", true},
		{"93.184.216.34", true},
		{"2606:4700:4700::1111", true},
		{"127.0.0.1", false},
		{"127.255.0.9", false},
		{"::1", false},
		{"10.0.0.1", false},
		{"172.16.5.4", false},
		{"192.168.1.1", false},
		{"fd12:3456::1", false},
		{"169.254.169.254", false}, // AWS, GCP, Azure metadata
		{"169.254.1.1", false},
		{"fe80::1", false},
		{"fd00:ec2::254", false},   // AWS metadata over IPv6
		{"100.100.100.200", false}, // Alibaba metadata (CGNAT range)
		{"0.0.0.0", false},
		{"::", false},
		{"255.255.255.255", false},
		{"224.0.0.1", false},
		{"ff02::1", false},
		{"::ffff:127.0.0.1", false},
		{"::ffff:8.8.8.8", false}, // every IPv4-mapped form
		{"::ffff:169.254.169.254", false},
		{"64:ff9b::a00:1", false},
		{"2002:7f00:1::1", false}, // 6to4 of 127.0.0.1
		{"2002:808:808::1", true}, // 6to4 of 8.8.8.8
		{"192.0.2.1", false},
		{"198.18.0.1", false},
	} {
		err := g.Check(netip.MustParseAddr(tc.addr))
		if (err == nil) != tc.allowed {
			t.Errorf("%s: err %v, want allowed=%v", tc.addr, err, tc.allowed)
		}
		if err != nil && !errors.Is(err, webhooks.ErrAddressRefused) {
			t.Errorf("%s: %v is not ErrAddressRefused", tc.addr, err)
		}
	}
	t.Run("Allowlist", func(t *testing.T) {
		allow, err := webhooks.ParseCIDRs("127.0.0.0/8, 10.1.0.0/16,::1")
		if err != nil {
			t.Fatal(err)
		}
		g := &webhooks.Guard{Allow: allow}
		for addr, want := range map[string]bool{"127.0.0.1": true, "::1": true, "10.1.2.3": true, "10.2.0.1": false,
			"::ffff:127.0.0.1": true, "169.254.169.254": false} {
			if err := g.Check(netip.MustParseAddr(addr)); (err == nil) != want {
				t.Errorf("%s: %v, want allowed=%v", addr, err, want)
			}
		}
	})
}

func TestParseCIDRs(t *testing.T) {
	t.Parallel()
	got, err := webhooks.ParseCIDRs(" 127.0.0.0/8,,10.0.0.7, fd00::/8 ")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].String() != "127.0.0.0/8" || got[1].String() != "10.0.0.7/32" || got[2].String() != "fd00::/8" {
		t.Fatalf("%v", got)
	}
	if got, err := webhooks.ParseCIDRs(""); err != nil || len(got) != 0 {
		t.Fatalf("empty: %v %v", got, err)
	}
	for _, bad := range []string{"127.0.0.0/33", "localhost", "10.0.0.0/8;rm", "fe80::1%eth0"} {
		if _, err := webhooks.ParseCIDRs(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseSchedule(t *testing.T) {
	t.Parallel()
	got, err := webhooks.ParseSchedule("30s,2m,10m,1h,4h")
	if err != nil || webhooks.FormatSchedule(got) != webhooks.FormatSchedule(webhooks.DefaultSchedule) {
		t.Fatalf("%v %v", got, err)
	}
	for _, bad := range []string{"", "30s,-1s", "0s", "soon", strings.Repeat("1s,", 21)} {
		if _, err := webhooks.ParseSchedule(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 6, 20, 14, 32, 7, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"":                              0,
		"120":                           2 * time.Minute,
		"-5":                            0,
		"soon":                          0,
		"99999999999999999999":          webhooks.MaxRetryAfter,
		"Sat, 20 Jun 2026 14:33:07 GMT": time.Minute,
		"Sat, 20 Jun 2026 14:00:00 GMT": 0,
	} {
		if got := webhooks.ParseRetryAfter(v, now); got != want {
			t.Errorf("%q: %v, want %v", v, got, want)
		}
	}
}

func TestValidateURL(t *testing.T) {
	t.Parallel()
	g := &webhooks.Guard{}
	for raw, ok := range map[string]bool{
		"https://example.com/hooks/walletpro?x=1": true,
		"https://example.com:8443/h":              true,
		"https://[2606:4700::1]/h":                true,
		"http://example.com/h":                    false,
		"https://example.com:0/h":                 false,
		"https://example.com:99999/h":             false,
		"https:///h":                              false,
		"https://a b.com/":                        false,
		"https://127.0.0.1/h":                     false,
		"https://[::1]/h":                         false,
		"https://[::ffff:7f00:1]/h":               false,
		"mailto:x@example.com":                    false,
		"https://" + strings.Repeat("a", 2100):    false,
	} {
		_, err := g.ValidateURL(raw)
		if (err == nil) != ok {
			t.Errorf("%q: %v, want ok=%v", raw, err, ok)
		}
		if err != nil && walletd.ErrorCode(err) != walletd.EInvalid {
			t.Errorf("%q: code %s", raw, walletd.ErrorCode(err))
		}
	}
}

// The signing functions against vectors computed with Python's hmac
// module (also in docs/webhooks.md).
func TestSign_Vectors(t *testing.T) {
	t.Parallel()
	body := []byte(`{"id":"wph_36FtqA1Rk0bWQ4H1Gq7c4BqT9pN","event":"wallet.credited","api_version":"v1","created_at":"2026-06-20T14:32:07Z","site_url":"https://example.com","data":{"amount":"25.00"}}`)
	secret := "whsec_MfKQ9r8GKYqrTAjZ4xvN1m8wU5bKjYxQ2f3pLz0hT7c="
	if got := webhooks.SignWalletPro(secret, 1750429927, body); got != "t=1750429927,v1=c4634db712368e8b9b8638544386370cd817fcfc9b5022d29383beba181e82dd" {
		t.Errorf("walletpro: %s", got)
	}
	if got, err := webhooks.SignStandard(secret, "wph_36FtqA1Rk0bWQ4H1Gq7c4BqT9pN", 1750429927, body); err != nil || got != "v1,8npTQgUVVwflAszZetqYnq0aEiwMCa6Lsa0f3oDE1fA=" {
		t.Errorf("standard: %s %v", got, err)
	}
	if got := webhooks.SignWooCommerce(secret, body); got != "ajXTE1aZHOP+k69sh9pY5DE3cor3zKFct7T5auwTJww=" {
		t.Errorf("woocommerce: %s", got)
	}
	if !verifyWalletPro(secret, body, webhooks.SignWalletPro(secret, time.Now().Unix(), body), time.Now()) {
		t.Error("the seed's verifier refuses a fresh signature")
	}
	if verifyWalletPro(secret, body, webhooks.SignWalletPro(secret, time.Now().Add(-301*time.Second).Unix(), body), time.Now()) {
		t.Error("the seed's verifier accepts a stale signature")
	}
}

func FuzzParseCIDRs(f *testing.F) {
	for _, s := range []string{"127.0.0.0/8", "127.0.0.0/8,::1/128", "10.0.0.1", " , ", "1.2.3.4/40", "fe80::1%eth0", "::ffff:1.2.3.4/120"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := webhooks.ParseCIDRs(s)
		if err != nil {
			return
		}
		for _, p := range ps {
			if !p.IsValid() || p != p.Masked() {
				t.Fatalf("%q: prefix %v", s, p)
			}
			// Whatever is allowed, the guard still answers for every address.
			g := &webhooks.Guard{Allow: ps}
			if err := g.Check(p.Addr()); err != nil {
				t.Fatalf("%q: %v refused though allowed: %v", s, p.Addr(), err)
			}
		}
	})
}

func FuzzValidateURL(f *testing.F) {
	for _, s := range []string{"https://example.com/h", "http://127.0.0.1:8080/", "https://[::1]/", "https://u:p@x.com/",
		"https://10.0.0.1/", "https://x.com:65536/", "https://%41.com/", "https://[fe80::1%25eth0]/"} {
		f.Add(s)
	}
	allow, _ := webhooks.ParseCIDRs("127.0.0.0/8")
	strict, dev := &webhooks.Guard{}, &webhooks.Guard{Allow: allow}
	f.Fuzz(func(t *testing.T, raw string) {
		for _, g := range []*webhooks.Guard{strict, dev} {
			u, err := g.ValidateURL(raw)
			if err != nil {
				if walletd.ErrorCode(err) != walletd.EInvalid {
					t.Fatalf("%q: %v", raw, err)
				}
				continue
			}
			if u.Scheme != "https" && !(u.Scheme == "http" && g == dev) {
				t.Fatalf("%q accepted with scheme %q", raw, u.Scheme)
			}
			if u.User != nil || u.Host == "" || len(raw) > webhooks.MaxURLLength {
				t.Fatalf("%q accepted: %+v", raw, u)
			}
			if a, err := netip.ParseAddr(strings.Trim(u.Hostname(), "[]")); err == nil && g.Check(a) != nil {
				t.Fatalf("%q accepted with a refused address %v", raw, a)
			}
		}
	})
}

func FuzzParseSchedule(f *testing.F) {
	for _, s := range []string{"30s,2m,10m,1h,4h", "50ms", "", "1s,,2s", "-1s", "1h1m1s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := webhooks.ParseSchedule(s)
		if err != nil {
			return
		}
		if len(got) == 0 || len(got) > 20 {
			t.Fatalf("%q: %d delays", s, len(got))
		}
		for _, d := range got {
			if d <= 0 {
				t.Fatalf("%q: delay %v", s, d)
			}
		}
		again, err := webhooks.ParseSchedule(webhooks.FormatSchedule(got))
		if err != nil || webhooks.FormatSchedule(again) != webhooks.FormatSchedule(got) {
			t.Fatalf("%q does not round-trip: %v", s, err)
		}
	})
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"120", "0", "-1", "Sat, 20 Jun 2026 14:33:07 GMT", "99999999999999999999999", "1.5"} {
		f.Add(s)
	}
	now := time.Date(2026, 6, 20, 14, 32, 7, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		if d := webhooks.ParseRetryAfter(s, now); d < 0 || d > webhooks.MaxRetryAfter {
			t.Fatalf("%q: %v", s, d)
		}
	})
}
