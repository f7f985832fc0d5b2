package plugin

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/walletd/walletd"
)

// The token endpoints: generate-token (plugin key → JWT and refresh
// token), refresh-token (refresh token → a new pair) and test (a
// connectivity and key check).

// tokenResponse is the guide's answer of generate-token and refresh-token.
type tokenResponse struct {
	JWTToken         string `json:"jwt_token"`
	RefreshToken     string `json:"refresh_token"`
	ExpiresInHours   int    `json:"expires_in_hours"`
	ExpiresInSeconds int    `json:"expires_in_seconds"`
	TokenType        string `json:"token_type"`
	PluginName       string `json:"plugin_name"`
	APIVersion       string `json:"api_version"`
}

// missingBody is the guide's 400 for missing fields.
type missingBody struct {
	Error    string   `json:"error"`
	Required []string `json:"required"`
	Missing  []string `json:"missing"`
	Received []string `json:"received"`
}

// requireStrings reads the named string members of m. A member absent,
// null or "" is missing: it answers 400 listing the required, missing and
// received fields. A member of another type is 400 naming it.
func requireStrings(w http.ResponseWriter, m map[string]json.RawMessage, keys []string, required ...string) (map[string]string, bool) {
	out := make(map[string]string, len(required))
	var missing []string
	for _, f := range required {
		s, err := str(f, m[f], 16<<10, true)
		if err != nil {
			if fe := (*FieldError)(nil); errors.As(err, &fe) && fe.Message == "is required." {
				missing = append(missing, f)
				continue
			}
			writeJSON(w, http.StatusBadRequest, errorBody{Error: err.Error(), Field: f})
			return nil, false
		}
		out[f] = s
	}
	if len(missing) > 0 {
		if keys == nil {
			keys = []string{}
		}
		writeJSON(w, http.StatusBadRequest, missingBody{Error: msgMissing, Required: required, Missing: missing, Received: keys})
		return nil, false
	}
	return out, true
}

// tokenHours reads token_duration_hours: a whole number from 1 to
// MaxTokenHours (a JSON integer or a string of digits), default 24.
func tokenHours(raw json.RawMessage) (int, error) {
	raw = nonNull(raw)
	if raw == nil {
		return DefaultTokenHours, nil
	}
	text := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &text); err != nil {
			text = ""
		}
	}
	n, err := strconv.Atoi(text)
	if err != nil || n < 1 || n > MaxTokenHours || strconv.Itoa(n) != text {
		return 0, fieldErr("token_duration_hours", "must be a whole number of hours from 1 to %d.", MaxTokenHours)
	}
	return n, nil
}

// checkSiteURL checks a site_url: an absolute http or https URL.
func checkSiteURL(s string) error {
	if err := walletd.CheckText("site_url", s, walletd.MaxSiteURLLen, true); err != nil {
		return fieldErr("site_url", "%s", walletd.ErrorMessage(err))
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return fieldErr("site_url", "must be the shop's address, an http or https URL such as \"https://shop.example.com\".")
	}
	return nil
}

// checkKey finds the active plugin key of text for plugin. It charges the
// client's IP for a failed check, and the key's bucket for a good one, and
// answers 401 (or 429, or 500) itself.
func (a *API) checkKey(w http.ResponseWriter, r *http.Request, text, plugin string) (*walletd.PluginKey, bool) {
	id, secret, ok := walletd.SplitPluginKey(text)
	if !ok {
		a.failed(r)
		writeError(w, http.StatusUnauthorized, msgInvalidKey)
		return nil, false
	}
	k, err := a.cfg.Store.PluginKey(r.Context(), id)
	if err != nil && walletd.ErrorCode(err) != walletd.ENotFound {
		a.fail(w, r, err)
		return nil, false
	}
	if err != nil || !k.Active() || !k.Matches(secret) || k.PluginName != plugin {
		a.failed(r)
		writeError(w, http.StatusUnauthorized, msgInvalidKey)
		return nil, false
	}
	// The key's own bucket counts only requests that hold the key: guesses
	// at a key id charge the guesser's IP, never the shop's key.
	if !a.keyLimited(w, id) {
		return nil, false
	}
	return k, true
}

func (a *API) handleGenerateToken(w http.ResponseWriter, r *http.Request) {
	m, keys, ok := readObject(w, r)
	if !ok {
		return
	}
	f, ok := requireStrings(w, m, keys, "plugin_name", "plugin_key", "plugin_version", "site_url")
	if !ok {
		return
	}
	hours, err := tokenHours(m["token_duration_hours"])
	if err == nil {
		err = checkSiteURL(f["site_url"])
	}
	if err == nil && len(f["plugin_version"]) > 64 {
		err = fieldErr("plugin_version", "is longer than 64 bytes.")
	}
	if err != nil {
		badField(w, err)
		return
	}
	k, ok := a.checkKey(w, r, f["plugin_key"], f["plugin_name"])
	if !ok {
		return
	}
	a.issue(w, r, k.ID, k.PluginName, f["site_url"], f["plugin_version"], "", hours)
}

