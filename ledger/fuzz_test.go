package ledger

import (
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

// FuzzFeatureParsers feeds outside input to the parsers of the feature
// settings: percent, rewards (which may be zero), codes and methods. What
// they accept must be what the docs promise; nothing may panic.
func FuzzFeatureParsers(f *testing.F) {
	for _, s := range []string{"5", "2.5", "100", "100.0001", "0", "0.00", "-0", "1e2", "NaN", " 5", "0.001",
		"welcome-10", "GIFT_2026", "abc", "ÄÖÜ-1234", "card", "Card", "bank_transfer", strings.Repeat("9", 70)} {
		f.Add(s)
	}
	hundred := decimal.NewFromInt(100)
	f.Fuzz(func(t *testing.T, s string) {
		if p, err := parsePercent(s); err == nil {
			if !p.IsPositive() || p.GreaterThan(hundred) || p.Exponent() < -4 {
				t.Fatalf("percent %q accepted as %s", s, p)
			}
		}
		if m, err := parseReward("reward", s, 2); err == nil {
			r := m.String()
			d, derr := decimal.NewFromString(r)
			if derr != nil || d.IsNegative() || !strings.Contains(r, ".") || len(r)-strings.IndexByte(r, '.')-1 != 2 {
				t.Fatalf("reward %q accepted as %q", s, r)
			}
			if !d.Equal(m.Decimal()) {
				t.Fatalf("reward %q: text %q, value %s", s, r, m.Decimal())
			}
		}
		if m, err := optionalAmount("amount", s, 2); err == nil {
			if s == "" && m.IsSet() || s != "" && (!m.Decimal().IsPositive() || m.Scale() != 2) {
				t.Fatalf("amount %q accepted as %q", s, m)
			}
		}
		if code := NormalizeCode(s); checkCode(code) == nil {
			if NormalizeCode(code) != code || len(code) < 4 || len(code) > MaxCodeLen || strings.ToUpper(code) != code {
				t.Fatalf("code %q accepted as %q", s, code)
			}
		}
		if checkMethod(s, true) == nil && (s == "" || strings.ToLower(s) != s || strings.ContainsAny(s, " -.")) {
			t.Fatalf("method %q accepted", s)
		}
	})
}
