package walletd

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxStorefrontIDLen bounds a storefront id: MaxOrderIDLen and
// MaxUserIDLen, which it stands for on input.
const MaxStorefrontIDLen = 128

// StorefrontID is an id that a storefront owns and walletd only keeps: an
// order id, or the user id of a wallet's owner. Storefronts send them as
// JSON integers (WooCommerce's order and customer ids are integers) or as
// strings; StorefrontID holds the canonical text of either. An integer is
// kept as its decimal digits, so 1204 and "1204" are one id; a string is
// kept as it is.
//
// On the way out, the WalletPro payloads write the id back as an integer
// when its text is a decimal integer (see events.StorefrontID).
type StorefrontID string

// String returns the id's canonical text.
func (id StorefrontID) String() string { return string(id) }

// UnmarshalJSON reads a storefront id. It accepts a JSON integer from 0 to
// 9223372036854775807 written without fraction or exponent (JSON allows no
// leading zero), or a JSON string of 1 to MaxStorefrontIDLen bytes of
// UTF-8 with no control characters and no white space at either end. null
// leaves id as it is: an optional id is then absent, and a required one is
// refused by the command that needs it.
//
// Anything else (a fraction, a negative or larger number, a boolean, an
// array, an object, an empty or over-long string) is refused with a
// *json.UnmarshalTypeError: the one error encoding/json names the field
// of. Its Value says what was sent; FieldError turns it into the EInvalid
// error a caller sees.
func (id *StorefrontID) UnmarshalJSON(b []byte) error {
	s, refused := parseStorefrontID(b)
	if refused != "" {
		return &json.UnmarshalTypeError{Value: refused, Type: storefrontIDType}
	}
	if s != "" { // "" is null
		*id = StorefrontID(s)
	}
	return nil
}

// parseStorefrontID returns the canonical text of the JSON value b, or
// what b is in words when it is no storefront id.
func parseStorefrontID(b []byte) (id, refused string) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return "", "nothing"
	}
	switch c := b[0]; {
	case c == 'n' && string(b) == "null":
		return "", ""
	case c == '"':
		var s string
		if !utf8.Valid(b) || json.Unmarshal(b, &s) != nil || !utf8.ValidString(s) {
			return "", "a string that is not valid UTF-8"
		}
		switch {
		case s == "":
			return "", "an empty string"
		case len(s) > MaxStorefrontIDLen:
			return "", "a string of " + strconv.Itoa(len(s)) + " bytes"
		case strings.TrimSpace(s) != s:
			return "", "a string with white space at an end"
		}
		for _, r := range s {
			if r < 0x20 || r == 0x7f {
				return "", "a string with control characters"
			}
		}
		return s, ""
	case c == '-':
		return "", "a negative number"
	case c >= '0' && c <= '9':
		return integerID(string(b))
	case c == 't' || c == 'f':
		return "", "a JSON boolean"
	case c == '[':
		return "", "a JSON array"
	case c == '{':
		return "", "a JSON object"
	}
	return "", "malformed JSON"
}

// integerID checks the JSON number s as an integer id.
func integerID(s string) (id, refused string) {
	switch {
	case strings.ContainsAny(s, "eE"):
		return "", "a number with an exponent"
	case strings.Contains(s, "."):
		return "", "a number with a fraction"
	case len(s) > 1 && s[0] == '0':
		return "", "a number with a leading zero"
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return "", "a number above 9223372036854775807"
	}
	return strconv.FormatInt(n, 10), ""
}

// TextOrInteger is a text field of a request that a storefront may also
// fill with one of its integer ids: a metadata value ({"order_id": 1204}),
// a top-up's external reference. It holds a JSON string as it is (the
// command checks its length), or a JSON integer, by the rules of
// StorefrontID, as its decimal digits. null leaves it as it is.
type TextOrInteger string

// String returns the text.
func (t TextOrInteger) String() string { return string(t) }

// UnmarshalJSON reads a JSON string, or a JSON integer as StorefrontID
// does. Anything else is refused with a *json.UnmarshalTypeError that
// FieldError turns into an EInvalid error.
func (t *TextOrInteger) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return &json.UnmarshalTypeError{Value: "malformed JSON", Type: textOrIntegerType}
		}
		*t = TextOrInteger(s)
		return nil
	}
	s, refused := parseStorefrontID(b)
	if refused != "" {
		return &json.UnmarshalTypeError{Value: refused, Type: textOrIntegerType}
	}
	if s != "" {
		*t = TextOrInteger(s)
	}
	return nil
}

var (
	storefrontIDType  = reflect.TypeFor[StorefrontID]()
	textOrIntegerType = reflect.TypeFor[TextOrInteger]()
)

// FieldError returns the EInvalid error for a value that the
// UnmarshalJSON of StorefrontID or TextOrInteger refused, naming the field
// encoding/json put in ute, and nil for any other type error. The
// request decoder calls it first, so that a caller reads what the field
// takes instead of a JSON type.
func FieldError(ute *json.UnmarshalTypeError) *Error {
	field := QuoteInput(ute.Field)
	switch ute.Type {
	case storefrontIDType:
		return Errorf(EInvalid, "Field %s must be an id: a whole number from 0 to 9223372036854775807, or a string of 1 to %d bytes; not %s.",
			field, MaxStorefrontIDLen, ute.Value)
	case textOrIntegerType:
		return Errorf(EInvalid, "Field %s takes strings and whole numbers from 0 to 9223372036854775807 only, not %s.", field, ute.Value)
	}
	return nil
}
