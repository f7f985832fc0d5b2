// Package plugin serves the plugin order API that WordPress storefront
// plugins (WooCommerce, Easy Digital Downloads) call, wire-compatible with
// the WeFund plugin integration guide: a plugin key buys short-lived,
// single-use JWTs (generate-token, refresh-token), and each JWT hands over
// one completed order (order/process), recorded as a walletd order and
// published as plugin.order.processed. Bodies are the guide's flat JSON,
// `{"error": …}` on failure, not the native envelope.
//
// The package provides the handlers and their route table (Routes); the
// http package mounts each route under /plugin and /api/plugin, with and
// without the trailing slash. docs/plugin-api.md is the reference.
package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/keyfile"
)

// APIVersion is the api_version every answer carries.
const APIVersion = "1.0"

// Prefixes are the path prefixes the guide uses; every route is served
// under each.
var Prefixes = []string{"/plugin", "/api/plugin"}

// Token lifetimes.
const (
	DefaultTokenHours = 24
	MaxTokenHours     = 168
	RefreshLifetime   = 30 * 24 * time.Hour
	// Audience is the aud of every JWT: tokens are for this API only.
	Audience = "walletd-plugin-api"
)

// SigningKeys gives the JWT signing keys; *keyfile.JWTKeyFile implements
// it.
type SigningKeys interface {
	Keys() (*keyfile.JWTKeySet, error)
}

// Check is one service health reports: its name and a probe.
type Check struct {
	Name  string
	Check func(ctx context.Context) error
}

// Config is what the API needs.
type Config struct {
	Store      walletd.PluginStore
	Writer     walletd.Submitter
	Currencies *walletd.Currencies
	Keys       SigningKeys
	// Issuer is the iss of the JWTs: the public URL of walletd.
	Issuer string
	// BaseURL is the public URL the docs and the Postman collection show.
	BaseURL string
	// Health lists the services health reports, in order.
	Health []Check
	// OpenAPI returns the bundled OpenAPI document (YAML), which the
	// Postman collection is generated from.
	OpenAPI func() ([]byte, error)
	Limits  Limits
	Now     func() time.Time
	Logger  *slog.Logger
}

// API is the plugin API. Make it with New.
type API struct {
	cfg    Config
	ipLim  *limiter
	keyLim *limiter
}

// New returns the API of cfg, with defaults filled in.
func New(cfg Config) *API {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Currencies == nil {
		cfg.Currencies = walletd.DefaultCurrencies()
	}
	cfg.Limits = cfg.Limits.withDefaults()
	return &API{
		cfg:    cfg,
		ipLim:  newLimiter(cfg.Limits.PerIP, cfg.Limits.IPBurst),
		keyLim: newLimiter(cfg.Limits.PerKey, cfg.Limits.KeyBurst),
	}
}

// Route is one endpoint of the API: its method, its path after a prefix
// (with the trailing slash the guide writes), and its handler.
type Route struct {
	Method  string
	Path    string
	Handler http.HandlerFunc
}

// Routes returns the route table, in the order of the guide. It is the
// one list the router, the docs page and the tests use.
func (a *API) Routes() []Route {
	return []Route{
		{"POST", "/generate-token/", a.limited(a.handleGenerateToken)},
		{"POST", "/refresh-token/", a.limited(a.handleRefreshToken)},
		{"POST", "/order/process/", a.limited(a.handleProcessOrder)},
		{"GET", "/health/", a.limited(a.handleHealth)},
		{"GET", "/docs/", a.limited(a.handleDocs)},
		{"GET", "/postman-collection/", a.limited(a.handlePostman)},
		{"GET", "/test/", a.limited(a.handleTestGet)},
		{"POST", "/test/", a.limited(a.handleTestPost)},
	}
}

// MethodNotAllowed answers a method a path does not serve, in the API's
// error shape.
func MethodNotAllowed(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeError(w, http.StatusMethodNotAllowed, "Method "+walletd.QuoteInput(r.Method)+" is not allowed; use "+allow+".")
	}
}

