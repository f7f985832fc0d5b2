package http

import (
	"net/http"
	"strings"
	"sync"

	"github.com/gorilla/mux"
	"github.com/segmentio/ksuid"
)

// The hot path: the requests a busy walletd answers most, credits and
// debits, skip the router's walk over some sixty regular expressions,
// and request ids cost a counter, not a read of crypto/rand. See
// docs/benchmarks.md (issue 16) for what each step was worth.

// hotRouter dispatches POST /v1/wallets/{id}/credit and …/debit by an
// exact match of the path's shape to the handlers the router has for them
// (the same instrumented, authorized handlers), and everything else to the
// router. A path the router would treat otherwise (not clean, an empty or
// dot segment) is left to it.
type hotRouter struct {
	router *mux.Router
	credit http.Handler // POST /v1/wallets/{id}/credit, as registered
	debit  http.Handler // POST /v1/wallets/{id}/debit
}

// Hot route templates.
const (
	hotCredit = "/v1/wallets/{id}/credit"
	hotDebit  = "/v1/wallets/{id}/debit"
)

// register remembers h if method and path are a hot route's.
func (h *hotRouter) register(method, path string, hh http.Handler) {
	if method != http.MethodPost {
		return
	}
	switch path {
	case hotCredit:
		h.credit = hh
	case hotDebit:
		h.debit = hh
	}
}

func (h *hotRouter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		if id, op, ok := hotWalletPath(r.URL.Path); ok {
			var hh http.Handler
			switch op {
			case "credit":
				hh = h.credit
			case "debit":
				hh = h.debit
			}
			if hh != nil {
				r.SetPathValue("id", id)
				hh.ServeHTTP(w, r)
				return
			}
		}
	}
	h.router.ServeHTTP(w, r)
}

// hotWalletPath splits "/v1/wallets/{id}/{op}" into id and op when the
// path has exactly that shape and gorilla/mux would route it unchanged:
// id one segment, neither empty nor "." or "..".
func hotWalletPath(p string) (id, op string, ok bool) {
	const prefix = "/v1/wallets/"
	if !strings.HasPrefix(p, prefix) {
		return "", "", false
	}
	rest := p[len(prefix):]
	i := strings.IndexByte(rest, '/')
	if i <= 0 {
		return "", "", false
	}
	id, op = rest[:i], rest[i+1:]
	if id == "." || id == ".." || strings.IndexByte(op, '/') >= 0 {
		return "", "", false
	}
	return id, op, true
}

// routeVar returns the path variable name of the request, set by the hot
// path or by the router.
func routeVar(r *http.Request, name string) string {
	if v := r.PathValue(name); v != "" {
		return v
	}
	return mux.Vars(r)[name]
}

// requestIDs makes the ids of requests that bring none: "req_" and a
// KSUID, as before, but from a ksuid.Sequence (a random seed, then up to
// 65,536 ids that differ in their last two bytes), so that only one id in
// 65,536 reads crypto/rand.
type requestIDs struct {
	mu  sync.Mutex
	seq *ksuid.Sequence
}

var reqIDs requestIDs

func (g *requestIDs) next() string {
	g.mu.Lock()
	var id ksuid.KSUID
	var err error
	if g.seq != nil {
		id, err = g.seq.Next()
	}
	if g.seq == nil || err != nil {
		g.seq = &ksuid.Sequence{Seed: ksuid.New()}
		id, _ = g.seq.Next()
	}
	g.mu.Unlock()
	return "req_" + id.String()
}
