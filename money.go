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
		return 0, Errorf(EInvalidCurrency, "Unknown currency %q.", code)
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

// ParseAmount parses a positive amount written as a plain decimal string
// ("25", "25.5", "25.50") with at most scale fractional digits.
//
// Everything else is refused with EInvalidAmount: signs ("-0", "+1"),
// exponents ("1e400"), "NaN", "Inf", spaces, leading zeros ("007"), a bare
// or trailing dot, zero, more fractional digits than the scale ("0.001" for
// USD) and more than MaxAmountDigits integer digits.
func ParseAmount(s string, scale int32) (decimal.Decimal, error) {
	if err := CheckAmountSyntax(s, scale); err != nil {
		return decimal.Decimal{}, err
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Decimal{}, Errorf(EInvalidAmount, "Amount %q is not a decimal number.", s)
	}
	if !d.IsPositive() {
		return decimal.Decimal{}, Errorf(EInvalidAmount, "Amount must be greater than zero.")
	}
	return d, nil
}

// CheckAmountSyntax checks that s is a plain, non-negative decimal string
// with at most scale fractional digits and MaxAmountDigits integer digits,
// without parsing it. Returns EInvalidAmount.
func CheckAmountSyntax(s string, scale int32) error {
	if s == "" {
		return Errorf(EInvalidAmount, "Amount is required.")
	} else if len(s) > 64 {
		return Errorf(EInvalidAmount, "Amount is too long.")
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" || !allDigits(intPart) || (hasDot && (frac == "" || !allDigits(frac))) {
		return Errorf(EInvalidAmount, "Amount %q must be a plain decimal string such as \"25.00\".", s)
	} else if len(intPart) > 1 && intPart[0] == '0' {
		return Errorf(EInvalidAmount, "Amount %q has leading zeros.", s)
	} else if len(intPart) > MaxAmountDigits {
		return Errorf(EInvalidAmount, "Amount %q is too large.", s)
	} else if int32(len(frac)) > scale {
		return Errorf(EInvalidAmount, "Amount %q has more than %d decimal places.", s, scale)
	}
	return nil
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
