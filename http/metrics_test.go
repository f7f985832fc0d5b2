package http_test

import (
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestMetrics_BoundedSeries sends 10,000 requests with made-up methods and
// random paths (to a probe, to a route with a parameter and to no route)
// and checks that they add no series to the registry: every label value
// comes from a closed set.
func TestMetrics_BoundedSeries(t *testing.T) {
	s := mustServer(t)
	h := s.Handler()
	rnd := rand.New(rand.NewPCG(1, 2))
	randomToken := func(alphabet string) string {
		b := make([]byte, 1+rnd.IntN(16))
		for i := range b {
			b[i] = alphabet[rnd.IntN(len(alphabet))]
		}
		return string(b)
	}
	const upper, lower = "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz0123456789-_"
	methods := []func() string{
		func() string { return randomToken(upper) },
		func() string { return randomToken(lower) }, // "get" is not GET
		func() string { return "X-" + randomToken(upper+lower) },
	}
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
		methods = append(methods, func() string { return m })
	}
	paths := []func() string{
		func() string { return "/healthz" },
		func() string { return "/v1/wallets/" + randomToken(lower) },
		func() string { return "/v1/wallets/" + randomToken(lower) + "/credit" },
		func() string { return "/" + randomToken(lower) + "/" + randomToken(lower) },
	}
	send := func(method, path func() string) {
		req := httptest.NewRequest("GET", path(), nil)
		req.Method = method()
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	// Warm up: every kind of method on every kind of path, so that the
	// series they make (a known method, "other", 200, 401, 404, 405 …)
	// exist.
	for _, m := range methods {
		for _, p := range paths {
			send(m, p)
		}
	}
	before := countSeries(t, s.Metrics.Registry)
	for i := 0; i < 10000; i++ {
		send(methods[rnd.IntN(len(methods))], paths[rnd.IntN(len(paths))])
	}
	after := countSeries(t, s.Metrics.Registry)
	if after.total != before.total {
		t.Fatalf("series grew from %d to %d: %v", before.total, after.total, after.byName)
	}
	for name, n := range after.byName {
		if strings.HasPrefix(name, "walletd_http_") && n > 100 {
			t.Errorf("%s has %d series", name, n)
		}
	}
	for _, want := range []string{
		`walletd_http_requests_total{method="other",route="method_not_allowed",status="405"}`,
		`walletd_http_requests_total{method="other",route="not_found",status="404"}`,
		`walletd_http_requests_total{method="GET",route="/healthz",status="200"}`,
		`walletd_http_requests_total{method="GET",route="/v1/wallets/{id}",status="401"}`,
	} {
		if !after.has[want] {
			t.Errorf("no series %s", want)
		}
	}
}

type seriesCount struct {
	total  int
	byName map[string]int
	has    map[string]bool // name{labels}, labels in the exposition's order
}

// countSeries gathers reg and counts its series: one per metric and label
// set (a histogram's buckets count as one).
func countSeries(tb testing.TB, reg *prometheus.Registry) seriesCount {
	tb.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	c := seriesCount{byName: map[string]int{}, has: map[string]bool{}}
	for _, mf := range mfs {
		c.total += len(mf.GetMetric())
		c.byName[mf.GetName()] = len(mf.GetMetric())
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			c.has[mf.GetName()+"{"+strings.Join(labels, ",")+"}"] = true
		}
	}
	return c
}
