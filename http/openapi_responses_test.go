package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	whttp "github.com/walletd/walletd/http"
)

// TestOpenAPI_ResponsesMatch drives a real server through every operation
// and checks each answer against the document: the route is documented,
// the status is documented for the operation, the media type is the
// documented one, and kin-openapi's openapi3filter.ValidateResponse finds
// the headers and the body valid; the body has no undocumented field.
func TestOpenAPI_ResponsesMatch(t *testing.T) {
	doc := loadOpenAPI(t).doc
	s := mustServer(t)
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	seen := map[string]bool{}
	call := func(method, tpl, path, body string, headers ...string) *response {
		t.Helper()
		r := s.do(t, method, path, body, headers...)
		name := fmt.Sprintf("%s %s → %d", method, tpl, r.Status)
		seen[method+" "+tpl] = true
		req := httptest.NewRequest(method, path, nil)
		route, params, err := router.FindRoute(req)
		if err != nil {
			t.Errorf("%s: operation not documented: %v", name, err)
			return r
		} else if route.Path != tpl {
			t.Errorf("%s: %s is documented as %s", name, path, route.Path)
			return r
		}
		resp := route.Operation.Responses.Value(strconv.Itoa(r.Status))
		if resp == nil {
			t.Errorf("%s: status not documented (%s)", name, r.Raw)
			return r
		}
		if tpl != "/metrics" && r.Header.Get("X-Request-Id") == "" {
			t.Errorf("%s: no X-Request-Id", name)
		}
		if r.Header.Get("Idempotent-Replayed") != "" && resp.Value.Headers["Idempotent-Replayed"] == nil {
			t.Errorf("%s: Idempotent-Replayed is not documented", name)
		}
		ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
		media := resp.Value.Content[ct]
		if media == nil {
			t.Errorf("%s: Content-Type %q is not documented", name, ct)
			return r
		}
		err = openapi3filter.ValidateResponse(ctx, &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
			Status:                 r.Status,
			Header:                 r.Header,
			Body:                   io.NopCloser(bytes.NewReader(r.Raw)),
			Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
		})
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if ct == "application/json" {
			var v any
			if err := json.Unmarshal(r.Raw, &v); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			for _, e := range undocumented(name, media.Schema.Value, v) {
				t.Error(e)
			}
		}
		return r
	}
	id := func(r *response) string {
		var v struct{ ID string }
		r.data(t, &v)
		return v.ID
	}

	call("GET", "/healthz", "/healthz", "", "Authorization", "")
	call("GET", "/readyz", "/readyz", "", "Authorization", "")
	call("GET", "/metrics", "/metrics", "", "Authorization", "")

	a := id(call("POST", "/v1/wallets", "/v1/wallets", `{"user_id":"cus_1042","email":"ana@example.com","currency":"USD"}`, "Idempotency-Key", "open-1"))
	call("POST", "/v1/wallets", "/v1/wallets", `{"user_id":"cus_1042","email":"ana@example.com","currency":"USD"}`, "Idempotency-Key", "open-1")
	b := id(call("POST", "/v1/wallets", "/v1/wallets", `{"user_id":"cus_2077","email":"ben@example.com","currency":"USD"}`))
	eur := id(call("POST", "/v1/wallets", "/v1/wallets", `{"user_id":"cus_2077","email":"ben@example.com","currency":"EUR"}`))
	jpy := id(call("POST", "/v1/wallets", "/v1/wallets", `{"user_id":"cus_1042","email":"ana@example.com","currency":"JPY"}`))
	kwd := id(call("POST", "/v1/wallets", "/v1/wallets", `{"user_id":"cus_1042","email":"ana@example.com","currency":"KWD"}`))
	call("POST", "/v1/wallets", "/v1/wallets", `{"user_id":"cus_1042","email":"ana@example.com","currency":"USD"}`).expect(t, 409, "wallet_exists")
	call("POST", "/v1/wallets", "/v1/wallets", `{"user_id":"x","email":"x@example.com","currency":"XXX"}`).expect(t, 400, "invalid_currency")
	call("POST", "/v1/wallets", "/v1/wallets", `{"user_id":"x","email":"x@example.com","currency":"USD","admin":true}`).expect(t, 400, "invalid_json")
	call("POST", "/v1/wallets", "/v1/wallets", `{"user_id":"`+strings.Repeat("a", 2<<20)+`"}`).expect(t, 413, "body_too_large")
	call("POST", "/v1/wallets", "/v1/wallets", `{}`, "Authorization", "").expect(t, 401, "unauthorized")

	call("GET", "/v1/wallets", "/v1/wallets?user_id=cus_1042&limit=2", "").expect(t, 200, "")
	call("GET", "/v1/wallets", "/v1/wallets?limit=0", "").expect(t, 400, "invalid_request")
	call("GET", "/v1/wallets/{id}", "/v1/wallets/"+a, "").expect(t, 200, "")
	call("GET", "/v1/wallets/{id}", "/v1/wallets/wal_nope", "").expect(t, 404, "not_found")

	credit := `{"amount":"49.25","type":"topup","reason":"Card top-up","order_id":"1204","metadata":{"gateway":"stripe"}}`
	call("POST", "/v1/wallets/{id}/credit", "/v1/wallets/"+a+"/credit", credit, "Idempotency-Key", "topup-1204").expect(t, 201, "")
	if r := call("POST", "/v1/wallets/{id}/credit", "/v1/wallets/"+a+"/credit", credit, "Idempotency-Key", "topup-1204"); r.Header.Get("Idempotent-Replayed") != "true" {
		t.Error("replay lacks Idempotent-Replayed")
	}
	call("POST", "/v1/wallets/{id}/credit", "/v1/wallets/"+a+"/credit", `{"amount":"50.00"}`, "Idempotency-Key", "topup-1204").expect(t, 409, "idempotency_conflict")
	call("POST", "/v1/wallets/{id}/credit", "/v1/wallets/"+jpy+"/credit", `{"amount":"500","type":"cashback"}`).expect(t, 201, "")
	call("POST", "/v1/wallets/{id}/credit", "/v1/wallets/"+kwd+"/credit", `{"amount":"0.001"}`).expect(t, 201, "")
	call("POST", "/v1/wallets/{id}/credit", "/v1/wallets/"+a+"/credit", `{"amount":"0.001"}`).expect(t, 400, "invalid_amount")
	call("POST", "/v1/wallets/{id}/credit", "/v1/wallets/wal_nope/credit", `{"amount":"1.00"}`).expect(t, 404, "not_found")
	call("POST", "/v1/wallets/{id}/debit", "/v1/wallets/"+a+"/debit", `{"amount":"9.25","type":"order_payment","order_id":"1311"}`).expect(t, 201, "")
	call("POST", "/v1/wallets/{id}/debit", "/v1/wallets/"+a+"/debit", `{"amount":"1000.00"}`).expect(t, 422, "insufficient_funds")

	call("POST", "/v1/transfers", "/v1/transfers", mustJSON(map[string]any{"from_wallet_id": a, "to_wallet_id": b, "amount": "12.50", "note": "Lunch split", "metadata": map[string]string{"k": "v"}})).expect(t, 201, "")
	call("POST", "/v1/transfers", "/v1/transfers", mustJSON(map[string]string{"from_wallet_id": a, "to_wallet_id": eur, "amount": "1.00"})).expect(t, 422, "currency_mismatch")
	call("POST", "/v1/transfers", "/v1/transfers", mustJSON(map[string]string{"from_wallet_id": a, "to_wallet_id": "wal_nope", "amount": "1.00"})).expect(t, 404, "not_found")

	call("POST", "/v1/wallets/{id}/freeze", "/v1/wallets/"+b+"/freeze", `{"reason":"Chargeback under review"}`).expect(t, 201, "")
	call("POST", "/v1/wallets/{id}/freeze", "/v1/wallets/"+b+"/freeze", ``).expect(t, 409, "conflict")
	call("POST", "/v1/wallets/{id}/debit", "/v1/wallets/"+b+"/debit", `{"amount":"1.00"}`).expect(t, 422, "wallet_frozen")
	call("POST", "/v1/wallets/{id}/unfreeze", "/v1/wallets/"+b+"/unfreeze", ``).expect(t, 201, "")
	call("POST", "/v1/wallets/{id}/unfreeze", "/v1/wallets/wal_nope/unfreeze", ``).expect(t, 404, "not_found")

	// Reach the first signed checkpoint (every 100 entries in tests).
	for i := 0; i < 100; i++ {
		s.mustCredit(t, a, "1.00")
	}
	call("GET", "/v1/ledger/entries", "/v1/ledger/entries?limit=3&after_seq=5", "").expect(t, 200, "")
	call("GET", "/v1/ledger/entries", "/v1/ledger/entries?after_seq=-1", "").expect(t, 400, "invalid_request")
	if r := call("GET", "/v1/ledger/checkpoints", "/v1/ledger/checkpoints", ""); !strings.Contains(string(r.Raw), `"seq":100`) {
		t.Errorf("no checkpoint to check: %s", r.Raw)
	}
	call("GET", "/v1/ledger/verify", "/v1/ledger/verify", "").expect(t, 200, "")

	r := call("POST", "/v1/api-keys", "/v1/api-keys", `{"name":"reporting","scopes":["wallets:read"]}`)
	r.expect(t, 201, "")
	var key struct{ ID, Token string }
	r.data(t, &key)
	call("POST", "/v1/api-keys", "/v1/api-keys", `{"name":"x","scopes":["root"]}`).expect(t, 400, "invalid_request")
	call("GET", "/v1/wallets/{id}", "/v1/wallets/"+a, "", "Authorization", "Bearer "+key.Token).expect(t, 200, "")
	call("POST", "/v1/wallets/{id}/debit", "/v1/wallets/"+a+"/debit", `{"amount":"1.00"}`, "Authorization", "Bearer "+key.Token).expect(t, 403, "forbidden")
	call("DELETE", "/v1/api-keys/{id}", "/v1/api-keys/"+key.ID, "").expect(t, 200, "")
	call("DELETE", "/v1/api-keys/{id}", "/v1/api-keys/"+key.ID, "").expect(t, 404, "not_found")
	admin, _, _ := strings.Cut(s.Admin, ".")
	call("DELETE", "/v1/api-keys/{id}", "/v1/api-keys/"+admin, "").expect(t, 409, "conflict")
	call("GET", "/v1/api-keys", "/v1/api-keys", "").expect(t, 200, "") // with a revoked key

	// The wallet features (topup_test.go, withdrawal_test.go, order_test.go … drive them in depth).
	topups := "/v1/wallets/" + a + "/topups"
	topBody := `{"amount":"25.00","method":"card","external_ref":"pi_3PqL2xKZ"}`
	top := id(call("POST", "/v1/wallets/{id}/topups", topups, topBody, "Idempotency-Key", "top-1"))
	if r := call("POST", "/v1/wallets/{id}/topups", topups, topBody, "Idempotency-Key", "top-1"); r.Header.Get("Idempotent-Replayed") != "true" {
		t.Error("top-up replay lacks Idempotent-Replayed")
	}
	call("POST", "/v1/wallets/{id}/topups", topups, `{"amount":"0.001","method":"card"}`).expect(t, 400, "invalid_amount")
	call("POST", "/v1/wallets/{id}/topups", "/v1/wallets/wal_nope/topups", `{"amount":"1","method":"card"}`).expect(t, 404, "not_found")
	call("GET", "/v1/topups/{id}", "/v1/topups/"+top, "").expect(t, 200, "")
	call("GET", "/v1/topups/{id}", "/v1/topups/top_nope", "").expect(t, 404, "not_found")
	call("POST", "/v1/topups/{id}/complete", "/v1/topups/"+top+"/complete", `{}`).expect(t, 200, "")
	call("POST", "/v1/topups/{id}/complete", "/v1/topups/"+top+"/complete", ``).expect(t, 409, "conflict")
	top2 := id(call("POST", "/v1/wallets/{id}/topups", topups, `{"amount":"5","method":"card"}`))
	call("POST", "/v1/topups/{id}/fail", "/v1/topups/"+top2+"/fail", `{"reason":"Card declined"}`).expect(t, 200, "")
	call("POST", "/v1/topups/{id}/fail", "/v1/topups/"+top2+"/fail", ``).expect(t, 409, "conflict")

	withdrawals := "/v1/wallets/" + a + "/withdrawals"
	wdr := id(call("POST", "/v1/wallets/{id}/withdrawals", withdrawals, `{"amount":"30.00","method":"bank_transfer","destination":"DE89 3704 0044 0532 0130 00"}`))
	call("POST", "/v1/wallets/{id}/withdrawals", withdrawals, `{"amount":"100000.00","method":"bank_transfer"}`).expect(t, 422, "insufficient_funds")
	call("GET", "/v1/withdrawals/{id}", "/v1/withdrawals/"+wdr, "").expect(t, 200, "")
	call("GET", "/v1/withdrawals/{id}", "/v1/withdrawals/wdr_nope", "").expect(t, 404, "not_found")
	call("POST", "/v1/withdrawals/{id}/approve", "/v1/withdrawals/"+wdr+"/approve", ``).expect(t, 200, "")
	call("POST", "/v1/withdrawals/{id}/approve", "/v1/withdrawals/"+wdr+"/approve", `{}`).expect(t, 409, "conflict")
	wdr2 := id(call("POST", "/v1/wallets/{id}/withdrawals", withdrawals, `{"amount":"20","method":"bank_transfer"}`))
	call("POST", "/v1/withdrawals/{id}/reject", "/v1/withdrawals/"+wdr2+"/reject", `{"reason":"Account holder name does not match"}`).expect(t, 200, "")
	call("POST", "/v1/withdrawals/{id}/reject", "/v1/withdrawals/"+wdr2+"/reject", ``).expect(t, 409, "conflict")

	limits := "/v1/wallets/" + a + "/limits"
	call("PUT", "/v1/wallets/{id}/limits", limits, `{"per_transaction":"100","daily":"250","monthly":null}`).expect(t, 200, "")
	call("PUT", "/v1/wallets/{id}/limits", limits, `{"daily":"1e400"}`).expect(t, 400, "invalid_amount")
	call("PUT", "/v1/wallets/{id}/limits", "/v1/wallets/wal_nope/limits", `{}`).expect(t, 404, "not_found")
	call("GET", "/v1/wallets/{id}/limits", limits, "").expect(t, 200, "")
	call("GET", "/v1/wallets/{id}/limits", "/v1/wallets/wal_nope/limits", "").expect(t, 404, "not_found")
	call("POST", "/v1/wallets/{id}/debit", "/v1/wallets/"+a+"/debit", `{"amount":"100.01"}`).expect(t, 422, "spending_limit_exceeded")
	call("GET", "/v1/wallets/{id}", "/v1/wallets/"+a, "").expect(t, 200, "")
	call("PUT", "/v1/wallets/{id}/limits", limits, `{}`).expect(t, 200, "")

	call("GET", "/v1/settings/kyc", "/v1/settings/kyc", "").expect(t, 404, "not_found")
	call("PUT", "/v1/settings/kyc", "/v1/settings/kyc", `{"threshold":"100","cumulative_threshold":"5000","currency":"USD"}`).expect(t, 200, "")
	call("PUT", "/v1/settings/kyc", "/v1/settings/kyc", `{"threshold":"100","currency":"XXX"}`).expect(t, 400, "invalid_currency")
	call("GET", "/v1/settings/kyc", "/v1/settings/kyc?currency=USD", "").expect(t, 200, "")
	call("GET", "/v1/settings/kyc", "/v1/settings/kyc?currency=XXX", "").expect(t, 400, "invalid_currency")
	call("POST", "/v1/wallets/{id}/withdrawals", withdrawals, `{"amount":"100.01","method":"bank_transfer"}`).expect(t, 422, "kyc_required")
	call("PUT", "/v1/wallets/{id}/kyc", "/v1/wallets/"+a+"/kyc", `{"status":"verified"}`).expect(t, 200, "")
	call("PUT", "/v1/wallets/{id}/kyc", "/v1/wallets/"+a+"/kyc", `{"status":"approved"}`).expect(t, 400, "invalid_request")
	call("PUT", "/v1/wallets/{id}/kyc", "/v1/wallets/wal_nope/kyc", `{"status":"verified"}`).expect(t, 404, "not_found")

	reload := "/v1/wallets/" + b + "/auto-reload"
	call("PUT", "/v1/wallets/{id}/auto-reload", reload, `{"threshold":"20","amount":"50","method":"card"}`).expect(t, 200, "")
	call("PUT", "/v1/wallets/{id}/auto-reload", reload, `{"amount":"50"}`).expect(t, 400, "invalid_amount")
	call("POST", "/v1/wallets/{id}/debit", "/v1/wallets/"+b+"/debit", `{"amount":"1.00"}`).expect(t, 201, "")
	if r := call("GET", "/v1/wallets/{id}/auto-reload", reload, ""); !strings.Contains(string(r.Raw), "pending_topup_id") {
		t.Errorf("no pending auto-reload top-up: %s", r.Raw)
	}
	call("GET", "/v1/wallets/{id}/auto-reload", "/v1/wallets/wal_nope/auto-reload", "").expect(t, 404, "not_found")
	call("DELETE", "/v1/wallets/{id}/auto-reload", reload, "").expect(t, 200, "")
	call("DELETE", "/v1/wallets/{id}/auto-reload", reload, "").expect(t, 404, "not_found")

	code := id(call("POST", "/v1/redemption-codes", "/v1/redemption-codes", `{"code":"WELCOME-10","amount":"10","currency":"USD","max_redemptions":1000,"per_user_once":true,"expires_at":"2099-12-31T23:59:59Z"}`))
	call("POST", "/v1/redemption-codes", "/v1/redemption-codes", `{"amount":"25","currency":"USD","max_redemptions":1}`).expect(t, 201, "")
	call("POST", "/v1/redemption-codes", "/v1/redemption-codes", `{"code":"welcome-10","amount":"1","currency":"USD","max_redemptions":1}`).expect(t, 409, "conflict")
	call("POST", "/v1/redemption-codes", "/v1/redemption-codes", `{"amount":"1","currency":"USD","max_redemptions":"1"}`).expect(t, 400, "invalid_json")
	call("GET", "/v1/redemption-codes/{id}", "/v1/redemption-codes/"+code, "").expect(t, 200, "")
	call("GET", "/v1/redemption-codes/{id}", "/v1/redemption-codes/rdc_nope", "").expect(t, 404, "not_found")
	call("POST", "/v1/wallets/{id}/redeem", "/v1/wallets/"+a+"/redeem", `{"code":"welcome-10"}`).expect(t, 201, "")
	call("POST", "/v1/wallets/{id}/redeem", "/v1/wallets/"+a+"/redeem", `{"code":"welcome-10"}`).expect(t, 422, "code_already_redeemed")
	call("POST", "/v1/wallets/{id}/redeem", "/v1/wallets/"+eur+"/redeem", `{"code":"welcome-10"}`).expect(t, 422, "currency_mismatch")
	call("POST", "/v1/wallets/{id}/redeem", "/v1/wallets/"+a+"/redeem", `{"code":"NOPE-NOPE"}`).expect(t, 404, "not_found")

	call("POST", "/v1/cashback-rules", "/v1/cashback-rules", `{"percent":"5","max_amount":"10","min_order_total":"20"}`).expect(t, 201, "")
	call("POST", "/v1/cashback-rules", "/v1/cashback-rules", `{"percent":"0"}`).expect(t, 400, "invalid_request")
	call("GET", "/v1/cashback-rules", "/v1/cashback-rules?limit=10", "").expect(t, 200, "")
	call("GET", "/v1/cashback-rules", "/v1/cashback-rules?limit=0", "").expect(t, 400, "invalid_request")
	call("POST", "/v1/milestones", "/v1/milestones", `{"name":"Tenth order","metric":"order_count","threshold":10,"reward":"3"}`).expect(t, 201, "")
	call("POST", "/v1/milestones", "/v1/milestones", `{"name":"Big spender","metric":"lifetime_spend","threshold":"100","reward":"5","currency":"USD"}`).expect(t, 201, "")
	call("POST", "/v1/milestones", "/v1/milestones", `{"name":"x","metric":"visits","threshold":"1","reward":"1"}`).expect(t, 400, "invalid_request")
	call("GET", "/v1/milestones", "/v1/milestones?limit=1", "").expect(t, 200, "")
	call("GET", "/v1/settings/referrals", "/v1/settings/referrals", "").expect(t, 404, "not_found")
	call("PUT", "/v1/settings/referrals", "/v1/settings/referrals", `{"referrer_reward":"7","referee_reward":"4","min_order_total":"20"}`).expect(t, 200, "")
	call("PUT", "/v1/settings/referrals", "/v1/settings/referrals", `{"referrer_reward":"0"}`).expect(t, 400, "invalid_amount")
	call("GET", "/v1/settings/referrals", "/v1/settings/referrals?currency=USD", "").expect(t, 200, "")
	call("POST", "/v1/referrals", "/v1/referrals", `{"referrer_user_id":"cus_2077","referee_user_id":"cus_1042"}`).expect(t, 201, "")
	call("POST", "/v1/referrals", "/v1/referrals", `{"referrer_user_id":"cus_3000","referee_user_id":"cus_1042"}`).expect(t, 409, "conflict")
	call("GET", "/v1/referrals/{referee_user_id}", "/v1/referrals/cus_1042", "").expect(t, 200, "")

	order := `{"user_id":"cus_1042","total":"120.00","currency":"USD","items":[{"sku":"TSHIRT-M","qty":2}]}`
	call("POST", "/v1/orders/{order_id}/complete", "/v1/orders/1204/complete", order).expect(t, 201, "")
	call("POST", "/v1/orders/{order_id}/complete", "/v1/orders/1204/complete", order).expect(t, 200, "")
	call("POST", "/v1/orders/{order_id}/complete", "/v1/orders/1204/complete", `{"user_id":"cus_1042","total":"121.00","currency":"USD"}`).expect(t, 409, "conflict")
	call("POST", "/v1/orders/{order_id}/complete", "/v1/orders/1205/complete", `{"user_id":"nobody","total":"1","currency":"USD"}`).expect(t, 404, "not_found")
	call("GET", "/v1/referrals/{referee_user_id}", "/v1/referrals/cus_1042", "").expect(t, 200, "")
	call("GET", "/v1/referrals/{referee_user_id}", "/v1/referrals/nobody", "").expect(t, 404, "not_found")
	call("GET", "/v1/orders/{order_id}", "/v1/orders/1204", "").expect(t, 200, "")
	call("GET", "/v1/orders/{order_id}", "/v1/orders/nope", "").expect(t, 404, "not_found")
	call("POST", "/v1/orders/{order_id}/refund", "/v1/orders/1204/refund", `{"reason":"Returned by the customer"}`).expect(t, 200, "")
	call("POST", "/v1/orders/{order_id}/refund", "/v1/orders/1204/refund", ``).expect(t, 409, "conflict")
	call("POST", "/v1/orders/{order_id}/refund", "/v1/orders/nope/refund", ``).expect(t, 404, "not_found")
	call("GET", "/v1/orders/{order_id}", "/v1/orders/1204", "").expect(t, 200, "")
	call("GET", "/v1/ledger/entries", "/v1/ledger/entries?limit=1000", "").expect(t, 200, "")

	// Errors outside any operation: the shared responses.
	for _, tc := range []struct{ method, path, resp, code string }{
		{"GET", "/v1/nope", "NotFound", "not_found"},
		{"GET", "/v1/wallets/" + a + "/credit", "MethodNotAllowed", "method_not_allowed"},
	} {
		r := s.do(t, tc.method, tc.path, "")
		r.expect(t, whttp.ErrorStatus(tc.code), tc.code)
		var v any
		if err := json.Unmarshal(r.Raw, &v); err != nil {
			t.Fatalf("%s %s: %v", tc.method, tc.path, err)
		}
		resp := doc.Components.Responses[tc.resp]
		if resp == nil {
			t.Fatalf("no component response %s", tc.resp)
		}
		schema := resp.Value.Content["application/json"].Schema
		if err := schema.Value.VisitJSON(v, openapi3.MultiErrors(), openapi3.VisitAsResponse()); err != nil {
			t.Errorf("%s %s: %v", tc.method, tc.path, err)
		}
		for _, e := range undocumented(tc.method+" "+tc.path, schema.Value, v) {
			t.Error(e)
		}
	}

	// The read-model endpoints: this server has no projections, so they
	// answer 503 (history_test.go drives them with projections).
	call("GET", "/v1/wallets/{id}/transactions", "/v1/wallets/"+a+"/transactions", "").expect(t, 503, "unavailable")
	call("GET", "/v1/wallets/{id}/statement", "/v1/wallets/"+a+"/statement?from=2026-12-01&to=2027-01-01", "").expect(t, 503, "unavailable")
	call("GET", "/v1/reports/daily", "/v1/reports/daily?date=2026-12-15", "").expect(t, 503, "unavailable")

	// The webhook endpoints: this server has no webhook service, so they
	// answer 503 (webhook_test.go drives them with one).
	for _, op := range []struct{ method, tmpl, path string }{
		{"POST", "/v1/webhook-endpoints", "/v1/webhook-endpoints"},
		{"GET", "/v1/webhook-endpoints", "/v1/webhook-endpoints"},
		{"GET", "/v1/webhook-endpoints/{id}", "/v1/webhook-endpoints/whe_x"},
		{"PATCH", "/v1/webhook-endpoints/{id}", "/v1/webhook-endpoints/whe_x"},
		{"DELETE", "/v1/webhook-endpoints/{id}", "/v1/webhook-endpoints/whe_x"},
		{"POST", "/v1/webhook-endpoints/{id}/rotate-secret", "/v1/webhook-endpoints/whe_x/rotate-secret"},
		{"POST", "/v1/webhook-endpoints/{id}/test", "/v1/webhook-endpoints/whe_x/test"},
		{"POST", "/v1/webhook-endpoints/{id}/enable", "/v1/webhook-endpoints/whe_x/enable"},
		{"GET", "/v1/webhook-endpoints/{id}/deliveries", "/v1/webhook-endpoints/whe_x/deliveries"},
		{"GET", "/v1/webhook-endpoints/{id}/deliveries/{delivery_id}", "/v1/webhook-endpoints/whe_x/deliveries/whd_x"},
		{"POST", "/v1/webhook-endpoints/{id}/deliveries/{delivery_id}/retry", "/v1/webhook-endpoints/whe_x/deliveries/whd_x/retry"},
	} {
		call(op.method, op.tmpl, op.path, "").expect(t, 503, "unavailable")
	}

	// The inbound gateway routes: this server has no pipeline, so they
	// answer 503 (inbound_test.go drives them with one).
	for _, op := range []struct{ method, tmpl, path string }{
		{"POST", "/v1/inbound/{gateway}", "/v1/inbound/stripe"},
		{"GET", "/v1/inbound/gateways", "/v1/inbound/gateways"},
		{"GET", "/v1/inbound/gateways/{gateway}", "/v1/inbound/gateways/stripe"},
		{"PUT", "/v1/inbound/gateways/{gateway}", "/v1/inbound/gateways/stripe"},
		{"POST", "/v1/inbound/gateways/{gateway}/test", "/v1/inbound/gateways/stripe/test"},
		{"GET", "/v1/inbound/gateways/{gateway}/logs", "/v1/inbound/gateways/stripe/logs"},
		{"GET", "/v1/inbound/dead-letters", "/v1/inbound/dead-letters"},
		{"GET", "/v1/inbound/dead-letters/{id}", "/v1/inbound/dead-letters/1"},
		{"POST", "/v1/inbound/dead-letters/{id}/redrive", "/v1/inbound/dead-letters/1/redrive"},
		{"POST", "/v1/inbound/dead-letters/{id}/discard", "/v1/inbound/dead-letters/1/discard"},
	} {
		call(op.method, op.tmpl, op.path, "").expect(t, 503, "unavailable")
	}

	exerciseCatalogueAndOrders(t, s, call) // order_api_test.go
	exerciseResetFee(t, s, call)           // resetfee_test.go
	exercisePluginKeys(t, call)            // plugin_test.go
	exerciseFinancing(t, call)             // financing_test.go

	// Every documented operation of the native API was exercised.
	for _, path := range sortedKeys(doc.Paths.Map()) {
		for _, m := range sortedKeys(doc.Paths.Value(path).Operations()) {
			name := m + " " + path
			if strings.HasPrefix(path, "/v1/") && !seen[name] {
				t.Errorf("%s was not exercised", name)
			}
		}
	}
}
