package export

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// jsonValue is one member of a flat JSON object: a string or a
// non-negative integer.
type jsonValue struct {
	key   string
	str   string
	num   uint64
	isNum bool
}

// recordParser parses one export line: a flat JSON object whose values
// are strings or non-negative integers. It is strict on purpose: the input
// comes from outside, and an auditor's file must mean one thing only, so
// duplicate keys (refused by the decoders: entry, fields), unknown or
// missing fields, leading zeros and upper-case hex are all errors.
type recordParser struct {
	vals []jsonValue
	s    string // the line as a string; values without escapes slice it
	i    int
}

// parse parses line and returns the value of its "record" member.
func (p *recordParser) parse(line []byte) (string, error) {
	p.vals = p.vals[:0]
	p.s, p.i = string(line), 0
	if !utf8.ValidString(p.s) {
		return "", errors.New("line is not valid UTF-8")
	}
	p.space()
	if !p.eat('{') {
		return "", p.errorf("want '{'")
	}
	p.space()
	if !p.eat('}') {
		for {
			p.space()
			key, err := p.str()
			if err != nil {
				return "", err
			}
			p.space()
			if !p.eat(':') {
				return "", p.errorf("want ':' after key %q", key)
			}
			p.space()
			v := jsonValue{key: key}
			if p.i < len(p.s) && p.s[p.i] == '"' {
				if v.str, err = p.str(); err != nil {
					return "", err
				}
			} else if v.num, err = p.uint(); err != nil {
				return "", fmt.Errorf("%s: %w", key, err)
			} else {
				v.isNum = true
			}
			p.vals = append(p.vals, v)
			p.space()
			if p.eat('}') {
				break
			} else if !p.eat(',') {
				return "", p.errorf("want ',' or '}'")
			}
		}
	}
	p.space()
	if p.i != len(p.s) {
		return "", p.errorf("text after the object")
	}
	record, n := "", 0
	for _, v := range p.vals {
		if v.key == "record" {
			if v.isNum {
				return "", errors.New("record is not a string")
			}
			record = v.str
			n++
		}
	}
	switch n {
	case 0:
		return "", errors.New("no record field")
	case 1:
		return record, nil
	}
	return "", errors.New(`duplicate key "record"`)
}

func (p *recordParser) errorf(format string, args ...any) error {
	return fmt.Errorf("malformed JSON at byte %d: %s", p.i+1, fmt.Sprintf(format, args...))
}

func (p *recordParser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\r') {
		p.i++
	}
}

func (p *recordParser) eat(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// uint parses a JSON number that must be a non-negative integer without
// leading zeros, fraction or exponent, within uint64.
func (p *recordParser) uint() (uint64, error) {
	start := p.i
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		p.i++
	}
	digits := p.s[start:p.i]
	if digits == "" {
		return 0, p.errorf("want a string or a non-negative integer")
	} else if len(digits) > 1 && digits[0] == '0' {
		return 0, p.errorf("number with a leading zero")
	} else if p.i < len(p.s) && (p.s[p.i] == '.' || p.s[p.i] == 'e' || p.s[p.i] == 'E') {
		return 0, p.errorf("want an integer")
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return 0, p.errorf("integer out of range")
	}
	return n, nil
}

// str parses a JSON string. Without escapes it is a substring of the line.
func (p *recordParser) str() (string, error) {
	if !p.eat('"') {
		return "", p.errorf("want a string")
	}
	start := p.i
	for p.i < len(p.s) {
		switch c := p.s[p.i]; {
		case c == '"':
			p.i++
			return p.s[start : p.i-1], nil
		case c == '\\':
			return p.strSlow(start)
		case c < 0x20:
			return "", p.errorf("control character in a string")
		}
		p.i++
	}
	return "", p.errorf("unterminated string")
}

// strSlow decodes a string with escapes, from start (after the quote).
func (p *recordParser) strSlow(start int) (string, error) {
	b := []byte(p.s[start:p.i])
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return string(b), nil
		case c < 0x20:
			return "", p.errorf("control character in a string")
		case c != '\\':
			b = append(b, c)
			p.i++
			continue
		}
		if p.i+1 >= len(p.s) {
			break
		}
		esc := p.s[p.i+1]
		p.i += 2
		switch esc {
		case '"', '\\', '/':
			b = append(b, esc)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", p.errorf("bad \\u escape")
			}
			if utf16.IsSurrogate(r) {
				// A surrogate must come as a high-low pair.
				if !(p.i+1 < len(p.s) && p.s[p.i] == '\\' && p.s[p.i+1] == 'u') {
					return "", p.errorf("lone surrogate in \\u escape")
				}
				p.i += 2
				r2, ok := p.hex4()
				if !ok {
					return "", p.errorf("bad \\u escape")
				}
				if r = utf16.DecodeRune(r, r2); r == utf8.RuneError {
					return "", p.errorf("bad surrogate pair in \\u escape")
				}
			}
			b = utf8.AppendRune(b, r)
		default:
			return "", p.errorf("bad escape \\%c", esc)
		}
	}
	return "", p.errorf("unterminated string")
}

func (p *recordParser) hex4() (rune, bool) {
	if p.i+4 > len(p.s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(p.s[p.i : p.i+4]) {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	p.i += 4
	return r, true
}
