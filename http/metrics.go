package http

import (
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the HTTP request collectors and the registry /metrics
// serves: a registry of its own, so that tests and several servers in one
// process do not collide. The other components register their own
// collectors on Registry (ledger.NewMetrics, bus.NewRelayMetrics,
// projections.NewMetrics, webhooks.NewMetrics).
type Metrics struct {
	Registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// NewMetrics makes a registry with the HTTP request collectors and the Go
// and process ones.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "walletd_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "walletd_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "method"}),
	}
	m.Registry.MustRegister(m.requests, m.latency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// routeMetrics are a route's request collectors, resolved once per
// method and status label rather than looked up by their label values on
// every request (which hashes the labels and takes the vector's lock).
// The labels are those of observe: the cache holds at most one
// entry per known method and status label.
type routeMetrics struct {
	m     *Metrics
	route string
	obs   sync.Map // routeKey → *routeObserver
}

type routeKey struct{ method, status string }

type routeObserver struct {
	requests prometheus.Counter
	latency  prometheus.Observer
}

// route returns the collectors of route (see observe).
func (m *Metrics) route(route string) *routeMetrics {
	return &routeMetrics{m: m, route: route}
}

// observe records one request of the route. Every label value comes from a
// closed set, so that requests cannot grow the registry: route is a route
// template or a fixed name given by the code ("not_found",
// "method_not_allowed"), never the request's path; the method is one of
// knownMethods or "other"; the status is one of knownStatuses or its
// class ("4xx"). A test sends thousands of made-up methods and paths and
// counts the series (metrics_test.go).
func (rm *routeMetrics) observe(method string, status int, d time.Duration) {
	k := routeKey{methodLabel(method), statusLabel(status)}
	v, ok := rm.obs.Load(k)
	if !ok {
		v, _ = rm.obs.LoadOrStore(k, &routeObserver{
			requests: rm.m.requests.WithLabelValues(rm.route, k.method, k.status),
			latency:  rm.m.latency.WithLabelValues(rm.route, k.method),
		})
	}
	o := v.(*routeObserver)
	o.requests.Inc()
	o.latency.Observe(d.Seconds())
}

// labelOther is the label of every method not in knownMethods and of a
// status outside 100–599.
const labelOther = "other"

// knownMethods are the methods that keep their name in a label. Methods
// are case-sensitive (RFC 9110), so "get" is "other" too.
var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
}

func methodLabel(method string) string {
	if knownMethods[method] {
		return method
	}
	return labelOther
}

// knownStatuses are the statuses that keep their code in a label: those of
// the code→status table and those the handlers, net/http and the
// documentation UI send. Any other status is labelled by its class.
var knownStatuses = func() map[int]string {
	m := map[int]string{}
	for _, c := range []int{200, 201, 202, 204, 206, 301, 302, 304, 307, 308,
		400, 401, 403, 404, 405, 408, 409, 413, 415, 422, 429, 500, 502, 503, 504} {
		m[c] = strconv.Itoa(c)
	}
	for _, c := range codes {
		m[c] = strconv.Itoa(c)
	}
	return m
}()

// statusLabel returns the label of status: its code if known, else its
// class ("4xx"), else "other".
func statusLabel(status int) string {
	if s, ok := knownStatuses[status]; ok {
		return s
	}
	if status >= 100 && status < 600 {
		return strconv.Itoa(status/100) + "xx"
	}
	return labelOther
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}

// levelFor is the level of a request's log line: errors of the server at
// error, refusals (4xx) at info, and successes at debug, so that a server
// at the default level writes no line per successful request, which at
// thousands of writes a second costs more CPU than it is worth (the
// request counters and histograms still count every one).
func levelFor(status int) slog.Level {
	switch {
	case status >= 500:
		return slog.LevelError
	case status >= 400:
		return slog.LevelInfo
	}
	return slog.LevelDebug
}
