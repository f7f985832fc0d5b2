package financing_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
	"github.com/walletd/walletd"
	"github.com/walletd/walletd/financing"
	"github.com/walletd/walletd/financing/financingtest"
)

func TestAPI_Settings(t *testing.T) {
	e := newEnv(t, envOptions{noConfigure: true})
	// Unconfigured: financing is not offered.
	msg := e.wantError(t, "GET", "/v1/financing/settings", "", http.StatusConflict, walletd.EConflict)
	if !strings.Contains(msg, "not configured") {
		t.Fatalf("message %q", msg)
	}
	id := e.order(t, "U-1", "")
	e.wantError(t, "POST", fmt.Sprintf("/v1/orders/%d/financing", id), "", http.StatusConflict, walletd.EConflict)
	st, body, _ := e.fake.Send(context.Background(), e.url+financing.PostbackPath, financingtest.PostbackBody("x", "1", "approved", ""))
	if st != http.StatusNotFound || !strings.Contains(body, `"code":"gateway_not_configured"`) {
		t.Fatalf("postback while unconfigured: %d %s", st, body)
	}
	// A financed top-up is refused before the top-up is made.
	wal := e.l.MustWallet(t, "ann", "USD")
	before := e.mustDo(t, "GET", "/v1/wallets/"+wal, "", http.StatusOK)["last_seq"]
	e.wantError(t, "POST", "/v1/wallets/"+wal+"/topups", `{"amount": "250.00", "method": "wegetfinancing"}`, http.StatusConflict, walletd.EConflict)
	if after := e.mustDo(t, "GET", "/v1/wallets/"+wal, "", http.StatusOK)["last_seq"]; after != before {
		t.Fatalf("last_seq %v → %v: a top-up was made", before, after)
	}

	for name, c := range map[string]struct {
		body, code string
	}{
		"Malformed":       {`{"api_url":`, "invalid_json"},
		"UnknownField":    {e.settings(`"extra": 1`), "invalid_json"},
		"NumberAmount":    {e.settings(`"min_amount": 100`), "invalid_json"},
		"NoURL":           {`{"merchant_id":"m","username":"u","password":"p"}`, walletd.EInvalid},
		"PlainHTTP":       {strings.Replace(e.settings(""), "http://127.0.0.1", "http://api.example.com", 1), walletd.EInvalid},
		"FTP":             {strings.Replace(e.settings(""), "http://", "ftp://", 1), walletd.EInvalid},
		"UserInfo":        {strings.Replace(e.settings(""), "http://", "http://a:b@", 1), walletd.EInvalid},
		"MerchantSlash":   {strings.Replace(e.settings(""), `"m-42"`, `"m/../x"`, 1), walletd.EInvalid},
		"NoUsername":      {strings.Replace(e.settings(""), `"shop-user"`, `""`, 1), walletd.EInvalid},
		"NoPassword":      {strings.Replace(e.settings(""), `"s3cret-pass"`, `""`, 1), walletd.EInvalid},
		"ControlPassword": {strings.Replace(e.settings(""), `"s3cret-pass"`, `"a\u0007b"`, 1), walletd.EInvalid},
		"MinExponent":     {e.settings(`"min_amount": "1e400"`), walletd.EInvalidAmount},
		"MinNegZero":      {e.settings(`"min_amount": "-0"`), walletd.EInvalidAmount},
		"MaxTooPrecise":   {e.settings(`"max_amount": "0.001"`), walletd.EInvalidAmount},
		"MaxNaN":          {e.settings(`"max_amount": "NaN"`), walletd.EInvalidAmount},
		"MinAboveMax":     {e.settings(`"min_amount": "500", "max_amount": "100"`), walletd.EInvalidAmount},
		"BadCurrency":     {e.settings(`"currency": "XXZ"`), walletd.EInvalidCurrency},
		"BadSuccessURL":   {e.settings(`"success_url": "javascript:alert(1)"`), walletd.EInvalid},
	} {
		t.Run(name, func(t *testing.T) {
			status := http.StatusBadRequest
			e.wantError(t, "PUT", "/v1/financing/settings", c.body, status, c.code)
			e.wantError(t, "GET", "/v1/financing/settings", "", http.StatusConflict, walletd.EConflict)
		})
	}
	e.wantError(t, "PUT", "/v1/financing/settings", `{"pad":"`+strings.Repeat("x", 1<<20)+`"}`, http.StatusRequestEntityTooLarge, "body_too_large")

	d := e.mustDo(t, "PUT", "/v1/financing/settings", e.settings(`"min_amount": "100", "max_amount": "1000.5"`), http.StatusOK)
	if d["postback_url"] != e.url+"/v1/inbound/wegetfinancing" || d["password_set"] != true || d["min_amount"] != "100.00" ||
		d["max_amount"] != "1000.50" || d["currency"] != "USD" || d["success_url"] != e.url+"/financing/return/success" {
		t.Fatalf("settings %v", d)
	}
	if _, ok := d["password"]; ok {
		t.Fatal("the answer shows the password")
	}
	got := e.mustDo(t, "GET", "/v1/financing/settings", "", http.StatusOK)
	if _, ok := got["password"]; ok || got["api_url"] != e.fake.URL() || got["username"] != "shop-user" {
		t.Fatalf("GET %v", got)
	}
	// Sealed at rest.
	db, err := sql.Open("sqlite3", "file:"+e.storePath+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var stored string
	if err := db.QueryRow(`SELECT password FROM financing_settings`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stored, "v1:") || strings.Contains(stored, "s3cret") {
		t.Fatalf("stored password %q", stored)
	}
	// The password may be left out to keep it.
	e.mustDo(t, "PUT", "/v1/financing/settings", strings.Replace(e.settings(`"max_amount": "1000"`), `"s3cret-pass"`, `""`, 1), http.StatusOK)
	// The range: 499.00 is offered, 1500.00 and 50.00 are not.
	e.request(t, id)
	big := e.order(t, "U-2", `, "discount_total": "0", "shipping_total": "1001.00"`)
	e.wantError(t, "POST", fmt.Sprintf("/v1/orders/%d/financing", big), "", http.StatusBadRequest, walletd.EInvalidAmount)
	e.mustDo(t, "PUT", "/v1/financing/settings", e.settings(`"min_amount": "500"`), http.StatusOK)
	small := e.order(t, "U-3", "")
	e.wantError(t, "POST", fmt.Sprintf("/v1/orders/%d/financing", small), "", http.StatusBadRequest, walletd.EInvalidAmount)
	// Only admin keys see or change the settings.
	k, token, _ := walletd.NewAPIKey("shop", []string{walletd.ScopeWalletsWrite}, time.Now())
	e.l.DB.CreateAPIKey(context.Background(), k)
	req, _ := http.NewRequest("GET", e.url+"/v1/financing/settings", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a wallets:write key: %v %v", resp, err)
	}
}

func TestAPI_OrderFinancingBadInput(t *testing.T) {
	e := newEnv(t, envOptions{})
	id := e.order(t, "B-1", "")
	path := fmt.Sprintf("/v1/orders/%d/financing", id)
	e.wantError(t, "POST", "/v1/orders/999/financing", "", http.StatusNotFound, walletd.ENotFound)
	e.wantError(t, "POST", "/v1/orders/abc/financing", "", http.StatusNotFound, walletd.ENotFound)
	e.wantError(t, "POST", path, `{"x":1}`, http.StatusBadRequest, "invalid_json")
	e.wantError(t, "POST", path, `{`, http.StatusBadRequest, "invalid_json")
	e.wantError(t, "POST", path, `[]`, http.StatusBadRequest, "invalid_json")
	e.wantError(t, "GET", path, "", http.StatusMethodNotAllowed, "method_not_allowed")
	eur := e.mustDo(t, "POST", "/v1/orders", `{"currency": "EUR", "billing": {"first_name": "A", "last_name": "B", "email": "a@example.com"},
		"lines": [{"name": "X", "price": "10.00"}]}`, http.StatusCreated)
	e.wantError(t, "POST", fmt.Sprintf("/v1/orders/%d/financing", int64(eur["id"].(float64))), "", http.StatusUnprocessableEntity, walletd.ECurrencyMismatch)
	e.mustDo(t, "POST", fmt.Sprintf("/v1/orders/%d/cancel", id), "", http.StatusOK)
	e.wantError(t, "POST", path, "", http.StatusConflict, walletd.EConflict)
	if e.fake.Creates() != 0 {
		t.Fatalf("%d requests reached the provider", e.fake.Creates())
	}
	// A customer without the provider's required fields: the provider's
	// own error, as a 502.
	noName := e.mustDo(t, "POST", "/v1/orders", `{"currency": "USD", "lines": [{"name": "X", "price": "10.00"}]}`, http.StatusCreated)
	msg := e.wantError(t, "POST", fmt.Sprintf("/v1/orders/%d/financing", int64(noName["id"].(float64))), "", http.StatusBadGateway, walletd.EProvider)
	if !strings.Contains(msg, "Missing parameters: first_name, last_name, email") {
		t.Fatalf("message %q", msg)
	}
}

// Every postback's x-signature is verified: a postback that does not
// verify is 401 and changes nothing, not even the log.
func TestAPI_PostbackRefused(t *testing.T) {
	e := newEnv(t, envOptions{})
	id := e.order(t, "SG-1", "")
	tok := e.request(t, id)
	url := e.url + financing.PostbackPath
	body := financingtest.PostbackBody(tok, fmt.Sprint(id), "approved", "")
	now := time.Now()
	ts := strconv.FormatInt(now.Unix(), 10)
	good := financing.Sign(ts, "shop-user", body, "s3cret-pass")
	for name, c := range map[string]struct {
		body          []byte
		ts, signature string
		status        int
	}{
		"NoHeaders":      {body, "", "", 401},
		"NoSignature":    {body, ts, "", 401},
		"WrongPassword":  {body, ts, financing.Sign(ts, "shop-user", body, "guess"), 401},
		"TamperedBody":   {[]byte(strings.Replace(string(body), "approved", "rejected", 1)), ts, good, 401},
		"Replayed":       {body, strconv.FormatInt(now.Add(-time.Hour).Unix(), 10), financing.Sign(strconv.FormatInt(now.Add(-time.Hour).Unix(), 10), "shop-user", body, "s3cret-pass"), 401},
		"Future":         {body, strconv.FormatInt(now.Add(time.Hour).Unix(), 10), financing.Sign(strconv.FormatInt(now.Add(time.Hour).Unix(), 10), "shop-user", body, "s3cret-pass"), 401},
		"GarbageSig":     {body, ts, "../../etc/passwd", 401},
		"SignedGarbage":  {[]byte("not json"), ts, financing.Sign(ts, "shop-user", []byte("not json"), "s3cret-pass"), 400},
		"SignedNoStatus": {[]byte(`{"request_token":"x"}`), ts, financing.Sign(ts, "shop-user", []byte(`{"request_token":"x"}`), "s3cret-pass"), 400},
	} {
		t.Run(name, func(t *testing.T) {
			st, _, err := financingtest.SendSigned(context.Background(), url, c.body, c.ts, c.signature)
			if err != nil || st != c.status {
				t.Fatalf("%d %v, want %d", st, err, c.status)
			}
		})
	}
	huge := make([]byte, financing.MaxPostbackBytes+1)
	if st, _, _ := financingtest.SendSigned(context.Background(), url, huge, ts, financing.Sign(ts, "shop-user", huge, "s3cret-pass")); st != http.StatusRequestEntityTooLarge {
		t.Fatalf("huge: %d", st)
	}
	if ps, _ := e.svc.Postbacks(context.Background(), 10); len(ps) != 0 {
		t.Fatalf("refused postbacks were recorded: %+v", ps)
	}
	if o := e.getOrder(t, id); o.Status != walletd.OrderPending {
		t.Fatalf("order %+v", o)
	}
	if n := count(e.metrics.Verification, financing.RefusedSignature); n != 7 {
		t.Fatalf("%v signature failures counted, want 7", n)
	}
	if n := count(e.metrics.Verification, financing.RefusedPayload); n != 2 {
		t.Fatalf("%v payload failures counted, want 2", n)
	}
	// The logs are admin's.
	d := e.mustDo(t, "GET", "/v1/financing/requests?limit=5", "", http.StatusOK)
	if items := d["items"].([]any); len(items) != 1 {
		t.Fatalf("requests %v", d)
	}
	e.wantError(t, "GET", "/v1/financing/postbacks?limit=0", "", http.StatusBadRequest, walletd.EInvalid)
	e.wantError(t, "GET", "/financing/return/other", "", http.StatusNotFound, walletd.ENotFound)
}

func TestAPI_Topup(t *testing.T) {
	e := newEnv(t, envOptions{})
	wal := e.l.MustWallet(t, "ann", "USD")
	body := `{"amount": "250.00", "method": "wegetfinancing", "billing": {"first_name": "Ann", "last_name": "Lee", "phone": "2125550000"}}`
	d := e.mustDo(t, "POST", "/v1/wallets/"+wal+"/topups", body, http.StatusCreated)
	fin, _ := d["financing"].(map[string]any)
	topID, _ := d["id"].(string)
	if d["status"] != "pending" || fin == nil || fin["reference"] != topID || fin["kind"] != "topup" {
		t.Fatalf("answer %v", d)
	}
	tok := fin["request_token"].(string)
	got := e.fake.Requests()[tok].Body
	if got.MerchantTransactionID != topID || got.Amount != "250.00" || got.Email != "ann@example.com" || got.FirstName != "Ann" ||
		len(got.CartItems) != 1 || got.CartItems[0].UnitPrice != "250.00" {
		t.Fatalf("the provider got %+v", got)
	}
	// The retry route reuses it.
	d = e.mustDo(t, "POST", "/v1/topups/"+topID+"/financing", "", http.StatusOK)
	if d["request_token"] != tok {
		t.Fatalf("%v", d)
	}
	e.postback(t, tok, financing.StatusApproved, "")
	e.waitState(t, financing.StateApplied)
	top := e.mustDo(t, "GET", "/v1/topups/"+topID, "", http.StatusOK)
	w := e.mustDo(t, "GET", "/v1/wallets/"+wal, "", http.StatusOK)
	if top["status"] != "completed" || w["balance"] != "250.00" {
		t.Fatalf("top-up %v wallet %v", top, w)
	}
	// A duplicate approval does not credit twice.
	e.postback(t, tok, financing.StatusApproved, "")
	if w := e.mustDo(t, "GET", "/v1/wallets/"+wal, "", http.StatusOK); w["balance"] != "250.00" {
		t.Fatalf("wallet %v", w)
	}

	t.Run("Rejected", func(t *testing.T) {
		d := e.mustDo(t, "POST", "/v1/wallets/"+wal+"/topups", `{"amount": "100", "method": "wegetfinancing", "billing": {"first_name": "Ann", "last_name": "Lee"}}`, http.StatusCreated)
		tok := d["financing"].(map[string]any)["request_token"].(string)
		e.send(t, []byte(`{"version":"1.9","request_token":"`+tok+`","updates":{"status":"rejected"}}`))
		e.waitState(t, financing.StateApplied)
		if top := e.mustDo(t, "GET", "/v1/topups/"+d["id"].(string), "", http.StatusOK); top["status"] != "failed" {
			t.Fatalf("top-up %v", top)
		}
	})
	t.Run("BadInput", func(t *testing.T) {
		path := "/v1/wallets/" + wal + "/topups"
		for _, c := range []struct {
			body, code string
			status     int
		}{
			{`{"amount": "1e400", "method": "wegetfinancing"}`, walletd.EInvalidAmount, 400},
			{`{"amount": "-0", "method": "wegetfinancing"}`, walletd.EInvalidAmount, 400},
			{`{"amount": "0.001", "method": "wegetfinancing"}`, walletd.EInvalidAmount, 400},
			{`{"amount": "NaN", "method": "wegetfinancing"}`, walletd.EInvalidAmount, 400},
			{`{"amount": 5, "method": "wegetfinancing"}`, "invalid_json", 400},
			{`{"amount": "5", "method": "wegetfinancing", "billing": {"first_name": "\u202e"}}`, walletd.EInvalid, 400},
			{`{"amount": "5", "method": "wegetfinancing", "billing": {"nope": 1}}`, "invalid_json", 400},
			{`{"amount": "5", "method": "card", "billing": {"first_name": "A"}}`, walletd.EInvalid, 400},
		} {
			e.wantError(t, "POST", path, c.body, c.status, c.code)
		}
		e.wantError(t, "POST", "/v1/wallets/wal_nope/topups", `{"amount": "5", "method": "wegetfinancing"}`, 404, walletd.ENotFound)
		e.wantError(t, "POST", "/v1/topups/top_nope/financing", "", 404, walletd.ENotFound)
		card := e.mustDo(t, "POST", path, `{"amount": "5", "method": "card"}`, http.StatusCreated)
		e.wantError(t, "POST", "/v1/topups/"+card["id"].(string)+"/financing", "", 409, walletd.EConflict)
		eur := e.l.MustWallet(t, "ann", "EUR")
		e.wantError(t, "POST", "/v1/wallets/"+eur+"/topups", `{"amount": "5", "method": "wegetfinancing"}`, 422, walletd.ECurrencyMismatch)
	})
}
