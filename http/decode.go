package http

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"math"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/walletd/walletd"
)

// decodeJSON reads one JSON object from the body into v, refusing unknown
// fields, wrong types, trailing data and bodies over MaxBodyBytes, and
// (strictJSON) duplicate keys, keys that name a field only when case is
// ignored, invalid UTF-8 and unpaired surrogate escapes: encoding/json
// accepts all four, so a validator in front of walletd could read another
// amount than the one walletd books.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if r.ContentLength > MaxBodyBytes {
		return walletd.Errorf(EBodyTooLarge, "The request body is larger than %d bytes.", MaxBodyBytes)
	}
	// The body is parsed as JSON whatever Content-Type says: clients such
	// as curl -d label JSON as a form, and a non-JSON body fails below.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		return jsonError(err)
	}
	return decodeBody(body, v)
}

// decodeBody is decodeJSON once the body is read.
func decodeBody(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	end := dec.InputOffset()
	if _, err := dec.Token(); err != io.EOF {
		return walletd.Errorf(EInvalidJSON, "The request body must hold exactly one JSON object.")
	}
	return strictJSON(body[:end], reflect.TypeOf(v))
}

// strictJSON checks raw, which encoding/json has decoded into a value of
// type t, for what encoding/json lets through: walletd.CheckRawJSON's
// rules everywhere, and, in every object decoded into a struct, keys that
// are exactly the fields' JSON names.
func strictJSON(raw []byte, t reflect.Type) error {
	if err := walletd.CheckRawJSON("The request body", raw); err != nil {
		return walletd.Errorf(EInvalidJSON, "%s", walletd.ErrorMessage(err))
	}
	_, err := keyChecker{raw}.value(0, t)
	return err
}

// jsonError turns an error of encoding/json or of reading the body into
// an API error. Messages say what was expected and quote at most
// walletd.MaxQuotedInput bytes of the input.
func jsonError(err error) error {
	var mbe *http.MaxBytesError
	var ute *json.UnmarshalTypeError
	var se *json.SyntaxError
	var we *walletd.Error
	switch {
	case errors.As(err, &mbe):
		return walletd.Errorf(EBodyTooLarge, "The request body is larger than %d bytes.", MaxBodyBytes)
	case errors.As(err, &ute):
		if fe := walletd.FieldError(ute); fe != nil {
			return fe // a storefront id or a text field that takes one: what the field takes
		}
		if ute.Field == "" {
			return walletd.Errorf(EInvalidJSON, "The request body must be a JSON object.")
		}
		field := walletd.QuoteInput(ute.Field)
		if strings.HasPrefix(ute.Value, "number ") {
			// A number of the right JSON type that the field cannot hold:
			// encoding/json puts the whole number in Value.
			return walletd.Errorf(EInvalidJSON, "Field %s must be %s.", field, numberRange(ute.Type))
		}
		got, _, _ := strings.Cut(ute.Value, " ") // "string", "bool", "array" …: never the input
		want := jsonTypeName(ute.Type.Kind().String())
		if reflect.PointerTo(ute.Type).Implements(textUnmarshaler) {
			want = "string" // walletd.Money and other types read from text
		}
		return walletd.Errorf(EInvalidJSON, "Field %s must be a %s, not a JSON %s.", field, want, got)
	case errors.As(err, &we):
		return we // from an UnmarshalText or UnmarshalJSON of the domain: it says what is wrong
	case errors.As(err, &se):
		return walletd.Errorf(EInvalidJSON, "Malformed JSON at byte %d.", se.Offset)
	case errors.Is(err, io.EOF):
		return walletd.Errorf(EInvalidJSON, "The request body is empty.")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return walletd.Errorf(EInvalidJSON, "The request body ends in the middle of the JSON.")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		key := strings.TrimPrefix(err.Error(), "json: unknown field ")
		if s, uerr := strconv.Unquote(key); uerr == nil {
			key = s
		}
		return walletd.Errorf(EInvalidJSON, "Unknown field %s.", walletd.QuoteInput(key))
	}
	return walletd.Errorf(EInvalidJSON, "Malformed JSON.")
}

// numberRange says in words which numbers a field of type t holds.
func numberRange(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		bits := t.Bits()
		return "a whole number from " + strconv.FormatInt(-1<<(bits-1), 10) + " to " + strconv.FormatInt(1<<(bits-1)-1, 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "a whole number from 0 to " + strconv.FormatUint(math.MaxUint64>>(64-t.Bits()), 10)
	case reflect.Float32:
		return "a number from -3.4e38 to 3.4e38"
	case reflect.Float64:
		return "a number from -1.7e308 to 1.7e308"
	}
	return "a " + jsonTypeName(t.Kind().String())
}

func jsonTypeName(kind string) string {
	switch kind {
	case "map", "struct":
		return "object"
	case "slice", "array":
		return "array"
	case "bool":
		return "boolean"
	case "string":
		return "string"
	}
	return "number"
}

