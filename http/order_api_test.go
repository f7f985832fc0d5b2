package http_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/walletd/walletd"
)

// apiOrder is an order as the API answers it.
type apiOrder struct {
	ID         int64  `json:"id"`
	Source     string `json:"source"`
	ExternalID string `json:"external_id"`
	Status     string `json:"status"`
	Total      string `json:"total"`
	Currency   string `json:"currency"`
	CustomerID string `json:"customer_id"`
	WalletID   string `json:"wallet_id"`
	Lines      []struct {
		VariationID int64  `json:"variation_id"`
		Name        string `json:"name"`
		Price       string `json:"price"`
	} `json:"lines"`
	MetaData []struct {
		Key   string          `json:"key"`
		Value json.RawMessage `json:"value"`
	} `json:"meta_data"`
	Payments []struct {
		Method, Reference, Status, Amount string
	} `json:"payments"`
	Transactions []entry `json:"transactions"`
	OrderID      string  `json:"order_id"`
}

// exerciseCatalogueAndOrders drives every catalogue and order operation
// through call, TestOpenAPI_ResponsesMatch's checker of answers against
// the document. The wallet of cus_1042 (USD) has funds.
func exerciseCatalogueAndOrders(t *testing.T, s *testServer, call func(method, tpl, path, body string, headers ...string) *response) {
	t.Helper()
	var p struct {
		ID         int64
		Variations []struct{ ID int64 }
	}
	call("POST", "/v1/products", "/v1/products", `{"name":"Account Reset Fee","currency":"USD","variations":[`+
		`{"challenge_type":"1 Step","account_size":"$100,000","price":"49","sku":"RESET-1-100K"},`+
		`{"challenge_type":"2 Step","account_size":"$100,000","price":"59.00"}]}`, "Idempotency-Key", "product-1").data(t, &p)
	call("POST", "/v1/products", "/v1/products", `{"name":"x","currency":"USD","variations":[{"challenge_type":"a","account_size":"b","price":"1e400"}]}`).expect(t, 400, "invalid_amount")
	prod := fmt.Sprintf("/v1/products/%d", p.ID)
	v0, v1 := p.Variations[0].ID, p.Variations[1].ID
	call("GET", "/v1/products", "/v1/products?limit=1", "").expect(t, 200, "")
	call("GET", "/v1/products/{id}", prod, "").expect(t, 200, "")
	call("GET", "/v1/products/{id}", "/v1/products/999999", "").expect(t, 404, "not_found")
	call("PATCH", "/v1/products/{id}", prod, `{"variations":[{"challenge_type":"1 Step","account_size":"$200,000","price":"89"}]}`).expect(t, 200, "")
	call("PATCH", "/v1/products/{id}", prod, `{}`).expect(t, 400, "invalid_request")
	call("PATCH", "/v1/products/{id}/variations/{variation_id}", fmt.Sprintf("%s/variations/%d", prod, v1), `{"price":"55"}`).expect(t, 200, "")
	call("PATCH", "/v1/products/{id}/variations/{variation_id}", fmt.Sprintf("%s/variations/%d", prod, v1), `{"sku":"RESET-1-100K"}`).expect(t, 409, "conflict")
	call("GET", "/v1/products/variations.csv", "/v1/products/variations.csv", "").expect(t, 200, "")
	call("GET", "/v1/products/variations.json", "/v1/products/variations.json", "").expect(t, 200, "")

	order := fmt.Sprintf(`{"source":"reset_fee","external_id":98765,"currency":"USD","customer_id":"cus_1042",`+
		`"billing":{"first_name":"Ana","email":"ana@example.com","country":"US"},"lines":[{"variation_id":%d}],`+
		`"meta_data":[{"key":"account_id","value":"12345"}]}`, v0)
	var o apiOrder
	call("POST", "/v1/orders", "/v1/orders", order, "Idempotency-Key", "order-1").expect(t, 201, "")
	call("POST", "/v1/orders", "/v1/orders", order).data(t, &o)
	call("POST", "/v1/orders", "/v1/orders", `{"currency":"USD","lines":[{"name":"x","price":"1","total":"2"}]}`).expect(t, 400, "invalid_amount")
	call("DELETE", "/v1/products/{id}/variations/{variation_id}", fmt.Sprintf("%s/variations/%d", prod, v0), "").expect(t, 409, "conflict")
	call("DELETE", "/v1/products/{id}/variations/{variation_id}", fmt.Sprintf("%s/variations/%d", prod, v1), "").expect(t, 200, "")
	path := fmt.Sprintf("/v1/orders/%d", o.ID)
	call("GET", "/v1/orders/{order_id}", path, "").expect(t, 200, "")
	call("GET", "/v1/orders", "/v1/orders?status=pending&limit=5", "").expect(t, 200, "")
	call("GET", "/v1/orders", "/v1/orders?status=paid", "").expect(t, 400, "invalid_request")
	call("POST", "/v1/orders/{order_id}/pay", path+"/pay", `{"method":"wallet"}`, "Idempotency-Key", "pay-1").expect(t, 200, "")
	call("POST", "/v1/orders/{order_id}/pay", path+"/pay", `{"method":"wallet"}`).expect(t, 409, "conflict")
	call("POST", "/v1/orders/{order_id}/complete", path+"/complete", ``).expect(t, 200, "")
	call("POST", "/v1/orders/{order_id}/refund", path+"/refund", `{"reason":"Reset not needed"}`).expect(t, 200, "")
	var big apiOrder
	call("POST", "/v1/orders", "/v1/orders", `{"currency":"USD","customer_id":"cus_1042","total":"1000000","lines":[{"name":"Yacht","price":"1000000"}]}`).data(t, &big)
	call("POST", "/v1/orders/{order_id}/pay", fmt.Sprintf("/v1/orders/%d/pay", big.ID), `{"method":"wallet"}`).expect(t, 422, "insufficient_funds")
	call("POST", "/v1/orders/{order_id}/cancel", fmt.Sprintf("/v1/orders/%d/cancel", big.ID), `{"reason":"Too dear"}`).expect(t, 200, "")
	call("POST", "/v1/orders/{order_id}/cancel", fmt.Sprintf("/v1/orders/%d/cancel", big.ID), ``).expect(t, 409, "conflict")
	call("POST", "/v1/orders/{order_id}/cancel", "/v1/orders/999999/cancel", ``).expect(t, 404, "not_found")
}

