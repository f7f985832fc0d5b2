package http_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	whttp "github.com/walletd/walletd/http"
	"go.yaml.in/yaml/v3"
)

// openAPI is the document served at GET /openapi.yaml (the bundle of the
// files under openapi/), loaded by kin-openapi, which validates values
// against it. root is the same document as plain YAML values, for the
// tests that walk it.
type openAPI struct {
	doc  *openapi3.T
	root map[string]any
}

// loadOpenAPI loads the served document. External references are not
// allowed, so a $ref that does not resolve inside it fails the load.
func loadOpenAPI(tb testing.TB) *openAPI {
	tb.Helper()
	spec, err := whttp.OpenAPIDocument()
	if err != nil {
		tb.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(spec)
	if err != nil {
		tb.Fatalf("openapi.yaml does not load: %v", err)
	}
	var root map[string]any
	if err := yaml.Unmarshal(spec, &root); err != nil {
		tb.Fatalf("openapi.yaml does not parse: %v", err)
	}
	return &openAPI{doc: doc, root: root}
}

// operation returns the operation object of method and path, or nil.
func (o *openAPI) operation(method, path string) map[string]any {
	item, _ := asMap(o.root["paths"])[path].(map[string]any)
	op, _ := item[strings.ToLower(method)].(map[string]any)
	return op
}

// deref returns the object v, or the component its $ref names. The
// bundle's $refs all name a component ("#/components/responses/NotFound").
func (o *openAPI) deref(v any) map[string]any {
	for range 10 {
		m := asMap(v)
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		kind, name, _ := strings.Cut(strings.TrimPrefix(ref, "#/components/"), "/")
		v = asMap(asMap(o.root["components"])[kind])[name]
	}
	return nil
}

// check validates v against schema, a schema object of root (often a
// $ref to a component), with kin-openapi, and refuses fields the schema
// does not document. It returns the problems found.
func (o *openAPI) check(at string, schema any, v any) []string {
	s, err := o.schema(schema)
	if err != nil {
		return []string{at + ": " + err.Error()}
	}
	var errs []string
	if err := s.VisitJSON(v, openapi3.MultiErrors(), openapi3.VisitAsResponse()); err != nil {
		errs = append(errs, fmt.Sprintf("%s: %v", at, err))
	}
	return append(errs, undocumented(at, s, v)...)
}

// schema returns kin-openapi's schema for a schema object of root: the
// component its $ref names, or the inline schema with its $refs linked
// to the components of o.doc.
func (o *openAPI) schema(v any) (*openapi3.Schema, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var s openapi3.SchemaRef
	if err := s.UnmarshalJSON(b); err != nil {
		return nil, fmt.Errorf("not a schema: %w", err)
	}
	if err := o.link(&s); err != nil {
		return nil, err
	}
	return s.Value, nil
}

// link points every $ref in s at the component schema it names.
func (o *openAPI) link(s *openapi3.SchemaRef) error {
	if s == nil {
		return nil
	}
	if s.Ref != "" {
		name, ok := strings.CutPrefix(s.Ref, "#/components/schemas/")
		c := o.doc.Components.Schemas[name]
		if !ok || c == nil {
			return fmt.Errorf("$ref %q does not resolve", s.Ref)
		}
		s.Value = c.Value
		return nil
	}
	if s.Value == nil {
		return fmt.Errorf("an empty schema")
	}
	refs := []*openapi3.SchemaRef{s.Value.Items, s.Value.Not, s.Value.AdditionalProperties.Schema}
	for _, l := range []openapi3.SchemaRefs{s.Value.AllOf, s.Value.AnyOf, s.Value.OneOf} {
		refs = append(refs, l...)
	}
	for _, p := range s.Value.Properties {
		refs = append(refs, p)
	}
	for _, r := range refs {
		if err := o.link(r); err != nil {
			return err
		}
	}
	return nil
}

func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }

