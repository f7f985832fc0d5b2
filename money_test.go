package walletd_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/walletd/walletd"

	"github.com/shopspring/decimal"
)

func TestParseAmount(t *testing.T) {
	const (
		usd = 2
		jpy = 0
		kwd = 3
	)
	ok := []struct {
		in    string
		scale int32
		want  string
	}{
		{"25.00", usd, "25"},
		{"25", usd, "25"},
		{"25.5", usd, "25.5"},
		{"0.01", usd, "0.01"},
		{"0.10", usd, "0.1"},
		{"1", jpy, "1"},
		{"1500", jpy, "1500"},
		{"0.001", kwd, "0.001"},
		{"1.250", kwd, "1.25"},
		{"0.00000001", 8, "0.00000001"},
		{"999999999999999", usd, "999999999999999"},       // 15 integer digits: the maximum
		{"999999999999999.99", usd, "999999999999999.99"}, // with decimals
		{"100000000000000", jpy, "100000000000000"},
	}
	for _, tc := range ok {
		t.Run("OK/"+tc.in, func(t *testing.T) {
			d, err := walletd.ParseAmount(tc.in, tc.scale)
			if err != nil {
				t.Fatalf("ParseAmount(%q, %d) = %v", tc.in, tc.scale, err)
			}
			if !d.Equal(decimal.RequireFromString(tc.want)) {
				t.Fatalf("ParseAmount(%q, %d) = %s, want %s", tc.in, tc.scale, d, tc.want)
			}
		})
	}

	bad := []struct {
		name  string
		in    string
		scale int32
	}{
		{"Exponent", "1e400", usd},
		{"SmallExponent", "1e2", usd},
		{"UpperExponent", "1E2", usd},
		{"NegativeZero", "-0", usd},
		{"Negative", "-1", usd},
		{"NegativeDecimal", "-0.01", usd},
		{"Plus", "+1", usd},
		{"Zero", "0", usd},
		{"ZeroDecimals", "0.00", usd},
		{"ZeroOneDecimal", "0.0", usd},
		{"TooManyDecimalsUSD", "0.001", usd},
		{"TooManyDecimalsUSD2", "25.001", usd},
		{"TrailingZeroBeyondScale", "25.000", usd},
		{"DecimalsJPY", "1.0", jpy},
		{"DecimalsJPY2", "1.5", jpy},
		{"TooManyDecimalsKWD", "0.0001", kwd},
		{"NaN", "NaN", usd},
		{"LowerNaN", "nan", usd},
		{"Inf", "Inf", usd},
		{"Infinity", "Infinity", usd},
		{"NegativeInf", "-Inf", usd},
		{"LeadingSpace", " 1", usd},
		{"TrailingSpace", "1 ", usd},
		{"Tab", "\t1", usd},
		{"Newline", "1\n", usd},
		{"InnerSpace", "1 000", usd},
		{"LeadingZero", "01", usd},
		{"LeadingZeros", "007", usd},
		{"LeadingZeroDecimal", "00.5", usd},
		{"BareDotLeading", ".5", usd},
		{"BareDotTrailing", "5.", usd},
		{"DotOnly", ".", usd},
		{"TwoDots", "1.2.3", usd},
		{"DoubleDot", "1..2", usd},
		{"Empty", "", usd},
		{"Comma", "1,00", usd},
		{"Thousands", "1,000.00", usd},
		{"Underscore", "1_000", usd},
		{"Hex", "0x10", usd},
		{"Letters", "abc", usd},
		{"Currency", "$1", usd},
		{"CurrencySuffix", "1USD", usd},
		{"SixteenDigits", "1234567890123456", usd},
		{"SixteenDigitsDecimal", "1000000000000000.00", usd},
		{"Huge", strings.Repeat("9", 400), usd},
		{"TooLong", "1." + strings.Repeat("0", 70), 8},
		{"FullwidthDigit", "\uff11", usd},           // "１"
		{"ArabicIndicDigit", "\u0663", usd},         // "٣"
		{"DevanagariDigit", "\u0967.00", usd},       // "१.00"
		{"SuperscriptDigit", "\u00b2", usd},         // "²"
		{"MixedUnicodeDigit", "1\uff10", usd},       // "1０"
		{"ArabicDecimalSeparator", "1\u066b5", usd}, // "1٫5"
		{"NUL", "1\x00", usd},
		{"InvalidUTF8", "1\xff", usd},
		{"JSONNumberish", "1.0e+2", usd},
	}
	for _, tc := range bad {
		t.Run("ErrInvalidAmount/"+tc.name, func(t *testing.T) {
			d, err := walletd.ParseAmount(tc.in, tc.scale)
			if err == nil {
				t.Fatalf("ParseAmount(%q, %d) = %s, want an error", tc.in, tc.scale, d)
			}
			if code := walletd.ErrorCode(err); code != walletd.EInvalidAmount {
				t.Fatalf("ParseAmount(%q, %d): code %q (%v), want %q", tc.in, tc.scale, code, err, walletd.EInvalidAmount)
			}
			if !d.Equal(decimal.Zero) {
				t.Fatalf("ParseAmount(%q, %d) returned %s with its error", tc.in, tc.scale, d)
			}
		})
	}
}

