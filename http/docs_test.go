package http_test

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	whttp "github.com/walletd/walletd/http"
	"go.yaml.in/yaml/v3"
)

// openAPI is the parsed openapi.yaml with a small JSON Schema checker: the
// subset of OpenAPI 3.0 schema keywords the document uses.
type openAPI struct {
	root map[string]any
}

func loadOpenAPI(tb testing.TB) *openAPI {
	tb.Helper()
	b, err := os.ReadFile("openapi.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	var root map[string]any
	if err := yaml.Unmarshal(b, &root); err != nil {
		tb.Fatalf("openapi.yaml does not parse: %v", err)
	}
	return &openAPI{root: root}
}

// pointer returns the value a local $ref ("#/components/schemas/Wallet")
// names, or nil.
func (o *openAPI) pointer(ref string) any {
	p, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil
	}
	var cur any = o.root
	for _, part := range strings.Split(p, "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	return cur
}

// deref follows $ref until it reaches an object without one.
func (o *openAPI) deref(v any) map[string]any {
	for i := 0; i < 20; i++ {
		m, _ := v.(map[string]any)
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		v = o.pointer(ref)
	}
	return nil
}

// operation returns the operation object of method and path, or nil.
func (o *openAPI) operation(method, path string) map[string]any {
	item, _ := o.root["paths"].(map[string]any)[path].(map[string]any)
	op, _ := item[strings.ToLower(method)].(map[string]any)
	return op
}

// check validates v against schema and returns the problems found.
func (o *openAPI) check(at string, schema any, v any) []string {
	s := o.deref(schema)
	if s == nil {
		return []string{at + ": unresolvable schema"}
	}
	if all, ok := s["allOf"].([]any); ok {
		var errs []string
		props := map[string]bool{}
		closed := true
		for _, sub := range all {
			ss := o.deref(sub)
			errs = append(errs, o.checkOne(at, ss, v, false)...)
			p, ok := ss["properties"].(map[string]any)
			if !ok && ss["type"] != nil && ss["type"] != "object" {
				closed = false
			}
			for k := range p {
				props[k] = true
			}
		}
		if obj, ok := v.(map[string]any); ok && closed && len(props) > 0 {
			for k := range obj {
				if !props[k] {
					errs = append(errs, fmt.Sprintf("%s: field %q is not documented", at, k))
				}
			}
		}
		return errs
	}
	return o.checkOne(at, s, v, true)
}

// checkOne validates v against one schema without allOf. strict refuses
// object fields the schema does not list (the document lists them all).
func (o *openAPI) checkOne(at string, s map[string]any, v any, strict bool) []string {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, at+": "+fmt.Sprintf(format, args...)) }
	if enum, ok := s["enum"].([]any); ok {
		found := false
		for _, e := range enum {
			found = found || fmt.Sprint(e) == fmt.Sprint(v)
		}
		if !found {
			bad("%v is not one of %v", v, enum)
		}
	}
	switch s["type"] {
	case nil:
		return errs
	case "object":
		obj, ok := v.(map[string]any)
		if !ok {
			bad("want an object, got %T", v)
			return errs
		}
		for _, r := range asList(s["required"]) {
			if _, ok := obj[r.(string)]; !ok {
				bad("required field %q is missing", r)
			}
		}
		props, _ := s["properties"].(map[string]any)
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if p, ok := props[k]; ok {
				errs = append(errs, o.check(at+"."+k, p, obj[k])...)
			} else if ap, ok := s["additionalProperties"].(map[string]any); ok {
				errs = append(errs, o.check(at+"."+k, ap, obj[k])...)
			} else if strict && (props != nil || s["additionalProperties"] == false) {
				bad("field %q is not documented", k)
			}
		}
		if n, ok := s["maxProperties"].(int); ok && len(obj) > n {
			bad("%d fields, at most %d", len(obj), n)
		}
	case "array":
		arr, ok := v.([]any)
		if !ok {
			bad("want an array, got %T", v)
			return errs
		}
		if n, ok := s["minItems"].(int); ok && len(arr) < n {
			bad("%d items, at least %d", len(arr), n)
		}
		for i, it := range arr {
			errs = append(errs, o.check(fmt.Sprintf("%s[%d]", at, i), s["items"], it)...)
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			bad("want a string, got %T (%v)", v, v)
			return errs
		}
		if p, ok := s["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(str) {
			bad("%q does not match %s", str, p)
		}
		if n, ok := s["maxLength"].(int); ok && len(str) > n {
			bad("%q is longer than %d", str, n)
		}
		if n, ok := s["minLength"].(int); ok && len(str) < n {
			bad("%q is shorter than %d", str, n)
		}
	case "integer":
		var f float64
		switch n := v.(type) {
		case int:
			f = float64(n)
		case float64:
			f = n
		default:
			bad("want an integer, got %T (%v)", v, v)
			return errs
		}
		if f != float64(int64(f)) {
			bad("%v is not an integer", v)
		}
		if m, ok := s["minimum"].(int); ok && f < float64(m) {
			bad("%v is below %d", v, m)
		}
		if m, ok := s["maximum"].(int); ok && f > float64(m) {
			bad("%v is above %d", v, m)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			bad("want a boolean, got %T", v)
		}
	default:
		bad("unsupported schema type %v", s["type"])
	}
	return errs
}

