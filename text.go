package walletd

import (
	"strings"
	"unicode/utf8"
)

// CheckText checks a caller-supplied text field (a reason, a note, a name,
// an email, a user id …): required, at most max bytes, valid UTF-8, and
// free of the characters that make text read other than it is stored:
//
//   - control characters: C0 (U+0000–U+001F) but the tab, DEL (U+007F),
//     C1 (U+0080–U+009F, such as the terminal's CSI), and the line and
//     paragraph separators U+2028 and U+2029;
//   - bidirectional formatting characters, which reorder what a screen
//     shows ("Trojan Source"): U+061C, U+200E, U+200F, U+202A–U+202E and
//     U+2066–U+2069;
//   - invisible characters that make two texts look alike or hide text:
//     U+00AD (soft hyphen), U+115F, U+1160, U+3164 and U+FFA0 (Hangul
//     fillers), U+180E, U+200B (zero-width space), U+2060–U+2064,
//     U+206A–U+206F, U+FEFF (zero-width no-break space, BOM), U+FFF9–U+FFFB,
//     and the tag characters U+E0000–U+E007F, which carry hidden ASCII.
//
// The zero-width joiner and non-joiner (U+200C, U+200D) and the variation
// selectors pass: Persian, the Indic scripts and emoji need them.
//
// A message names the field, and the character by its code point and byte
// offset; it never quotes the text. Returns EInvalid.
func CheckText(field, s string, max int, required bool) error {
	if required && strings.TrimSpace(s) == "" {
		return Errorf(EInvalid, "%s is required.", field)
	} else if len(s) > max {
		return Errorf(EInvalid, "%s is longer than %d bytes.", field, max)
	}
	for i, r := range s {
		if r == utf8.RuneError {
			if _, n := utf8.DecodeRuneInString(s[i:]); n == 1 {
				return Errorf(EInvalid, "%s is not valid UTF-8 (byte %d).", field, i)
			}
		}
		if what := refusedRune(r); what != "" {
			return Errorf(EInvalid, "%s contains %s U+%04X (byte %d).", field, what, r, i)
		}
	}
	return nil
}

// refusedRune says what r is if CheckText refuses it ("the control
// character" …), and "" if it passes.
func refusedRune(r rune) string {
	switch {
	case r < 0x20 && r != '\t', r >= 0x7f && r <= 0x9f, r == 0x2028, r == 0x2029:
		return "the control character"
	case r < 0xad: // the common case: printable ASCII and Latin-1
		return ""
	case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return "the bidirectional formatting character"
	case r == 0x00ad, r == 0x115f, r == 0x1160, r == 0x180e, r == 0x200b, r >= 0x2060 && r <= 0x2064,
		r >= 0x206a && r <= 0x206f, r == 0x3164, r == 0xfeff, r == 0xffa0, r >= 0xfff9 && r <= 0xfffb,
		r >= 0xe0000 && r <= 0xe007f:
		return "the invisible character"
	}
	return ""
}
