package http

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/walletd/walletd"
)

// decodeTarget has a field of each shape the strict decoder walks.
type decodeTarget struct {
	Amount         string            `json:"amount"`
	MaxRedemptions int               `json:"max_redemptions"`
	Count          uint8             `json:"count"`
	Ratio          float64           `json:"ratio"`
	Items          json.RawMessage   `json:"items"`
	Metadata       map[string]string `json:"metadata"`
	Lines          []decodeLine      `json:"lines"`
	ByName         map[string]decodeLine
	Ptr            *decodeLine `json:"ptr"`
	Threshold      threshold   `json:"threshold"`
	Skipped        string      `json:"-"`
	Any            any         `json:"any"`
	decodeEmbedded
	hidden string
}

type decodeLine struct {
	SKU string `json:"sku"`
	Qty int    `json:"qty,omitempty"`
}

type decodeEmbedded struct {
	Note   string `json:"note"`
	Amount string `json:"amount"` // shadowed by decodeTarget.Amount
}

func decodeString(body string) (*decodeTarget, error) {
	var v decodeTarget
	r := httptest.NewRequest("POST", "/", strings.NewReader(body))
	return &v, decodeJSON(httptest.NewRecorder(), r, &v)
}

func TestDecodeJSON(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		for _, body := range []string{
			`{"amount":"1.00"}`, " {\"amount\":\"1.00\"}\n", `{"\u0061mount":"1.00"}`, `{}`,
			`{"metadata":{"A":"1","a":"2"}}`, // map keys are data: any case
			`{"items":[{"SKU":1,"sku":2}],"any":{"X":{"x":1}}}`,
			`{"lines":[{"sku":"x","qty":1},{"sku":"y"}],"ptr":{"sku":"z"}}`,
			`{"ByName":{"a":{"sku":"x"}},"note":"promoted","threshold":5,"max_redemptions":-3,"ratio":1e300}`,
			`{"amount":"é😀\u00e9\ud83d\ude00"}`,
		} {
			if _, err := decodeString(body); err != nil {
				t.Errorf("%s: %v", body, err)
			}
		}
		v, _ := decodeString(`{"amount":"1.00","note":"n","lines":[{"sku":"x"}]}`)
		if v.Amount != "1.00" || v.Note != "n" || v.Lines[0].SKU != "x" || v.hidden != "" {
			t.Fatalf("%+v", v)
		}
	})
	long := strings.Repeat("k", 5000)
	for _, tc := range []struct{ name, body, want string }{
		// Existing messages.
		{"ErrEmpty", ``, "The request body is empty."},
		{"ErrNotObject", `[]`, "The request body must be a JSON object."},
		{"ErrTwoObjects", `{} {}`, "The request body must hold exactly one JSON object."},
		{"ErrTruncated", `{"amount":`, "The request body ends in the middle of the JSON."},
		{"ErrSyntax", `{"amount":}`, "Malformed JSON at byte 11."},
		{"ErrUnknownField", `{"admin":true}`, `Unknown field "admin".`},
		{"ErrWrongType", `{"amount":25}`, `Field "amount" must be a string, not a JSON number.`},
		{"ErrStringForNumber", `{"max_redemptions":"1"}`, `Field "max_redemptions" must be a number, not a JSON string.`},
		{"ErrArrayForString", `{"amount":["1"]}`, `Field "amount" must be a string, not a JSON array.`},
		{"ErrNestedType", `{"lines":[{"qty":"2"}]}`, `Field "lines.qty" must be a number, not a JSON string.`},
		// Duplicate and case-variant keys (issue 15).
		{"ErrDuplicateKey", `{"amount":"1.00","amount":"2.00"}`, `The request body holds the key "amount" twice in one object.`},
		{"ErrDuplicateEscapedKey", `{"amount":"1.00","\u0061mount":"2.00"}`, `The request body holds the key "amount" twice in one object.`},
		{"ErrCaseVariantKey", `{"amount":"1.00","AMOUNT":"2.00"}`,
			`Unknown field "AMOUNT": field names are case-sensitive (did you mean "amount"?).`},
		{"ErrCaseOnlyKey", `{"Amount":"1.00"}`, `Unknown field "Amount": field names are case-sensitive (did you mean "amount"?).`},
		{"ErrKelvinKey", `{"lines":[{"s\u212au":"x"}]}`, // KELVIN SIGN, which encoding/json folds to k
			"Unknown field \"s\u212au\": field names are case-sensitive (did you mean \"sku\"?)."},
		{"ErrNestedCaseKey", `{"lines":[{"sku":"x"},{"SKU":"y"}]}`, `Unknown field "SKU": field names are case-sensitive (did you mean "sku"?).`},
		{"ErrPointerCaseKey", `{"ptr":{"Qty":1}}`, `Unknown field "Qty": field names are case-sensitive (did you mean "qty"?).`},
		{"ErrMapValueCaseKey", `{"ByName":{"a":{"Sku":"x"}}}`, `Unknown field "Sku": field names are case-sensitive (did you mean "sku"?).`},
		{"ErrPromotedCaseKey", `{"NOTE":"x"}`, `Unknown field "NOTE": field names are case-sensitive (did you mean "note"?).`},
		{"ErrGoNameCaseKey", `{"byname":{}}`, `Unknown field "byname": field names are case-sensitive (did you mean "ByName"?).`},
		{"ErrSkippedField", `{"Skipped":"x"}`, `Unknown field "Skipped".`},
		{"ErrUnexportedField", `{"hidden":"x"}`, `Unknown field "hidden".`},
		{"ErrDuplicateInMap", `{"metadata":{"a":"1","a":"2"}}`, `The request body holds the key "a" twice in one object.`},
		{"ErrDuplicateInItems", `{"items":[{"k":1,"k":2}]}`, `The request body holds the key "k" twice in one object.`},
		// Text the JSON decoder would have changed or kept (issue 18).
		{"ErrInvalidUTF8", "{\"amount\":\"a\xffb\"}", "The request body is not valid UTF-8 (byte 12)."},
		{"ErrInvalidUTF8InItems", "{\"items\":[\"a\xffb\"]}", "The request body is not valid UTF-8 (byte 12)."},
		{"ErrLoneSurrogate", `{"items":["\ud800"]}`,
			`The request body holds an unpaired UTF-16 surrogate escape \ud800 (byte 11): it encodes no character.`},
		// Messages that quote at most 100 bytes and say what is expected.
		{"ErrHugeInteger", `{"max_redemptions":` + strings.Repeat("9", 10000) + `}`,
			`Field "max_redemptions" must be a whole number from -9223372036854775808 to 9223372036854775807.`},
		{"ErrFractionForInteger", `{"max_redemptions":1.5}`,
			`Field "max_redemptions" must be a whole number from -9223372036854775808 to 9223372036854775807.`},
		{"ErrByteOverflow", `{"count":256}`, `Field "count" must be a whole number from 0 to 255.`},
		{"ErrNegativeUnsigned", `{"count":-1}`, `Field "count" must be a whole number from 0 to 255.`},
		{"ErrFloatOverflow", `{"ratio":1e999}`, `Field "ratio" must be a number from -1.7e308 to 1.7e308.`},
		{"ErrLongUnknownField", `{"` + long + `":1}`, `Unknown field "` + long[:100] + `"… (5000 bytes).`},
		{"ErrLongDuplicateKey", `{"metadata":{"` + long + `":"1","` + long + `":"2"}}`,
			`The request body holds the key "` + long[:100] + `"… (5000 bytes) twice in one object.`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeString(tc.body)
			if walletd.ErrorCode(err) != EInvalidJSON || walletd.ErrorMessage(err) != tc.want {
				t.Fatalf("%.80q: %v\nwant %s", tc.body, err, tc.want)
			}
		})
	}
	t.Run("TextUnmarshaler", func(t *testing.T) {
		var v struct {
			Price walletd.Money `json:"price"`
		}
		decode := func(body string) error {
			return decodeJSON(httptest.NewRecorder(), httptest.NewRequest("POST", "/", strings.NewReader(body)), &v)
		}
		if err := decode(`{"price":"2.50"}`); err != nil || v.Price.String() != "2.50" {
			t.Fatalf("%v %v", v.Price, err)
		}
		const want = `Field "price" must be a string, not a JSON number.`
		if err := decode(`{"price":2.5}`); walletd.ErrorCode(err) != EInvalidJSON || walletd.ErrorMessage(err) != want {
			t.Fatalf("number: %v", err)
		}
		// The domain's own error, not "Malformed JSON."
		if err := decode(`{"price":"2,50"}`); walletd.ErrorCode(err) != walletd.EInvalidAmount {
			t.Fatalf("bad text: %v", err)
		}
	})
	t.Run("ErrBodyTooLarge", func(t *testing.T) {
		body := `{"amount":"` + strings.Repeat("1", MaxBodyBytes) + `"}`
		for _, known := range []bool{true, false} {
			r := httptest.NewRequest("POST", "/", strings.NewReader(body))
			if !known {
				r.ContentLength = -1 // chunked: found while reading
			}
			var v decodeTarget
			if err := decodeJSON(httptest.NewRecorder(), r, &v); walletd.ErrorCode(err) != EBodyTooLarge {
				t.Fatalf("length known %v: %v", known, err)
			}
		}
	})
}

func BenchmarkDecodeJSON(b *testing.B) {
	body := []byte(`{"amount":"25.00","type":"topup","reason":"Card top-up","order_id":"1204","metadata":{"channel":"web"}}`)
	b.ReportAllocs()
	for b.Loop() {
		var req postRequest
		if err := decodeBody(bytes.Clone(body), &req); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}
