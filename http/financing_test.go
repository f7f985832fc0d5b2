package http_test

import (
	"testing"
)

// exerciseFinancing drives the financing routes for
// TestOpenAPI_ResponsesMatch: this server has no financing service, so
// they answer 503 (package financing's tests drive them with one, the
// fake provider and the ledger).
func exerciseFinancing(t *testing.T, call func(method, tpl, path, body string, headers ...string) *response) {
	t.Helper()
	for _, op := range []struct{ method, tmpl, path, body string }{
		{"GET", "/v1/financing/settings", "/v1/financing/settings", ""},
		{"PUT", "/v1/financing/settings", "/v1/financing/settings", `{"api_url":"https://api.sandbox.wegetfinancing.com","merchant_id":"1","username":"u","password":"p"}`},
		{"GET", "/v1/financing/requests", "/v1/financing/requests", ""},
		{"GET", "/v1/financing/postbacks", "/v1/financing/postbacks", ""},
		{"POST", "/v1/orders/{order_id}/financing", "/v1/orders/1/financing", ""},
		{"POST", "/v1/topups/{id}/financing", "/v1/topups/top_x/financing", ""},
		{"POST", "/v1/inbound/wegetfinancing", "/v1/inbound/wegetfinancing", `{"request_token":"x","updates":{"status":"approved"}}`},
		{"POST", "/wp-json/odcm/v1/webhooks/wegetfinancing", "/wp-json/odcm/v1/webhooks/wegetfinancing", `{"request_token":"x","updates":{"status":"approved"}}`},
	} {
		call(op.method, op.tmpl, op.path, op.body).expect(t, 503, "unavailable")
	}
}
