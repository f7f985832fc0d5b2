package http

import (
	"encoding/base64"
	"net/http"
	"time"

	"github.com/walletd/walletd"

	"github.com/gorilla/mux"
)

func (s *Server) registerLedgerRoutes(handle handleFunc) {
	handle("GET", "/v1/ledger/verify", walletd.ScopeAdmin, s.handleVerify)
	handle("GET", "/v1/ledger/entries", walletd.ScopeAdmin, s.handleEntries)
	handle("GET", "/v1/ledger/checkpoints", walletd.ScopeAdmin, s.handleCheckpoints)
}

func (s *Server) handleVerify(w http.ResponseWriter, r *http.Request) {
	rep, err := s.Verify(r.Context())
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeData(w, http.StatusOK, rep)
}

func (s *Server) handleEntries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	after, err := parseSeq("after_seq", q.Get("after_seq"))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	limit, err := parseLimit(q.Get("limit"), 100, 1000)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	entries, err := s.Ledger.Entries(r.Context(), after, limit)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	items := make([]entryJSON, 0, len(entries))
	next := after
	for _, e := range entries {
		items = append(items, entryToJSON(e))
		next = e.Seq
	}
	writeData(w, http.StatusOK, map[string]any{"items": items, "next_after_seq": next})
}

type checkpointJSON struct {
	Seq       uint64 `json:"seq"`
	LedgerID  string `json:"ledger_id"`
	HeadHash  string `json:"head_hash"`
	CreatedAt string `json:"created_at"`
	Signature string `json:"signature"` // base64
	Message   string `json:"message"`   // the exact signed bytes
}

func (s *Server) handleCheckpoints(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	after, err := parseSeq("after_seq", q.Get("after_seq"))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	limit, err := parseLimit(q.Get("limit"), 100, 1000)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	cps, err := s.Ledger.Checkpoints(r.Context(), after, limit)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	items := make([]checkpointJSON, 0, len(cps))
	for _, cp := range cps {
		items = append(items, checkpointJSON{
			Seq: cp.Seq, LedgerID: cp.LedgerID, HeadHash: cp.HeadHash.String(),
			CreatedAt: cp.CreatedAt.UTC().Format(walletd.TimeFormat),
			Signature: base64.StdEncoding.EncodeToString(cp.Signature), Message: string(cp.Message()),
		})
	}
	writeData(w, http.StatusOK, map[string]any{"items": items, "public_key": s.CheckpointPublicKey})
}

func (s *Server) registerAPIKeyRoutes(handle handleFunc) {
	handle("POST", "/v1/api-keys", walletd.ScopeAdmin, s.handleCreateAPIKey)
	handle("GET", "/v1/api-keys", walletd.ScopeAdmin, s.handleListAPIKeys)
	handle("DELETE", "/v1/api-keys/{id}", walletd.ScopeAdmin, s.handleRevokeAPIKey)
}

type apiKeyJSON struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Scopes    []string `json:"scopes"`
	CreatedAt string   `json:"created_at"`
	RevokedAt string   `json:"revoked_at,omitempty"`
	Token     string   `json:"token,omitempty"` // only when created
}

func apiKeyToJSON(k *walletd.APIKey) apiKeyJSON {
	out := apiKeyJSON{ID: k.ID, Name: k.Name, Scopes: k.Scopes, CreatedAt: k.CreatedAt.UTC().Format(time.RFC3339Nano)}
	if k.RevokedAt != nil {
		out.RevokedAt = k.RevokedAt.UTC().Format(time.RFC3339Nano)
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
	keys, err := s.APIKeys.APIKeys(r.Context())
	if err != nil {
		s.Error(w, r, err)
		return
	}
	items := make([]apiKeyJSON, 0, len(keys))
	for _, k := range keys {
		items = append(items, apiKeyToJSON(k))
	}
	writeData(w, http.StatusOK, map[string]any{"items": items})
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
