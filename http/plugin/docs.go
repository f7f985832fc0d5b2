package plugin

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// docs/ and postman-collection/: an HTML page with the guide's PHP
// functions pointed at this server, and a Postman v2.1 collection made
// from the OpenAPI document's operations of the plugin tag (the same
// document /openapi.yaml serves, so the routes are described once).

//go:embed assets
var assets embed.FS

// SeedPHP returns the PHP functions of the integration guide, verbatim.
func SeedPHP() []byte {
	b, _ := assets.ReadFile("assets/seed-functions.php")
	return b
}

// Hosts the guide's PHP calls, which the docs page replaces by BaseURL.
var seedHosts = []string{"https://api.we-fund.com", "https://your-wefund-domain.com"}

// PHPFor returns the guide's PHP with its hosts replaced by baseURL.
func PHPFor(baseURL string) string {
	s := string(SeedPHP())
	for _, h := range seedHosts {
		s = strings.ReplaceAll(s, h, strings.TrimRight(baseURL, "/"))
	}
	return s
}

var docsTemplate = template.Must(template.ParseFS(assets, "assets/docs.html.tmpl"))

// routeDoc is one row of the docs page.
type routeDoc struct{ Method, Path, Purpose, Auth string }

var routeDocs = map[string]routeDoc{
	"POST /generate-token/":    {Purpose: "Generate a JWT and a refresh token", Auth: "Plugin key"},
	"POST /refresh-token/":     {Purpose: "Exchange a refresh token for a new pair", Auth: "Refresh token"},
	"POST /order/process/":     {Purpose: "Process one order", Auth: "JWT (in the body, single use)"},
	"GET /health/":             {Purpose: "Health of the API and its services", Auth: "None"},
	"GET /docs/":               {Purpose: "This page", Auth: "None"},
	"GET /postman-collection/": {Purpose: "Postman v2.1 collection", Auth: "None"},
	"GET /test/":               {Purpose: "Connectivity check", Auth: "None"},
	"POST /test/":              {Purpose: "Check a plugin key", Auth: "Plugin key"},
}

const orderExample = `{
  "order_id": 12345,
  "status": "completed",
  "total": "99.00",
  "currency": "USD",
  "customer": {"email": "test@example.com", "first_name": "John", "last_name": "Doe",
               "phone": "+1234567890", "country": "US"},
  "products": [{"name": "Challenge Account - $10,000", "quantity": 1, "price": "99.00",
                "account_size": "10000", "challenge_type": "standard"}]
}`

func (a *API) baseURL(r *http.Request) string {
	if a.cfg.BaseURL != "" {
		return strings.TrimRight(a.cfg.BaseURL, "/")
	}
	return "http://" + r.Host
}