func asList(v any) []any { l, _ := v.([]any); return l }

// TestOpenAPI_Document checks the document is well formed: OpenAPI 3.0,
// every $ref resolves, every path parameter is declared, operation ids are
// unique and every example matches its schema.
func TestOpenAPI_Document(t *testing.T) {
	o := loadOpenAPI(t)
	if v, _ := o.root["openapi"].(string); !strings.HasPrefix(v, "3.") {
		t.Fatalf("openapi: %q, want 3.x", o.root["openapi"])
	}
	info, _ := o.root["info"].(map[string]any)
	if info["title"] == nil || info["version"] == nil || info["description"] == nil {
		t.Fatalf("info lacks title, version or description: %v", info)
	}
	paths, _ := o.root["paths"].(map[string]any)
	comps, _ := o.root["components"].(map[string]any)
	if len(paths) == 0 || comps["schemas"] == nil || comps["securitySchemes"] == nil {
		t.Fatal("no paths, schemas or security schemes")
	}
	for _, name := range []string{"Wallet", "Entry", "Transfer", "Checkpoint", "VerifyReport", "APIKey", "Success", "Error", "ErrorCode", "Amount"} {
		if o.pointer("#/components/schemas/"+name) == nil {
			t.Errorf("no schema %s", name)
		}
	}
	if s := o.deref(o.pointer("#/components/securitySchemes/bearerAuth")); s["type"] != "http" || s["scheme"] != "bearer" {
		t.Errorf("bearerAuth is %v", s)
	}

	// Every $ref resolves.
	var walk func(at string, v any)
	walk = func(at string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok && o.pointer(ref) == nil {
				t.Errorf("%s: $ref %q does not resolve", at, ref)
			}
			for k, c := range v {
				walk(at+"/"+k, c)
			}
		case []any:
			for i, c := range v {
				walk(fmt.Sprintf("%s[%d]", at, i), c)
			}
		}
	}
	walk("#", o.root)

	// Operations: unique ids, declared path parameters, a success response,
	// an Idempotency-Key on every POST, X-Request-Id on instrumented routes.
	ids := map[string]string{}
	varRE := regexp.MustCompile(`\{([^{}]+)\}`)
	for path, v := range paths {
		item := v.(map[string]any)
		for _, m := range []string{"get", "post", "put", "patch", "delete", "head", "options", "trace"} {
			op, ok := item[m].(map[string]any)
			if !ok {
				continue
			}
			name := strings.ToUpper(m) + " " + path
			id, _ := op["operationId"].(string)
			if id == "" {
				t.Errorf("%s: no operationId", name)
			} else if prev, dup := ids[id]; dup {
				t.Errorf("%s: operationId %q is also %s", name, id, prev)
			}
			ids[id] = name
			params := map[string]bool{}
			for _, p := range append(asList(item["parameters"]), asList(op["parameters"])...) {
				pp := o.deref(p)
				params[fmt.Sprint(pp["in"], ":", pp["name"])] = true
				if pp["in"] == "path" && pp["required"] != true {
					t.Errorf("%s: path parameter %v is not required", name, pp["name"])
				}
			}
			for _, mv := range varRE.FindAllStringSubmatch(path, -1) {
				if !params["path:"+mv[1]] {
					t.Errorf("%s: path parameter %q is not declared", name, mv[1])
				}
			}
			if m == "post" && !params["header:Idempotency-Key"] {
				t.Errorf("%s: no Idempotency-Key parameter", name)
			}
			if path != "/metrics" && !params["header:X-Request-Id"] {
				t.Errorf("%s: no X-Request-Id parameter", name)
			}
			if op["summary"] == nil || op["description"] == nil || op["tags"] == nil {
				t.Errorf("%s: lacks summary, description or tags", name)
			}
			resps, _ := op["responses"].(map[string]any)
			ok2xx := false
			for code := range resps {
				ok2xx = ok2xx || code[0] == '2' || code[0] == '3'
			}
			if !ok2xx {
				t.Errorf("%s: no success response", name)
			}
		}
	}

	// Every example matches its schema.
	checkMedia := func(at string, content any) {
		for mt, v := range asMap(content) {
			media := asMap(v)
			if media["schema"] == nil {
				t.Errorf("%s %s: no schema", at, mt)
				continue
			}
			if ex, ok := media["example"]; ok {
				for _, e := range o.check(at+" "+mt+" example", media["schema"], ex) {
					t.Error(e)
				}
			}
			for name, ex := range asMap(media["examples"]) {
				for _, e := range o.check(at+" "+mt+" examples."+name, media["schema"], asMap(ex)["value"]) {
					t.Error(e)
				}
			}
		}
	}
	checkResponses := func(at string, resps any) {
		for code, r := range asMap(resps) {
			if asMap(r)["$ref"] != nil {
				continue // checked once, under components.responses
			}
			rr := o.deref(r)
			checkMedia(at+" "+code, rr["content"])
			for h, hv := range asMap(rr["headers"]) {
				hh := o.deref(hv)
				if ex, ok := hh["example"]; ok {
					for _, e := range o.check(at+" "+code+" header "+h, hh["schema"], ex) {
						t.Error(e)
					}
				}
			}
		}
	}
	for path, v := range paths {
		for m, opv := range asMap(v) {
			op := asMap(opv)
			if op == nil || m == "parameters" {
				continue
			}
			at := strings.ToUpper(m) + " " + path
			checkMedia(at+" request", asMap(o.deref(op["requestBody"]))["content"])
			checkResponses(at, op["responses"])
		}
	}
	checkResponses("components.responses", comps["responses"])
	for name, p := range asMap(comps["parameters"]) {
		pp := asMap(p)
		if ex, ok := pp["example"]; ok {
			for _, e := range o.check("parameter "+name, pp["schema"], ex) {
				t.Error(e)
			}
		}
	}
	var schemaExamples func(at string, s any)
	schemaExamples = func(at string, s any) {
		m := asMap(s)
		if m == nil || m["$ref"] != nil {
			return
		}
		if ex, ok := m["example"]; ok {
			for _, e := range o.check(at+" example", m, ex) {
				t.Error(e)
			}
		}
		for k, p := range asMap(m["properties"]) {
			schemaExamples(at+"."+k, p)
		}
		schemaExamples(at+"[]", m["items"])
	}
	for name, s := range asMap(comps["schemas"]) {
		schemaExamples("schema "+name, s)
	}
}

