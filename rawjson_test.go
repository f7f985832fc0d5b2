package walletd_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/walletdtest"
)

// manyKeys is an object of n distinct keys, then extra keys.
func manyKeys(n int, extra ...string) string {
	var b strings.Builder
	b.WriteString("{")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `"k%d":%d,`, i, i)
	}
	for _, k := range extra {
		fmt.Fprintf(&b, `%q:0,`, k)
	}
	return strings.TrimSuffix(b.String(), ",") + "}"
}

// nestedArray and nestedObject nest n arrays or objects.
func nestedArray(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }

func nestedObject(n int) string { return strings.Repeat(`{"a":`, n) + "0" + strings.Repeat("}", n) }

func TestCheckRawJSON(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		for _, in := range []string{
			`null`, `true`, `false`, `0`, `-0`, `-0.5e+10`, `12E-3`, `1.25`, `""`, `"a"`, `[]`, `{}`, " \t\r\n[ ] ",
			`[{"sku":"A-1","qty":2,"price":"9.99"},{"sku":"B","qty":1}]`,
			`{"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}]}`, // equal keys in different objects
			`["\ud83d\ude00","\uD83D\uDE00","é😀","\u00e9","\u0000","\"\\\/\b\f\n\r\t"]`,
			`{"é":1,"\u00e8":2,"\ud83d\ude00":3}`,
			manyKeys(40), manyKeys(smallObject), manyKeys(smallObject + 1),
			nestedArray(10000), nestedObject(10000),
		} {
			if err := walletd.CheckRawJSON("items", []byte(in)); err != nil {
				t.Errorf("%.60q: %v", in, err)
			}
		}
	})
	for _, tc := range []struct {
		name string
		ins  []string
		want string // the start of the message after "items "
	}{
		{"ErrSyntax", []string{``, ` `, `{`, `[`, `[1,]`, `[1 2]`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{a:1}`, `{"a":1 "b":2}`,
			`01`, `1.`, `.5`, `1e`, `1e+`, `-`, `+1`, `NaN`, `tru`, `nul`, `"a`, `"\x"`, `"\u12"`, `"\u12G4"`, `{} {}`, `1 2`,
			"\"a\x01\"", "\"\t\"", `[}`, `{]`, `'a'`, "\xef\xbb\xbf{}"}, "is not valid JSON"},
		{"ErrUTF8", []string{"[\"a\xffb\"]", "\"\xed\xa0\x80\"", "\"\xc0\x80\"", "{\"\xff\":1}", "\"\xe2\x82\""},
			"is not valid UTF-8"},
		{"ErrLoneSurrogate", []string{`"\ud800"`, `"\udc00"`, `"\ud800\u0041"`, `"\ud800x"`, `"\ud800\ud800"`,
			`"\uDBFF\\uDC00"`, `{"\ud800":1}`, `"a\udfff"`}, "holds an unpaired UTF-16 surrogate escape"},
		{"ErrDuplicateKey", []string{`{"a":1,"a":2}`, `{"a":1,"\u0061":2}`, `[{"x":{"k":1,"k":1}}]`,
			`{"a":{"b":1},"a":2}`, `{"😀":1,"\ud83d\ude00":2}`, manyKeys(40, "k39"), manyKeys(40, "k0"),
			manyKeys(smallObject, "k0"), manyKeys(smallObject+1, "k3")}, "holds the key"},
		{"ErrDepth", []string{nestedArray(10001), nestedObject(10001)}, "is nested more than 10000 levels deep"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, in := range tc.ins {
				err := walletd.CheckRawJSON("items", []byte(in))
				if walletd.ErrorCode(err) != walletd.EInvalid || !strings.HasPrefix(walletd.ErrorMessage(err), "items "+tc.want) {
					t.Errorf("%.60q: %v, want invalid_request %q", in, err, "items "+tc.want)
				}
			}
		})
	}
	t.Run("Messages", func(t *testing.T) {
		for _, tc := range []struct{ in, want string }{
			{`{"sku":1,"sku":2}`, `items holds the key "sku" twice in one object.`},
			{`[1,]`, `items is not valid JSON (byte 3).`},
			{`[1`, `items is not valid JSON (it ends early).`},
			{"[\"a\xffb\"]", `items is not valid UTF-8 (byte 3).`},
			{`["\ud800"]`, `items holds an unpaired UTF-16 surrogate escape \ud800 (byte 2): it encodes no character.`},
			{`{"` + strings.Repeat("k", 5000) + `":1,"` + strings.Repeat("k", 5000) + `":2}`,
				`items holds the key "` + strings.Repeat("k", 100) + `"… (5000 bytes) twice in one object.`},
		} {
			if got := walletd.ErrorMessage(walletd.CheckRawJSON("items", []byte(tc.in))); got != tc.want {
				t.Errorf("%.40q: %q, want %q", tc.in, got, tc.want)
			}
		}
	})
	t.Run("NoAllocations", func(t *testing.T) {
		items := []byte(`[{"sku":"A-1","name":"Café crème","qty":2,"price":"9.99","tags":["a","b"],"meta":{"gift":true,"note":null}},` +
			`{"sku":"B-2","name":"\u00e9\ud83d\ude00","qty":1,"price":"0.50"}]`)
		if n := testing.AllocsPerRun(1000, func() {
			if err := walletd.CheckRawJSON("items", items); err != nil {
				t.Fatal(err)
			}
		}); n > 0 {
			t.Fatalf("%v allocations per check", n)
		}
	})
}

