package walletd_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/walletd/walletd"
)

func TestCheckText(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		required bool
		want     string // the message, "" for none
	}{
		{"OK", "Refund for order 1001", true, ""},
		{"OKEmpty", "", false, ""},
		{"OKTab", "a\tb", true, ""},
		{"OKNonASCII", "Zürich – 東京 ✓ ¥", true, ""},
		{"OKReplacementCharacter", "a\uFFFDb", true, ""}, // U+FFFD itself is valid text
		{"OKJoiners", "می\u200Cخواهم 👩\u200D💻 ❤\uFE0F", true, ""},
		{"OKNoBreakSpace", "10\u00A0€", true, ""},
		{"ErrRequired", " \t ", true, "reason is required."},
		{"ErrTooLong", strings.Repeat("x", 11), false, "reason is longer than 10 bytes."},
		{"ErrInvalidUTF8", "ab\xffc", true, "reason is not valid UTF-8 (byte 2)."},
		{"ErrTruncatedUTF8", "ab\xe2\x80", true, "reason is not valid UTF-8 (byte 2)."},
		{"ErrSurrogate", "a\xed\xa0\x80", true, "reason is not valid UTF-8 (byte 1)."},
		{"ErrNewline", "a\nb", true, "reason contains the control character U+000A (byte 1)."},
		{"ErrNUL", "\x00", false, "reason contains the control character U+0000 (byte 0)."},
		{"ErrDEL", "a\x7f", true, "reason contains the control character U+007F (byte 1)."},
		{"ErrC1", "a\u009b[2J", true, "reason contains the control character U+009B (byte 1)."},
		{"ErrLineSeparator", "a\u2028b", true, "reason contains the control character U+2028 (byte 1)."},
		{"ErrParagraphSeparator", "a\u2029b", true, "reason contains the control character U+2029 (byte 1)."},
		{"ErrRLO", "invoice \u202Efdp.exe", true, "reason contains the bidirectional formatting character U+202E (byte 8)."},
		{"ErrLRE", "\u202A", true, "reason contains the bidirectional formatting character U+202A (byte 0)."},
		{"ErrPDF", "a\u202C", true, "reason contains the bidirectional formatting character U+202C (byte 1)."},
		{"ErrLRI", "a\u2066", true, "reason contains the bidirectional formatting character U+2066 (byte 1)."},
		{"ErrPDI", "a\u2069", true, "reason contains the bidirectional formatting character U+2069 (byte 1)."},
		{"ErrLRM", "a\u200E", true, "reason contains the bidirectional formatting character U+200E (byte 1)."},
		{"ErrRLM", "a\u200F", true, "reason contains the bidirectional formatting character U+200F (byte 1)."},
		{"ErrALM", "a\u061C", true, "reason contains the bidirectional formatting character U+061C (byte 1)."},
		{"ErrZeroWidthSpace", "pay\u200Bpal", true, "reason contains the invisible character U+200B (byte 3)."},
		{"ErrSoftHyphen", "pay\u00ADpal", true, "reason contains the invisible character U+00AD (byte 3)."},
		{"ErrWordJoiner", "a\u2060", true, "reason contains the invisible character U+2060 (byte 1)."},
		{"ErrInvisibleTimes", "a\u2062", true, "reason contains the invisible character U+2062 (byte 1)."},
		{"ErrDeprecatedFormat", "a\u206F", true, "reason contains the invisible character U+206F (byte 1)."},
		{"ErrBOM", "\uFEFFa", true, "reason contains the invisible character U+FEFF (byte 0)."},
		{"ErrHangulFiller", "\u3164", true, "reason contains the invisible character U+3164 (byte 0)."},
		{"ErrHalfwidthHangulFiller", "a\uFFA0", true, "reason contains the invisible character U+FFA0 (byte 1)."},
		{"ErrMongolianVowelSeparator", "a\u180E", true, "reason contains the invisible character U+180E (byte 1)."},
		{"ErrAnnotation", "a\uFFF9", true, "reason contains the invisible character U+FFF9 (byte 1)."},
		{"ErrTag", "ok\U000E0041\U000E0042", true, "reason contains the invisible character U+E0041 (byte 2)."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			max := 100
			if tc.name == "ErrTooLong" {
				max = 10
			}
			err := walletd.CheckText("reason", tc.in, max, tc.required)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("CheckText(%q) = %v", tc.in, err)
				}
				return
			}
			if walletd.ErrorCode(err) != walletd.EInvalid || walletd.ErrorMessage(err) != tc.want {
				t.Fatalf("CheckText(%q) = %v, want %s: %s", tc.in, err, walletd.EInvalid, tc.want)
			}
		})
	}
}

// FuzzCheckText holds CheckText to its rules: it accepts only valid UTF-8
// within the length with no control, bidirectional or invisible character
// of its list, refuses everything else, and its messages never quote the
// text.
func FuzzCheckText(f *testing.F) {
	for _, s := range []string{"", "Refund", "a\tb", "a\nb", "ab\xffc", "\u202Eexe.pdf", "pay\u200Bpal", "👩\u200D💻", "\U000E0041", "\u009b"} {
		f.Add(s)
	}
	refused := func(r rune) bool {
		switch {
		case r < 0x20 && r != '\t', r >= 0x7f && r <= 0x9f, r == 0x2028, r == 0x2029, r == 0xad, r == 0x61c,
			r == 0x115f, r == 0x1160, r == 0x180e, r >= 0x200b && r <= 0x200f && r != 0x200c && r != 0x200d,
			r >= 0x202a && r <= 0x202e, r >= 0x2060 && r <= 0x2064, r >= 0x2066 && r <= 0x206f,
			r == 0x3164, r == 0xfeff, r == 0xffa0, r >= 0xfff9 && r <= 0xfffb, r >= 0xe0000 && r <= 0xe007f:
			return true
		}
		return false
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := walletd.CheckText("field", s, 64, false)
		bad := len(s) > 64 || !utf8.ValidString(s)
		for _, r := range s {
			bad = bad || refused(r)
		}
		if bad != (err != nil) {
			t.Fatalf("CheckText(%q) = %v, want refused %v", s, err, bad)
		}
		if err == nil {
			return
		}
		if msg := walletd.ErrorMessage(err); !strings.HasPrefix(msg, "field ") || len(s) > 8 && strings.Contains(msg, s) {
			t.Fatalf("CheckText(%q): message %q", s, msg)
		}
	})
}
