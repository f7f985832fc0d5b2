package http

import (
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/walletd/walletd"
	"github.com/walletd/walletd/http/plugin"
)

// The plugin order API (http/plugin): its routes mounted under /plugin and
// /api/plugin, with and without the trailing slash, and the native admin
// routes of plugin keys.

// registerPluginRoutes mounts the plugin API's route table. Without
// s.Plugin every route answers 503 in the plugin API's error shape; a
// method a path does not serve answers 405 in that shape too.
func (s *Server) registerPluginRoutes(r *mux.Router, handle handleFunc) {
	handle("POST", "/v1/plugin-keys", walletd.ScopeAdmin, s.handleCreatePluginKey)
	handle("GET", "/v1/plugin-keys", walletd.ScopeAdmin, s.handleListPluginKeys)
	handle("DELETE", "/v1/plugin-keys/{id}", walletd.ScopeAdmin, s.handleRevokePluginKey)

	api := s.Plugin
	if api == nil {
		api = plugin.New(plugin.Config{})
	}
	allow := map[string][]string{}
	var order []string
	for _, rt := range api.Routes() {
		h := rt.Handler
		if s.Plugin == nil {
			h = plugin.Unavailable
		}
		for _, prefix := range plugin.Prefixes {
			for _, path := range []string{prefix + rt.Path, prefix + strings.TrimSuffix(rt.Path, "/")} {
				r.Handle(path, s.instrument(path, h)).Methods(rt.Method)
				if allow[path] == nil {
					order = append(order, path)
				}
				allow[path] = append(allow[path], rt.Method)
			}
		}
	}
	for _, path := range order {
		r.Handle(path, s.instrument(path, plugin.MethodNotAllowed(strings.Join(allow[path], ", "))))
	}
}

// pluginKeyJSON is a plugin key as the API shows it: never its secret,
// and the plugin key itself only in the answer that created it.
type pluginKeyJSON struct {
	ID         string `json:"id"`
	PluginName string `json:"plugin_name"`
	CreatedAt  string `json:"created_at"`
	RevokedAt  string `json:"revoked_at,omitempty"`
	PluginKey  string `json:"plugin_key,omitempty"` // only when created
}

func pluginKeyToJSON(k *walletd.PluginKey) pluginKeyJSON {
	out := pluginKeyJSON{ID: k.ID, PluginName: k.PluginName, CreatedAt: timeJSON(k.CreatedAt)}
	if k.RevokedAt != nil {
		out.RevokedAt = timeJSON(*k.RevokedAt)
	}
	return out
}

func (s *Server) pluginStore(w http.ResponseWriter, r *http.Request) walletd.PluginStore {
	if s.PluginKeys == nil {
		s.Error(w, r, walletd.Errorf(walletd.EUnavailable, "The plugin API is not configured on this server."))
	}
	return s.PluginKeys
}

func (s *Server) handleCreatePluginKey(w http.ResponseWriter, r *http.Request) {
	var req struct {
		PluginName string `json:"plugin_name"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	store := s.pluginStore(w, r)
	if store == nil {
		return
	}
	k, key, err := walletd.NewPluginKey(req.PluginName, s.Now())
	if err != nil {
		s.Error(w, r, err)
		return
	}
	if err := store.CreatePluginKey(r.Context(), k); err != nil {
		s.Error(w, r, err)
		return
	}
	out := pluginKeyToJSON(k)
	out.PluginKey = key
	writeData(w, http.StatusCreated, out)
}

func (s *Server) handleListPluginKeys(w http.ResponseWriter, r *http.Request) {
	store := s.pluginStore(w, r)
	if store == nil {
		return
	}
	q := r.URL.Query()
	limit, offset, err := parseOffsetPage(q.Get("limit"), q.Get("offset"))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	var keys []*walletd.PluginKey
	var total int
	if pg, ok := store.(pluginKeyPager); ok {
		keys, total, err = pg.PluginKeysPage(r.Context(), offset, limit)
	} else {
		var all []*walletd.PluginKey
		if all, err = store.PluginKeys(r.Context()); err == nil {
			keys, total = pageOf(all, offset, limit)
		}
	}
	if err != nil {
		s.Error(w, r, err)
		return
	}
	if err := checkOffset(offset, total); err != nil {
		s.Error(w, r, err)
		return
	}
	items := make([]pluginKeyJSON, 0, len(keys))
	for _, k := range keys {
		items = append(items, pluginKeyToJSON(k))
	}
	writeData(w, http.StatusOK, map[string]any{"items": items, "next_offset": nextOffset(offset, len(items), total)})
}

func (s *Server) handleRevokePluginKey(w http.ResponseWriter, r *http.Request) {
	store := s.pluginStore(w, r)
	if store == nil {
		return
	}
	id := mux.Vars(r)["id"]
	now := s.Now()
	if err := store.RevokePluginKey(r.Context(), id, now); err != nil {
		s.Error(w, r, err)
		return
	}
	writeData(w, http.StatusOK, map[string]any{"id": id, "revoked": true, "revoked_at": timeJSON(now.UTC().Truncate(time.Microsecond))})
}

// OpenAPIYAML returns the bundled OpenAPI document served at GET
// /openapi.yaml: the plugin API generates its Postman collection from it.
func OpenAPIYAML() ([]byte, error) { return openAPIDocument() }