func TestFormatAmount(t *testing.T) {
	for _, tc := range []struct {
		in    string
		scale int32
		want  string
	}{
		{"25", 2, "25.00"},
		{"25.5", 2, "25.50"},
		{"0", 2, "0.00"},
		{"1500", 0, "1500"},
		{"1.25", 3, "1.250"},
		{"999999999999999.99", 2, "999999999999999.99"},
	} {
		if got := walletd.FormatAmount(decimal.RequireFromString(tc.in), tc.scale); got != tc.want {
			t.Errorf("FormatAmount(%s, %d) = %q, want %q", tc.in, tc.scale, got, tc.want)
		}
	}
}

func TestCurrencies_Scale(t *testing.T) {
	c := walletd.DefaultCurrencies()
	for code, want := range map[string]int32{"USD": 2, "EUR": 2, "JPY": 0, "KWD": 3, "BHD": 3, "CLP": 0} {
		if got, err := c.Scale(code); err != nil || got != want {
			t.Errorf("Scale(%s) = %d, %v; want %d", code, got, err, want)
		}
	}
	t.Run("ErrInvalidCurrency", func(t *testing.T) {
		for _, code := range []string{"", "XXX", "usd", "US", "USDX", "XBT"} {
			if _, err := c.Scale(code); walletd.ErrorCode(err) != walletd.EInvalidCurrency {
				t.Errorf("Scale(%q): %v, want %s", code, err, walletd.EInvalidCurrency)
			}
		}
	})
	t.Run("Codes", func(t *testing.T) {
		codes := c.Codes()
		if len(codes) == 0 || !strings.Contains(strings.Join(codes, ","), "USD") {
			t.Fatalf("Codes() = %v", codes)
		}
		for i := 1; i < len(codes); i++ {
			if codes[i-1] >= codes[i] {
				t.Fatalf("Codes() not sorted: %v", codes)
			}
		}
	})
	t.Run("DefaultsAreCopies", func(t *testing.T) {
		a := walletd.DefaultCurrencies()
		if err := a.Set("USD", 5); err != nil {
			t.Fatal(err)
		}
		if s, _ := walletd.DefaultCurrencies().Scale("USD"); s != 2 {
			t.Fatalf("changing one Currencies changed the defaults: USD scale %d", s)
		}
	})
}

func TestCurrencies_Set(t *testing.T) {
	c := walletd.DefaultCurrencies()
	if err := c.Set("XBT", 8); err != nil {
		t.Fatal(err)
	}
	if s, err := c.Scale("XBT"); err != nil || s != 8 {
		t.Fatalf("Scale(XBT) = %d, %v", s, err)
	}
	if err := c.Set("USD", 3); err != nil {
		t.Fatal(err)
	}
	if s, _ := c.Scale("USD"); s != 3 {
		t.Fatalf("Set did not replace USD: %d", s)
	}
	t.Run("ErrInvalidCurrency", func(t *testing.T) {
		for _, tc := range []struct {
			code  string
			scale int32
		}{{"xbt", 2}, {"XB", 2}, {"XBTC", 2}, {"X1T", 2}, {"", 2}, {"XBT", -1}, {"XBT", 9}} {
			if err := c.Set(tc.code, tc.scale); walletd.ErrorCode(err) != walletd.EInvalidCurrency {
				t.Errorf("Set(%q, %d) = %v, want %s", tc.code, tc.scale, err, walletd.EInvalidCurrency)
			}
		}
	})
}

