package http_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/walletd/walletd"
)

// resetFeeSetup is a store with the seed's product, a reset-fee key and
// a customer whose USD wallet (email jane@example.com) holds 100.00.
type resetFeeSetup struct {
	*testServer
	Secret     string
	Variations []int64
	WalletID   string
}

func mustResetFee(t *testing.T, s *testServer) *resetFeeSetup {
	t.Helper()
	var p struct {
		Variations []struct{ ID int64 }
	}
	s.do(t, "POST", "/v1/products", `{"name":"Account Reset Fee","currency":"USD","variations":[`+
		`{"challenge_type":"1 Step","account_size":"$100,000","price":"49.00"},`+
		`{"challenge_type":"2 Step","account_size":"$100,000","price":"59.00"}]}`).data(t, &p)
	var k struct {
		SecretKey string `json:"secret_key"`
	}
	r := s.do(t, "POST", "/v1/reset-fee/keys", `{"name":"backend"}`)
	r.expect(t, 201, "")
	r.data(t, &k)
	w := s.do(t, "POST", "/v1/wallets", `{"user_id":"jane","email":"jane@example.com","currency":"USD"}`)
	w.expect(t, 201, "")
	var wal wallet
	w.data(t, &wal)
	s.mustCredit(t, wal.ID, "100.00")
	out := &resetFeeSetup{testServer: s, Secret: k.SecretKey, WalletID: wal.ID}
	for _, v := range p.Variations {
		out.Variations = append(out.Variations, v.ID)
	}
	return out
}

// body is the seed's request for variation v and account.
func (s *resetFeeSetup) body(v int64, account string) string {
	return fmt.Sprintf(`{"billing_details":{"first_name":"John","last_name":"Smith","address_1":"123 Main Street","address_2":"Apt 4B",`+
		`"city":"New York","postcode":"10001","country":"US","email":"jane@example.com","phone":"+1234567890"},`+
		`"product_id":%d,"secret_key":%q,"account_id":%q}`, v, s.Secret, account)
}

// flat is the reset-fee endpoint's answer.
type flat struct {
	Success    bool   `json:"success"`
	OrderID    int64  `json:"order_id"`
	PaymentURL string `json:"payment_url"`
	Message    string `json:"message"`
}

func (s *resetFeeSetup) post(t *testing.T, path, body string) (*response, flat) {
	t.Helper()
	r := s.do(t, "POST", path, body, "Authorization", "")
	var f flat
	if err := json.Unmarshal(r.Raw, &f); err != nil {
		t.Fatalf("%s: not JSON: %q", path, r.Raw)
	}
	return r, f
}

func (s *resetFeeSetup) mustLink(t *testing.T, v int64, account string) flat {
	t.Helper()
	r, f := s.post(t, "/wp-json/walletd/v1/reset-fee", s.body(v, account))
	if r.Status != 200 || !f.Success || f.OrderID == 0 || f.PaymentURL == "" {
		t.Fatalf("reset-fee: %d %s", r.Status, r.Raw)
	}
	return f
}

// browser is an HTTP client with its own cookies.
type browser struct{ c *http.Client }

func newBrowser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := b.c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

func (b *browser) post(t *testing.T, u string, form url.Values) (int, string) {
	t.Helper()
	resp, err := b.c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token in page:\n%s", page)
	}
	return m[1]
}

func (s *resetFeeSetup) order(t *testing.T, id int64) apiOrder {
	t.Helper()
	var o apiOrder
	s.do(t, "GET", fmt.Sprintf("/v1/orders/%d", id), "").data(t, &o)
	return o
}

