package http_test

import (
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestOpenAPI_ListsBounded holds every list and report to a documented
// maximum: each GET whose success answer is a list (data itself an array,
// or its items or entries) declares how many it may hold, by a limit
// parameter with a maximum, or by maxItems on the array.
func TestOpenAPI_ListsBounded(t *testing.T) {
	doc := loadOpenAPI(t).doc
	paths := doc.Paths.Map()
	names := make([]string, 0, len(paths))
	for p := range paths {
		names = append(names, p)
	}
	sort.Strings(names)
	checked := 0
	for _, path := range names {
		op := paths[path].Get
		if op == nil {
			continue
		}
		var limitMax bool
		for _, p := range append(paths[path].Parameters, op.Parameters...) {
			if v := p.Value; v != nil && v.In == "query" && v.Name == "limit" && v.Schema != nil && v.Schema.Value.Max != nil {
				limitMax = true
			}
		}
		for code, resp := range op.Responses.Map() {
			if !strings.HasPrefix(code, "2") || resp.Value == nil {
				continue
			}
			mt := resp.Value.Content.Get("application/json")
			if mt == nil || mt.Schema == nil {
				continue
			}
			for _, a := range arrays("", dataOf(mt.Schema.Value), 1) {
				if a.at != "data" && a.at != "items" && a.at != "entries" {
					continue // an array inside one object (an order's lines …)
				}
				checked++
				if !limitMax && a.s.MaxItems == nil {
					t.Errorf("GET %s: %s is a list with no documented maximum (a limit parameter with a maximum, or maxItems)", path, a.at)
				}
			}
		}
	}
	if checked < 10 {
		t.Fatalf("only %d lists found: the walk is broken", checked)
	}
}

// dataOf returns the schema of an envelope's data (or s itself when it
// is no envelope), with allOf flattened.
func dataOf(s *openapi3.Schema) *openapi3.Schema {
	if s == nil {
		return nil
	}
	var data *openapi3.Schema // Success has an open data; the envelope's allOf narrows it
	for _, sub := range s.AllOf {
		if d := sub.Value.Properties["data"]; d != nil && (d.Value.Type != nil || len(d.Value.AllOf) > 0) {
			data = d.Value
		}
	}
	if data != nil {
		return data
	}
	if d := s.Properties["data"]; d != nil {
		return d.Value
	}
	return s
}

type arrayAt struct {
	at string
	s  *openapi3.Schema
}

// arrays returns the array schemas in s, depth levels of properties deep.
func arrays(at string, s *openapi3.Schema, depth int) []arrayAt {
	if s == nil || depth < 0 {
		return nil
	}
	if s.Type != nil && s.Type.Is("array") {
		if at == "" {
			at = "data"
		}
		return []arrayAt{{at, s}}
	}
	var out []arrayAt
	props := map[string]*openapi3.SchemaRef{}
	for _, sub := range s.AllOf {
		for k, v := range sub.Value.Properties {
			props[k] = v
		}
	}
	for k, v := range s.Properties {
		props[k] = v
	}
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, arrays(strings.TrimPrefix(at+"."+k, "."), props[k].Value, depth-1)...)
	}
	return out
}

// TestOpenAPI_LimitsEnforced holds the server to the document: every GET
// list without path parameters whose limit has a documented maximum
// answers one more than that maximum with 400, and the maximum itself
// with no 400. A list whose reads need more parts than one test server
// has (projections, the plugin store) is asked of a server that has them.
func TestOpenAPI_LimitsEnforced(t *testing.T) {
	doc := loadOpenAPI(t).doc
	plain := mustServer(t)                     // has the plugin store
	hist := mustHistoryServer(t, 0).testServer // has the read models
	required := map[string]string{             // query parameters a list cannot do without
		"/v1/reports/daily": "date=2026-12-01&",
	}
	// The financing lists need the financing service, which neither test
	// server has; the financing package's tests run them.
	elsewhere := map[string]bool{"/v1/financing/requests": true, "/v1/financing/postbacks": true}
	checked := 0
	for path, item := range doc.Paths.Map() {
		op := item.Get
		if op == nil || strings.Contains(path, "{") || elsewhere[path] {
			continue
		}
		var max float64
		for _, p := range append(item.Parameters, op.Parameters...) {
			if v := p.Value; v != nil && v.In == "query" && v.Name == "limit" && v.Schema != nil && v.Schema.Value.Max != nil {
				max = *v.Schema.Value.Max
			}
		}
		if max == 0 {
			continue
		}
		checked++
		t.Run(strings.ReplaceAll(path, "/", "_"), func(t *testing.T) {
			status := func(limit int) int {
				for _, s := range []*testServer{plain, hist} {
					r := s.do(t, "GET", path+"?"+required[path]+"limit="+strconv.Itoa(limit), "")
					if r.Status != 503 {
						return r.Status
					}
				}
				t.Fatalf("GET %s: unavailable on both test servers", path)
				return 0
			}
			if got := status(int(max) + 1); got != 400 {
				t.Fatalf("limit=%d (the maximum is %d): %d, want 400", int(max)+1, int(max), got)
			}
			if got := status(int(max)); got == 400 {
				t.Fatalf("limit=%d, the documented maximum: 400", int(max))
			}
		})
	}
	if checked < 10 {
		t.Fatalf("only %d lists with a documented limit: the walk is broken", checked)
	}
}