func TestCurrencies_ParseSpec(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec string
		want map[string]int32
	}{
		{"Empty", "", nil},
		{"One", "XBT:8", map[string]int32{"XBT": 8}},
		{"Several", "XBT:8,ABC:0,USD:3", map[string]int32{"XBT": 8, "ABC": 0, "USD": 3}},
		{"Spaces", " XBT:8 , ABC:1 ", map[string]int32{"XBT": 8, "ABC": 1}},
		{"TrailingComma", "XBT:8,", map[string]int32{"XBT": 8}},
		{"EmptyParts", ",,XBT:4,,", map[string]int32{"XBT": 4}},
	} {
		t.Run("OK/"+tc.name, func(t *testing.T) {
			c := walletd.DefaultCurrencies()
			if err := c.ParseSpec(tc.spec); err != nil {
				t.Fatalf("ParseSpec(%q) = %v", tc.spec, err)
			}
			for code, want := range tc.want {
				if got, err := c.Scale(code); err != nil || got != want {
					t.Errorf("after ParseSpec(%q): Scale(%s) = %d, %v; want %d", tc.spec, code, got, err, want)
				}
			}
		})
	}
	for _, tc := range []struct {
		name string
		spec string
	}{
		{"NoScale", "XBT"},
		{"EmptyScale", "XBT:"},
		{"LetterScale", "XBT:x"},
		{"LowerCode", "xbt:2"},
		{"ShortCode", "XB:2"},
		{"ScaleTooLarge", "XBT:9"},
		{"NegativeScale", "XBT:-1"},
		{"OneBadOfTwo", "XBT:8,bad"},
		{"Overflow", "XBT:99999999999999999999"},
	} {
		t.Run("Err/"+tc.name, func(t *testing.T) {
			c := walletd.DefaultCurrencies()
			if err := c.ParseSpec(tc.spec); err == nil {
				t.Fatalf("ParseSpec(%q) = nil, want an error", tc.spec)
			}
		})
	}
	// The scale is a whole decimal number and nothing else: a parser that
	// stops at the first non-digit would read "XBT:2.5" as scale 2.
	for _, tc := range []struct {
		name string
		spec string
	}{
		{"DecimalScale", "XBT:2.5"},
		{"TrailingLetters", "XBT:2x"},
		{"HexScale", "XBT:0x2"},
		{"TwoNumbers", "XBT:2 3"},
	} {
		t.Run("Err/"+tc.name, func(t *testing.T) {
			c := walletd.DefaultCurrencies()
			if err := c.ParseSpec(tc.spec); err == nil {
				t.Fatalf("ParseSpec(%q) = nil, want an error", tc.spec)
			}
		})
	}
}