func (a *API) handleDocs(w http.ResponseWriter, r *http.Request) {
	var rows []routeDoc
	for _, rt := range a.Routes() {
		d := routeDocs[rt.Method+" "+rt.Path]
		d.Method, d.Path = rt.Method, rt.Path
		rows = append(rows, d)
	}
	var buf bytes.Buffer
	err := docsTemplate.Execute(&buf, map[string]any{
		"APIVersion": APIVersion, "BaseURL": a.baseURL(r), "Routes": rows,
		"OrderExample": orderExample, "PHP": PHPFor(a.baseURL(r)),
	})
	if err != nil {
		a.fail(w, r, fmt.Errorf("plugin: docs: %w", err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
}

func (a *API) handlePostman(w http.ResponseWriter, r *http.Request) {
	if a.cfg.OpenAPI == nil {
		writeError(w, http.StatusServiceUnavailable, "The API document is not available.")
		return
	}
	doc, err := a.cfg.OpenAPI()
	if err != nil {
		a.fail(w, r, err)
		return
	}
	c, err := PostmanCollection(doc, a.baseURL(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Disposition", `attachment; filename="walletd-plugin-api.postman_collection.json"`)
	writeJSON(w, http.StatusOK, c)
}

// PostmanSchema is the schema URL of a Postman v2.1 collection.
const PostmanSchema = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"

// Postman v2.1 collection types (the fields walletd fills in).
type (
	postmanCollection struct {
		Info     postmanInfo       `json:"info"`
		Item     []postmanItem     `json:"item"`
		Variable []postmanVariable `json:"variable"`
	}
	postmanInfo struct {
		PostmanID   string `json:"_postman_id"`
		Name        string `json:"name"`
		Description string `json:"description"`
		Schema      string `json:"schema"`
	}
	postmanItem struct {
		Name     string         `json:"name"`
		Request  postmanRequest `json:"request"`
		Response []any          `json:"response"`
	}
	postmanRequest struct {
		Method      string          `json:"method"`
		Header      []postmanHeader `json:"header"`
		Body        *postmanBody    `json:"body,omitempty"`
		URL         postmanURL      `json:"url"`
		Description string          `json:"description"`
	}
	postmanHeader struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	}
	postmanBody struct {
		Mode    string         `json:"mode"`
		Raw     string         `json:"raw"`
		Options map[string]any `json:"options"`
	}
	postmanURL struct {
		Raw  string   `json:"raw"`
		Host []string `json:"host"`
		Path []string `json:"path"`
	}
	postmanVariable struct {
		Key   string `json:"key"`
		Value string `json:"value"`
		Type  string `json:"type"`
	}
)

// openAPIOp is what the collection takes of an operation.
type openAPIOp struct {
	Tags        []string `yaml:"tags"`
	OperationID string   `yaml:"operationId"`
	Summary     string   `yaml:"summary"`
	Description string   `yaml:"description"`
	RequestBody struct {
		Content map[string]struct {
			Example  any `yaml:"example"`
			Examples map[string]struct {
				Value any `yaml:"value"`
			} `yaml:"examples"`
		} `yaml:"content"`
	} `yaml:"requestBody"`
}

// PostmanCollection makes the Postman v2.1 collection of the plugin API
// from the bundled OpenAPI document doc: one request per operation tagged
// plugin whose path is under /api/plugin/ and ends in a slash (the form
// the guide's PHP calls; the other three forms of each path serve the
// same handler), with the operation's summary, description and request
// example, and the base URL as the variable base_url.
func PostmanCollection(doc []byte, baseURL string) (any, error) {
	var d struct {
		Paths map[string]map[string]yaml.Node `yaml:"paths"`
	}
	if err := yaml.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("plugin: postman: read the API document: %w", err)
	}
	paths := make([]string, 0, len(d.Paths))
	for p := range d.Paths {
		if strings.HasPrefix(p, "/api/plugin/") && strings.HasSuffix(p, "/") {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	c := postmanCollection{
		Info: postmanInfo{
			PostmanID:   "5b0f8f9e-8d7e-4c1b-9f55-77a1e0c0a001",
			Name:        "walletd plugin API",
			Description: "The plugin order API of walletd (WeFund-compatible). Set base_url to your walletd's public URL and plugin_key to a key from `walletd plugin-key create`.",
			Schema:      PostmanSchema,
		},
		Item: []postmanItem{},
		Variable: []postmanVariable{
			{Key: "base_url", Value: strings.TrimRight(baseURL, "/"), Type: "string"},
			{Key: "plugin_key", Value: "wpk_…", Type: "string"},
			{Key: "jwt_token", Value: "", Type: "string"},
			{Key: "refresh_token", Value: "", Type: "string"},
		},
	}
	for _, p := range paths {
		methods := make([]string, 0, 2)
		for m := range d.Paths[p] {
			methods = append(methods, m)
		}
		sort.Strings(methods)
		for _, m := range methods {
			var op openAPIOp
			node := d.Paths[p][m]
			if err := node.Decode(&op); err != nil || !contains(op.Tags, "plugin") {
				continue
			}
			req := postmanRequest{
				Method:      strings.ToUpper(m),
				Header:      []postmanHeader{},
				Description: op.Description,
				URL: postmanURL{Raw: "{{base_url}}" + p, Host: []string{"{{base_url}}"},
					Path: strings.Split(strings.TrimPrefix(p, "/"), "/")},
			}
			if media, ok := op.RequestBody.Content["application/json"]; ok {
				ex := media.Example
				if ex == nil {
					names := make([]string, 0, len(media.Examples))
					for n := range media.Examples {
						names = append(names, n)
					}
					sort.Strings(names)
					if len(names) > 0 {
						ex = media.Examples[names[0]].Value
					}
				}
				raw, err := json.MarshalIndent(ex, "", "  ")
				if err != nil {
					return nil, fmt.Errorf("plugin: postman: example of %s %s: %w", m, p, err)
				}
				req.Header = append(req.Header, postmanHeader{Key: "Content-Type", Value: "application/json"})
				req.Body = &postmanBody{Mode: "raw", Raw: string(raw), Options: map[string]any{"raw": map[string]any{"language": "json"}}}
			}
			c.Item = append(c.Item, postmanItem{Name: op.Summary, Request: req, Response: []any{}})
		}
	}
	if len(c.Item) == 0 {
		return nil, fmt.Errorf("plugin: postman: the API document has no plugin operations")
	}
	return c, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// contextTimeout bounds a probe of health.
func contextTimeout(r *http.Request, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), d)
}
