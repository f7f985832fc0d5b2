// Package health measures how far the parts that follow the ledger (the
// relay that publishes it, the consumers that apply the stream) are behind
// its head, for /readyz and for the lag metrics.
//
// A part is behind by the entries the ledger has committed after the last
// one the part has handled, and by the seconds since the first of those
// was committed (0 when it is caught up). /readyz is not ready while any
// part is behind by more than the configured bound, in entries or seconds.
package health

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Default bounds: a part further behind than either makes /readyz 503.
const (
	DefaultMaxLagEntries = 100_000
	DefaultMaxLag        = 10 * time.Second
)

// Component is one part that follows the ledger.
type Component struct {
	// Name labels the part in /readyz and in the metrics ("relay",
	// "projector", "webhooks"): a fixed set chosen at start-up.
	Name string
	// Seq returns the ledger seq of the last entry the part has handled.
	Seq func() uint64
}

// Lag is how far one part is behind the ledger's head.
type Lag struct {
	Component string  `json:"component"`
	Seq       uint64  `json:"seq"`     // last ledger seq handled
	Entries   uint64  `json:"entries"` // entries committed after it
	Seconds   float64 `json:"seconds"` // since the first of those was committed
	Behind    bool    `json:"behind"`  // further than the bound
}

// Checker measures the lag of its components against the ledger.
type Checker struct {
	// Head returns the seq of the ledger's last entry.
	Head func(ctx context.Context) (uint64, error)
	// CommittedAt returns when the entry seq was committed.
	CommittedAt func(ctx context.Context, seq uint64) (time.Time, error)
	Components  []Component
	// MaxLagEntries and MaxLag bound a ready part's lag; 0 takes the
	// defaults, a negative value turns the bound off.
	MaxLagEntries int64
	MaxLag        time.Duration
	Now           func() time.Time
}

// Check measures every component. ready is false when any is behind by
// more than the bounds.
func (c *Checker) Check(ctx context.Context) (lags []Lag, ready bool, err error) {
	head, err := c.Head(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("health: ledger head: %w", err)
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	maxEntries, maxLag := c.MaxLagEntries, c.MaxLag
	if maxEntries == 0 {
		maxEntries = DefaultMaxLagEntries
	}
	if maxLag == 0 {
		maxLag = DefaultMaxLag
	}
	ready = true
	times := map[uint64]time.Time{}
	for _, comp := range c.Components {
		l := Lag{Component: comp.Name, Seq: comp.Seq()}
		if l.Seq < head {
			l.Entries = head - l.Seq
			t, ok := times[l.Seq+1]
			if !ok {
				if t, err = c.CommittedAt(ctx, l.Seq+1); err != nil {
					return nil, false, fmt.Errorf("health: entry %d: %w", l.Seq+1, err)
				}
				times[l.Seq+1] = t
			}
			l.Seconds = max(now().Sub(t).Seconds(), 0)
		}
		l.Behind = (maxEntries > 0 && l.Entries > uint64(maxEntries)) || (maxLag > 0 && l.Seconds > maxLag.Seconds())
		if l.Behind {
			ready = false
		}
		lags = append(lags, l)
	}
	return lags, ready, nil
}

// Describe returns the lag of the parts that are behind, for a message.
func Describe(lags []Lag) string {
	var parts []string
	for _, l := range lags {
		if l.Behind {
			parts = append(parts, fmt.Sprintf("%s is %d entries (%.1f s) behind the ledger", l.Component, l.Entries, l.Seconds))
		}
	}
	return strings.Join(parts, "; ")
}

var (
	lagEntriesDesc = prometheus.NewDesc("walletd_lag_entries",
		"Ledger entries committed after the last one the component has handled.", []string{"component"}, nil)
	lagSecondsDesc = prometheus.NewDesc("walletd_lag_seconds",
		"Seconds since the first ledger entry the component has not handled was committed (0 when caught up).", []string{"component"}, nil)
)

// Describe implements prometheus.Collector.
func (c *Checker) Describe(ch chan<- *prometheus.Desc) {
	ch <- lagEntriesDesc
	ch <- lagSecondsDesc
}

// Collect implements prometheus.Collector: the lag is measured at every
// scrape. A scrape during which the ledger does not answer reports none.
func (c *Checker) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	lags, _, err := c.Check(ctx)
	if err != nil {
		return
	}
	for _, l := range lags {
		ch <- prometheus.MustNewConstMetric(lagEntriesDesc, prometheus.GaugeValue, float64(l.Entries), l.Component)
		ch <- prometheus.MustNewConstMetric(lagSecondsDesc, prometheus.GaugeValue, l.Seconds, l.Component)
	}
}