// FuzzParseAmount checks that ParseAmount either refuses its input with
// invalid_amount or returns a positive amount that survives a round trip
// through FormatAmount at the currency's scale.
func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{
		"25.00", "25", "0.01", "1e400", "-0", "-1", "+1", "0", "0.00", "0.001", "1.0",
		"NaN", "Inf", " 1", "1 ", "01", ".5", "5.", "", "1234567890123456", "999999999999999.99",
		"\uff11", "1,00", "0x10", "1..2", "0.10000000", "100000000000000.00000001",
	} {
		for _, scale := range []uint8{0, 2, 3, 8} {
			f.Add(s, scale)
		}
	}
	f.Fuzz(func(t *testing.T, s string, sc uint8) {
		scale := int32(sc % 9)
		d, err := walletd.ParseAmount(s, scale)
		if err != nil {
			if code := walletd.ErrorCode(err); code != walletd.EInvalidAmount {
				t.Fatalf("ParseAmount(%q, %d): code %q (%v), want %q", s, scale, code, err, walletd.EInvalidAmount)
			}
			return
		}
		if !d.IsPositive() {
			t.Fatalf("ParseAmount(%q, %d) = %s, not positive", s, scale, d)
		}
		if -d.Exponent() > scale && !d.Equal(d.Truncate(scale)) {
			t.Fatalf("ParseAmount(%q, %d) = %s has more than %d decimals", s, scale, d, scale)
		}
		if d.GreaterThanOrEqual(decimal.New(1, walletd.MaxAmountDigits)) {
			t.Fatalf("ParseAmount(%q, %d) = %s, above the maximum", s, scale, d)
		}
		for i := 0; i < len(s); i++ {
			if c := s[i]; (c < '0' || c > '9') && c != '.' {
				t.Fatalf("ParseAmount accepted %q, which holds %q", s, c)
			}
		}
		out := walletd.FormatAmount(d, scale)
		intPart, frac, hasDot := strings.Cut(out, ".")
		if scale == 0 && hasDot || scale > 0 && int32(len(frac)) != scale {
			t.Fatalf("FormatAmount(%s, %d) = %q: want exactly %d decimals", d, scale, out, scale)
		}
		if len(intPart) > walletd.MaxAmountDigits {
			t.Fatalf("FormatAmount(%s, %d) = %q: too many integer digits", d, scale, out)
		}
		d2, err := walletd.ParseAmount(out, scale)
		if err != nil {
			t.Fatalf("ParseAmount(FormatAmount(%s, %d) = %q): %v", d, scale, out, err)
		}
		if !d2.Equal(d) {
			t.Fatalf("round trip of %q at scale %d: %s → %q → %s", s, scale, d, out, d2)
		}
		if again := walletd.FormatAmount(d2, scale); again != out {
			t.Fatalf("FormatAmount is not stable: %q then %q", out, again)
		}
	})
}

func TestParseMoney(t *testing.T) {
	for _, tc := range []struct {
		in    string
		scale int32
		want  string
	}{
		{"25", 2, "25.00"},
		{"25.5", 2, "25.50"},
		{"0", 2, "0.00"},
		{"0.00", 2, "0.00"},
		{"1500", 0, "1500"},
		{"0.001", 3, "0.001"},
	} {
		m, err := walletd.ParseMoney(tc.in, tc.scale)
		if err != nil || m.String() != tc.want || !m.IsSet() || m.Scale() != tc.scale {
			t.Errorf("ParseMoney(%q, %d) = %q (scale %d), %v; want %q", tc.in, tc.scale, m, m.Scale(), err, tc.want)
		}
	}
	t.Run("ErrInvalidAmount", func(t *testing.T) {
		// Everything ParseAmount refuses but zero.
		for _, in := range []string{"", "-0", "-1", "+1", "1e2", "NaN", " 1", "01", ".5", "5.", "0.001", "1,00", "1234567890123456", "\uff11"} {
			if m, err := walletd.ParseMoney(in, 2); walletd.ErrorCode(err) != walletd.EInvalidAmount || m.IsSet() {
				t.Errorf("ParseMoney(%q, 2) = %q, %v; want %s", in, m, err, walletd.EInvalidAmount)
			}
		}
	})
}

