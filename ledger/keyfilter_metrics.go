package ledger

import "github.com/prometheus/client_golang/prometheus"

// RegisterKeyFilterMetrics registers gauges of w's idempotency key filter
// on reg: whether it is built (until then every key is looked up in
// ledger.db) and the memory its bits take.
func RegisterKeyFilterMetrics(reg prometheus.Registerer, w *Writer) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "walletd_writer_idempotency_filter_built",
			Help: "1 once the ledger writer's idempotency key filter holds every key of the window; 0 while it is built in the background (every key is looked up in ledger.db meanwhile)."},
			func() float64 {
				if w.filter == nil || w.filter.built.Load() {
					return 1
				}
				return 0
			}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "walletd_writer_idempotency_filter_bytes",
			Help: "Memory of the ledger writer's idempotency key filter (at most 32 MiB by default)."},
			func() float64 {
				if w.filter == nil {
					return 0
				}
				return float64(w.filter.size())
			}),
	)
}