// issue answers a new JWT and refresh token: of family, or of a new
// family when family is "".
func (a *API) issue(w http.ResponseWriter, r *http.Request, keyID, plugin, site, version, family string, hours int) {
	now := a.cfg.Now().UTC().Truncate(time.Second)
	refresh := newRefreshToken()
	rt := &walletd.RefreshToken{Hash: hashRefresh(refresh), Family: family, KeyID: keyID, PluginName: plugin, SiteURL: site,
		CreatedAt: now, ExpiresAt: now.Add(RefreshLifetime)}
	if family == "" {
		rt.Family = "fam_" + randomID(12)
		if err := a.cfg.Store.CreateRefreshToken(r.Context(), rt); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	d := time.Duration(hours) * time.Hour
	jwtText, _, err := a.signToken(Claims{SiteURL: site, KeyID: keyID, Family: rt.Family, PluginVersion: version}, plugin, d)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, tokenResponse{
		JWTToken: jwtText, RefreshToken: refresh, ExpiresInHours: hours, ExpiresInSeconds: int(d.Seconds()),
		TokenType: "Bearer", PluginName: plugin, APIVersion: APIVersion,
	})
}

func (a *API) handleRefreshToken(w http.ResponseWriter, r *http.Request) {
	m, keys, ok := readObject(w, r)
	if !ok {
		return
	}
	f, ok := requireStrings(w, m, keys, "refresh_token", "plugin_name")
	if !ok {
		return
	}
	hours, err := tokenHours(m["token_duration_hours"])
	if err != nil {
		badField(w, err)
		return
	}
	text := f["refresh_token"]
	if !strings.HasPrefix(text, "wrt_") || len(text) > 128 {
		a.failed(r)
		writeError(w, http.StatusUnauthorized, msgInvalidRefresh)
		return
	}
	now := a.cfg.Now().UTC().Truncate(time.Second)
	next := newRefreshToken()
	nt := &walletd.RefreshToken{Hash: hashRefresh(next), CreatedAt: now, ExpiresAt: now.Add(RefreshLifetime)}
	used, err := a.cfg.Store.UseRefreshToken(r.Context(), hashRefresh(text), now, nt)
	if err != nil {
		if walletd.ErrorCode(err) == walletd.EUnauthorized {
			a.failed(r)
			writeError(w, http.StatusUnauthorized, msgInvalidRefresh)
			return
		}
		a.fail(w, r, err)
		return
	}
	if used.PluginName != f["plugin_name"] {
		// Spent for nothing: the pair goes to no one, and the family ends.
		a.failed(r)
		writeError(w, http.StatusUnauthorized, msgInvalidRefresh)
		return
	}
	d := time.Duration(hours) * time.Hour
	jwtText, _, err := a.signToken(Claims{SiteURL: used.SiteURL, KeyID: used.KeyID, Family: used.Family}, used.PluginName, d)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, tokenResponse{
		JWTToken: jwtText, RefreshToken: next, ExpiresInHours: hours, ExpiresInSeconds: int(d.Seconds()),
		TokenType: "Bearer", PluginName: used.PluginName, APIVersion: APIVersion,
	})
}

// handleTestGet answers a connectivity check.
func (a *API) handleTestGet(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"status": "ok", "message": "The plugin API is reachable.", "api_version": APIVersion,
		"timestamp": a.cfg.Now().UTC().Format(time.RFC3339),
	})
}

// handleTestPost checks a plugin key without issuing anything.
func (a *API) handleTestPost(w http.ResponseWriter, r *http.Request) {
	m, keys, ok := readObject(w, r)
	if !ok {
		return
	}
	f, ok := requireStrings(w, m, keys, "plugin_name", "plugin_key")
	if !ok {
		return
	}
	k, ok := a.checkKey(w, r, f["plugin_key"], f["plugin_name"])
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"status": "ok", "message": "The plugin key is valid.", "key_valid": true, "plugin_name": k.PluginName,
		"api_version": APIVersion, "timestamp": a.cfg.Now().UTC().Format(time.RFC3339),
	})
}

// badField answers 400 for a bad field: its message and its path.
func badField(w http.ResponseWriter, err error) {
	var fe *FieldError
	if errors.As(err, &fe) {
		writeJSON(w, http.StatusBadRequest, errorBody{Error: fe.Error(), Field: fe.Field})
		return
	}
	writeError(w, http.StatusBadRequest, err.Error())
}
