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