func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }

// TestOpenAPI_ResponsesMatch drives a real server through every operation
// and checks each answer against the document: the status is documented
// for the operation, the media type is the documented one, and the body
// matches the schema (every required field, no undocumented field).
func TestOpenAPI_ResponsesMatch(t *testing.T) {
	o := loadOpenAPI(t)
	s := mustServer(t)
	seen := map[string]bool{}
	call := func(method, tpl, path, body string, headers ...string) *response {
		t.Helper()
		r := s.do(t, method, path, body, headers...)
		name := fmt.Sprintf("%s %s → %d", method, tpl, r.Status)
		seen[method+" "+tpl] = true
		var resp map[string]any
		if op := o.operation(method, tpl); op == nil {
			t.Errorf("%s: operation not documented", name)
			return r
		} else if resp = o.deref(asMap(op["responses"])[strconv.Itoa(r.Status)]); resp == nil {
			t.Errorf("%s: status not documented (%s)", name, r.Raw)
			return r
		}
		if tpl != "/metrics" && r.Header.Get("X-Request-Id") == "" {
			t.Errorf("%s: no X-Request-Id", name)
		}
		if r.Header.Get("Idempotent-Replayed") != "" && asMap(resp["headers"])["Idempotent-Replayed"] == nil {
			t.Errorf("%s: Idempotent-Replayed is not documented", name)
		}
		ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
		media := asMap(asMap(resp["content"])[ct])
		if media == nil {
			t.Errorf("%s: Content-Type %q is not documented", name, ct)
			return r
		}
		if ct == "application/json" {
			var v any
			if err := json.Unmarshal(r.Raw, &v); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			for _, e := range o.check(name, media["schema"], v) {
				t.Error(e)
			}
		}
		return r
	}
	id := func(r *response) string {
		var v struct{ ID string }
		r.data(t, &v)
		return v.ID
	}

	call("GET", "/healthz", "/healthz", "", "Authorization", "")
	call("GET", "/readyz", "/readyz", "", "Authorization", "")
	call("GET", "/metrics", "/metrics", "", "Authorization", "")

	a := id(call("POST", "/v1/wallets", "/v1/wallets", `{"user_id":"cus_1042","email":"ana@example.com","currency":"USD"}`, "Idempotency-Key", "open-1"))
	call("POST", "/v1/wallets", "/v1/wallets", `{"user_id":"cus_1042","email":"ana@example.com","currency":"USD"}`, "Idempotency-Key", "open-1")
	b := id(call("POST", "/v1/wallets", "/v1/wallets", `{"user_id":"cus_2077","email":"ben@example.com","currency":"USD"}`))
	eur := id(call("POST", "/v1/wallets", "/v1/wallets", `{"user_id":"cus_2077","email":"ben@example.com","currency":"EUR"}`))
	jpy := id(call("POST", "/v1/wallets", "/v1/wallets", `{"user_id":"cus_1042","email":"ana@example.com","currency":"JPY"}`))
	kwd := id(call("POST", "/v1/wallets", "/v1/wallets", `{"user_id":"cus_1042","email":"ana@example.com","currency":"KWD"}`))
	call("POST", "/v1/wallets", "/v1/wallets", `{"user_id":"cus_1042","email":"ana@example.com","currency":"USD"}`).expect(t, 409, "wallet_exists")
	call("POST", "/v1/wallets", "/v1/wallets", `{"user_id":"x","email":"x@example.com","currency":"XXX"}`).expect(t, 400, "invalid_currency")
	call("POST", "/v1/wallets", "/v1/wallets", `{"user_id":"x","email":"x@example.com","currency":"USD","admin":true}`).expect(t, 400, "invalid_json")
	call("POST", "/v1/wallets", "/v1/wallets", `{"user_id":"`+strings.Repeat("a", 2<<20)+`"}`).expect(t, 413, "body_too_large")
	call("POST", "/v1/wallets", "/v1/wallets", `{}`, "Authorization", "").expect(t, 401, "unauthorized")

	call("GET", "/v1/wallets", "/v1/wallets?user_id=cus_1042&limit=2", "").expect(t, 200, "")
	call("GET", "/v1/wallets", "/v1/wallets?limit=0", "").expect(t, 400, "invalid_request")
	call("GET", "/v1/wallets/{id}", "/v1/wallets/"+a, "").expect(t, 200, "")
	call("GET", "/v1/wallets/{id}", "/v1/wallets/wal_nope", "").expect(t, 404, "not_found")

	credit := `{"amount":"49.25","type":"topup","reason":"Card top-up","order_id":"1204","metadata":{"gateway":"stripe"}}`
	call("POST", "/v1/wallets/{id}/credit", "/v1/wallets/"+a+"/credit", credit, "Idempotency-Key", "topup-1204").expect(t, 201, "")
	if r := call("POST", "/v1/wallets/{id}/credit", "/v1/wallets/"+a+"/credit", credit, "Idempotency-Key", "topup-1204"); r.Header.Get("Idempotent-Replayed") != "true" {
		t.Error("replay lacks Idempotent-Replayed")
	}
	call("POST", "/v1/wallets/{id}/credit", "/v1/wallets/"+a+"/credit", `{"amount":"50.00"}`, "Idempotency-Key", "topup-1204").expect(t, 409, "idempotency_conflict")
	call("POST", "/v1/wallets/{id}/credit", "/v1/wallets/"+jpy+"/credit", `{"amount":"500","type":"cashback"}`).expect(t, 201, "")
	call("POST", "/v1/wallets/{id}/credit", "/v1/wallets/"+kwd+"/credit", `{"amount":"0.001"}`).expect(t, 201, "")
	call("POST", "/v1/wallets/{id}/credit", "/v1/wallets/"+a+"/credit", `{"amount":"0.001"}`).expect(t, 400, "invalid_amount")
	call("POST", "/v1/wallets/{id}/credit", "/v1/wallets/wal_nope/credit", `{"amount":"1.00"}`).expect(t, 404, "not_found")
	call("POST", "/v1/wallets/{id}/debit", "/v1/wallets/"+a+"/debit", `{"amount":"9.25","type":"order_payment","order_id":"1311"}`).expect(t, 201, "")
	call("POST", "/v1/wallets/{id}/debit", "/v1/wallets/"+a+"/debit", `{"amount":"1000.00"}`).expect(t, 422, "insufficient_funds")

	call("POST", "/v1/transfers", "/v1/transfers", mustJSON(map[string]any{"from_wallet_id": a, "to_wallet_id": b, "amount": "12.50", "note": "Lunch split", "metadata": map[string]string{"k": "v"}})).expect(t, 201, "")
	call("POST", "/v1/transfers", "/v1/transfers", mustJSON(map[string]string{"from_wallet_id": a, "to_wallet_id": eur, "amount": "1.00"})).expect(t, 422, "currency_mismatch")
	call("POST", "/v1/transfers", "/v1/transfers", mustJSON(map[string]string{"from_wallet_id": a, "to_wallet_id": "wal_nope", "amount": "1.00"})).expect(t, 404, "not_found")

	call("POST", "/v1/wallets/{id}/freeze", "/v1/wallets/"+b+"/freeze", `{"reason":"Chargeback under review"}`).expect(t, 201, "")
	call("POST", "/v1/wallets/{id}/freeze", "/v1/wallets/"+b+"/freeze", ``).expect(t, 409, "conflict")
	call("POST", "/v1/wallets/{id}/debit", "/v1/wallets/"+b+"/debit", `{"amount":"1.00"}`).expect(t, 422, "wallet_frozen")
	call("POST", "/v1/wallets/{id}/unfreeze", "/v1/wallets/"+b+"/unfreeze", ``).expect(t, 201, "")
	call("POST", "/v1/wallets/{id}/unfreeze", "/v1/wallets/wal_nope/unfreeze", ``).expect(t, 404, "not_found")

	// Reach the first signed checkpoint (every 100 entries in tests).
	for i := 0; i < 100; i++ {
		s.mustCredit(t, a, "1.00")
	}
	call("GET", "/v1/ledger/entries", "/v1/ledger/entries?limit=3&after_seq=5", "").expect(t, 200, "")
	call("GET", "/v1/ledger/entries", "/v1/ledger/entries?after_seq=-1", "").expect(t, 400, "invalid_request")
	if r := call("GET", "/v1/ledger/checkpoints", "/v1/ledger/checkpoints", ""); !strings.Contains(string(r.Raw), `"seq":100`) {
		t.Errorf("no checkpoint to check: %s", r.Raw)
	}
	call("GET", "/v1/ledger/verify", "/v1/ledger/verify", "").expect(t, 200, "")

	r := call("POST", "/v1/api-keys", "/v1/api-keys", `{"name":"reporting","scopes":["wallets:read"]}`)
	r.expect(t, 201, "")
	var key struct{ ID, Token string }
	r.data(t, &key)
	call("POST", "/v1/api-keys", "/v1/api-keys", `{"name":"x","scopes":["root"]}`).expect(t, 400, "invalid_request")
	call("GET", "/v1/wallets/{id}", "/v1/wallets/"+a, "", "Authorization", "Bearer "+key.Token).expect(t, 200, "")
	call("POST", "/v1/wallets/{id}/debit", "/v1/wallets/"+a+"/debit", `{"amount":"1.00"}`, "Authorization", "Bearer "+key.Token).expect(t, 403, "forbidden")
	call("DELETE", "/v1/api-keys/{id}", "/v1/api-keys/"+key.ID, "").expect(t, 200, "")
	call("DELETE", "/v1/api-keys/{id}", "/v1/api-keys/"+key.ID, "").expect(t, 404, "not_found")
	admin, _, _ := strings.Cut(s.Admin, ".")
	call("DELETE", "/v1/api-keys/{id}", "/v1/api-keys/"+admin, "").expect(t, 409, "conflict")
	call("GET", "/v1/api-keys", "/v1/api-keys", "").expect(t, 200, "") // with a revoked key

	// The wallet features (features_test.go drives them in depth).
	topups := "/v1/wallets/" + a + "/topups"
	topBody := `{"amount":"25.00","method":"card","external_ref":"pi_3PqL2xKZ"}`
	top := id(call("POST", "/v1/wallets/{id}/topups", topups, topBody, "Idempotency-Key", "top-1"))
	if r := call("POST", "/v1/wallets/{id}/topups", topups, topBody, "Idempotency-Key", "top-1"); r.Header.Get("Idempotent-Replayed") != "true" {
		t.Error("top-up replay lacks Idempotent-Replayed")
	}
	call("POST", "/v1/wallets/{id}/topups", topups, `{"amount":"0.001","method":"card"}`).expect(t, 400, "invalid_amount")
	call("POST", "/v1/wallets/{id}/topups", "/v1/wallets/wal_nope/topups", `{"amount":"1","method":"card"}`).expect(t, 404, "not_found")
	call("GET", "/v1/topups/{id}", "/v1/topups/"+top, "").expect(t, 200, "")
	call("GET", "/v1/topups/{id}", "/v1/topups/top_nope", "").expect(t, 404, "not_found")
	call("POST", "/v1/topups/{id}/complete", "/v1/topups/"+top+"/complete", `{}`).expect(t, 200, "")
	call("POST", "/v1/topups/{id}/complete", "/v1/topups/"+top+"/complete", ``).expect(t, 409, "conflict")
	top2 := id(call("POST", "/v1/wallets/{id}/topups", topups, `{"amount":"5","method":"card"}`))
	call("POST", "/v1/topups/{id}/fail", "/v1/topups/"+top2+"/fail", `{"reason":"Card declined"}`).expect(t, 200, "")
	call("POST", "/v1/topups/{id}/fail", "/v1/topups/"+top2+"/fail", ``).expect(t, 409, "conflict")

	withdrawals := "/v1/wallets/" + a + "/withdrawals"
	wdr := id(call("POST", "/v1/wallets/{id}/withdrawals", withdrawals, `{"amount":"30.00","method":"bank_transfer","destination":"DE89 3704 0044 0532 0130 00"}`))
	call("POST", "/v1/wallets/{id}/withdrawals", withdrawals, `{"amount":"100000.00","method":"bank_transfer"}`).expect(t, 422, "insufficient_funds")
	call("GET", "/v1/withdrawals/{id}", "/v1/withdrawals/"+wdr, "").expect(t, 200, "")
	call("GET", "/v1/withdrawals/{id}", "/v1/withdrawals/wdr_nope", "").expect(t, 404, "not_found")
	call("POST", "/v1/withdrawals/{id}/approve", "/v1/withdrawals/"+wdr+"/approve", ``).expect(t, 200, "")
	call("POST", "/v1/withdrawals/{id}/approve", "/v1/withdrawals/"+wdr+"/approve", `{}`).expect(t, 409, "conflict")
	wdr2 := id(call("POST", "/v1/wallets/{id}/withdrawals", withdrawals, `{"amount":"20","method":"bank_transfer"}`))
	call("POST", "/v1/withdrawals/{id}/reject", "/v1/withdrawals/"+wdr2+"/reject", `{"reason":"Account holder name does not match"}`).expect(t, 200, "")
	call("POST", "/v1/withdrawals/{id}/reject", "/v1/withdrawals/"+wdr2+"/reject", ``).expect(t, 409, "conflict")

	limits := "/v1/wallets/" + a + "/limits"
	call("PUT", "/v1/wallets/{id}/limits", limits, `{"per_transaction":"100","daily":"250","monthly":null}`).expect(t, 200, "")
	call("PUT", "/v1/wallets/{id}/limits", limits, `{"daily":"1e400"}`).expect(t, 400, "invalid_amount")
	call("PUT", "/v1/wallets/{id}/limits", "/v1/wallets/wal_nope/limits", `{}`).expect(t, 404, "not_found")
	call("GET", "/v1/wallets/{id}/limits", limits, "").expect(t, 200, "")
	call("GET", "/v1/wallets/{id}/limits", "/v1/wallets/wal_nope/limits", "").expect(t, 404, "not_found")
	call("POST", "/v1/wallets/{id}/debit", "/v1/wallets/"+a+"/debit", `{"amount":"100.01"}`).expect(t, 422, "spending_limit_exceeded")
	call("GET", "/v1/wallets/{id}", "/v1/wallets/"+a, "").expect(t, 200, "")
	call("PUT", "/v1/wallets/{id}/limits", limits, `{}`).expect(t, 200, "")

	call("GET", "/v1/settings/kyc", "/v1/settings/kyc", "").expect(t, 404, "not_found")
	call("PUT", "/v1/settings/kyc", "/v1/settings/kyc", `{"threshold":"100","cumulative_threshold":"5000","currency":"USD"}`).expect(t, 200, "")
	call("PUT", "/v1/settings/kyc", "/v1/settings/kyc", `{"threshold":"100","currency":"XXX"}`).expect(t, 400, "invalid_currency")
	call("GET", "/v1/settings/kyc", "/v1/settings/kyc?currency=USD", "").expect(t, 200, "")
	call("GET", "/v1/settings/kyc", "/v1/settings/kyc?currency=XXX", "").expect(t, 400, "invalid_currency")
	call("POST", "/v1/wallets/{id}/withdrawals", withdrawals, `{"amount":"100.01","method":"bank_transfer"}`).expect(t, 422, "kyc_required")
	call("PUT", "/v1/wallets/{id}/kyc", "/v1/wallets/"+a+"/kyc", `{"status":"verified"}`).expect(t, 200, "")
	call("PUT", "/v1/wallets/{id}/kyc", "/v1/wallets/"+a+"/kyc", `{"status":"approved"}`).expect(t, 400, "invalid_request")
	call("PUT", "/v1/wallets/{id}/kyc", "/v1/wallets/wal_nope/kyc", `{"status":"verified"}`).expect(t, 404, "not_found")

	reload := "/v1/wallets/" + b + "/auto-reload"
	call("PUT", "/v1/wallets/{id}/auto-reload", reload, `{"threshold":"20","amount":"50","method":"card"}`).expect(t, 200, "")
	call("PUT", "/v1/wallets/{id}/auto-reload", reload, `{"amount":"50"}`).expect(t, 400, "invalid_amount")
	call("POST", "/v1/wallets/{id}/debit", "/v1/wallets/"+b+"/debit", `{"amount":"1.00"}`).expect(t, 201, "")
	if r := call("GET", "/v1/wallets/{id}/auto-reload", reload, ""); !strings.Contains(string(r.Raw), "pending_topup_id") {
		t.Errorf("no pending auto-reload top-up: %s", r.Raw)
	}
	call("GET", "/v1/wallets/{id}/auto-reload", "/v1/wallets/wal_nope/auto-reload", "").expect(t, 404, "not_found")
	call("DELETE", "/v1/wallets/{id}/auto-reload", reload, "").expect(t, 200, "")
	call("DELETE", "/v1/wallets/{id}/auto-reload", reload, "").expect(t, 404, "not_found")

	code := id(call("POST", "/v1/redemption-codes", "/v1/redemption-codes", `{"code":"WELCOME-10","amount":"10","currency":"USD","max_redemptions":1000,"per_user_once":true,"expires_at":"2099-12-31T23:59:59Z"}`))
	call("POST", "/v1/redemption-codes", "/v1/redemption-codes", `{"amount":"25","currency":"USD","max_redemptions":1}`).expect(t, 201, "")
	call("POST", "/v1/redemption-codes", "/v1/redemption-codes", `{"code":"welcome-10","amount":"1","currency":"USD","max_redemptions":1}`).expect(t, 409, "conflict")
	call("POST", "/v1/redemption-codes", "/v1/redemption-codes", `{"amount":"1","currency":"USD","max_redemptions":"1"}`).expect(t, 400, "invalid_json")
	call("GET", "/v1/redemption-codes/{id}", "/v1/redemption-codes/"+code, "").expect(t, 200, "")
	call("GET", "/v1/redemption-codes/{id}", "/v1/redemption-codes/rdc_nope", "").expect(t, 404, "not_found")
	call("POST", "/v1/wallets/{id}/redeem", "/v1/wallets/"+a+"/redeem", `{"code":"welcome-10"}`).expect(t, 201, "")
	call("POST", "/v1/wallets/{id}/redeem", "/v1/wallets/"+a+"/redeem", `{"code":"welcome-10"}`).expect(t, 422, "code_already_redeemed")
	call("POST", "/v1/wallets/{id}/redeem", "/v1/wallets/"+eur+"/redeem", `{"code":"welcome-10"}`).expect(t, 422, "currency_mismatch")
	call("POST", "/v1/wallets/{id}/redeem", "/v1/wallets/"+a+"/redeem", `{"code":"NOPE-NOPE"}`).expect(t, 404, "not_found")

	call("POST", "/v1/cashback-rules", "/v1/cashback-rules", `{"percent":"5","max_amount":"10","min_order_total":"20"}`).expect(t, 201, "")
	call("POST", "/v1/cashback-rules", "/v1/cashback-rules", `{"percent":"0"}`).expect(t, 400, "invalid_request")
	call("GET", "/v1/cashback-rules", "/v1/cashback-rules?limit=10", "").expect(t, 200, "")
	call("GET", "/v1/cashback-rules", "/v1/cashback-rules?limit=0", "").expect(t, 400, "invalid_request")
	call("POST", "/v1/milestones", "/v1/milestones", `{"name":"Tenth order","metric":"order_count","threshold":10,"reward":"3"}`).expect(t, 201, "")
	call("POST", "/v1/milestones", "/v1/milestones", `{"name":"Big spender","metric":"lifetime_spend","threshold":"100","reward":"5","currency":"USD"}`).expect(t, 201, "")
	call("POST", "/v1/milestones", "/v1/milestones", `{"name":"x","metric":"visits","threshold":"1","reward":"1"}`).expect(t, 400, "invalid_request")
	call("GET", "/v1/milestones", "/v1/milestones?limit=1", "").expect(t, 200, "")
	call("GET", "/v1/settings/referrals", "/v1/settings/referrals", "").expect(t, 404, "not_found")
	call("PUT", "/v1/settings/referrals", "/v1/settings/referrals", `{"referrer_reward":"7","referee_reward":"4","min_order_total":"20"}`).expect(t, 200, "")
	call("PUT", "/v1/settings/referrals", "/v1/settings/referrals", `{"referrer_reward":"0"}`).expect(t, 400, "invalid_amount")
	call("GET", "/v1/settings/referrals", "/v1/settings/referrals?currency=USD", "").expect(t, 200, "")
	call("POST", "/v1/referrals", "/v1/referrals", `{"referrer_user_id":"cus_2077","referee_user_id":"cus_1042"}`).expect(t, 201, "")
	call("POST", "/v1/referrals", "/v1/referrals", `{"referrer_user_id":"cus_3000","referee_user_id":"cus_1042"}`).expect(t, 409, "conflict")
	call("GET", "/v1/referrals/{referee_user_id}", "/v1/referrals/cus_1042", "").expect(t, 200, "")

	order := `{"user_id":"cus_1042","total":"120.00","currency":"USD","items":[{"sku":"TSHIRT-M","qty":2}]}`
	call("POST", "/v1/orders/{order_id}/complete", "/v1/orders/1204/complete", order).expect(t, 201, "")
	call("POST", "/v1/orders/{order_id}/complete", "/v1/orders/1204/complete", order).expect(t, 200, "")
	call("POST", "/v1/orders/{order_id}/complete", "/v1/orders/1204/complete", `{"user_id":"cus_1042","total":"121.00","currency":"USD"}`).expect(t, 409, "conflict")
	call("POST", "/v1/orders/{order_id}/complete", "/v1/orders/1205/complete", `{"user_id":"nobody","total":"1","currency":"USD"}`).expect(t, 404, "not_found")
	call("GET", "/v1/referrals/{referee_user_id}", "/v1/referrals/cus_1042", "").expect(t, 200, "")
	call("GET", "/v1/referrals/{referee_user_id}", "/v1/referrals/nobody", "").expect(t, 404, "not_found")
	call("GET", "/v1/orders/{order_id}", "/v1/orders/1204", "").expect(t, 200, "")
	call("GET", "/v1/orders/{order_id}", "/v1/orders/nope", "").expect(t, 404, "not_found")
	call("POST", "/v1/orders/{order_id}/refund", "/v1/orders/1204/refund", `{"reason":"Returned by the customer"}`).expect(t, 200, "")
	call("POST", "/v1/orders/{order_id}/refund", "/v1/orders/1204/refund", ``).expect(t, 409, "conflict")
	call("POST", "/v1/orders/{order_id}/refund", "/v1/orders/nope/refund", ``).expect(t, 404, "not_found")
	call("GET", "/v1/orders/{order_id}", "/v1/orders/1204", "").expect(t, 200, "")
	call("GET", "/v1/ledger/entries", "/v1/ledger/entries?limit=1000", "").expect(t, 200, "")

	// Errors outside any operation: the shared responses.
	for _, tc := range []struct{ method, path, resp, code string }{
		{"GET", "/v1/nope", "NotFound", "not_found"},
		{"GET", "/v1/wallets/" + a + "/credit", "MethodNotAllowed", "method_not_allowed"},
	} {
		r := s.do(t, tc.method, tc.path, "")
		r.expect(t, whttp.ErrorStatus(tc.code), tc.code)
		var v any
		json.Unmarshal(r.Raw, &v)
		schema := asMap(asMap(o.deref(o.pointer("#/components/responses/" + tc.resp))["content"])["application/json"])["schema"]
		for _, e := range o.check(tc.method+" "+tc.path, schema, v) {
			t.Error(e)
		}
	}

	// The read-model endpoints: this server has no projections, so they
	// answer 503 (history_test.go drives them with projections).
	call("GET", "/v1/wallets/{id}/transactions", "/v1/wallets/"+a+"/transactions", "").expect(t, 503, "unavailable")
	call("GET", "/v1/wallets/{id}/statement", "/v1/wallets/"+a+"/statement?from=2026-12-01&to=2027-01-01", "").expect(t, 503, "unavailable")
	call("GET", "/v1/reports/daily", "/v1/reports/daily?date=2026-12-15", "").expect(t, 503, "unavailable")

	// The webhook endpoints: this server has no webhook service, so they
	// answer 503 (webhooks_test.go drives them with one).
	for _, op := range []struct{ method, tmpl, path string }{
		{"POST", "/v1/webhook-endpoints", "/v1/webhook-endpoints"},
		{"GET", "/v1/webhook-endpoints", "/v1/webhook-endpoints"},
		{"GET", "/v1/webhook-endpoints/{id}", "/v1/webhook-endpoints/whe_x"},
		{"PATCH", "/v1/webhook-endpoints/{id}", "/v1/webhook-endpoints/whe_x"},
		{"DELETE", "/v1/webhook-endpoints/{id}", "/v1/webhook-endpoints/whe_x"},
		{"POST", "/v1/webhook-endpoints/{id}/rotate-secret", "/v1/webhook-endpoints/whe_x/rotate-secret"},
		{"POST", "/v1/webhook-endpoints/{id}/test", "/v1/webhook-endpoints/whe_x/test"},
		{"POST", "/v1/webhook-endpoints/{id}/enable", "/v1/webhook-endpoints/whe_x/enable"},
		{"GET", "/v1/webhook-endpoints/{id}/deliveries", "/v1/webhook-endpoints/whe_x/deliveries"},
		{"GET", "/v1/webhook-endpoints/{id}/deliveries/{delivery_id}", "/v1/webhook-endpoints/whe_x/deliveries/whd_x"},
		{"POST", "/v1/webhook-endpoints/{id}/deliveries/{delivery_id}/retry", "/v1/webhook-endpoints/whe_x/deliveries/whd_x/retry"},
	} {
		call(op.method, op.tmpl, op.path, "").expect(t, 503, "unavailable")
	}

	// Every documented operation of the native API was exercised.
	for path, v := range asMap(o.root["paths"]) {
		for m := range asMap(v) {
			name := strings.ToUpper(m) + " " + path
			if m != "parameters" && strings.HasPrefix(path, "/v1/") && !seen[name] {
				t.Errorf("%s was not exercised", name)
			}
		}
	}
}