func TestResetFee_PayFromWallet(t *testing.T) {
	s := mustResetFee(t, mustServer(t))
	r, f := s.post(t, "/wp-json/walletd/v1/reset-fee", s.body(s.Variations[0], "12345"))
	if r.Status != 200 || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	var keys map[string]json.RawMessage
	json.Unmarshal(r.Raw, &keys)
	if len(keys) != 3 || string(keys["success"]) != "true" {
		t.Fatalf("answer %s: want exactly success, order_id, payment_url", r.Raw)
	}
	want := regexp.MustCompile(`^` + regexp.QuoteMeta(s.URL) + fmt.Sprintf(`/checkout/order-pay/%d/\?pay_for_order=true&key=wc_order_[A-Za-z0-9_-]{32}$`, f.OrderID))
	if !want.MatchString(f.PaymentURL) {
		t.Fatalf("payment_url %q", f.PaymentURL)
	}
	o := s.order(t, f.OrderID)
	if o.Status != "pending" || o.Total != "49.00" || o.Source != "reset_fee" || len(o.MetaData) != 1 ||
		o.MetaData[0].Key != "account_id" || string(o.MetaData[0].Value) != `"12345"` || o.CustomerID != "jane" {
		t.Fatalf("order %+v", o)
	}

	b := newBrowser(t)
	st, page := b.get(t, f.PaymentURL)
	if st != 200 {
		t.Fatalf("first visit: %d %s", st, page)
	}
	for _, w := range []string{"Account Reset Fee", "1 Step", "$100,000", "49.00 USD", `<form method="post"`, `name="method" value="wallet"`,
		`name="viewport"`, "Available balance: 100.00 USD"} {
		if !strings.Contains(page, w) {
			t.Fatalf("page lacks %q:\n%s", w, page)
		}
	}
	// A reload in the same browser shows the page again; another browser
	// gets the error page.
	if st, _ := b.get(t, f.PaymentURL); st != 200 {
		t.Fatalf("reload: %d", st)
	}
	if st, page := newBrowser(t).get(t, f.PaymentURL); st != 410 || !strings.Contains(page, "used already") {
		t.Fatalf("second browser: %d %s", st, page)
	}
	// A post without the CSRF token, or from another browser, pays nothing.
	if st, _ := b.post(t, f.PaymentURL, url.Values{"method": {"wallet"}}); st != 403 {
		t.Fatalf("no CSRF: %d", st)
	}
	if st, _ := newBrowser(t).post(t, f.PaymentURL, url.Values{"method": {"wallet"}, "csrf_token": {csrfOf(t, page)}}); st != 403 && st != 410 {
		t.Fatalf("other browser: %d", st)
	}
	s.wantMoney(t, s.WalletID, "100.00/0.00/100.00")

	st, res := b.post(t, f.PaymentURL, url.Values{"method": {"wallet"}, "csrf_token": {csrfOf(t, page)}, "pay": {"wallet"}})
	if st != 200 || !strings.Contains(res, "is paid") || !strings.Contains(res, "completed") {
		t.Fatalf("pay: %d %s", st, res)
	}
	s.wantMoney(t, s.WalletID, "51.00/0.00/51.00")
	o = s.order(t, f.OrderID)
	if o.Status != "completed" || len(o.Payments) != 1 || o.Payments[0].Method != "wallet" {
		t.Fatalf("order %+v", o)
	}
	if st, page := b.get(t, f.PaymentURL); st != 410 {
		t.Fatalf("after payment: %d %s", st, page)
	}
	if st, _ := b.post(t, f.PaymentURL, url.Values{"method": {"wallet"}, "csrf_token": {csrfOf(t, page)}}); st == 200 {
		t.Fatal("paid twice")
	}
	s.wantMoney(t, s.WalletID, "51.00/0.00/51.00")
	s.verifies(t)
}

func TestResetFee_WalletShort(t *testing.T) {
	s := mustResetFee(t, mustServer(t))
	s.do(t, "POST", "/v1/wallets/"+s.WalletID+"/debit", `{"amount":"60.00"}`).expect(t, 201, "")
	f := s.mustLink(t, s.Variations[0], "1")
	b := newBrowser(t)
	st, page := b.get(t, f.PaymentURL)
	if st != 200 || !strings.Contains(page, "is short of the 49.00 USD") || !strings.Contains(page, "disabled") {
		t.Fatalf("%d %s", st, page)
	}
	st, page = b.post(t, f.PaymentURL, url.Values{"method": {"wallet"}, "csrf_token": {csrfOf(t, page)}})
	if st != 422 || !strings.Contains(page, `id="pay-error"`) {
		t.Fatalf("pay short: %d %s", st, page)
	}
	if o := s.order(t, f.OrderID); o.Status != "pending" {
		t.Fatalf("order %s", o.Status)
	}
	s.wantMoney(t, s.WalletID, "40.00/0.00/40.00")
}

func TestResetFee_NoWallet(t *testing.T) {
	s := mustResetFee(t, mustServer(t))
	body := strings.Replace(s.body(s.Variations[0], "7"), "jane@example.com", "nobody@example.com", 1)
	_, f := s.post(t, "/v1/reset-fee", body)
	st, page := newBrowser(t).get(t, f.PaymentURL)
	if st != 200 || !strings.Contains(page, "There is no USD wallet for nobody@example.com") {
		t.Fatalf("%d %s", st, page)
	}
}

