package projections

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the projector's Prometheus collectors.
type Metrics struct {
	Applied       prometheus.Counter   // events applied to the read models
	Skipped       prometheus.Counter   // events delivered again and skipped
	Bad           prometheus.Counter   // events passed over because they could not be used
	Batches       prometheus.Counter   // batches committed
	BatchDuration prometheus.Histogram // one batch's transaction, commit included
	Errors        prometheus.Counter   // NATS or database errors, each followed by a resume
	Lag           prometheus.Gauge     // stream messages not yet applied
	StreamSeq     prometheus.Gauge     // last stream sequence applied
	LedgerSeq     prometheus.Gauge     // ledger seq of the last event applied
	Refused       prometheus.Counter   // stream messages walletd did not write, not applied
}

// NewMetrics makes the projector's collectors and registers them on reg
// (nil: not registered). It panics if they are registered already, like
// prometheus.MustRegister.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Applied: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "walletd_projection_events_applied_total", Help: "Events applied to the read models.",
		}),
		Skipped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "walletd_projection_events_skipped_total", Help: "Events delivered again after they were applied, and skipped.",
		}),
		Bad: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "walletd_projection_events_bad_total", Help: "Events passed over because they could not be decoded or positioned.",
		}),
		Batches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "walletd_projection_batches_total", Help: "Batches applied, each in one transaction.",
		}),
		BatchDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "walletd_projection_batch_duration_seconds", Help: "Duration of one batch's transaction, commit included.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}),
		Errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "walletd_projection_errors_total", Help: "NATS or database errors of the projector, each followed by a resume from the stored position.",
		}),
		Lag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "walletd_projection_lag_events", Help: "Messages in the stream that the read models have not applied yet.",
		}),
		StreamSeq: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "walletd_projection_stream_seq", Help: "Last stream sequence the read models reflect.",
		}),
		LedgerSeq: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "walletd_projection_ledger_seq", Help: "Ledger seq of the last event the read models reflect.",
		}),
		Refused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "walletd_projection_events_refused_total", Help: "Stream messages refused because the relay's MAC does not prove walletd wrote them.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.Applied, m.Skipped, m.Bad, m.Batches, m.BatchDuration, m.Errors, m.Lag, m.StreamSeq, m.LedgerSeq, m.Refused)
	}
	return m
}