// keyChecker walks JSON that encoding/json has decoded (so valid, and
// free of keys that name no field) alongside the type it was decoded into,
// and refuses keys of struct objects that are not exactly a field's JSON
// name: encoding/json also takes "AMOUNT" and "Amount" for "amount".
type keyChecker struct{ data []byte }

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// value checks the value at i (not white space), decoded into t, and
// returns the index after it.
func (k keyChecker) value(i int, t reflect.Type) (int, error) {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil && (t.Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(jsonUnmarshaler)) {
		t = nil // it reads its JSON itself
	}
	switch k.data[i] {
	case '{':
		var fields map[string]reflect.Type
		var elem reflect.Type
		if t != nil && t.Kind() == reflect.Struct {
			fields = jsonFields(t)
		} else if t != nil && t.Kind() == reflect.Map {
			elem = t.Elem()
		}
		i = k.space(i + 1)
		if k.data[i] == '}' {
			return i + 1, nil
		}
		for {
			start := i
			i = k.str(i)
			if fields != nil {
				f, ok := k.field(fields, start, i)
				if !ok {
					return i, unknownField(k.key(start, i), fields)
				}
				elem = f
			}
			i = k.space(k.space(i) + 1) // past ':'
			var err error
			if i, err = k.value(i, elem); err != nil {
				return i, err
			}
			i = k.space(i)
			if k.data[i] == '}' {
				return i + 1, nil
			}
			i = k.space(i + 1) // past ','
		}
	case '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		i = k.space(i + 1)
		if k.data[i] == ']' {
			return i + 1, nil
		}
		for {
			var err error
			if i, err = k.value(i, elem); err != nil {
				return i, err
			}
			i = k.space(i)
			if k.data[i] == ']' {
				return i + 1, nil
			}
			i = k.space(i + 1)
		}
	case '"':
		return k.str(i), nil
	}
	for i < len(k.data) && strings.IndexByte(",]} \t\r\n", k.data[i]) < 0 {
		i++ // a number or literal
	}
	return i, nil
}

// unknownField is the error for a key that is not exactly a field's name.
func unknownField(name string, fields map[string]reflect.Type) error {
	for _, f := range slices.Sorted(maps.Keys(fields)) {
		if strings.EqualFold(f, name) {
			return walletd.Errorf(EInvalidJSON, "Unknown field %s: field names are case-sensitive (did you mean %q?).",
				walletd.QuoteInput(name), f)
		}
	}
	return walletd.Errorf(EInvalidJSON, "Unknown field %s.", walletd.QuoteInput(name))
}

func (k keyChecker) space(i int) int {
	for i < len(k.data) {
		switch k.data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// str returns the index after the string at i.
func (k keyChecker) str(i int) int {
	for i++; i < len(k.data); i++ {
		switch k.data[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

// field looks the key data[start:end] up in fields.
func (k keyChecker) field(fields map[string]reflect.Type, start, end int) (reflect.Type, bool) {
	raw := k.data[start:end]
	if bytes.IndexByte(raw, '\\') < 0 {
		f, ok := fields[string(raw[1:len(raw)-1])] // no copy
		return f, ok
	}
	f, ok := fields[k.key(start, end)]
	return f, ok
}

// key returns the text of the string data[start:end].
func (k keyChecker) key(start, end int) string {
	raw := k.data[start:end]
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1])
	}
	var s string
	json.Unmarshal(raw, &s) // valid: the decoder read it
	return s
}

// fieldCache maps a struct type to its fields' JSON names and types.
var fieldCache sync.Map // reflect.Type → map[string]reflect.Type

// jsonFields returns the JSON names of t's fields as encoding/json
// decodes them: the tag's name, else the Go name; "-" and unexported
// fields skipped; the fields of an untagged embedded struct promoted, a
// shallower field winning over a deeper one of the same name.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := map[string]reflect.Type{}
	level := []reflect.Type{t}
	seen := map[reflect.Type]bool{}
	for len(level) > 0 {
		var next []reflect.Type
		found := map[string]reflect.Type{}
		for _, st := range level {
			if seen[st] {
				continue
			}
			seen[st] = true
			for i := 0; i < st.NumField(); i++ {
				sf := st.Field(i)
				ft := sf.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if sf.Anonymous {
					if !sf.IsExported() && ft.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, _, _ := strings.Cut(tag, ",")
				if name == "" && sf.Anonymous && ft.Kind() == reflect.Struct {
					next = append(next, ft)
					continue
				}
				if name == "" {
					name = sf.Name
				}
				if _, ok := m[name]; !ok {
					found[name] = sf.Type
				}
			}
		}
		for name, ft := range found {
			m[name] = ft
		}
		level = next
	}
	fieldCache.Store(t, m)
	return m
}