func TestResetFee_NewRequestCancelsPending(t *testing.T) {
	s := mustResetFee(t, mustServer(t))
	first := s.mustLink(t, s.Variations[0], "acc-1")
	other := s.mustLink(t, s.Variations[1], "acc-1") // another product: stays
	second := s.mustLink(t, s.Variations[0], "acc-1")
	if o := s.order(t, first.OrderID); o.Status != "cancelled" {
		t.Fatalf("first order %s", o.Status)
	}
	if o := s.order(t, other.OrderID); o.Status != "pending" {
		t.Fatalf("other product's order %s", o.Status)
	}
	if st, page := newBrowser(t).get(t, first.PaymentURL); st != 410 || !strings.Contains(page, "cancelled") {
		t.Fatalf("first link: %d %s", st, page)
	}
	if st, _ := newBrowser(t).get(t, second.PaymentURL); st != 200 {
		t.Fatalf("second link: %d", st)
	}
}

func TestResetFee_Keys(t *testing.T) {
	s := mustResetFee(t, mustServer(t))
	var k2 struct {
		ID        string `json:"id"`
		SecretKey string `json:"secret_key"`
	}
	s.do(t, "POST", "/v1/reset-fee/keys", "").data(t, &k2)
	r := s.do(t, "GET", "/v1/reset-fee/keys", "")
	r.expect(t, 200, "")
	if strings.Contains(string(r.Raw), s.Secret) || strings.Contains(string(r.Raw), k2.SecretKey) || strings.Contains(string(r.Raw), "secret_key") {
		t.Fatalf("list shows a secret: %s", r.Raw)
	}
	var list struct{ Items []struct{ ID, Status string } }
	r.data(t, &list)
	if len(list.Items) != 2 {
		t.Fatalf("keys %s", r.Raw)
	}
	// Stored: only the hash.
	v, err := s.L.DB.Object(t.Context(), walletd.ObjResetFeeKey, k2.ID)
	if err != nil || v.(*walletd.ResetFeeKey).Hash == "" || strings.Contains(v.(*walletd.ResetFeeKey).Hash, k2.SecretKey) {
		t.Fatalf("stored %+v %v", v, err)
	}
	// Both keys work (rotation); a revoked one does not.
	body2 := strings.Replace(s.body(s.Variations[0], "9"), s.Secret, k2.SecretKey, 1)
	if r, _ := s.post(t, "/v1/reset-fee", body2); r.Status != 200 {
		t.Fatalf("second key: %d %s", r.Status, r.Raw)
	}
	s.do(t, "DELETE", "/v1/reset-fee/keys/"+k2.ID, "").expect(t, 200, "")
	s.do(t, "DELETE", "/v1/reset-fee/keys/"+k2.ID, "").expect(t, 409, "conflict")
	s.do(t, "DELETE", "/v1/reset-fee/keys/rfk_nope", "").expect(t, 404, "not_found")
	if r, f := s.post(t, "/v1/reset-fee", body2); r.Status != 401 || f.Message != "Invalid secret key provided" || f.Success {
		t.Fatalf("revoked key: %d %s", r.Status, r.Raw)
	}
	if r, _ := s.post(t, "/v1/reset-fee", s.body(s.Variations[0], "9")); r.Status != 200 {
		t.Fatalf("first key: %d %s", r.Status, r.Raw)
	}
	// The key routes need admin.
	s.do(t, "GET", "/v1/reset-fee/keys", "", "Authorization", s.bearer(t, walletd.ScopeWalletsWrite)).expect(t, 403, "forbidden")
}