// TestOrderAPI drives the order API over loopback HTTP: create, repeat,
// get, list with filters, pay from the wallet, complete, refund.
func TestOrderAPI(t *testing.T) {
	s := mustServer(t)
	ann := s.mustWallet(t, "ann", "USD")
	s.mustCredit(t, ann.ID, "100")
	s.do(t, "POST", "/v1/cashback-rules", `{"percent":"10","currency":"USD"}`).expect(t, 201, "")
	var p struct {
		ID         int64
		Variations []struct{ ID int64 }
	}
	s.do(t, "POST", "/v1/products", `{"name":"Account Reset Fee","currency":"USD","variations":[{"challenge_type":"1 Step","account_size":"$100,000","price":"49"}]}`).data(t, &p)
	create := fmt.Sprintf(`{"source":"reset_fee","external_id":"acc-1","currency":"USD","customer_id":"ann",`+
		`"billing":{"email":"Ann@Example.com","first_name":"Ann"},"lines":[{"variation_id":%d}],"meta_data":[{"key":"account_id","value":"12345"}]}`, p.Variations[0].ID)
	r := s.do(t, "POST", "/v1/orders", create)
	r.expect(t, 201, "")
	var o apiOrder
	r.data(t, &o)
	if o.ID != 1 || o.Status != "pending" || o.Total != "49.00" || o.WalletID != ann.ID || o.Lines[0].Name != "Account Reset Fee - 1 Step, $100,000" ||
		string(o.MetaData[0].Value) != `"12345"` || len(o.Transactions) != 1 || o.Transactions[0].Type != "order_created" || o.OrderID != "" {
		t.Fatalf("order %s", r.Data)
	}
	again := s.do(t, "POST", "/v1/orders", create)
	again.expect(t, 200, "")
	if again.Header.Get("Idempotent-Replayed") != "true" || withoutWrite(t, again.Data) != withoutWrite(t, r.Data) {
		t.Fatalf("repeat %s", again.Data)
	}
	s.do(t, "POST", "/v1/orders", strings.Replace(create, `"ann"`, `"bob"`, 1)).expect(t, 409, "conflict")

	get := s.do(t, "GET", "/v1/orders/1", "")
	get.expect(t, 200, "")
	var got struct {
		Status   string            `json:"status"`
		Total    string            `json:"total"`
		MetaData []json.RawMessage `json:"meta_data"`
		Payments []json.RawMessage `json:"payments"`
	}
	get.data(t, &got)
	if got.Status != "pending" || got.Total != "49.00" || len(got.MetaData) != 1 || got.Payments == nil {
		t.Fatalf("GET %s", get.Data)
	}

	// Twenty payments at once: one debit.
	reader := s.bearer(t, walletd.ScopeWalletsRead)
	writer := s.bearer(t, walletd.ScopeWalletsWrite)
	statuses := race(20, func(int) *response {
		return s.do(t, "POST", "/v1/orders/1/pay", `{"method":"wallet"}`, "Authorization", writer)
	})
	if statuses[200] != 1 || statuses[409] != 19 {
		t.Fatalf("statuses %v", statuses)
	}
	s.wantMoney(t, ann.ID, "51.00/0.00/51.00")
	s.do(t, "POST", "/v1/orders/1/complete", `{}`, "Authorization", writer).expect(t, 200, "")
	s.wantMoney(t, ann.ID, "55.90/0.00/55.90")
	r = s.do(t, "POST", "/v1/orders/1/refund", ``, "Authorization", writer)
	r.expect(t, 200, "")
	r.data(t, &o)
	if o.Status != "refunded" || o.Payments[0].Status != "refunded" || len(o.Transactions) != 2 {
		t.Fatalf("refund %s", r.Data)
	}
	s.wantMoney(t, ann.ID, "100.00/0.00/100.00")

	// Lists and filters.
	for i := 0; i < 3; i++ {
		s.do(t, "POST", "/v1/orders", fmt.Sprintf(`{"source":"plugin","currency":"USD","billing":{"email":"guest%d@example.com"},"lines":[{"name":"Gift","price":"5"}]}`, i)).expect(t, 201, "")
	}
	var page struct {
		Items      []apiOrder `json:"items"`
		NextCursor string     `json:"next_cursor"`
	}
	list := func(q string) string {
		s.do(t, "GET", "/v1/orders?"+q, "", "Authorization", reader).data(t, &page)
		var ids []string
		for _, o := range page.Items {
			ids = append(ids, fmt.Sprint(o.ID))
		}
		return strings.Join(ids, ",") + "|" + page.NextCursor
	}
	for q, want := range map[string]string{
		"":                                  "1,2,3,4|",
		"limit=2":                           "1,2|2",
		"limit=2&cursor=2":                  "3,4|4",
		"status=refunded":                   "1|",
		"source=plugin&limit=1&cursor=2":    "3|3",
		"customer_email=ann@example.com":    "1|",
		"customer_email=GUEST1@example.com": "3|",
		"customer_id=ann":                   "1|",
		"status=cancelled":                  "|",
	} {
		if got := list(q); got != want {
			t.Errorf("GET /v1/orders?%s: %s, want %s", q, got, want)
		}
	}

	cases := append(jsonCases("POST", "/v1/orders", "currency"),
		badCase{name: "CreateTotal", method: "POST", path: "/v1/orders", body: `{"currency":"USD","total":"5","lines":[{"name":"x","price":"4"}]}`, status: 400, code: "invalid_amount"},
		badCase{name: "CreateUnknownVariation", method: "POST", path: "/v1/orders", body: `{"currency":"USD","lines":[{"variation_id":999}]}`, status: 404, code: "not_found"},
		badCase{name: "CreateLineType", method: "POST", path: "/v1/orders", body: `{"currency":"USD","lines":[{"variation_id":"1"}]}`, status: 400, code: "invalid_json"},
		badCase{name: "CreateHuge", method: "POST", path: "/v1/orders", body: `{"currency":"` + strings.Repeat("U", 2<<20) + `"}`, status: 413, code: "body_too_large"},
		badCase{name: "CreateCompletedScope", method: "POST", path: "/v1/orders", body: `{"currency":"USD","status":"completed","customer_id":"ann","total":"5"}`, status: 403, code: "forbidden", headers: []string{"Authorization", writer}},
		badCase{name: "CreateReadScope", method: "POST", path: "/v1/orders", body: `{"currency":"USD","total":"5"}`, status: 403, code: "forbidden", headers: []string{"Authorization", reader}},
		badCase{name: "PayUnknown", method: "POST", path: "/v1/orders/999/pay", body: `{"method":"wallet"}`, status: 404, code: "not_found"},
		badCase{name: "PayNotAnID", method: "POST", path: "/v1/orders/abc/pay", body: `{"method":"wallet"}`, status: 404, code: "not_found"},
		badCase{name: "PayAgain", method: "POST", path: "/v1/orders/1/pay", body: `{"method":"wallet"}`, status: 409, code: "conflict"},
		badCase{name: "PayProviderScope", method: "POST", path: "/v1/orders/2/pay", body: `{"method":"stripe","amount":"5","currency":"USD","reference":"pi_1"}`, status: 403, code: "forbidden", headers: []string{"Authorization", writer}},
		badCase{name: "PayMethod", method: "POST", path: "/v1/orders/2/pay", body: `{"method":"cash"}`, status: 400, code: "invalid_request"},
		badCase{name: "PayMalformed", method: "POST", path: "/v1/orders/2/pay", body: `{"method":`, status: 400, code: "invalid_json"},
		badCase{name: "PayNoWallet", method: "POST", path: "/v1/orders/2/pay", body: `{"method":"wallet"}`, status: 400, code: "invalid_request"},
		badCase{name: "CancelPaid", method: "POST", path: "/v1/orders/1/cancel", status: 409, code: "conflict"},
		badCase{name: "CancelUnknownField", method: "POST", path: "/v1/orders/2/cancel", body: `{"why":"x"}`, status: 400, code: "invalid_json"},
		badCase{name: "CompletePending", method: "POST", path: "/v1/orders/2/complete", status: 409, code: "conflict"},
		badCase{name: "RefundAgain", method: "POST", path: "/v1/orders/1/refund", status: 409, code: "conflict"},
		badCase{name: "ListCursor", method: "GET", path: "/v1/orders?cursor=abc", status: 400, code: "invalid_request"},
		badCase{name: "ListLimit", method: "GET", path: "/v1/orders?limit=0", status: 400, code: "invalid_request"},
		badCase{name: "GetUnknown", method: "GET", path: "/v1/orders/424242", status: 404, code: "not_found"},
	)
	for _, a := range badAmounts {
		cases = append(cases, badCase{name: "LinePrice" + a.name, method: "POST", path: "/v1/orders",
			body: `{"currency":"USD","lines":[{"name":"x","price":"` + a.amount + `"}]}`, status: 400, code: "invalid_amount"})
		if a.amount != "" {
			cases = append(cases, badCase{name: "PayAmount" + a.name, method: "POST", path: "/v1/orders/2/pay",
				body: `{"method":"wallet","amount":"` + a.amount + `"}`, status: 400, code: "invalid_amount"})
		}
	}
	runBad(t, s, cases, ann.ID)
	s.verifies(t)
}
