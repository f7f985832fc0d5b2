package http

import (
	"io"
	"net/http"
	"unicode/utf8"

	"github.com/walletd/walletd"
)

// The credit and debit body, decoded by hand. decodeJSON parses a body
// three times (encoding/json, walletd.CheckRawJSON, the key checker) and
// reflects over postRequest; the hot path's bodies are small objects of
// five known keys. decodePost reads the common form in one pass with no
// reflection: an object whose keys are exactly postRequest's JSON names,
// each at most once; amount, type and reason strings; order_id a string or
// digits; metadata an object of strings and digits; strings without
// escapes, control characters or invalid UTF-8. Whatever else a body
// holds (an escape, a null, another key, a case variant, a duplicate, a
// number where a string goes, malformed JSON, trailing data), it is
// decoded by decodeBody, the generic strict decoder, which gives the
// answer, so errors and their messages are the generic decoder's by
// construction. What the fast path accepts, the generic decoder accepts
// with the same value: FuzzDecodePost checks both on any input.

// decodePost is decodeJSON for a postRequest.
func decodePost(w http.ResponseWriter, r *http.Request, req *postRequest) error {
	if r.ContentLength > MaxBodyBytes {
		return walletd.Errorf(EBodyTooLarge, "The request body is larger than %d bytes.", MaxBodyBytes)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		return jsonError(err)
	}
	return decodePostBody(body, req)
}

// decodePostBody is decodeBody for a postRequest, req being zero.
func decodePostBody(body []byte, req *postRequest) error {
	var fast postRequest
	if parsePost(body, &fast) {
		*req = fast
		return nil
	}
	return decodeBody(body, req)
}

// postKey bits: which keys a body had.
const (
	postAmount = 1 << iota
	postType
	postReason
	postOrderID
	postMetadata
)

// parsePost reads b into req when b has the fast path's form, and
// reports whether it did; req is then as decodeBody would make it.
func parsePost(b []byte, req *postRequest) bool {
	i := jsonSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = jsonSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return jsonSpace(b, i+1) == len(b)
	}
	seen := 0
	for {
		key, j, ok := plainSpan(b, i)
		if !ok {
			return false
		}
		i = jsonSpace(b, j)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i = jsonSpace(b, i+1)
		var bit int
		switch string(key) { // compared without a copy
		case "amount":
			bit = postAmount
			req.Amount, j, ok = plainString(b, i)
		case "type":
			bit = postType
			req.Type, j, ok = plainString(b, i)
		case "reason":
			bit = postReason
			req.Reason, j, ok = plainString(b, i)
		case "order_id":
			bit = postOrderID
			var span []byte
			if span, j, ok = idSpan(b, i); ok {
				ok = req.OrderID.UnmarshalJSON(span) == nil
			}
		case "metadata":
			bit = postMetadata
			req.Metadata, j, ok = parseMetadata(b, i)
		}
		if bit == 0 || !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
		i = jsonSpace(b, j)
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case ',':
			i = jsonSpace(b, i+1)
		case '}':
			return jsonSpace(b, i+1) == len(b)
		default:
			return false
		}
	}
}

// parseMetadata reads an object of strings and digits at i, with no key
// twice, and returns it and the index after it.
func parseMetadata(b []byte, i int) (map[string]walletd.TextOrInteger, int, bool) {
	if i >= len(b) || b[i] != '{' {
		return nil, i, false
	}
	m := make(map[string]walletd.TextOrInteger)
	i = jsonSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return m, i + 1, true
	}
	for {
		key, j, ok := plainString(b, i)
		if !ok {
			return nil, i, false
		}
		if _, dup := m[key]; dup {
			return nil, i, false
		}
		i = jsonSpace(b, j)
		if i >= len(b) || b[i] != ':' {
			return nil, i, false
		}
		i = jsonSpace(b, i+1)
		var v walletd.TextOrInteger
		if i < len(b) && b[i] == '"' {
			var s string
			if s, j, ok = plainString(b, i); !ok {
				return nil, i, false
			}
			v = walletd.TextOrInteger(s)
		} else {
			var span []byte
			if span, j, ok = idSpan(b, i); !ok || v.UnmarshalJSON(span) != nil {
				return nil, i, false
			}
		}
		m[key] = v
		i = jsonSpace(b, j)
		if i >= len(b) {
			return nil, i, false
		}
		switch b[i] {
		case ',':
			i = jsonSpace(b, i+1)
		case '}':
			return m, i + 1, true
		default:
			return nil, i, false
		}
	}
}

// plainString reads the JSON string at i when it has no escape, no
// control character and is valid UTF-8: its text is then its bytes. It
// returns the text and the index after the closing quote.
func plainString(b []byte, i int) (string, int, bool) {
	s, j, ok := plainSpan(b, i)
	return string(s), j, ok
}

// plainSpan is plainString's text as a slice of b.
func plainSpan(b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, i, false
	}
	ascii := true
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			if !ascii && !utf8.Valid(b[i+1:j]) {
				return nil, i, false
			}
			return b[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20:
			return nil, i, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, i, false
}

// idSpan returns the JSON string without escapes or the run of digits at
// i, whole, for a storefront id's UnmarshalJSON, and the index after it.
// A number must end where JSON lets it (white space, ',' or '}').
func idSpan(b []byte, i int) ([]byte, int, bool) {
	if i < len(b) && b[i] == '"' {
		_, j, ok := plainSpan(b, i)
		return b[i:j], j, ok
	}
	j := i
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		j++
	}
	if j == i || j == len(b) {
		return nil, i, false
	}
	switch b[j] {
	case ' ', '\t', '\n', '\r', ',', '}':
		return b[i:j], j, true
	}
	return nil, i, false
}

// jsonSpace returns the index of the first byte at or after i that is not
// JSON white space.
func jsonSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}
