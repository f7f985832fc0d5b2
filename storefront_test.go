package walletd_test

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/walletd/walletd"
)

func TestStorefrontID_UnmarshalJSON(t *testing.T) {
	t.Run("Accepted", func(t *testing.T) {
		for in, want := range map[string]string{
			`1204`:                               "1204",
			`0`:                                  "0",
			`9223372036854775807`:                "9223372036854775807",
			`"1204"`:                             "1204",
			`"01204"`:                            "01204", // a string id: kept as it is
			`"cus_1042"`:                         "cus_1042",
			`"ordér 7"`:                          "ordér 7",
			`"99999999999999999999"`:             "99999999999999999999",
			`"` + strings.Repeat("x", 128) + `"`: strings.Repeat("x", 128),
		} {
			var id walletd.StorefrontID
			if err := json.Unmarshal([]byte(in), &id); err != nil || id.String() != want {
				t.Errorf("%s: %q, %v; want %q", in, id, err, want)
			}
		}
	})
	t.Run("NullLeavesIt", func(t *testing.T) {
		var req struct {
			OrderID walletd.StorefrontID `json:"order_id"`
		}
		if err := json.Unmarshal([]byte(`{"order_id":null}`), &req); err != nil || req.OrderID != "" {
			t.Fatalf("%q, %v", req.OrderID, err)
		}
	})
	t.Run("Refused", func(t *testing.T) {
		for in, says := range map[string]string{
			`1.5`:                                "a number with a fraction",
			`1.0`:                                "a number with a fraction",
			`-1`:                                 "a negative number",
			`-0`:                                 "a negative number",
			`true`:                               "a JSON boolean",
			`false`:                              "a JSON boolean",
			`1e3`:                                "a number with an exponent",
			`1E3`:                                "a number with an exponent",
			`""`:                                 "an empty string",
			`"` + strings.Repeat("x", 200) + `"`: "a string of 200 bytes",
			`"` + strings.Repeat("x", 129) + `"`: "a string of 129 bytes",
			`99999999999999999999`:               "a number above 9223372036854775807",
			`9223372036854775808`:                "a number above 9223372036854775807",
			`" 1204"`:                            "a string with white space at an end",
			`"1204 "`:                            "a string with white space at an end",
			`"a\u0000b"`:                         "a string with control characters",
			`"a\tb"`:                             "a string with control characters",
			`[1]`:                                "a JSON array",
			`{}`:                                 "a JSON object",
		} {
			var req struct {
				OrderID walletd.StorefrontID `json:"order_id"`
			}
			err := json.Unmarshal([]byte(`{"order_id":`+in+`}`), &req)
			var ute *json.UnmarshalTypeError
			if !errors.As(err, &ute) || ute.Value != says || ute.Field != "order_id" {
				t.Errorf("%s: %v, want a type error of order_id saying %q", in, err, says)
				continue
			}
			fe := walletd.FieldError(ute)
			if fe == nil || fe.Code != walletd.EInvalid || !strings.HasPrefix(fe.Message, `Field "order_id" must be an id`) ||
				!strings.HasSuffix(fe.Message, "not "+says+".") {
				t.Errorf("%s: FieldError %+v", in, fe)
			}
		}
	})
	t.Run("FieldErrorOfOtherTypes", func(t *testing.T) {
		var req struct {
			Amount string `json:"amount"`
		}
		var ute *json.UnmarshalTypeError
		if err := json.Unmarshal([]byte(`{"amount":25}`), &req); !errors.As(err, &ute) || walletd.FieldError(ute) != nil {
			t.Fatalf("%v: FieldError takes a string field's error", err)
		}
	})
}

func TestTextOrInteger_UnmarshalJSON(t *testing.T) {
	var req struct {
		Meta map[string]walletd.TextOrInteger `json:"metadata"`
	}
	if err := json.Unmarshal([]byte(`{"metadata":{"order_id":1204,"note":"","ref":"pi_1"}}`), &req); err != nil {
		t.Fatal(err)
	}
	if req.Meta["order_id"] != "1204" || req.Meta["note"] != "" || req.Meta["ref"] != "pi_1" {
		t.Fatalf("%+v", req.Meta)
	}
	for _, in := range []string{`1.5`, `-1`, `true`, `1e3`, `99999999999999999999`, `[]`, `{}`} {
		err := json.Unmarshal([]byte(`{"metadata":{"k":`+in+`}}`), &req)
		var ute *json.UnmarshalTypeError
		if !errors.As(err, &ute) || ute.Field != "metadata" {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if fe := walletd.FieldError(ute); fe == nil || !strings.HasPrefix(fe.Message, `Field "metadata" takes strings and whole numbers`) {
			t.Errorf("%s: FieldError %+v", in, fe)
		}
	}
}

// FuzzStorefrontID checks the reader on any JSON value: what it accepts is
// a non-empty, valid, bounded id; an accepted number is the integer it
// reads; an accepted id reads back the same as a JSON string.
func FuzzStorefrontID(f *testing.F) {
	for _, s := range []string{`1204`, `0`, `"1204"`, `"cus_1"`, `1.5`, `-1`, `true`, `1e3`, `""`, `null`,
		`99999999999999999999`, `9223372036854775807`, `" x"`, `"\u00e9"`, `"\ud800"`, `[1]`, `{"a":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var id walletd.StorefrontID
		if err := id.UnmarshalJSON(b); err != nil {
			return
		}
		s := id.String()
		if s == "" {
			if string(b) != "null" && strings.TrimSpace(string(b)) != "null" {
				t.Fatalf("%q: accepted as no id", b)
			}
			return
		}
		if len(s) > walletd.MaxStorefrontIDLen || !utf8.ValidString(s) || strings.TrimSpace(s) != s {
			t.Fatalf("%q: accepted as %q", b, s)
		}
		if c := strings.TrimSpace(string(b))[0]; c >= '0' && c <= '9' {
			if n, err := strconv.ParseInt(s, 10, 64); err != nil || n < 0 || strconv.FormatInt(n, 10) != s {
				t.Fatalf("%q: integer read as %q", b, s)
			}
		}
		q, _ := json.Marshal(s)
		var back walletd.StorefrontID
		if err := back.UnmarshalJSON(q); err != nil || back != id {
			t.Fatalf("%q: %q does not read back as a string: %q, %v", b, s, back, err)
		}
	})
}