// undocumented returns the fields of v that schema s does not document.
// JSON Schema (so kin-openapi) lets an object carry fields its properties
// do not list unless additionalProperties is false; the document lists
// every field walletd sends, so the tests also refuse a field that neither
// properties nor additionalProperties describe. Under allOf, the fields of
// all its object schemas together are the documented ones. Everything
// else (types, required fields, enums, patterns, bounds) is kin-openapi's.
func undocumented(at string, s *openapi3.Schema, v any) []string {
	if s == nil {
		return nil
	}
	if len(s.AllOf) == 0 {
		return undocumentedOne(at, s, v, true)
	}
	var errs []string
	props := map[string]bool{}
	closed := true
	for _, sub := range s.AllOf {
		ss := sub.Value
		errs = append(errs, undocumentedOne(at, ss, v, false)...)
		if ss.Properties == nil && ss.Type != nil && !ss.Type.Is(openapi3.TypeObject) {
			closed = false
		}
		for k := range ss.Properties {
			props[k] = true
		}
	}
	if obj, ok := v.(map[string]any); ok && closed && len(props) > 0 {
		for _, k := range sortedKeys(obj) {
			if !props[k] {
				errs = append(errs, fmt.Sprintf("%s: field %q is not documented", at, k))
			}
		}
	}
	return errs
}

