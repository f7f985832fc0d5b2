package webhooks

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the webhook collectors. A nil *Metrics records nothing.
type Metrics struct {
	Recorded        prometheus.Counter     // deliveries recorded by the dispatcher
	Attempts        *prometheus.CounterVec // attempts by result (succeeded, retrying, failed, held, suspended, disabled)
	AttemptDuration prometheus.Histogram   // one HTTP attempt, connect to response
	DeliveryLatency prometheus.Histogram   // event in the stream → successful attempt
	QueueDepth      prometheus.Gauge       // pending deliveries
	Held            prometheus.Gauge       // held deliveries (suspended endpoints)
	Endpoints       *prometheus.GaugeVec   // endpoints by status
	DispatchErrors  prometheus.Counter     // dispatcher errors, each followed by a resume
	DispatchLag     prometheus.Gauge       // stream messages not yet recorded
	Refused         prometheus.Counter     // stream messages walletd did not write, not delivered
}

// NewMetrics makes the collectors and registers them on reg (nil: not
// registered). It panics if they are registered already.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Recorded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "walletd_webhook_deliveries_recorded_total", Help: "Deliveries recorded by the dispatcher (one per matching endpoint and event).",
		}),
		Attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "walletd_webhook_attempts_total", Help: "Delivery attempts by result: succeeded, retrying, failed, held, suspended, disabled.",
		}, []string{"result"}),
		AttemptDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "walletd_webhook_attempt_duration_seconds", Help: "Duration of one delivery attempt, from connect to the response status.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		DeliveryLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "walletd_webhook_delivery_latency_seconds", Help: "From the event entering the stream to its successful delivery (retries included), per endpoint.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 3600},
		}),
		QueueDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "walletd_webhook_queue_depth", Help: "Deliveries pending (due now or waiting for a retry).",
		}),
		Held: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "walletd_webhook_held_deliveries", Help: "Deliveries held for suspended endpoints.",
		}),
		Endpoints: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "walletd_webhook_endpoints", Help: "Webhook endpoints by status (active, disabled, suspended).",
		}, []string{"status"}),
		DispatchErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "walletd_webhook_dispatch_errors_total", Help: "NATS or database errors of the dispatcher, each followed by a resume.",
		}),
		DispatchLag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "walletd_webhook_dispatch_lag_events", Help: "Stream messages the dispatcher has not recorded yet.",
		}),
		Refused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "walletd_webhook_events_refused_total", Help: "Stream messages refused because the relay's MAC does not prove walletd wrote them.",
		}),
	}
	for _, r := range []string{ResultSucceeded, ResultRetrying, ResultFailed, ResultHeld, ResultSuspended, ResultDisabled} {
		m.Attempts.WithLabelValues(r)
	}
	for _, st := range []string{StatusActive, StatusDisabled, StatusSuspended} {
		m.Endpoints.WithLabelValues(st)
	}
	if reg != nil {
		reg.MustRegister(m.Recorded, m.Attempts, m.AttemptDuration, m.DeliveryLatency, m.QueueDepth, m.Held,
			m.Endpoints, m.DispatchErrors, m.DispatchLag, m.Refused)
	}
	return m
}
