package walletd

import (
	"bytes"
	"slices"
	"strconv"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// maxJSONDepth is how deeply CheckRawJSON lets arrays and objects nest:
// encoding/json's own limit.
const maxJSONDepth = 10000

// MaxQuotedInput is how many bytes of a caller's input a message quotes.
const MaxQuotedInput = 100

// QuoteInput quotes s for an error message, as %q does, keeping at most
// MaxQuotedInput bytes of it (cut on a rune boundary) and saying how long
// the rest is: a message must not echo a 100 KB input back.
func QuoteInput(s string) string {
	if len(s) <= MaxQuotedInput {
		return strconv.Quote(s)
	}
	n := MaxQuotedInput
	for n > MaxQuotedInput-utf8.UTFMax && !utf8.RuneStart(s[n]) {
		n--
	}
	return strconv.Quote(s[:n]) + "… (" + strconv.Itoa(len(s)) + " bytes)"
}

// CheckRawJSON checks JSON that walletd keeps as it came (order items, and
// any other json.RawMessage) the way other text is checked: raw must be one
// valid JSON value, its strings valid UTF-8 with no unpaired surrogate
// escape (a "\ud800" with no low half), its objects free of duplicate keys
// at any depth (keys compared after unescaping, so "a" and "\u0061" are the
// same key) and nested at most maxJSONDepth deep. encoding/json checks none
// of these but the syntax: json.Compact keeps a raw 0xFF byte, and readers
// differ on which of two equal keys wins. field names the value in the
// message. Returns EInvalid.
//
// It allocates nothing for valid input once warm: keys are compared in
// buffers that checkers reuse.
func CheckRawJSON(field string, raw []byte) error {
	c := checkers.Get().(*jsonChecker)
	c.data, c.keys, c.arena = raw, c.keys[:0], c.arena[:0]
	i, err := c.value(c.space(0), 1)
	if err == nil && c.space(i) != len(raw) {
		err = c.syntax(c.space(i))
	}
	c.data = nil
	if cap(c.arena) <= 64<<10 && cap(c.keys) <= 4096 { // keep no outsized buffer
		checkers.Put(c)
	}
	if err != nil {
		err.Message = field + " " + err.Message
		return err
	}
	return nil
}

// checkers keeps the buffers of earlier checks for the next ones.
var checkers = sync.Pool{New: func() any {
	return &jsonChecker{keys: make([]keySpan, 0, 64), arena: make([]byte, 0, 1024)}
}}

// keySpan is a decoded key: arena[lo:hi].
type keySpan struct{ lo, hi int }

// jsonChecker reads data once, by recursive descent. keys holds the decoded
// keys of the objects being read, innermost last, in arena.
type jsonChecker struct {
	data  []byte
	keys  []keySpan
	arena []byte
}

// smallObject is the number of keys up to which each new key is compared
// with the ones before it; larger objects are sorted once, at their end.
const smallObject = 16

func (c *jsonChecker) syntax(i int) *Error {
	if i >= len(c.data) {
		return Errorf(EInvalid, "is not valid JSON (it ends early).")
	}
	return Errorf(EInvalid, "is not valid JSON (byte %d).", i)
}

// space returns the index of the first byte at or after i that is not
// JSON white space.
func (c *jsonChecker) space(i int) int {
	for i < len(c.data) {
		switch c.data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// value reads the value at i (not white space) at nesting depth and
// returns the index after it.
func (c *jsonChecker) value(i, depth int) (int, *Error) {
	if i >= len(c.data) {
		return i, c.syntax(i)
	}
	switch b := c.data[i]; {
	case b == '{':
		return c.object(i, depth)
	case b == '[':
		return c.array(i, depth)
	case b == '"':
		return c.str(i, false)
	case b == 't':
		return c.literal(i, "true")
	case b == 'f':
		return c.literal(i, "false")
	case b == 'n':
		return c.literal(i, "null")
	case b == '-' || b >= '0' && b <= '9':
		return c.number(i)
	}
	return i, c.syntax(i)
}

func (c *jsonChecker) literal(i int, lit string) (int, *Error) {
	if !bytes.HasPrefix(c.data[i:], []byte(lit)) {
		return i, c.syntax(i)
	}
	return i + len(lit), nil
}

// number reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func (c *jsonChecker) number(i int) (int, *Error) {
	d := c.data
	if d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		i = c.digits(i)
	default:
		return i, c.syntax(i)
	}
	if i < len(d) && d[i] == '.' {
		if i++; i >= len(d) || d[i] < '0' || d[i] > '9' {
			return i, c.syntax(i)
		}
		i = c.digits(i)
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		if i++; i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			return i, c.syntax(i)
		}
		i = c.digits(i)
	}
	return i, nil
}

func (c *jsonChecker) digits(i int) int {
	for i < len(c.data) && c.data[i] >= '0' && c.data[i] <= '9' {
		i++
	}
	return i
}

func (c *jsonChecker) array(i, depth int) (int, *Error) {
	if depth > maxJSONDepth {
		return i, Errorf(EInvalid, "is nested more than %d levels deep.", maxJSONDepth)
	}
	if i = c.space(i + 1); i < len(c.data) && c.data[i] == ']' {
		return i + 1, nil
	}
	for {
		var err *Error
		if i, err = c.value(i, depth+1); err != nil {
			return i, err
		}
		if i = c.space(i); i >= len(c.data) {
			return i, c.syntax(i)
		}
		switch c.data[i] {
		case ',':
			i = c.space(i + 1)
		case ']':
			return i + 1, nil
		default:
			return i, c.syntax(i)
		}
	}
}