func TestMoney_Text(t *testing.T) {
	t.Run("RoundTrip", func(t *testing.T) {
		// What was written is what is read and written again, scale and all.
		for _, s := range []string{"25.00", "25.5", "25", "0", "0.00", "0.000", "1500", "0.00000001", "123456789012345678901234567890.12"} {
			var m walletd.Money
			if err := m.UnmarshalText([]byte(s)); err != nil {
				t.Fatalf("UnmarshalText(%q): %v", s, err)
			}
			if out, _ := m.MarshalText(); string(out) != s || m.String() != s || !m.IsSet() {
				t.Errorf("UnmarshalText(%q) then MarshalText = %q", s, out)
			}
			if !m.Decimal().Equal(decimal.RequireFromString(s)) {
				t.Errorf("UnmarshalText(%q) = %s", s, m.Decimal())
			}
		}
	})
	t.Run("Zero", func(t *testing.T) {
		var m walletd.Money
		if err := m.UnmarshalText(nil); err != nil || m.IsSet() || m.String() != "" || !m.Decimal().IsZero() {
			t.Fatalf("the zero Money: %q set=%v value %s, %v", m, m.IsSet(), m.Decimal(), err)
		}
		if out, _ := m.MarshalText(); len(out) != 0 {
			t.Fatalf("MarshalText of the zero Money = %q", out)
		}
	})
	t.Run("ErrInvalidAmount", func(t *testing.T) {
		for _, s := range []string{"-0", "-1", "+1", "1e2", "1E2", "NaN", "Inf", " 1", "1 ", "01", "00.5", ".5", "5.", ".", "1.2.3",
			"1,00", "0x10", "0.000000001", "\uff11", "1\x00", strings.Repeat("9", 65)} {
			m := walletd.NewMoney(decimal.NewFromInt(7), 2)
			if err := m.UnmarshalText([]byte(s)); walletd.ErrorCode(err) != walletd.EInvalidAmount {
				t.Errorf("UnmarshalText(%q): %v, want %s", s, err, walletd.EInvalidAmount)
			}
		}
	})
	t.Run("JSON", func(t *testing.T) {
		type doc struct {
			Amount   walletd.Money `json:"amount"`
			Optional walletd.Money `json:"optional"`
			Omitted  walletd.Money `json:"omitted,omitzero"`
			Zero     walletd.Money `json:"zero,omitzero"`
		}
		in := `{"amount":"25.50","optional":"","zero":"0"}`
		var d doc
		if err := json.Unmarshal([]byte(in), &d); err != nil {
			t.Fatal(err)
		}
		if out, err := json.Marshal(d); err != nil || string(out) != in {
			t.Fatalf("round trip of %s = %s, %v", in, out, err)
		}
		for _, bad := range []string{`{"amount":"1e2"}`, `{"amount":25.5}`, `{"amount":"-1"}`} {
			if err := json.Unmarshal([]byte(bad), &d); err == nil {
				t.Errorf("json.Unmarshal(%s) accepted", bad)
			}
		}
	})
}

func TestMoneyOf(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"25.50", "25.5"}, {"100", "100"}, {"0.00", "0"}, {"0.001", "0.001"},
	} {
		d := decimal.RequireFromString(tc.in)
		if got := walletd.MoneyOf(d).String(); got != tc.want || got != d.String() {
			t.Errorf("MoneyOf(%s) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := walletd.MoneyOf(decimal.Zero).String(); got != "0" {
		t.Errorf("MoneyOf(decimal.Zero) = %q", got)
	}
}

// FuzzMoney checks that UnmarshalText accepts only plain decimal text and
// that what it accepts is written back byte for byte.
func FuzzMoney(f *testing.F) {
	for _, s := range []string{"25.00", "25.5", "0", "0.00", "", "-0", "1e2", "01", ".5", "5.", "NaN", " 1", "0.000000001", "\uff11"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var m walletd.Money
		if err := m.UnmarshalText([]byte(s)); err != nil {
			if code := walletd.ErrorCode(err); code != walletd.EInvalidAmount {
				t.Fatalf("UnmarshalText(%q): code %q (%v)", s, code, err)
			}
			return
		}
		if out, _ := m.MarshalText(); string(out) != s {
			t.Fatalf("UnmarshalText(%q) then MarshalText = %q", s, out)
		}
		if s == "" {
			return
		}
		if m.Decimal().IsNegative() || m.Scale() > walletd.MaxScale {
			t.Fatalf("UnmarshalText(%q) = %s at scale %d", s, m.Decimal(), m.Scale())
		}
		for i := 0; i < len(s); i++ {
			if c := s[i]; (c < '0' || c > '9') && c != '.' {
				t.Fatalf("UnmarshalText accepted %q, which holds %q", s, c)
			}
		}
		// ParseAmount accepts the same text when it fits its bounds.
		if d, err := walletd.ParseAmount(s, m.Scale()); err == nil && !d.Equal(m.Decimal()) {
			t.Fatalf("ParseAmount(%q) = %s, UnmarshalText %s", s, d, m.Decimal())
		}
	})
}
