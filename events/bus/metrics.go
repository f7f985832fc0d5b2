package bus

import (
	"github.com/prometheus/client_golang/prometheus"
)

// RelayMetrics are the relay's Prometheus collectors. A nil *RelayMetrics,
// or a nil field, records nothing.
type RelayMetrics struct {
	Published prometheus.Counter  // records acknowledged by the stream
	Lag       prometheus.Observer // seconds from commit to stream ack, per record
	Backlog   prometheus.Gauge    // ledger head seq minus relay position
	Errors    prometheus.Counter  // publish or resume errors, each followed by a resync
	Forged    prometheus.Counter  // stream messages the relay could not prove it wrote
	Alert     prometheus.Gauge    // 1 once a forged message was found
}

// NewRelayMetrics makes the relay's collectors and registers them on reg
// (nil: not registered). It panics if they are registered already, like
// prometheus.MustRegister.
func NewRelayMetrics(reg prometheus.Registerer) *RelayMetrics {
	published := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "walletd_relay_published_total", Help: "Events acknowledged by the JetStream stream.",
	})
	lag := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "walletd_relay_publish_lag_seconds", Help: "Time from commit to JetStream acknowledgement, per event.",
		Buckets: []float64{.001, .0025, .005, .01, .02, .05, .1, .25, .5, 1, 5, 30},
	})
	backlog := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "walletd_relay_backlog_entries", Help: "Committed ledger entries not yet in the JetStream stream.",
	})
	errs := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "walletd_relay_errors_total", Help: "Relay publish or resume errors (each followed by a resync).",
	})
	forged := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "walletd_relay_forged_messages_total", Help: "Stream messages the relay could not prove it wrote (each an alert).",
	})
	alert := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "walletd_relay_alert", Help: "1 once the relay found a message in the stream that walletd did not write.",
	})
	if reg != nil {
		reg.MustRegister(backlog, lag, published, errs, forged, alert)
	}
	return &RelayMetrics{Published: published, Lag: lag, Backlog: backlog, Errors: errs, Forged: forged, Alert: alert}
}

// ConsumerMetrics are the collectors a Consumer updates; either may be
// nil. They belong to the component that owns the Consumer and are named
// after it (walletd_projection_lag_events, walletd_webhook_dispatch_lag_events …).
type ConsumerMetrics struct {
	Errors prometheus.Counter // NATS or applier errors, each followed by a resume
	Lag    prometheus.Gauge   // stream messages not yet applied
	// Refused counts messages with no valid HeaderMAC: not applied.
	Refused prometheus.Counter
	// Recoveries counts recoveries from the ledger (recover.go); see
	// NewRecoveryMetrics.
	Recoveries prometheus.Counter
}
