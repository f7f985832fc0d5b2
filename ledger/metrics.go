package ledger

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the writer's Prometheus collectors. The writer reports to
// them through WriterConfig.OnCommit (see Metrics.OnCommit).
type Metrics struct {
	BatchSize       prometheus.Histogram // commands per group commit
	CommitDuration  prometheus.Histogram // one group commit, transaction and fsync
	EntriesAppended prometheus.Counter   // ledger entries committed
	CommitErrors    prometheus.Counter   // group commits that failed
}

// NewMetrics makes the writer's collectors and registers them on reg (nil:
// not registered). It panics if they are registered already, like
// prometheus.MustRegister.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		BatchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "walletd_writer_batch_size", Help: "Commands per group commit.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 11),
		}),
		CommitDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "walletd_writer_commit_duration_seconds", Help: "Duration of one group commit: the transaction, and its fsync unless the commit is pipelined (then the fsync runs on the syncer).",
			Buckets: []float64{.0001, .0005, .001, .0025, .005, .01, .025, .05, .1, .25},
		}),
		EntriesAppended: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "walletd_ledger_entries_appended_total", Help: "Ledger entries committed.",
		}),
		CommitErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "walletd_writer_commit_errors_total", Help: "Group commits that failed.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.BatchSize, m.CommitDuration, m.EntriesAppended, m.CommitErrors)
	}
	return m
}

// OnCommit records one group commit attempt; it fits
// WriterConfig.OnCommit.
func (m *Metrics) OnCommit(commands, entries int, d time.Duration, err error) {
	if err != nil {
		m.CommitErrors.Inc()
		return
	}
	m.BatchSize.Observe(float64(commands))
	m.CommitDuration.Observe(d.Seconds())
	m.EntriesAppended.Add(float64(entries))
}

// RegisterWalletCacheMetrics registers the counters of w's wallet cache on
// reg: walletd_writer_wallet_cache_{hits,misses,evictions}_total and the
// gauge walletd_writer_wallet_cache_wallets.
func RegisterWalletCacheMetrics(reg prometheus.Registerer, w *Writer) {
	stat := func(f func(WalletCacheStats) float64) func() float64 {
		return func() float64 { return f(w.WalletCacheStats()) }
	}
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "walletd_writer_wallet_cache_hits_total",
			Help: "Wallet reads of the ledger writer served from its cache."},
			stat(func(s WalletCacheStats) float64 { return float64(s.Hits) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "walletd_writer_wallet_cache_misses_total",
			Help: "Wallet reads of the ledger writer that read ledger.db (--wallet-cache)."},
			stat(func(s WalletCacheStats) float64 { return float64(s.Misses) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "walletd_writer_wallet_cache_evictions_total",
			Help: "Wallets the ledger writer dropped from its cache."},
			stat(func(s WalletCacheStats) float64 { return float64(s.Evictions) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "walletd_writer_wallet_cache_wallets",
			Help: "Wallets the ledger writer holds in memory after its last batch."},
			stat(func(s WalletCacheStats) float64 { return float64(s.Size) })),
	)
}