// smallObject mirrors the size up to which keys are compared one by one,
// so that the tests cross it.
const smallObject = 16

func TestQuoteInput(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", `""`},
		{"wal_1", `"wal_1"`},
		{"a\"b\n", `"a\"b\n"`},
		{strings.Repeat("x", 100), `"` + strings.Repeat("x", 100) + `"`},
		{strings.Repeat("x", 101), `"` + strings.Repeat("x", 100) + `"… (101 bytes)`},
		{strings.Repeat("x", 99) + "é" + "tail", `"` + strings.Repeat("x", 99) + `"… (105 bytes)`}, // not cut inside é
		{strings.Repeat("9", 10000), `"` + strings.Repeat("9", 100) + `"… (10000 bytes)`},
	} {
		if got := walletd.QuoteInput(tc.in); got != tc.want {
			t.Errorf("QuoteInput(%.40q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzCheckRawJSON holds CheckRawJSON against encoding/json: it accepts
// only what json.Valid accepts, and then only valid UTF-8 with no object
// holding two keys that encoding/json decodes as equal; it says "not valid
// JSON" only for what json.Valid refuses; its other refusals are checked
// too when the syntax is valid (a fault before a syntax error is reported
// first).
func FuzzCheckRawJSON(f *testing.F) {
	for _, s := range []string{`[{"sku":"A-1","qty":2}]`, `{"a":1,"a":2}`, `{"a":1,"\u0061":2}`, "[\"a\xffb\"]", `"\ud800"`,
		`"\ud83d\ude00"`, `"\ud800\u0041"`, `{"a":{"a":[{"b":null,"c":true}]}}`, `-0.5e+10`, `[1,]`, `{"é":1,"\u00e9":2}`,
		manyKeys(20, "k7"), `{"a":0,"a"`, `{"":0,"":0}`, `01`, `"\u0000"`, "\"\xed\xa0\x80\"", `[[[[[]]]]]`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		err := walletd.CheckRawJSON("items", raw)
		msg := walletd.ErrorMessage(err)
		if err != nil && walletd.ErrorCode(err) != walletd.EInvalid {
			t.Fatalf("%q: %v is not invalid_request", raw, err)
		}
		if len(msg) > 200 {
			t.Fatalf("%q: a %d-byte message", raw, len(msg))
		}
		valid := json.Valid(raw)
		switch {
		case err == nil:
			if !valid || !utf8.Valid(raw) {
				t.Fatalf("%q accepted: json.Valid %v, utf8.Valid %v", raw, valid, utf8.Valid(raw))
			}
			if k, dup := walletdtest.DuplicateKey(raw); dup {
				t.Fatalf("%q accepted with the key %q twice", raw, k)
			}
		case strings.HasPrefix(msg, "items is not valid JSON"):
			if valid {
				t.Fatalf("%q: %s, but json.Valid", raw, msg)
			}
		case !valid:
			// Refused for a fault found before the syntax error.
		case strings.HasPrefix(msg, "items is not valid UTF-8"):
			if utf8.Valid(raw) {
				t.Fatalf("%q: %s", raw, msg)
			}
		case strings.HasPrefix(msg, "items holds the key"):
			if _, dup := walletdtest.DuplicateKey(raw); !dup {
				t.Fatalf("%q: %s, but encoding/json sees no duplicate", raw, msg)
			}
		case strings.HasPrefix(msg, "items holds an unpaired UTF-16 surrogate escape"):
			if !bytes.Contains(bytes.ToLower(raw), []byte(`\ud`)) {
				t.Fatalf("%q: %s", raw, msg)
			}
		default:
			t.Fatalf("%q: unexpected %s", raw, msg)
		}
	})
}
