package plugin

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Rate limits: a token bucket (golang.org/x/time/rate) per client IP on
// every route, and one per plugin key on the routes that name a key
// before they change anything (generate-token, test with a key,
// order/process once its JWT is read and before it is spent).
// A failed key or token check takes FailCost more tokens from the IP's
// bucket, so guessing keys is slow: with the defaults, an address that
// only fails gets about 1 attempt every 5 seconds once its burst is spent.

// Limits configures the rate limits. Zero fields take the defaults.
type Limits struct {
	PerIP    rate.Limit // requests per second per client IP (default 1)
	IPBurst  int        // default 30
	PerKey   rate.Limit // requests per second per plugin key (default 2)
	KeyBurst int        // default 60
	// FailCost is the extra tokens a failed key or token check takes from
	// the IP's bucket (default 4; at most IPBurst).
	FailCost int
}

func (l Limits) withDefaults() Limits {
	if l.PerIP <= 0 {
		l.PerIP = 1
	}
	if l.IPBurst <= 0 {
		l.IPBurst = 30
	}
	if l.PerKey <= 0 {
		l.PerKey = 2
	}
	if l.KeyBurst <= 0 {
		l.KeyBurst = 60
	}
	if l.FailCost <= 0 {
		l.FailCost = 4
	}
	if l.FailCost > l.IPBurst {
		l.FailCost = l.IPBurst
	}
	return l
}

// limiter keeps one bucket per key. Buckets that are full again are
// dropped once the map grows, so memory stays bounded by the clients
// seen in the last burst/limit seconds.
type limiter struct {
	mu      sync.Mutex
	limit   rate.Limit
	burst   int
	buckets map[string]*rate.Limiter
}

// maxBuckets is the size at which full buckets are swept.
const maxBuckets = 10000

func newLimiter(limit rate.Limit, burst int) *limiter {
	return &limiter{limit: limit, burst: burst, buckets: map[string]*rate.Limiter{}}
}

func (l *limiter) bucket(key string, now time.Time) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxBuckets {
			for k, v := range l.buckets {
				if v.TokensAt(now) >= float64(l.burst) {
					delete(l.buckets, k)
				}
			}
		}
		b = rate.NewLimiter(l.limit, l.burst)
		l.buckets[key] = b
	}
	return b
}

// take takes one token for key at now. When none is left it takes
// nothing and returns how long to wait.
func (l *limiter) take(key string, now time.Time) (bool, time.Duration) {
	r := l.bucket(key, now).ReserveN(now, 1)
	if !r.OK() {
		return false, time.Second
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// charge takes n tokens for key at now even if that leaves the bucket in
// debt: the penalty of a failed check.
func (l *limiter) charge(key string, n int, now time.Time) {
	l.bucket(key, now).ReserveN(now, n)
}

// clientIP is the address the request came from. Forwarding headers are
// not trusted: behind a proxy, every client shares the proxy's bucket
// unless the proxy limits itself (docs/plugin-api.md).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// tooMany answers 429 with Retry-After in whole seconds (at least 1).
func tooMany(w http.ResponseWriter, wait time.Duration) {
	secs := int(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeError(w, http.StatusTooManyRequests, "Rate limit exceeded: retry after "+strconv.Itoa(secs)+" seconds.")
}

// limited applies the per-IP limit to h.
func (a *API) limited(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if ok, wait := a.ipLim.take(clientIP(r), a.cfg.Now()); !ok {
			tooMany(w, wait)
			return
		}
		h(w, r)
	}
}

// keyLimited applies the per-key limit; it answers 429 itself and
// returns false when key is over it.
func (a *API) keyLimited(w http.ResponseWriter, key string) bool {
	if ok, wait := a.keyLim.take(key, a.cfg.Now()); !ok {
		tooMany(w, wait)
		return false
	}
	return true
}

// failed charges the client's IP for a failed key or token check.
func (a *API) failed(r *http.Request) {
	a.ipLim.charge(clientIP(r), a.cfg.Limits.FailCost, a.cfg.Now())
}
