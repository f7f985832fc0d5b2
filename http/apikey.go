package http

import (
	"net/http"

	"github.com/walletd/walletd"

	"github.com/gorilla/mux"
)

// API keys over HTTP: an admin creates, lists and revokes the keys the
// API authenticates (see middleware.go).

func (s *Server) registerAPIKeyRoutes(handle handleFunc) {
	handle("POST", "/v1/api-keys", walletd.ScopeAdmin, s.handleCreateAPIKey)
	handle("GET", "/v1/api-keys", walletd.ScopeAdmin, s.handleListAPIKeys)
	handle("DELETE", "/v1/api-keys/{id}", walletd.ScopeAdmin, s.handleRevokeAPIKey)
}

// apiKeyJSON is an API key as the API shows it: never its secret, and its
// token only in the answer that created it.
type apiKeyJSON struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Scopes    []string `json:"scopes"`
	CreatedAt string   `json:"created_at"`
	RevokedAt string   `json:"revoked_at,omitempty"`
	Token     string   `json:"token,omitempty"` // only when created
}

func apiKeyToJSON(k *walletd.APIKey) apiKeyJSON {
	out := apiKeyJSON{ID: k.ID, Name: k.Name, Scopes: k.Scopes, CreatedAt: timeJSON(k.CreatedAt)}
	if k.RevokedAt != nil {
		out.RevokedAt = timeJSON(*k.RevokedAt)
	}
	return out
}

func (s *Server) handleCreateAPIKey(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name   string   `json:"name"`
		Scopes []string `json:"scopes"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	k, token, err := walletd.NewAPIKey(req.Name, req.Scopes, s.Now())
	if err != nil {
		s.Error(w, r, err)
		return
	}
	if err := s.APIKeys.CreateAPIKey(r.Context(), k); err != nil {
		s.Error(w, r, err)
		return
	}
	out := apiKeyToJSON(k)
	out.Token = token
	writeData(w, http.StatusCreated, out)
}

func (s *Server) handleListAPIKeys(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, offset, err := parseOffsetPage(q.Get("limit"), q.Get("offset"))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	var keys []*walletd.APIKey
	var total int
	if pg, ok := s.APIKeys.(apiKeyPager); ok {
		keys, total, err = pg.APIKeysPage(r.Context(), offset, limit)
	} else {
		var all []*walletd.APIKey
		if all, err = s.APIKeys.APIKeys(r.Context()); err == nil {
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
	items := make([]apiKeyJSON, 0, len(keys))
	for _, k := range keys {
		items = append(items, apiKeyToJSON(k))
	}
	writeData(w, http.StatusOK, map[string]any{"items": items, "next_offset": nextOffset(offset, len(items), total)})
}

func (s *Server) handleRevokeAPIKey(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["id"]
	if self := APIKeyFrom(r.Context()); self != nil && self.ID == id {
		s.Error(w, r, walletd.Errorf(walletd.EConflict, "A key cannot revoke itself."))
		return
	}
	if err := s.APIKeys.RevokeAPIKey(r.Context(), id, s.Now()); err != nil {
		s.Error(w, r, err)
		return
	}
	s.auth.forget(id)
	writeData(w, http.StatusOK, map[string]any{"id": id, "revoked": true})
}