// Unavailable answers every route when the API is not configured.
func Unavailable(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusServiceUnavailable, "The plugin API is not configured on this server.")
}

// writeJSON writes v with status, HTML left unescaped.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// errorBody is the guide's error shape.
type errorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg})
}

// Error messages the guide fixes.
const (
	msgMissing        = "Missing required fields"
	msgInvalidKey     = "Invalid plugin key"
	msgInvalidRefresh = "Invalid or expired refresh token"
	msgInvalidJWT     = "Invalid, expired, or already used JWT token"
)

// statusOf maps a walletd error code to the status of an answer.
func statusOf(code string) int {
	switch code {
	case walletd.EInvalid, walletd.EInvalidAmount, walletd.EInvalidCurrency:
		return http.StatusBadRequest
	case walletd.EUnauthorized:
		return http.StatusUnauthorized
	case walletd.ENotFound:
		return http.StatusNotFound
	case walletd.EConflict, walletd.EWalletExists, walletd.EIdempotencyConflict:
		return http.StatusConflict
	case walletd.ECurrencyMismatch, walletd.EInsufficientFunds, walletd.EWalletFrozen, walletd.ESpendingLimit, walletd.EKYCRequired:
		return http.StatusUnprocessableEntity
	case walletd.EUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// fail answers err: its message for a domain error, a generic one (and
// a log line) for anything else.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := walletd.ErrorCode(err)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		writeError(w, http.StatusServiceUnavailable, "The request was cancelled or timed out.")
		return
	}
	if code == walletd.EInternal {
		a.cfg.Logger.Error("plugin api internal error", walletd.LogError, err, "path", r.URL.Path)
		writeError(w, http.StatusInternalServerError, "Internal error.")
		return
	}
	writeError(w, statusOf(code), walletd.ErrorMessage(err))
}

// maxBody bounds every request body of the API.
const maxBody = 1 << 20

// readObject reads the body as one JSON object of members, refusing
// malformed JSON, duplicate keys and invalid UTF-8
// (walletd.CheckRawJSON). Unknown members are kept for the caller to
// ignore: plugins may send more than the guide shows. It answers the
// error itself and returns ok false.
func readObject(w http.ResponseWriter, r *http.Request) (map[string]json.RawMessage, []string, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, "The request body is larger than "+strconv.Itoa(maxBody)+" bytes.")
			return nil, nil, false
		}
		writeError(w, http.StatusBadRequest, "The request body could not be read.")
		return nil, nil, false
	}
	m, keys, err := ParseObject(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, walletd.ErrorMessage(err))
		return nil, nil, false
	}
	return m, keys, true
}

// ParseObject parses b as one JSON object and returns its members and
// their keys in the order sent. Returns EInvalid for anything else
// (malformed JSON, another JSON type, trailing data, duplicate keys,
// invalid UTF-8).
func ParseObject(b []byte) (map[string]json.RawMessage, []string, error) {
	if err := walletd.CheckRawJSON("The request body", b); err != nil {
		return nil, nil, walletd.Errorf(walletd.EInvalid, "Invalid JSON: %s", walletd.ErrorMessage(err))
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, walletd.Errorf(walletd.EInvalid, "Invalid JSON: the request body must be a JSON object.")
	} else if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, nil, walletd.Errorf(walletd.EInvalid, "Invalid JSON: the request body must be a JSON object.")
	}
	m := map[string]json.RawMessage{}
	var keys []string
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, nil, walletd.Errorf(walletd.EInvalid, "Invalid JSON.")
		}
		k, _ := kt.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, nil, walletd.Errorf(walletd.EInvalid, "Invalid JSON.")
		}
		if _, dup := m[k]; dup {
			return nil, nil, walletd.Errorf(walletd.EInvalid, "Invalid JSON: the key %s appears twice.", walletd.QuoteInput(k))
		}
		m[k] = v
		keys = append(keys, k)
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, walletd.Errorf(walletd.EInvalid, "Invalid JSON.")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, walletd.Errorf(walletd.EInvalid, "Invalid JSON: the request body must hold exactly one JSON object.")
	}
	return m, keys, nil
}