// exerciseResetFee drives every reset-fee operation through call,
// TestOpenAPI_ResponsesMatch's checker of answers against the document.
func exerciseResetFee(t *testing.T, s *testServer, call func(method, tpl, path, body string, headers ...string) *response) {
	t.Helper()
	var p struct {
		Variations []struct{ ID int64 }
	}
	call("POST", "/v1/products", "/v1/products", `{"name":"Reset","currency":"USD","variations":[{"challenge_type":"1 Step","account_size":"$5,000","price":"9.00"}]}`).data(t, &p)
	var k struct {
		ID        string `json:"id"`
		SecretKey string `json:"secret_key"`
	}
	call("POST", "/v1/reset-fee/keys", "/v1/reset-fee/keys", `{"name":"backend"}`).data(t, &k)
	call("POST", "/v1/reset-fee/keys", "/v1/reset-fee/keys", `{"name":1}`).expect(t, 400, "invalid_json")
	call("GET", "/v1/reset-fee/keys", "/v1/reset-fee/keys", "").expect(t, 200, "")
	body := fmt.Sprintf(`{"billing_details":{"first_name":"Ana","email":"ana@example.com","country":"US"},"product_id":%d,"secret_key":%q,"account_id":"1"}`, p.Variations[0].ID, k.SecretKey)
	call("POST", "/v1/reset-fee", "/v1/reset-fee", body, "Authorization", "").expect(t, 200, "")
	call("POST", "/v1/reset-fee", "/v1/reset-fee", strings.Replace(body, `"US"`, `"ZZ"`, 1), "Authorization", "").expect(t, 400, "")
	call("POST", "/v1/reset-fee", "/v1/reset-fee", strings.Replace(body, k.SecretKey, "nope", 1), "Authorization", "").expect(t, 401, "")
	call("POST", "/v1/reset-fee", "/v1/reset-fee", `{"secret_key":"`+strings.Repeat("a", 2<<20)+`"}`, "Authorization", "").expect(t, 413, "")
	call("POST", "/v1/reset-fee/keys/{key_id}/revoke", "/v1/reset-fee/keys/"+k.ID+"/revoke", "").expect(t, 200, "")
	call("DELETE", "/v1/reset-fee/keys/{key_id}", "/v1/reset-fee/keys/"+k.ID, "").expect(t, 409, "conflict")
	call("DELETE", "/v1/reset-fee/keys/{key_id}", "/v1/reset-fee/keys/rfk_nope", "").expect(t, 404, "not_found")
	call("POST", "/v1/reset-fee", "/v1/reset-fee", body, "Authorization", "").expect(t, 401, "")
}

