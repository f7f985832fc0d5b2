package http

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are walletd's Prometheus collectors, on a registry of their own
// so that tests and several servers in one process do not collide.
type Metrics struct {
	Registry        *prometheus.Registry
	requests        *prometheus.CounterVec
	latency         *prometheus.HistogramVec
	BatchSize       prometheus.Histogram
	CommitLatency   prometheus.Histogram
	EntriesAppended prometheus.Counter
	CommitErrors    prometheus.Counter

	RelayBacklog   prometheus.Gauge
	RelayLag       prometheus.Histogram
	RelayPublished prometheus.Counter
	RelayErrors    prometheus.Counter
}

// NewMetrics registers walletd's collectors and the Go and process ones.
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
		BatchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "walletd_writer_batch_size", Help: "Commands per group commit.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 11),
		}),
		CommitLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "walletd_writer_commit_duration_seconds", Help: "Duration of one group commit (transaction and fsync).",
			Buckets: []float64{.0001, .0005, .001, .0025, .005, .01, .025, .05, .1, .25},
		}),
		EntriesAppended: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "walletd_ledger_entries_appended_total", Help: "Ledger entries committed.",
		}),
		CommitErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "walletd_writer_commit_errors_total", Help: "Group commits that failed.",
		}),
		RelayBacklog: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "walletd_relay_backlog_entries", Help: "Committed ledger entries not yet in the JetStream stream.",
		}),
		RelayLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "walletd_relay_publish_lag_seconds", Help: "Time from commit to JetStream acknowledgement, per event.",
			Buckets: []float64{.001, .0025, .005, .01, .02, .05, .1, .25, .5, 1, 5, 30},
		}),
		RelayPublished: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "walletd_relay_published_total", Help: "Events acknowledged by the JetStream stream.",
		}),
		RelayErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "walletd_relay_errors_total", Help: "Relay publish or resume errors (each followed by a resync).",
		}),
	}
	m.Registry.MustRegister(m.requests, m.latency, m.BatchSize, m.CommitLatency, m.EntriesAppended, m.CommitErrors,
		m.RelayBacklog, m.RelayLag, m.RelayPublished, m.RelayErrors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// OnCommit records one group commit; it fits ledger.WriterConfig.OnCommit.
func (m *Metrics) OnCommit(commands, entries int, d time.Duration, err error) {
	if err != nil {
		m.CommitErrors.Inc()
		return
	}
	m.BatchSize.Observe(float64(commands))
	m.CommitLatency.Observe(d.Seconds())
	m.EntriesAppended.Add(float64(entries))
}

func (m *Metrics) observeRequest(route, method string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route, method).Observe(d.Seconds())
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}

func levelFor(status int) slog.Level {
	if status >= 500 {
		return slog.LevelError
	}
	return slog.LevelInfo
}
