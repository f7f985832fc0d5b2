package http

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/walletd/walletd"
)

type ctxKey int

const ctxRequest ctxKey = iota

// reqState is what the middleware knows of a request, in its context
// under ctxRequest: one context value and one copy of the request for
// both the id and the API key.
type reqState struct {
	id  string
	key *walletd.APIKey // set by authorize
}

func requestID(ctx context.Context) string {
	if st, _ := ctx.Value(ctxRequest).(*reqState); st != nil {
		return st.id
	}
	return ""
}

// APIKeyFrom returns the API key that authenticated the request, or nil.
func APIKeyFrom(ctx context.Context) *walletd.APIKey {
	if st, _ := ctx.Value(ctxRequest).(*reqState); st != nil {
		return st.key
	}
	return nil
}

// statusWriter records the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// instrument wraps every route: request id, body limit, metrics and one
// structured log line per request. route labels the metrics: it must be
// the route's template or another name fixed in the code, never anything
// taken from the request, so that requests cannot add series (see
// routeMetrics.observe).
func (s *Server) instrument(route string, next http.Handler) http.Handler {
	rm := s.Metrics.route(route)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = reqIDs.next()
		}
		w.Header()["X-Request-Id"] = []string{id}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		r = r.WithContext(context.WithValue(r.Context(), ctxRequest, &reqState{id: id}))
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			// A panic in a handler is a bug: answer 500 with no internals,
			// log it with the request id, and keep serving.
			if v := recover(); v != nil {
				if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(v)
				}
				s.Logger.Error("panic in handler", walletd.LogRequestID, id, walletd.LogRoute, route, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				if sw.status == 0 {
					s.Error(sw, r, fmt.Errorf("panic: %v", v))
				}
				rm.observe(r.Method, http.StatusInternalServerError, time.Since(start))
			}
		}()
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		d := time.Since(start)
		rm.observe(r.Method, sw.status, d)
		if level := levelFor(sw.status); s.Logger.Enabled(r.Context(), level) {
			s.logRequest(r, level, route, id, sw, d)
		}
	})
}

// logRequest writes the log line of a request.
func (s *Server) logRequest(r *http.Request, level slog.Level, route, id string, sw *statusWriter, d time.Duration) {
	s.Logger.LogAttrs(r.Context(), level, "request",
		slog.String("method", r.Method), slog.String(walletd.LogRoute, route), slog.String("path", r.URL.Path),
		slog.Int(walletd.LogStatus, sw.status), slog.Duration("duration", d), slog.Int("bytes", sw.bytes),
		slog.String(walletd.LogRequestID, id))
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}

// authorize requires a bearer API key that grants scope.
func (s *Server) authorize(scope string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="walletd"`)
			s.Error(w, r, walletd.Errorf(EUnauthorized, "An API key is required: Authorization: Bearer <key>."))
			return
		}
		key, err := s.auth.lookup(r.Context(), strings.TrimSpace(token))
		if err != nil {
			s.Error(w, r, err)
			return
		} else if key == nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="walletd", error="invalid_token"`)
			s.Error(w, r, walletd.Errorf(EUnauthorized, "The API key is invalid or revoked."))
			return
		}
		if !key.HasScope(scope) {
			s.Error(w, r, walletd.Errorf(EForbidden, "The API key lacks the %q scope.", scope))
			return
		}
		if st, _ := r.Context().Value(ctxRequest).(*reqState); st != nil {
			st.key = key
		} else {
			r = r.WithContext(context.WithValue(r.Context(), ctxRequest, &reqState{key: key}))
		}
		next.ServeHTTP(w, r)
	})
}

// authCache remembers verified tokens for a short time so that the hot path
// does not read the database on every request. Revocations through this
// server take effect at once; elsewhere within authCacheTTL.
type authCache struct {
	keys walletd.APIKeyService
	now  func() time.Time
	mu   sync.RWMutex
	m    map[string]authEntry
}

type authEntry struct {
	key     *walletd.APIKey // nil: known bad
	expires time.Time
}

const authCacheTTL = 10 * time.Second

func newAuthCache(keys walletd.APIKeyService, now func() time.Time) *authCache {
	return &authCache{keys: keys, now: now, m: make(map[string]authEntry)}
}

// lookup returns the active key for token, nil if the token is not valid.
func (c *authCache) lookup(ctx context.Context, token string) (*walletd.APIKey, error) {
	now := c.now()
	c.mu.RLock()
	e, ok := c.m[token]
	c.mu.RUnlock()
	if ok && now.Before(e.expires) {
		return e.key, nil
	}
	id, secret, ok := walletd.SplitToken(token)
	if !ok {
		return nil, nil
	}
	k, err := c.keys.APIKey(ctx, id)
	if walletd.ErrorCode(err) == walletd.ENotFound {
		k = nil
	} else if err != nil {
		return nil, err
	}
	if k != nil && (k.RevokedAt != nil || !k.Matches(secret)) {
		k = nil
	}
	c.mu.Lock()
	if len(c.m) > 10000 { // bound memory against random tokens
		c.m = make(map[string]authEntry)
	}
	c.m[token] = authEntry{key: k, expires: now.Add(authCacheTTL)}
	c.mu.Unlock()
	return k, nil
}

// forget drops cached tokens of key id, after a revocation.
func (c *authCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for t := range c.m {
		if strings.HasPrefix(t, id+".") {
			delete(c.m, t)
		}
	}
}
