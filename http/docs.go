package http

import (
	_ "embed"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"
	"github.com/swaggest/swgui"
	"github.com/swaggest/swgui/v5emb"
)

// openAPISpec is the OpenAPI 3 document of the HTTP API (openapi.yaml).
//
//go:embed openapi.yaml
var openAPISpec []byte

// Paths of the documentation routes.
const (
	specPath     = "/openapi.yaml"
	docsPath     = "/docs/"
	docsRedirect = "/docs"
)

// registerDocRoutes serves the OpenAPI document at GET /openapi.yaml and
// Swagger UI at GET /docs/ (its assets are embedded in the binary, under
// the same prefix). /docs redirects to /docs/. No authentication.
func (s *Server) registerDocRoutes(r *mux.Router) {
	r.Handle(specPath, s.instrument(specPath, http.HandlerFunc(serveOpenAPISpec))).Methods("GET")
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

func serveOpenAPISpec(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/yaml")
	h.Set("Content-Length", strconv.Itoa(len(openAPISpec)))
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	w.Write(openAPISpec)
}
