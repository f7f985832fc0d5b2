package http

import (
	"context"
	"sync"
	"time"

	"github.com/walletd/walletd"

	"github.com/prometheus/client_golang/prometheus"
)

// checkoutMetrics are the reset-fee flow's collectors, every label from a
// closed set: reset-fee requests by outcome, payment links by event,
// payment page latency by page, order transitions the pages made by
// status, and the orders of the ledger by status (counted at most every
// orderCountEvery).
type checkoutMetrics struct {
	requests *prometheus.CounterVec
	links    *prometheus.CounterVec
	pages    *prometheus.HistogramVec
	orders   *prometheus.CounterVec
}

var (
	resetFeeOutcomes = []string{"created", "unauthorized", "invalid"}
	linkEvents       = []string{"issued", "spent", "expired", "refused"}
	pageKinds        = []string{"pay", "result", "return", "error"}
	orderStatuses    = []string{walletd.OrderPending, walletd.OrderProcessing, walletd.OrderCompleted, walletd.OrderCancelled, walletd.OrderFailed, walletd.OrderRefunded}
)

// orderCountEvery bounds how often a scrape counts the orders.
const orderCountEvery = 30 * time.Second

func newCheckoutMetrics(m *Metrics, reader walletd.LedgerReader) *checkoutMetrics {
	c := &checkoutMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "walletd_reset_fee_requests_total",
			Help: "Reset-fee requests by outcome: created, unauthorized (a wrong secret key), invalid."}, []string{"outcome"}),
		links: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "walletd_payment_links_total",
			Help: "Payment links by event: issued, spent (first visit), expired (order cancelled unpaid), refused (a visit to an unknown, spent or expired link)."}, []string{"event"}),
		pages: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "walletd_payment_page_duration_seconds",
			Help:    "Time to answer a payment page, by page: pay, result, return, error.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}}, []string{"page"}),
		orders: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "walletd_checkout_orders_total",
			Help: "Orders the reset-fee flow moved, by the status it moved them to."}, []string{"status"}),
	}
	for _, v := range resetFeeOutcomes {
		c.requests.WithLabelValues(v)
	}
	for _, v := range linkEvents {
		c.links.WithLabelValues(v)
	}
	for _, v := range orderStatuses {
		c.orders.WithLabelValues(v)
	}
	if m != nil {
		m.Registry.MustRegister(c.requests, c.links, c.pages, c.orders)
		if reader != nil {
			m.Registry.MustRegister(&orderCounter{reader: reader, desc: prometheus.NewDesc("walletd_orders",
				"Orders of the ledger by status (counted at most every 30 s).", []string{"status"}, nil)})
		}
	}
	return c
}

func oneOf(v string, set []string, other string) string {
	for _, s := range set {
		if s == v {
			return v
		}
	}
	return other
}

func (c *checkoutMetrics) resetFee(outcome string) {
	c.requests.WithLabelValues(oneOf(outcome, resetFeeOutcomes, "invalid")).Inc()
}
func (c *checkoutMetrics) link(event string) {
	c.links.WithLabelValues(oneOf(event, linkEvents, "refused")).Inc()
}
func (c *checkoutMetrics) page(kind string, d time.Duration) {
	c.pages.WithLabelValues(oneOf(kind, pageKinds, "error")).Observe(d.Seconds())
}
func (c *checkoutMetrics) order(status string) {
	if s := oneOf(status, orderStatuses, ""); s != "" {
		c.orders.WithLabelValues(s).Inc()
	}
}

// orderCounter counts the ledger's orders by status when scraped, from
// the stored orders, at most every orderCountEvery.
type orderCounter struct {
	reader walletd.LedgerReader
	desc   *prometheus.Desc
	mu     sync.Mutex
	at     time.Time
	counts map[string]int
}

func (o *orderCounter) Describe(ch chan<- *prometheus.Desc) { ch <- o.desc }

func (o *orderCounter) Collect(ch chan<- prometheus.Metric) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.counts == nil || time.Since(o.at) >= orderCountEvery {
		counts := map[string]int{}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		after := ""
		for {
			page, err := o.reader.Objects(ctx, walletd.ObjShopOrder, after, 1000)
			if err != nil {
				return // keep the last counts; the next scrape tries again
			}
			for _, v := range page {
				if so, ok := v.(*walletd.ShopOrder); ok {
					counts[so.Status]++
					after = walletd.IntKey(so.ID)
				}
			}
			if len(page) < 1000 {
				break
			}
		}
		o.counts, o.at = counts, time.Now()
	}
	for _, s := range orderStatuses {
		ch <- prometheus.MustNewConstMetric(o.desc, prometheus.GaugeValue, float64(o.counts[s]), s)
	}
}