// TestResetFee_BadInput: the catalogue of bad bodies. Each gets the
// seed's flat failure with the right status and a message naming the
// field, and changes nothing; a wrong key never says whether the product
// exists.
func TestResetFee_BadInput(t *testing.T) {
	s := mustResetFee(t, mustServer(t))
	good := s.body(s.Variations[0], "12345")
	repl := func(old, new string) string {
		if !strings.Contains(good, old) {
			t.Fatalf("%q not in the body", old)
		}
		return strings.Replace(good, old, new, 1)
	}
	entries := func() string { return string(s.do(t, "GET", "/v1/ledger/entries?limit=1000", "").Raw) }
	before := entries()
	for _, tc := range []struct {
		name, body string
		status     int
		says       string
	}{
		{"Empty", ``, 400, "body"},
		{"Malformed", `{"billing_details":`, 400, ""},
		{"NotAnObject", `[1]`, 400, ""},
		{"Trailing", good + `{}`, 400, "exactly one JSON object"},
		{"Null", `null`, 401, "Invalid secret key provided"},
		{"DuplicateKey", repl(`"account_id"`, `"account_id":"1","account_id"`), 400, "account_id"},
		{"DuplicateNestedKey", repl(`"city"`, `"city":"x","city"`), 400, "city"},
		{"UnknownField", repl(`"account_id"`, `"admin":true,"account_id"`), 400, "admin"},
		{"ProductIDString", repl(fmt.Sprintf(`"product_id":%d`, s.Variations[0]), `"product_id":"72238"`), 400, "product_id"},
		{"ProductIDFloat", repl(fmt.Sprintf(`"product_id":%d`, s.Variations[0]), `"product_id":1.5`), 400, "product_id"},
		{"ProductIDHuge", repl(fmt.Sprintf(`"product_id":%d`, s.Variations[0]), `"product_id":1e400`), 400, "product_id"},
		{"ProductIDNegative", repl(fmt.Sprintf(`"product_id":%d`, s.Variations[0]), `"product_id":-3`), 400, "product_id"},
		{"ProductIDMissing", repl(fmt.Sprintf(`"product_id":%d,`, s.Variations[0]), ``), 400, "product_id"},
		{"ProductUnknown", repl(fmt.Sprintf(`"product_id":%d`, s.Variations[0]), `"product_id":999999`), 400, "product_id 999999"},
		{"ProductIsAProduct", repl(fmt.Sprintf(`"product_id":%d`, s.Variations[0]), fmt.Sprintf(`"product_id":%d`, s.Variations[0]-1)), 400, "product_id"},
		{"AccountIDNumber", repl(`"account_id":"12345"`, `"account_id":12345`), 400, "account_id"},
		{"AccountIDMissing", repl(`,"account_id":"12345"`, ``), 400, "account_id"},
		{"AccountIDBlank", repl(`"account_id":"12345"`, `"account_id":"  "`), 400, "account_id"},
		{"AccountIDControl", repl(`"account_id":"12345"`, `"account_id":"a\u0000b"`), 400, "account_id"},
		{"EmailMissing", repl(`"email":"jane@example.com",`, ``), 400, "billing_details.email"},
		{"EmailBad", repl(`"jane@example.com"`, `"jane"`), 400, "billing_details.email"},
		{"EmailNumber", repl(`"jane@example.com"`, `5`), 400, "email"},
		{"BillingMissing", `{"product_id":1,"secret_key":"` + s.Secret + `","account_id":"1"}`, 400, "billing_details"},
		{"BillingNotObject", repl(`"billing_details":{`, `"billing_details":"x","x":{`), 400, ""},
		{"CountryThreeLetters", repl(`"country":"US"`, `"country":"USA"`), 400, "billing_details.country"},
		{"CountryUnknown", repl(`"country":"US"`, `"country":"XX"`), 400, "billing_details.country"},
		{"CountryNumber", repl(`"country":"US"`, `"country":1`), 400, "country"},
		{"NameTooLong", repl(`"first_name":"John"`, `"first_name":"`+strings.Repeat("a", 300)+`"`), 400, "billing_details.first_name"},
		{"InvalidUTF8", repl(`"John"`, "\"J\xffohn\""), 400, ""},
		{"LoneSurrogate", repl(`"John"`, `"J\ud800ohn"`), 400, ""},
		{"Huge", `{"secret_key":"` + strings.Repeat("a", 2<<20) + `"}`, 413, "larger"},
		{"SecretMissing", repl(fmt.Sprintf(`"secret_key":%q,`, s.Secret), ``), 401, "Invalid secret key provided"},
		{"SecretWrong", repl(s.Secret, s.Secret+"x"), 401, "Invalid secret key provided"},
		{"SecretNumber", repl(fmt.Sprintf(`"secret_key":%q`, s.Secret), `"secret_key":1`), 400, "secret_key"},
		// A wrong key says the same whether the product exists or not,
		// and whatever else is wrong with the body.
		{"WrongKeyUnknownProduct", strings.Replace(repl(fmt.Sprintf(`"product_id":%d`, s.Variations[0]), `"product_id":999999`), s.Secret, "nope", 1), 401, "Invalid secret key provided"},
		{"WrongKeyBadEmail", strings.Replace(repl(`"jane@example.com"`, `"jane"`), s.Secret, "nope", 1), 401, "Invalid secret key provided"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, f := s.post(t, "/wp-json/walletd/v1/reset-fee", tc.body)
			if r.Status != tc.status || f.Success || f.Message == "" || !strings.Contains(f.Message, tc.says) || f.OrderID != 0 || f.PaymentURL != "" {
				t.Fatalf("%d %s, want %d with %q", r.Status, r.Raw, tc.status, tc.says)
			}
			if tc.status == 401 && f.Message != "Invalid secret key provided" {
				t.Fatalf("401 message %q", f.Message)
			}
		})
	}
	if after := entries(); after != before {
		t.Fatal("a refused request wrote to the ledger")
	}
	s.do(t, "PATCH", fmt.Sprintf("/v1/products/%d/variations/%d", s.Variations[0]-1, s.Variations[0]), `{"enabled":false}`).expect(t, 200, "")
	if r, f := s.post(t, "/v1/reset-fee", good); r.Status != 400 || !strings.Contains(f.Message, "product_id") {
		t.Fatalf("disabled variation: %d %s", r.Status, r.Raw)
	}
	// The key endpoints' bad input.
	s.do(t, "POST", "/v1/reset-fee/keys", `{"name":`).expect(t, 400, "invalid_json")
	s.do(t, "POST", "/v1/reset-fee/keys", `{"name":"a","x":1}`).expect(t, 400, "invalid_json")
	s.do(t, "POST", "/v1/reset-fee/keys", `{"name":"`+strings.Repeat("a", 300)+`"}`).expect(t, 400, "invalid_request")
	s.do(t, "POST", "/v1/reset-fee/keys", `{}`, "Authorization", "").expect(t, 401, "unauthorized")
	s.do(t, "POST", "/v1/reset-fee/keys/"+strings.Repeat("x", 100)+"/revoke", "").expect(t, 404, "not_found")
}
