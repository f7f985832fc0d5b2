package walletd

import (
	"strings"
	"unicode/utf8"
)

// CheckText checks a caller-supplied text field: required, at most max bytes,
// valid UTF-8 and free of control characters. Returns EInvalid.
func CheckText(field, s string, max int, required bool) error {
	if required && strings.TrimSpace(s) == "" {
		return Errorf(EInvalid, "%s is required.", field)
	} else if len(s) > max {
		return Errorf(EInvalid, "%s is longer than %d bytes.", field, max)
	} else if !utf8.ValidString(s) {
		return Errorf(EInvalid, "%s is not valid UTF-8.", field)
	}
	for _, r := range s {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return Errorf(EInvalid, "%s contains control characters.", field)
		}
	}
	return nil
}
