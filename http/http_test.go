package http_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestProbesAndMetrics(t *testing.T) {
	s := mustServer(t)
	s.do(t, "GET", "/healthz", "", "Authorization", "").expect(t, 200, "")
	s.do(t, "GET", "/readyz", "", "Authorization", "").expect(t, 200, "")
	w := s.mustWallet(t, "u", "USD")
	s.mustCredit(t, w.ID, "1.00")
	resp, err := http.Get(s.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	text := string(raw)
	for _, want := range []string{
		`walletd_http_requests_total{method="POST",route="/v1/wallets/{id}/credit",status="201"} 1`,
		`walletd_http_request_duration_seconds_bucket`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