func (c *jsonChecker) object(i, depth int) (int, *Error) {
	if depth > maxJSONDepth {
		return i, Errorf(EInvalid, "is nested more than %d levels deep.", maxJSONDepth)
	}
	if i = c.space(i + 1); i < len(c.data) && c.data[i] == '}' {
		return i + 1, nil
	}
	first, arena := len(c.keys), len(c.arena)
	defer func() { c.keys, c.arena = c.keys[:first], c.arena[:arena] }()
	for {
		if i >= len(c.data) || c.data[i] != '"' {
			return i, c.syntax(i)
		}
		lo := len(c.arena)
		var err *Error
		if i, err = c.str(i, true); err != nil {
			return i, err
		}
		key := keySpan{lo, len(c.arena)}
		if n := len(c.keys) - first; n < smallObject {
			for _, k := range c.keys[first:] {
				if bytes.Equal(c.arena[k.lo:k.hi], c.arena[key.lo:key.hi]) {
					return i, c.duplicate(key)
				}
			}
		}
		c.keys = append(c.keys, key)
		if i = c.space(i); i >= len(c.data) || c.data[i] != ':' {
			return i, c.syntax(i)
		}
		if i, err = c.value(c.space(i+1), depth+1); err != nil {
			return i, err
		}
		if i = c.space(i); i >= len(c.data) {
			return i, c.syntax(i)
		}
		switch c.data[i] {
		case ',':
			i = c.space(i + 1)
		case '}':
			return i + 1, c.sortedDuplicates(first)
		default:
			return i, c.syntax(i)
		}
	}
}

// sortedDuplicates looks for two equal keys among keys[first:] when there
// are more than the ones compared one by one as they came.
func (c *jsonChecker) sortedDuplicates(first int) *Error {
	ks := c.keys[first:]
	if len(ks) <= smallObject {
		return nil
	}
	arena := c.arena
	slices.SortFunc(ks, func(a, b keySpan) int { return bytes.Compare(arena[a.lo:a.hi], arena[b.lo:b.hi]) })
	for j := 1; j < len(ks); j++ {
		if bytes.Equal(arena[ks[j-1].lo:ks[j-1].hi], arena[ks[j].lo:ks[j].hi]) {
			return c.duplicate(ks[j])
		}
	}
	return nil
}

func (c *jsonChecker) duplicate(k keySpan) *Error {
	return Errorf(EInvalid, "holds the key %s twice in one object.", QuoteInput(string(c.arena[k.lo:k.hi])))
}

// str reads the string at i (a '"'); key appends its decoded text to arena.
func (c *jsonChecker) str(i int, key bool) (int, *Error) {
	d := c.data
	for i++; i < len(d); {
		b := d[i]
		switch {
		case b == '"':
			return i + 1, nil
		case b == '\\':
			r, next, err := c.escape(i)
			if err != nil {
				return i, err
			}
			if key {
				c.arena = utf8.AppendRune(c.arena, r)
			}
			i = next
		case b < 0x20:
			return i, c.syntax(i)
		case b < utf8.RuneSelf:
			if key {
				c.arena = append(c.arena, b)
			}
			i++
		default:
			r, n := utf8.DecodeRune(d[i:])
			if r == utf8.RuneError && n == 1 {
				return i, Errorf(EInvalid, "is not valid UTF-8 (byte %d).", i)
			}
			if key {
				c.arena = append(c.arena, d[i:i+n]...)
			}
			i += n
		}
	}
	return i, c.syntax(i)
}

// escape reads the escape at i (a '\\'), a surrogate pair as one, and
// returns the rune and the index after it.
func (c *jsonChecker) escape(i int) (rune, int, *Error) {
	d := c.data
	if i+1 >= len(d) {
		return 0, i, c.syntax(i + 1)
	}
	switch d[i+1] {
	case '"', '\\', '/':
		return rune(d[i+1]), i + 2, nil
	case 'b':
		return '\b', i + 2, nil
	case 'f':
		return '\f', i + 2, nil
	case 'n':
		return '\n', i + 2, nil
	case 'r':
		return '\r', i + 2, nil
	case 't':
		return '\t', i + 2, nil
	case 'u':
	default:
		return 0, i, c.syntax(i + 1)
	}
	r, ok := hex4(d[i+2:])
	if !ok {
		return 0, i, c.syntax(i + 2)
	}
	switch {
	case r >= 0xDC00 && r <= 0xDFFF:
		return 0, i, c.loneSurrogate(i)
	case r >= 0xD800 && r <= 0xDBFF:
		j := i + 6
		if j+1 >= len(d) || d[j] != '\\' || d[j+1] != 'u' {
			return 0, i, c.loneSurrogate(i)
		}
		low, ok := hex4(d[j+2:])
		if !ok {
			return 0, i, c.syntax(j + 2)
		} else if low < 0xDC00 || low > 0xDFFF {
			return 0, i, c.loneSurrogate(i)
		}
		return utf16.DecodeRune(r, low), j + 6, nil
	}
	return r, i + 6, nil
}

func (c *jsonChecker) loneSurrogate(i int) *Error {
	return Errorf(EInvalid, "holds an unpaired UTF-16 surrogate escape %s (byte %d): it encodes no character.", c.data[i:i+6], i)
}

// hex4 decodes four hex digits at the start of b.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, x := range b[:4] {
		switch {
		case x >= '0' && x <= '9':
			x -= '0'
		case x >= 'a' && x <= 'f':
			x -= 'a' - 10
		case x >= 'A' && x <= 'F':
			x -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(x)
	}
	return r, true
}
