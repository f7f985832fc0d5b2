package walletd

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"
)

// MaxAmountDigits bounds the integer digits of any amount or balance. 10^15
// major units is far above any wallet and keeps every value exact.
const MaxAmountDigits = 15

// currencyScales holds ISO 4217 minor-unit scales for the currencies walletd
// knows out of the box. More can be added with Currencies.Set.
var currencyScales = map[string]int32{
	"AED": 2, "ARS": 2, "AUD": 2, "BGN": 2, "BHD": 3, "BRL": 2, "CAD": 2, "CHF": 2,
	"CLP": 0, "CNY": 2, "COP": 2, "CZK": 2, "DKK": 2, "EGP": 2, "EUR": 2, "GBP": 2,
	"HKD": 2, "HUF": 2, "IDR": 2, "ILS": 2, "INR": 2, "IQD": 3, "ISK": 0, "JOD": 3,
	"JPY": 0, "KRW": 0, "KWD": 3, "LYD": 3, "MAD": 2, "MXN": 2, "MYR": 2, "NGN": 2,
	"NOK": 2, "NZD": 2, "OMR": 3, "PEN": 2, "PHP": 2, "PKR": 2, "PLN": 2, "QAR": 2,
	"RON": 2, "RUB": 2, "SAR": 2, "SEK": 2, "SGD": 2, "THB": 2, "TND": 3, "TRY": 2,
	"TWD": 2, "UAH": 2, "UGX": 0, "USD": 2, "VND": 0, "XAF": 0, "XOF": 0, "ZAR": 2,
}

// Currencies maps currency codes to their minor-unit scale.
type Currencies struct {
	scales map[string]int32
}

// DefaultCurrencies returns the ISO 4217 currencies walletd knows by default.
func DefaultCurrencies() *Currencies {
	c := &Currencies{scales: make(map[string]int32, len(currencyScales))}
	for k, v := range currencyScales {
		c.scales[k] = v
	}
	return c
}

// Set adds or replaces a currency. Codes are three upper-case letters and
// scales 0 to 8.
func (c *Currencies) Set(code string, scale int32) error {
	if !isCurrencyCode(code) {
		return Errorf(EInvalidCurrency, "Currency %q must be three upper-case letters.", code)
	} else if scale < 0 || scale > 8 {
		return Errorf(EInvalidCurrency, "Scale of %s must be between 0 and 8.", code)
	}
	c.scales[code] = scale
	return nil
}

// ParseSpec adds currencies from a comma-separated "CODE:SCALE" list, as
// given by --currencies.
func (c *Currencies) ParseSpec(spec string) error {
	for _, part := range strings.Split(spec, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		code, s, ok := strings.Cut(part, ":")
		scale, err := strconv.ParseInt(strings.TrimSpace(s), 10, 32)
		if !ok || err != nil {
			return fmt.Errorf("currency %q: want CODE:SCALE", part)
		}
		if err := c.Set(strings.TrimSpace(code), int32(scale)); err != nil {
			return err
		}
	}
	return nil
}

// Scale returns the minor-unit scale of code.
// Returns EInvalidCurrency if the currency is unknown.
func (c *Currencies) Scale(code string) (int32, error) {
	s, ok := c.scales[code]
	if !ok {
		return 0, Errorf(EInvalidCurrency, "Unknown currency %s.", QuoteInput(code))
	}
	return s, nil
}

