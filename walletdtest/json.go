package walletdtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// DuplicateKey returns a key that an object of raw (valid JSON) holds
// twice at any depth, read with encoding/json's tokenizer, and whether
// there is one: the oracle the strict JSON checks are fuzzed against.
func DuplicateKey(raw []byte) (string, bool) {
	type frame struct {
		keys      map[string]bool // nil for an array
		expectKey bool
	}
	var stack []*frame
	done := func() { // a value ended
		if n := len(stack); n > 0 && stack[n-1].keys != nil {
			stack[n-1].expectKey = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return "", false
		} else if err != nil {
			panic(fmt.Sprintf("%q: %v", raw, err))
		}
		switch tok := tok.(type) {
		case json.Delim:
			switch tok {
			case '{':
				stack = append(stack, &frame{keys: map[string]bool{}, expectKey: true})
			case '[':
				stack = append(stack, &frame{})
			default:
				stack = stack[:len(stack)-1]
				done()
			}
		case string:
			if n := len(stack); n > 0 && stack[n-1].keys != nil && stack[n-1].expectKey {
				if stack[n-1].keys[tok] {
					return tok, true
				}
				stack[n-1].keys[tok], stack[n-1].expectKey = true, false
				continue
			}
			done()
		default:
			done()
		}
	}
}
