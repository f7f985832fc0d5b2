package inbound

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the pipeline's collectors (the seed's monitoring list):
// receptions by gateway and outcome, processing time, the success rate
// and the dead-letter queue's depth. Every label value comes from a
// closed set: the registered gateways, the reception outcomes (Out…) and
// the processing results.
type Metrics struct {
	receptions *prometheus.CounterVec
	results    *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	rate       *prometheus.GaugeVec

	mu     sync.Mutex
	counts map[string][2]int64 // per gateway: settled, succeeded
	depth  func(context.Context) (int64, error)
}

// NewMetrics registers the collectors on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		receptions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "walletd_inbound_receptions_total", Help: "Inbound gateway webhook deliveries by gateway and outcome (accepted, duplicate, invalid_signature, rate_limited …).",
		}, []string{"gateway", "outcome"}),
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "walletd_inbound_processed_total", Help: "Attempts at inbound events by gateway and result (success, error, retry, dead).",
		}, []string{"gateway", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "walletd_inbound_processing_seconds", Help: "Time to process one inbound event (rules and ledger commands).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}, []string{"gateway"}),
		rate: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "walletd_inbound_success_ratio", Help: "Share of settled inbound events that succeeded since start, by gateway (0 to 1).",
		}, []string{"gateway"}),
		counts: map[string][2]int64{},
	}
	dlq := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "walletd_inbound_dead_letters", Help: "Inbound events in the dead-letter queue.",
	}, func() float64 {
		m.mu.Lock()
		f := m.depth
		m.mu.Unlock()
		if f == nil {
			return 0
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		n, _ := f(ctx)
		return float64(n)
	})
	reg.MustRegister(m.receptions, m.results, m.duration, m.rate, dlq)
	return m
}

func (m *Metrics) setDepth(f func(context.Context) (int64, error)) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.depth = f
	m.mu.Unlock()
}

func (m *Metrics) received(gateway, outcome string) {
	if m != nil {
		m.receptions.WithLabelValues(gateway, outcome).Inc()
	}
}

func (m *Metrics) processed(gateway, state string, status int, d time.Duration) {
	if m == nil {
		return
	}
	result := "success"
	switch {
	case state == StatePending:
		result = "retry"
	case state == StateDead:
		result = "dead"
	case status != http.StatusOK:
		result = "error"
	}
	m.results.WithLabelValues(gateway, result).Inc()
	m.duration.WithLabelValues(gateway).Observe(d.Seconds())
	if result == "retry" {
		return
	}
	m.mu.Lock()
	c := m.counts[gateway]
	c[0]++
	if result == "success" {
		c[1]++
	}
	m.counts[gateway] = c
	m.mu.Unlock()
	m.rate.WithLabelValues(gateway).Set(float64(c[1]) / float64(c[0]))
}