// undocumentedOne is undocumented for a schema without allOf. strict
// refuses object fields the schema itself does not list.
func undocumentedOne(at string, s *openapi3.Schema, v any, strict bool) []string {
	var errs []string
	switch {
	case s.Type.Is(openapi3.TypeObject):
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		closed := s.Properties != nil || (s.AdditionalProperties.Has != nil && !*s.AdditionalProperties.Has)
		for _, k := range sortedKeys(obj) {
			if p, ok := s.Properties[k]; ok {
				errs = append(errs, undocumented(at+"."+k, p.Value, obj[k])...)
			} else if ap := s.AdditionalProperties.Schema; ap != nil {
				errs = append(errs, undocumented(at+"."+k, ap.Value, obj[k])...)
			} else if strict && closed {
				errs = append(errs, fmt.Sprintf("%s: field %q is not documented", at, k))
			}
		}
	case s.Type.Is(openapi3.TypeArray):
		arr, ok := v.([]any)
		if !ok || s.Items == nil {
			return nil
		}
		for i, it := range arr {
			errs = append(errs, undocumented(fmt.Sprintf("%s[%d]", at, i), s.Items.Value, it)...)
		}
	}
	return errs
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestOpenAPI_Document checks the served document is well formed. kin-openapi
// validates it: OpenAPI 3.0, every path parameter declared and required,
// unique operation ids, every example of a media type, parameter or schema
// valid against its schema. On top of that: every $ref resolves (the load),
// every operation has an id, a summary, a description, tags, a success
// response, an Idempotency-Key on every POST and X-Request-Id on
// instrumented routes; header examples match their schema (kin-openapi
// does not check them) and no example has an undocumented field.
func TestOpenAPI_Document(t *testing.T) {
	doc := loadOpenAPI(t).doc
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.yaml is not valid: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi: %q, want 3.x", doc.OpenAPI)
	}
	if doc.Info == nil || doc.Info.Title == "" || doc.Info.Version == "" || doc.Info.Description == "" {
		t.Fatalf("info lacks title, version or description: %+v", doc.Info)
	}
	comps := doc.Components
	if doc.Paths.Len() == 0 || comps == nil || len(comps.Schemas) == 0 || len(comps.SecuritySchemes) == 0 {
		t.Fatal("no paths, schemas or security schemes")
	}
	for _, name := range []string{"Wallet", "Entry", "Transfer", "Checkpoint", "VerifyReport", "APIKey", "Success", "Error", "ErrorCode", "Amount"} {
		if comps.Schemas[name] == nil {
			t.Errorf("no schema %s", name)
		}
	}
	if s := comps.SecuritySchemes["bearerAuth"]; s == nil || s.Value.Type != "http" || s.Value.Scheme != "bearer" {
		t.Errorf("bearerAuth is %+v", s)
	}

	// Operations: ids, declared path parameters, a success response, an
	// Idempotency-Key on every POST, X-Request-Id on instrumented routes.
	ids := map[string]string{}
	varRE := regexp.MustCompile(`\{([^{}]+)\}`)
	for _, path := range sortedKeys(doc.Paths.Map()) {
		item := doc.Paths.Value(path)
		for _, m := range sortedKeys(item.Operations()) {
			op := item.GetOperation(m)
			name := m + " " + path
			if op.OperationID == "" {
				t.Errorf("%s: no operationId", name)
			} else if prev, dup := ids[op.OperationID]; dup {
				t.Errorf("%s: operationId %q is also %s", name, op.OperationID, prev)
			}
			ids[op.OperationID] = name
			params := map[string]bool{}
			for _, p := range append(slices.Clone(item.Parameters), op.Parameters...) {
				pp := p.Value
				params[pp.In+":"+pp.Name] = true
				if pp.In == openapi3.ParameterInPath && !pp.Required {
					t.Errorf("%s: path parameter %v is not required", name, pp.Name)
				}
			}
			for _, mv := range varRE.FindAllStringSubmatch(path, -1) {
				if !params["path:"+mv[1]] {
					t.Errorf("%s: path parameter %q is not declared", name, mv[1])
				}
			}
			if m == "POST" && !params["header:Idempotency-Key"] {
				t.Errorf("%s: no Idempotency-Key parameter", name)
			}
			if path != "/metrics" && !params["header:X-Request-Id"] {
				t.Errorf("%s: no X-Request-Id parameter", name)
			}
			if op.Summary == "" || op.Description == "" || len(op.Tags) == 0 {
				t.Errorf("%s: lacks summary, description or tags", name)
			}
			ok2xx := false
			for code := range op.Responses.Map() {
				ok2xx = ok2xx || code[0] == '2' || code[0] == '3'
			}
			if !ok2xx {
				t.Errorf("%s: no success response", name)
			}
		}
	}

	// Every example matches its schema: kin-openapi's Validate checked
	// their values, except those of headers; here the fields they may have.
	checkExample := func(at string, schema *openapi3.SchemaRef, ex any) {
		for _, e := range undocumented(at, schema.Value, ex) {
			t.Error(e)
		}
	}
	checkMedia := func(at string, content openapi3.Content) {
		for _, mt := range sortedKeys(content) {
			media := content[mt]
			if media.Schema == nil {
				t.Errorf("%s %s: no schema", at, mt)
				continue
			}
			if media.Example != nil {
				checkExample(at+" "+mt+" example", media.Schema, media.Example)
			}
			for _, name := range sortedKeys(media.Examples) {
				checkExample(at+" "+mt+" examples."+name, media.Schema, media.Examples[name].Value.Value)
			}
		}
	}
	checkResponses := func(at string, resps map[string]*openapi3.ResponseRef) {
		for _, code := range sortedKeys(resps) {
			r := resps[code]
			if r.Ref != "" {
				continue // checked once, under components.responses
			}
			checkMedia(at+" "+code, r.Value.Content)
			for _, h := range sortedKeys(r.Value.Headers) {
				hh := r.Value.Headers[h].Value
				if hh.Example == nil {
					continue
				}
				if hh.Schema == nil {
					t.Errorf("%s %s header %s: an example but no schema", at, code, h)
					continue
				}
				if err := hh.Schema.Value.VisitJSON(hh.Example); err != nil {
					t.Errorf("%s %s header %s: example: %v", at, code, h, err)
				}
				checkExample(at+" "+code+" header "+h, hh.Schema, hh.Example)
			}
		}
	}
	for _, path := range sortedKeys(doc.Paths.Map()) {
		item := doc.Paths.Value(path)
		for _, m := range sortedKeys(item.Operations()) {
			op := item.GetOperation(m)
			at := m + " " + path
			if op.RequestBody != nil {
				checkMedia(at+" request", op.RequestBody.Value.Content)
			}
			checkResponses(at, op.Responses.Map())
		}
	}
	checkResponses("components.responses", comps.Responses)
	for _, name := range sortedKeys(comps.Parameters) {
		if p := comps.Parameters[name].Value; p.Example != nil {
			checkExample("parameter "+name, p.Schema, p.Example)
		}
	}
	var schemaExamples func(at string, s *openapi3.SchemaRef)
	schemaExamples = func(at string, s *openapi3.SchemaRef) {
		if s == nil || s.Ref != "" {
			return
		}
		if s.Value.Example != nil {
			checkExample(at+" example", s, s.Value.Example)
		}
		for _, k := range sortedKeys(s.Value.Properties) {
			schemaExamples(at+"."+k, s.Value.Properties[k])
		}
		schemaExamples(at+"[]", s.Value.Items)
	}
	for _, name := range sortedKeys(comps.Schemas) {
		schemaExamples("schema "+name, comps.Schemas[name])
	}
}