// Codes returns the known currency codes, sorted.
func (c *Currencies) Codes() []string {
	out := make([]string, 0, len(c.scales))
	for k := range c.scales {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func isCurrencyCode(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// MaxScale is the most fractional digits a currency, and so a Money read
// from text, may have.
const MaxScale = 8

// maxAmountLen bounds the text of any amount, whatever its digits.
const maxAmountLen = 64

// ParseAmount parses a positive amount written as a plain decimal string
// ("25", "25.5", "25.50") with at most scale fractional digits.
//
// Everything else is refused with EInvalidAmount: signs ("-0", "+1"),
// exponents ("1e400"), "NaN", "Inf", spaces, leading zeros ("007"), a bare
// or trailing dot, zero, more fractional digits than the scale ("0.001" for
// USD) and more than MaxAmountDigits integer digits.
func ParseAmount(s string, scale int32) (decimal.Decimal, error) {
	d, _, err := parseDecimal(s, scale, MaxAmountDigits)
	if err != nil {
		return decimal.Decimal{}, err
	} else if !d.IsPositive() {
		return decimal.Decimal{}, Errorf(EInvalidAmount, "Amount must be greater than zero.")
	}
	return d, nil
}

// ParseMoney parses a non-negative amount with at most scale fractional
// digits and returns it written at that scale ("25.5" at scale 2 is
// "25.50"). It refuses what ParseAmount refuses except zero, which it
// accepts: settings such as a referral reward may be zero. Returns
// EInvalidAmount.
func ParseMoney(s string, scale int32) (Money, error) {
	d, _, err := parseDecimal(s, scale, MaxAmountDigits)
	if err != nil {
		return Money{}, err
	}
	return NewMoney(d, scale), nil
}

// parseDecimal is the one amount parser of walletd: every amount a caller
// sends and every Money read back from storage goes through it (only the
// verifier keeps an allocation-free reader of its own). s must be a plain
// decimal string: digits, then optionally a dot and at least one digit;
// no sign, exponent, space, leading zero or other character; at most scale
// fractional digits and, when maxInt > 0, maxInt integer digits. It
// returns the value and the number of fractional digits s was written
// with. Returns EInvalidAmount.
func parseDecimal(s string, scale int32, maxInt int) (decimal.Decimal, int32, error) {
	if s == "" {
		return decimal.Decimal{}, 0, Errorf(EInvalidAmount, "Amount is required.")
	} else if len(s) > maxAmountLen {
		return decimal.Decimal{}, 0, Errorf(EInvalidAmount, "Amount is too long.")
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" || !allDigits(intPart) || (hasDot && (frac == "" || !allDigits(frac))) {
		return decimal.Decimal{}, 0, Errorf(EInvalidAmount, "Amount %q must be a plain decimal string such as \"25.00\".", s)
	} else if len(intPart) > 1 && intPart[0] == '0' {
		return decimal.Decimal{}, 0, Errorf(EInvalidAmount, "Amount %q has leading zeros.", s)
	} else if maxInt > 0 && len(intPart) > maxInt {
		return decimal.Decimal{}, 0, Errorf(EInvalidAmount, "Amount %q is too large.", s)
	} else if int32(len(frac)) > scale {
		return decimal.Decimal{}, 0, Errorf(EInvalidAmount, "Amount %q has more than %d decimal places.", s, scale)
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Decimal{}, 0, Errorf(EInvalidAmount, "Amount %q is not a decimal number.", s)
	}
	return d, int32(len(frac)), nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// FormatAmount renders d with exactly scale fractional digits, the form
// amounts take in JSON and in the canonical entry encoding.
func FormatAmount(d decimal.Decimal, scale int32) string {
	return d.StringFixed(scale)
}

// Money is a non-negative decimal amount together with the number of
// fractional digits it is written with, its scale: an amount of a
// currency written at the currency's scale ("25.00", "1500"), a setting,
// or a running total of the writer's state. It is how the domain types
// hold money, and JSON holds it as a string.
//
// Its text is exact. MarshalText writes the value with exactly its scale
// digits, and UnmarshalText keeps the scale it reads, so a stored "25.00"
// reads back and writes out as "25.00", and a stored "25.5" as "25.5".
//
// The zero Money is no amount: its text is "" and the omitzero option of
// encoding/json leaves it out. Optional settings ("no limit") are stored
// so. A Money of zero, such as "0.00", is an amount.
type Money struct {
	d     decimal.Decimal
	scale int32
	set   bool
}

// NewMoney returns d written with scale fractional digits. d must be
// non-negative; like FormatAmount, writing it rounds it to scale digits,
// so d should already fit the scale (it does for every amount parsed at a
// currency's scale and for their sums and differences).
func NewMoney(d decimal.Decimal, scale int32) Money {
	return Money{d: d, scale: scale, set: true}
}

// MoneyOf returns d written in its shortest form, without trailing zeros
// ("25.5", "100", "0"): the form of decimal.Decimal's String. d must be
// non-negative.
func MoneyOf(d decimal.Decimal) Money {
	s := d.String()
	scale := int32(0)
	if _, frac, ok := strings.Cut(s, "."); ok {
		scale = int32(len(frac))
	}
	return Money{d: d, scale: scale, set: true}
}

// IsSet reports whether m is an amount, zero included, rather than the
// zero Money, which is none.
func (m Money) IsSet() bool { return m.set }

// Decimal returns m's value; the zero Money is worth zero.
func (m Money) Decimal() decimal.Decimal {
	if !m.set {
		return decimal.Zero
	}
	return m.d
}

// Scale returns the number of fractional digits m is written with.
func (m Money) Scale() int32 { return m.scale }

// String returns m's exact text, "" for the zero Money.
func (m Money) String() string {
	if !m.set {
		return ""
	}
	return m.d.StringFixed(m.scale)
}

// MarshalText writes m's exact text: the value with exactly its scale's
// fractional digits, or nothing for the zero Money.
func (m Money) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText reads m from text written by MarshalText, keeping the
// scale it was written with. "" is the zero Money. Otherwise the text
// must pass the one amount parser: a plain decimal string with no sign,
// exponent, space or leading zero and at most MaxScale fractional digits.
// Unlike ParseAmount it accepts zero, since a balance, a counter or a
// reward may be zero, and it does not bound the integer digits by
// MaxAmountDigits, since a Money may be a running total of many amounts
// (a user's lifetime spend); the text is still at most 64 characters.
// Returns EInvalidAmount.
func (m *Money) UnmarshalText(text []byte) error {
	if len(text) == 0 {
		*m = Money{}
		return nil
	}
	d, scale, err := parseDecimal(string(text), MaxScale, 0)
	if err != nil {
		return err
	}
	*m = Money{d: d, scale: scale, set: true}
	return nil
}
