package http

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gorilla/mux"
	"github.com/swaggest/swgui"
	"github.com/swaggest/swgui/v5emb"
	"github.com/walletd/walletd"
	"go.yaml.in/yaml/v3"
)

// openAPIFiles holds the OpenAPI 3 document of the HTTP API as it is
// written: the root openapi/openapi.yaml, one file of path items per tag
// under openapi/paths/ and the shared components under
// openapi/components/, joined by relative $refs.
//
//go:embed openapi
var openAPIFiles embed.FS

// openAPIRoot is the root file of the document in openAPIFiles.
const openAPIRoot = "openapi/openapi.yaml"

// Paths of the documentation routes.
const (
	specPath     = "/openapi.yaml"
	docsPath     = "/docs/"
	docsRedirect = "/docs"
)

// openAPISpec is the bundled document, built once from openAPIFiles.
var openAPISpec struct {
	once sync.Once
	yaml []byte
	err  error
}

// openAPIDocument returns the OpenAPI document served at GET /openapi.yaml:
// the embedded files loaded, validated and bundled into one YAML document
// whose $refs all point inside it. The work is done at the first call; the
// result, or the error, is kept for the life of the process.
func openAPIDocument() ([]byte, error) {
	openAPISpec.once.Do(func() {
		openAPISpec.yaml, openAPISpec.err = bundleOpenAPI(context.Background(), openAPIFiles, openAPIRoot)
	})
	return openAPISpec.yaml, openAPISpec.err
}

// bundleOpenAPI loads the document rooted at root in fsys, follows its
// relative $refs into the other files of fsys (and nowhere else), validates
// it and returns it as one YAML document.
//
// Bundling moves every component another file defines into the root's
// components, named as the root's components section names it
// (openapi3.DefaultRefNameResolver reuses the root's name of a component
// the root refers to), so the bundle has the names of the written document.
// The tests load the bundle on its own, with external references refused.
func bundleOpenAPI(ctx context.Context, fsys fs.FS, root string) ([]byte, error) {
	loader := openapi3.NewLoader()
	loader.Context = ctx
	loader.IsExternalRefsAllowed = true
	loader.ReadFromURIFunc = func(_ *openapi3.Loader, u *url.URL) ([]byte, error) {
		if u.Scheme != "" || u.Host != "" || path.IsAbs(u.Path) {
			return nil, fmt.Errorf("%s: only relative references to the embedded files are allowed", u)
		}
		return fs.ReadFile(fsys, path.Clean(u.Path))
	}
	doc, err := loader.LoadFromFile(root)
	if err != nil {
		return nil, fmt.Errorf("openapi: load %s: %w", root, err)
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, fmt.Errorf("openapi: validate %s: %w", root, err)
	}
	doc.InternalizeRefs(ctx, nil)

	src, err := fs.ReadFile(fsys, root)
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	out, err := marshalOpenAPI(doc, src)
	if err != nil {
		return nil, fmt.Errorf("openapi: marshal the bundle: %w", err)
	}
	return out, nil
}

// marshalOpenAPI writes doc as YAML. kin-openapi keeps no order of keys:
// the top-level fields come in the usual order (openapi, info, servers,
// tags, paths, components) and the paths in the order of the root file
// src; everything else is sorted by key.
func marshalOpenAPI(doc *openapi3.T, src []byte) ([]byte, error) {
	j, err := doc.MarshalJSON()
	if err != nil {
		return nil, err
	}
	// JSON is YAML: decoding it gives a node tree with the JSON's styles
	// (quoted strings, flow collections), which plainNode resets so the
	// encoder picks block style and quotes only where needed.
	var n yaml.Node
	if err := yaml.Unmarshal(j, &n); err != nil {
		return nil, err
	}
	plainNode(&n)
	if n.Kind != yaml.DocumentNode || len(n.Content) != 1 || n.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("not a mapping")
	}
	top := n.Content[0]
	orderKeys(top, "openapi", "info", "servers", "tags", "paths", "components")
	if info := mappingValue(top, "info"); info != nil {
		orderKeys(info, "title", "version", "description")
	}

	var root struct {
		Paths yaml.Node `yaml:"paths"`
	}
	if err := yaml.Unmarshal(src, &root); err != nil {
		return nil, err
	}
	if paths := mappingValue(top, "paths"); paths != nil {
		var order []string
		for i := 0; i+1 < len(root.Paths.Content); i += 2 {
			order = append(order, root.Paths.Content[i].Value)
		}
		orderKeys(paths, order...)
	}

	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// plainNode clears the style of n and everything below it.
func plainNode(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		plainNode(c)
	}
}

// mappingValue returns the value of key in the mapping m, or nil.
func mappingValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// orderKeys puts the given keys of the mapping m first, in the given
// order; the other keys follow in their present order.
func orderKeys(m *yaml.Node, first ...string) {
	rank := func(key string) int {
		if i := slices.Index(first, key); i >= 0 {
			return i
		}
		return len(first)
	}
	type pair struct{ k, v *yaml.Node }
	pairs := make([]pair, 0, len(m.Content)/2)
	for i := 0; i+1 < len(m.Content); i += 2 {
		pairs = append(pairs, pair{m.Content[i], m.Content[i+1]})
	}
	slices.SortStableFunc(pairs, func(a, b pair) int { return rank(a.k.Value) - rank(b.k.Value) })
	m.Content = m.Content[:0]
	for _, p := range pairs {
		m.Content = append(m.Content, p.k, p.v)
	}
}

// registerDocRoutes serves the OpenAPI document at GET /openapi.yaml and
// Swagger UI at GET /docs/ (its assets are embedded in the binary, under
// the same prefix). /docs redirects to /docs/. No authentication.
//
// The document is bundled in the background from here, when the server
// builds its routes: bundling takes seconds on a busy machine, and the port
// must not wait for it (restart-to-ready time). The first GET /openapi.yaml
// waits for it; a broken document is logged, and GET /openapi.yaml then
// answers 500 internal.
func (s *Server) registerDocRoutes(r *mux.Router) {
	logger := s.Logger
	go func() {
		if _, err := openAPIDocument(); err != nil {
			logger.Error("openapi document", walletd.LogError, err)
		}
	}()
	r.Handle(specPath, s.instrument(specPath, http.HandlerFunc(s.serveOpenAPISpec))).Methods("GET")
	r.Handle(docsRedirect, s.instrument(docsRedirect, http.RedirectHandler(docsPath, http.StatusMovedPermanently))).Methods("GET")
	ui := v5emb.NewHandlerWithConfig(swgui.Config{
		Title:       "walletd API",
		SwaggerJSON: specPath,
		BasePath:    docsPath,
		SettingsUI: map[string]string{
			// Show the schemas section (swgui hides it by default).
			"defaultModelsExpandDepth": "1",
		},
	})
	r.PathPrefix(docsPath).Handler(s.instrument(docsPath, ui)).Methods("GET")
}

func (s *Server) serveOpenAPISpec(w http.ResponseWriter, r *http.Request) {
	spec, err := openAPIDocument()
	if err != nil {
		s.Error(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/yaml")
	h.Set("Content-Length", strconv.Itoa(len(spec)))
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	w.Write(spec)
}
