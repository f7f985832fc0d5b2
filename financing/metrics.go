package financing

import (
	"slices"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the financing collectors; their labels take closed sets of
// values only. A nil *Metrics records nothing.
type Metrics struct {
	Requests      *prometheus.CounterVec // requests by outcome
	Postbacks     *prometheus.CounterVec // verified postbacks by status
	Outcomes      *prometheus.CounterVec // applied postbacks by state
	Verification  *prometheus.CounterVec // refused postbacks by reason
	RequestTiming prometheus.Histogram   // one provider call
}

// Request outcomes.
const (
	ReqCreated  = "created"        // the provider made a request
	ReqReused   = "reused"         // the stored request was answered
	ReqRefused  = "provider_error" // the provider answered an error
	ReqNoAnswer = "no_answer"      // timeout, transport error or an answer that is not the protocol's
)

// Verification failure reasons.
const (
	RefusedSignature = "signature" // headers missing, malformed, outside the window or not matching
	RefusedPayload   = "payload"   // signed, but not a postback walletd can read
	RefusedUnset     = "not_configured"
)

var requestOutcomes = []string{ReqCreated, ReqReused, ReqRefused, ReqNoAnswer}

// statusLabel returns the status label of a postback status: one of
// Statuses, or "other".
func statusLabel(s string) string {
	if slices.Contains(Statuses, s) {
		return s
	}
	return "other"
}

// NewMetrics makes the collectors and registers them on reg (nil: not
// registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "walletd_financing_requests_total", Help: "Financing requests by outcome: created, reused, provider_error, no_answer.",
		}, []string{"outcome"}),
		Postbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "walletd_financing_postbacks_total", Help: "Verified financing postbacks by status (approved, preapproved, rejected, cancelled, refund, other).",
		}, []string{"status"}),
		Outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "walletd_financing_postback_outcomes_total", Help: "Attempts at applying postbacks by resulting state: applied, ignored, review, retrying.",
		}, []string{"state"}),
		Verification: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "walletd_financing_postback_verification_failures_total", Help: "Postbacks refused: signature, payload, not_configured.",
		}, []string{"reason"}),
		RequestTiming: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "walletd_financing_request_duration_seconds", Help: "Duration of one call of the provider's create-request API.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
	}
	for _, o := range requestOutcomes {
		m.Requests.WithLabelValues(o)
	}
	for _, s := range append(slices.Clone(Statuses), "other") {
		m.Postbacks.WithLabelValues(s)
	}
	for _, s := range []string{StateApplied, StateIgnored, StateReview, StateRetrying} {
		m.Outcomes.WithLabelValues(s)
	}
	for _, r := range []string{RefusedSignature, RefusedPayload, RefusedUnset} {
		m.Verification.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.Requests, m.Postbacks, m.Outcomes, m.Verification, m.RequestTiming)
	}
	return m
}

func (m *Metrics) request(outcome string) {
	if m != nil {
		m.Requests.WithLabelValues(outcome).Inc()
	}
}

// Postback counts a postback's decision by status (at its first
// attempt).
func (m *Metrics) Postback(status string) {
	if m != nil {
		m.Postbacks.WithLabelValues(statusLabel(status)).Inc()
	}
}

// Outcome counts an attempt at applying a postback by its outcome state.
func (m *Metrics) Outcome(state string) {
	if m != nil {
		m.Outcomes.WithLabelValues(state).Inc()
	}
}

// Refused counts a postback refused before it was recorded, by reason.
func (m *Metrics) Refused(reason string) {
	if m != nil {
		m.Verification.WithLabelValues(reason).Inc()
	}
}
