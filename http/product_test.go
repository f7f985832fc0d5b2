package http_test

import (
	"encoding/csv"
	"fmt"
	"strings"
	"testing"

	"github.com/walletd/walletd"
)

type apiProduct struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	Enabled    bool   `json:"enabled"`
	Attributes []struct {
		Name    string   `json:"name"`
		Options []string `json:"options"`
	} `json:"attributes"`
	Variations []struct {
		ID            int64  `json:"id"`
		ChallengeType string `json:"challenge_type"`
		AccountSize   string `json:"account_size"`
		Price         string `json:"price"`
		SKU           string `json:"sku"`
		Enabled       bool   `json:"enabled"`
	} `json:"variations"`
}

func TestProducts(t *testing.T) {
	s := mustServer(t)
	body := `{"name":"Account Reset Fee","currency":"USD","variations":[` +
		`{"challenge_type":"1 Step","account_size":"$100,000","price":"49","sku":"RESET-1-100K"},` +
		`{"challenge_type":"2 Step","account_size":"$100,000","price":"59.00"},` +
		`{"challenge_type":"1 Step","account_size":"$200,000","price":"89"}]}`
	r := s.do(t, "POST", "/v1/products", body)
	r.expect(t, 201, "")
	var p apiProduct
	r.data(t, &p)
	if p.ID != 1 || p.Type != "variable" || len(p.Variations) != 3 || p.Variations[0].ID != 2 || p.Variations[2].ID != 4 ||
		p.Variations[0].Price != "49.00" || p.Attributes[0].Name != "Challenge Type" || strings.Join(p.Attributes[1].Options, "|") != "$100,000|$200,000" {
		t.Fatalf("product %s", r.Data)
	}
	reader := s.bearer(t, walletd.ScopeWalletsRead)
	get := s.do(t, "GET", "/v1/products/1", "", "Authorization", reader)
	get.expect(t, 200, "")
	if withoutWrite(t, get.Data) != withoutWrite(t, r.Data) {
		t.Fatalf("GET %s\nPOST %s", get.Data, r.Data)
	}

	t.Run("Update", func(t *testing.T) {
		r := s.do(t, "PATCH", "/v1/products/1", `{"name":"Reset fee","variations":[{"challenge_type":"2 Step","account_size":"$200,000","price":"99.5"},{"id":3,"enabled":false}]}`)
		r.expect(t, 200, "")
		var up apiProduct
		r.data(t, &up)
		if up.Name != "Reset fee" || len(up.Variations) != 4 || up.Variations[3].ID != 5 || up.Variations[3].Price != "99.50" || up.Variations[1].Enabled {
			t.Fatalf("product %s", r.Data)
		}
		r = s.do(t, "PATCH", "/v1/products/1/variations/2", `{"price":"45","sku":""}`)
		r.expect(t, 200, "")
		if !strings.Contains(string(r.Data), `"price":"45.00"`) || !strings.Contains(string(r.Data), `"sku":""`) {
			t.Fatalf("variation %s", r.Data)
		}
	})
	t.Run("Mapping", func(t *testing.T) {
		r := s.do(t, "GET", "/v1/products/variations.csv", "", "Authorization", reader)
		if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
			t.Fatalf("CSV %d %s", r.Status, r.Header)
		}
		rows, err := csv.NewReader(strings.NewReader(string(r.Raw))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		got := fmt.Sprint(rows)
		if got != "[[Variation ID Challenge Type Account Size] [2 1 Step $100,000] [4 1 Step $200,000] [5 2 Step $200,000]]" {
			t.Fatalf("CSV %s", r.Raw)
		}
		j := s.do(t, "GET", "/v1/products/variations.json", "", "Authorization", reader)
		j.expect(t, 200, "")
		if !strings.Contains(string(j.Data), `{"variation_id":2,"challenge_type":"1 Step","account_size":"$100,000","product_id":1,"name":"Reset fee - 1 Step, $100,000","price":"45.00","currency":"USD","sku":""}`) {
			t.Fatalf("JSON %s", j.Data)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		s.mustWallet(t, "ann", "USD")
		s.do(t, "POST", "/v1/orders", `{"currency":"USD","customer_id":"ann","lines":[{"variation_id":2}]}`).expect(t, 201, "")
		s.do(t, "DELETE", "/v1/products/1/variations/2", "").expect(t, 409, "conflict")
		s.do(t, "PATCH", "/v1/products/1/variations/2", `{"enabled":false}`).expect(t, 200, "")
		s.do(t, "POST", "/v1/orders", `{"currency":"USD","lines":[{"variation_id":2}]}`).expect(t, 409, "conflict")
		r := s.do(t, "DELETE", "/v1/products/1/variations/4", "")
		r.expect(t, 200, "")
		if !strings.Contains(string(r.Data), `"deleted":true`) {
			t.Fatalf("deleted %s", r.Data)
		}
		s.do(t, "DELETE", "/v1/products/1/variations/4", "").expect(t, 404, "not_found")
		var p apiProduct
		s.do(t, "GET", "/v1/products/1", "").data(t, &p)
		if len(p.Variations) != 3 {
			t.Fatalf("product %+v", p)
		}
	})
	t.Run("List", func(t *testing.T) {
		s.do(t, "POST", "/v1/products", `{"name":"Other","currency":"EUR","variations":[{"challenge_type":"a","account_size":"b","price":"1"}]}`).expect(t, 201, "")
		var page struct {
			Items      []apiProduct `json:"items"`
			NextCursor string       `json:"next_cursor"`
		}
		s.do(t, "GET", "/v1/products?limit=1", "", "Authorization", reader).data(t, &page)
		if len(page.Items) != 1 || page.Items[0].ID != 1 || page.NextCursor != "1" {
			t.Fatalf("page %+v", page)
		}
		s.do(t, "GET", "/v1/products?limit=1&cursor=1", "", "Authorization", reader).data(t, &page)
		if len(page.Items) != 1 || page.Items[0].Name != "Other" || page.NextCursor != "" {
			t.Fatalf("page %+v", page)
		}
	})

	writer := s.bearer(t, walletd.ScopeWalletsWrite)
	cases := append(jsonCases("POST", "/v1/products", "name"), jsonCases("PATCH", "/v1/products/1", "name")...)
	cases = append(cases,
		badCase{name: "NoVariations", method: "POST", path: "/v1/products", body: `{"name":"x","currency":"USD","variations":[]}`, status: 400, code: "invalid_request"},
		badCase{name: "NewWithID", method: "POST", path: "/v1/products", body: `{"name":"x","currency":"USD","variations":[{"id":2,"challenge_type":"a","account_size":"b","price":"1"}]}`, status: 400, code: "invalid_request"},
		badCase{name: "Currency", method: "POST", path: "/v1/products", body: `{"name":"x","currency":"usd","variations":[{"challenge_type":"a","account_size":"b","price":"1"}]}`, status: 400, code: "invalid_currency"},
		badCase{name: "PriceNumber", method: "POST", path: "/v1/products", body: `{"name":"x","currency":"USD","variations":[{"challenge_type":"a","account_size":"b","price":1}]}`, status: 400, code: "invalid_json"},
		badCase{name: "SamePair", method: "POST", path: "/v1/products", body: `{"name":"x","currency":"USD","variations":[{"challenge_type":"a","account_size":"b","price":"1"},{"challenge_type":"a","account_size":"b","price":"2"}]}`, status: 409, code: "conflict"},
		badCase{name: "Huge", method: "POST", path: "/v1/products", body: `{"name":"` + strings.Repeat("x", 2<<20) + `"}`, status: 413, code: "body_too_large"},
		badCase{name: "Attributes", method: "PATCH", path: "/v1/products/1", body: `{"variations":[{"id":2,"account_size":"$1"}]}`, status: 400, code: "invalid_request"},
		badCase{name: "UnknownProduct", method: "GET", path: "/v1/products/999", status: 404, code: "not_found"},
		badCase{name: "NotAnID", method: "GET", path: "/v1/products/abc", status: 404, code: "not_found"},
		badCase{name: "PatchUnknown", method: "PATCH", path: "/v1/products/999", body: `{"name":"x"}`, status: 404, code: "not_found"},
		badCase{name: "VariationOfOther", method: "PATCH", path: "/v1/products/6/variations/2", body: `{"price":"1"}`, status: 404, code: "not_found"},
		badCase{name: "VariationUnknown", method: "PATCH", path: "/v1/products/1/variations/999", body: `{"price":"1"}`, status: 404, code: "not_found"},
		badCase{name: "VariationNothing", method: "PATCH", path: "/v1/products/1/variations/2", body: `{}`, status: 400, code: "invalid_request"},
		badCase{name: "VariationEnabledType", method: "PATCH", path: "/v1/products/1/variations/2", body: `{"enabled":"yes"}`, status: 400, code: "invalid_json"},
		badCase{name: "ScopeCreate", method: "POST", path: "/v1/products", body: body, status: 403, code: "forbidden", headers: []string{"Authorization", writer}},
		badCase{name: "ScopePatch", method: "PATCH", path: "/v1/products/1", body: `{"name":"x"}`, status: 403, code: "forbidden", headers: []string{"Authorization", reader}},
		badCase{name: "ScopeDelete", method: "DELETE", path: "/v1/products/1/variations/5", status: 403, code: "forbidden", headers: []string{"Authorization", writer}},
		badCase{name: "ListLimit", method: "GET", path: "/v1/products?limit=500", status: 400, code: "invalid_request"},
	)
	for _, a := range badAmounts {
		cases = append(cases,
			badCase{name: "Price" + a.name, method: "POST", path: "/v1/products", body: `{"name":"x","currency":"USD","variations":[{"challenge_type":"a","account_size":"b","price":"` + a.amount + `"}]}`, status: 400, code: "invalid_amount"},
			badCase{name: "VariationPrice" + a.name, method: "PATCH", path: "/v1/products/1/variations/2", body: `{"price":"` + a.amount + `"}`, status: 400, code: "invalid_amount"})
	}
	runBad(t, s, cases)
	s.verifies(t)
}
