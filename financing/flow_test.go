package financing_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/financing"
	"github.com/walletd/walletd/financing/financingtest"
	"github.com/walletd/walletd/walletdtest"
)

func meta(o *walletd.ShopOrder, key string) map[string]string {
	for _, m := range o.MetaData {
		if m.Key == key {
			var v map[string]string
			json.Unmarshal(m.Value, &v)
			return v
		}
	}
	return nil
}

// The seed's checklist: an approved postback pays the order.
func TestFlow_ApprovedPaysOrder(t *testing.T) {
	e := newEnv(t, envOptions{})
	id := e.order(t, "A-1", "")
	d := e.mustDo(t, "POST", fmt.Sprintf("/v1/orders/%d/financing", id), "", http.StatusCreated)
	token, href := d["request_token"].(string), d["href"].(string)
	if !strings.HasPrefix(href, e.fake.URL()+"/checkout?token=") || d["reference"] != "1" || d["amount"] != "499.00" {
		t.Fatalf("answer %v", d)
	}
	// The request the provider got: the seed's JSON.
	got := e.fake.Requests()[token]
	want := financing.CreateRequest{MerchantTransactionID: "1", FirstName: "Jane", LastName: "Doe", Email: "jane@example.com", Phone: "2125551234",
		BillingAddress1: "123 Main St", BillingCity: "New York", BillingState: "NY", BillingZipcode: "10001",
		ShippingAddress1: "123 Main St", ShippingCity: "New York", ShippingState: "NY", ShippingZipcode: "10001",
		Amount: "499.00", Version: "1.9", CartItems: []financing.CartItem{{SKU: "WID-001", DisplayName: "Super Widget", UnitPrice: "499.00", Quantity: "1", UnitTax: "0.00"}},
		PostbackURL: e.url + "/v1/inbound/wegetfinancing", SuccessURL: e.url + "/financing/return/success?ref=1", FailureURL: e.url + "/financing/return/failure?ref=1"}
	if got == nil || !equalRequest(got.Body, want) || got.Username != "shop-user" || got.Password != "s3cret-pass" {
		t.Fatalf("the provider got %+v\nwant %+v", got, want)
	}
	var keys map[string]any
	json.Unmarshal(got.Raw, &keys)
	for _, k := range []string{"merchant_transaction_id", "first_name", "last_name", "email", "phone", "billing_address1", "billing_city",
		"billing_state", "billing_zipcode", "shipping_address1", "shipping_city", "shipping_state", "shipping_zipcode", "amount", "version",
		"cart_items", "postback_url", "success_url", "failure_url"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("the request lacks %s", k)
		}
	}
	// A retry reuses the stored request.
	d = e.mustDo(t, "POST", fmt.Sprintf("/v1/orders/%d/financing", id), "{}", http.StatusOK)
	if d["request_token"] != token || d["href"] != href || e.fake.Creates() != 1 {
		t.Fatalf("retry %v, %d requests at the provider", d, e.fake.Creates())
	}
	if m := meta(e.getOrder(t, id), financing.MetaRequest); m["request_token"] != token || m["href"] != href {
		t.Fatalf("the order's history lacks the request: %v", e.getOrder(t, id).MetaData)
	}

	e.postback(t, token, financing.StatusApproved, "")
	walletdtest.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		if o := e.getOrder(t, id); o.Status != walletd.OrderProcessing {
			return fmt.Errorf("order %s", o.Status)
		}
		return nil
	})
	o := e.getOrder(t, id)
	if len(o.Payments) != 1 || o.Payments[0].Method != walletd.PayWeGetFinancing || o.Payments[0].Reference != token ||
		o.TransactionID != token || o.PaymentMethodTitle != "WeGetFinancing" {
		t.Fatalf("order %+v", o)
	}
	p := e.waitState(t, financing.StateApplied)
	if p.Reference != "1" || p.RequestToken != token || p.Status != "approved" || p.Attempts != 1 {
		t.Fatalf("log %+v", p)
	}

	// Duplicates (sequential and concurrent) are recorded once and change nothing.
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, body, err := e.fake.Postback(context.Background(), token, financing.StatusApproved, "")
			if err != nil || st != 200 || body != "OK" {
				t.Errorf("duplicate: %d %q %v", st, body, err)
			}
		}()
	}
	wg.Wait()
	ps, _ := e.svc.Postbacks(context.Background(), 10)
	if len(ps) != 1 || ps[0].Duplicates != 5 || ps[0].State != financing.StateApplied {
		t.Fatalf("log %+v", ps)
	}
	if o2 := e.getOrder(t, id); len(o2.Payments) != 1 || !o2.UpdatedAt.Equal(o.UpdatedAt) {
		t.Fatalf("a duplicate changed the order: %+v", o2)
	}
	if count(e.metrics.Postbacks, "approved") != 1 || count(e.metrics.Requests, financing.ReqCreated) != 1 || count(e.metrics.Requests, financing.ReqReused) != 1 {
		t.Fatalf("metrics: postbacks %v, requests %v/%v", count(e.metrics.Postbacks, "approved"),
			count(e.metrics.Requests, financing.ReqCreated), count(e.metrics.Requests, financing.ReqReused))
	}
	// The order can no longer be financed.
	e.wantError(t, "POST", fmt.Sprintf("/v1/orders/%d/financing", id), "", http.StatusConflict, walletd.EConflict)
}

func equalRequest(a, b financing.CreateRequest) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func TestFlow_Decisions(t *testing.T) {
	e := newEnv(t, envOptions{})
	t.Run("VirtualCompletes", func(t *testing.T) {
		id := e.order(t, "V-1", `, "meta_data": [{"key": "virtual", "value": true}]`)
		e.postback(t, e.request(t, id), financing.StatusApproved, "")
		e.waitState(t, financing.StateApplied)
		if o := e.getOrder(t, id); o.Status != walletd.OrderCompleted || o.CompletedAt.IsZero() {
			t.Fatalf("order %+v", o)
		}
	})
	t.Run("ClosedWithoutCompletingDoesNothing", func(t *testing.T) {
		id := e.order(t, "N-1", "")
		e.request(t, id)
		walletdtest.CheckHolds(t, 300*time.Millisecond, 50*time.Millisecond, func() error {
			if o := e.getOrder(t, id); o.Status != walletd.OrderPending || len(o.Payments) != 0 {
				return fmt.Errorf("order %+v", o)
			}
			return nil
		})
	})
	t.Run("PreapprovedRecordsOnly", func(t *testing.T) {
		id := e.order(t, "P-1", "")
		tok := e.request(t, id)
		e.postback(t, tok, financing.StatusPreapproved, "")
		e.waitState(t, financing.StateIgnored)
		o := e.getOrder(t, id)
		if o.Status != walletd.OrderPending || len(o.Payments) != 0 || meta(o, financing.MetaStatus)["status"] != "preapproved" {
			t.Fatalf("order %+v", o)
		}
		// The approval that follows pays it.
		e.postback(t, tok, financing.StatusApproved, "")
		e.waitState(t, financing.StateApplied)
		if o := e.getOrder(t, id); o.Status != walletd.OrderProcessing {
			t.Fatalf("order %+v", o)
		}
	})
	t.Run("RejectedFailsAndTellsTheCustomer", func(t *testing.T) {
		id := e.order(t, "R-1", "")
		tok := e.request(t, id)
		// A rejection may lack merchant_transaction_id: found by request_token.
		st, body := e.send(t, []byte(`{"version":"1.9","request_token":"`+tok+`","updates":{"status":"rejected"}}`))
		if st != 200 || body != "OK" {
			t.Fatalf("%d %q", st, body)
		}
		e.waitState(t, financing.StateApplied)
		o := e.getOrder(t, id)
		if o.Status != walletd.OrderFailed || len(o.Payments) != 0 || !strings.Contains(o.Reason, "rejected") {
			t.Fatalf("order %+v", o)
		}
		// The page the provider sends the customer back to.
		resp, err := http.Get(e.fake.Requests()[tok].Body.FailureURL)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		fmt.Fscan(resp.Body, &b)
		page := make([]byte, 4096)
		n, _ := resp.Body.Read(page)
		if resp.StatusCode != 200 || !strings.Contains(b.String()+string(page[:n]), "not approved") {
			t.Fatalf("failure page: %d %s%s", resp.StatusCode, b.String(), page[:n])
		}
	})
	t.Run("CancelledCancels", func(t *testing.T) {
		id := e.order(t, "C-1", "")
		e.postback(t, e.request(t, id), "cancelled", "")
		e.waitState(t, financing.StateApplied)
		if o := e.getOrder(t, id); o.Status != walletd.OrderCancelled {
			t.Fatalf("order %+v", o)
		}
	})
	t.Run("TopLevelShapeWithApprovedAmount", func(t *testing.T) {
		id := e.order(t, "G-1", "")
		tok := e.request(t, id)
		st, _ := e.send(t, []byte(fmt.Sprintf(`{"request_token":%q,"merchant_transaction_id":"%d","status":"approved","approved_amount":"499.00","version":"1.9"}`, tok, id)))
		if st != 200 {
			t.Fatal(st)
		}
		e.waitState(t, financing.StateApplied)
		if o := e.getOrder(t, id); o.Status != walletd.OrderProcessing {
			t.Fatalf("order %+v", o)
		}
	})
	t.Run("ApprovedAmountDiffersGoesToReview", func(t *testing.T) {
		id := e.order(t, "D-1", "")
		tok := e.request(t, id)
		e.send(t, []byte(fmt.Sprintf(`{"request_token":%q,"merchant_transaction_id":"%d","status":"approved","approved_amount":"450.00"}`, tok, id)))
		p := e.waitState(t, financing.StateReview)
		o := e.getOrder(t, id)
		if o.Status != walletd.OrderPending || !strings.Contains(p.Outcome, "450.00") || meta(o, financing.MetaStatus)["status"] != "approved" {
			t.Fatalf("order %+v, log %+v", o, p)
		}
	})
	t.Run("UnknownReferenceGoesToReview", func(t *testing.T) {
		e.send(t, []byte(`{"version":"1.9","request_token":"nobody","merchant_transaction_id":"999","updates":{"status":"approved"}}`))
		e.waitState(t, financing.StateReview)
		e.send(t, []byte(`{"version":"1.9","request_token":"nobody","updates":{"status":"rejected"}}`))
		e.waitState(t, financing.StateReview)
	})
	t.Run("TokenMismatchGoesToReview", func(t *testing.T) {
		id := e.order(t, "T-1", "")
		e.request(t, id)
		e.send(t, []byte(fmt.Sprintf(`{"request_token":"forged","merchant_transaction_id":"%d","updates":{"status":"approved"}}`, id)))
		e.waitState(t, financing.StateReview)
		if o := e.getOrder(t, id); o.Status != walletd.OrderPending {
			t.Fatalf("order %+v", o)
		}
	})
	t.Run("RejectedAfterPaymentGoesToReview", func(t *testing.T) {
		id := e.order(t, "RP-1", "")
		tok := e.request(t, id)
		e.postback(t, tok, financing.StatusApproved, "")
		e.waitState(t, financing.StateApplied)
		e.postback(t, tok, financing.StatusRejected, "")
		e.waitState(t, financing.StateReview)
		if o := e.getOrder(t, id); o.Status != walletd.OrderProcessing {
			t.Fatalf("order %+v", o)
		}
	})
	t.Run("Refunds", func(t *testing.T) {
		id := e.order(t, "F-1", "")
		tok := e.request(t, id)
		e.postback(t, tok, financing.StatusApproved, "")
		e.waitState(t, financing.StateApplied)
		e.postback(t, tok, financing.StatusRefund, "100.00")
		e.waitState(t, financing.StateApplied)
		o := e.getOrder(t, id)
		if o.Status != walletd.OrderProcessing || len(o.Refunds) != 1 || o.Refunds[0].Total.String() != "100.00" {
			t.Fatalf("order %+v", o)
		}
		// The same refund again is a duplicate: recorded once.
		e.postback(t, tok, financing.StatusRefund, "100.00")
		// More than is left is not applied.
		e.postback(t, tok, financing.StatusRefund, "399.01")
		e.waitState(t, financing.StateReview)
		e.postback(t, tok, financing.StatusRefund, "399.00")
		e.waitState(t, financing.StateApplied)
		o = e.getOrder(t, id)
		if o.Status != walletd.OrderRefunded || len(o.Refunds) != 2 || o.Payments[0].Status != walletd.PaymentRefunded {
			t.Fatalf("order %+v", o)
		}
	})
}

// The seed's checklist: the handler answers within 5 s even when
// applying is slow; the postback is applied after.
func TestFlow_AnswersBeforeApplying(t *testing.T) {
	release := make(chan struct{})
	e := newEnv(t, envOptions{applier: func(a financing.Applier) financing.Applier {
		return applierFunc(func(ctx context.Context, p *financing.Postback) (financing.Outcome, error) {
			select {
			case <-release:
			case <-ctx.Done():
				return financing.Outcome{}, ctx.Err()
			}
			return a.Apply(ctx, p)
		})
	}})
	id := e.order(t, "S-1", "")
	tok := e.request(t, id)
	start := time.Now()
	e.postback(t, tok, financing.StatusApproved, "")
	if d := time.Since(start); d > time.Second {
		t.Fatalf("the postback was answered after %s", d)
	}
	if o := e.getOrder(t, id); o.Status != walletd.OrderPending {
		t.Fatalf("applied before the answer: %+v", o)
	}
	close(release)
	e.waitState(t, financing.StateApplied)
	if o := e.getOrder(t, id); o.Status != walletd.OrderProcessing {
		t.Fatalf("order %+v", o)
	}
}

type applierFunc func(ctx context.Context, p *financing.Postback) (financing.Outcome, error)

func (f applierFunc) Apply(ctx context.Context, p *financing.Postback) (financing.Outcome, error) {
	return f(ctx, p)
}

// The process stops between recording a postback and applying it (the
// applier is stuck in the ledger when the pipeline stops): the postback
// was answered OK and stays recorded, and the next start applies it.
// Duplicates after a restart never double-apply.
func TestFlow_Restart(t *testing.T) {
	stuck := make(chan struct{}, 1)
	e := newEnv(t, envOptions{applier: func(financing.Applier) financing.Applier {
		return applierFunc(func(ctx context.Context, p *financing.Postback) (financing.Outcome, error) {
			stuck <- struct{}{}
			<-ctx.Done() // never returns before the stop
			return financing.Outcome{}, ctx.Err()
		})
	}})
	id := e.order(t, "X-1", "")
	tok := e.request(t, id)
	e.postback(t, tok, financing.StatusApproved, "")
	<-stuck
	if p := e.waitState(t, financing.StateReceived); p.Attempts != 0 {
		t.Fatalf("log %+v", p)
	}
	e.restart(t, &financing.LedgerApplier{Service: e.svc})
	p := e.waitState(t, financing.StateApplied)
	if o := e.getOrder(t, id); o.Status != walletd.OrderProcessing || len(o.Payments) != 1 || p.Attempts != 1 {
		t.Fatalf("order %+v, log %+v", o, p)
	}
	e.restart(t, &financing.LedgerApplier{Service: e.svc})
	e.postback(t, tok, financing.StatusApproved, "")
	ps, _ := e.svc.Postbacks(context.Background(), 10)
	if len(ps) != 1 || ps[0].Duplicates != 1 || ps[0].State != financing.StateApplied {
		t.Fatalf("log %+v", ps)
	}
	// Applying the same postback again (a crash after the ledger's commit,
	// before the pipeline stored the outcome) changes nothing: the ledger
	// replays it.
	pb, err := financing.ParsePostback(financingtest.PostbackBody(tok, fmt.Sprint(id), "approved", ""))
	if err != nil {
		t.Fatal(err)
	}
	out, err := (&financing.LedgerApplier{Service: e.svc}).Apply(context.Background(), pb)
	if err != nil || out.State == financing.StateReview {
		t.Fatalf("%+v %v", out, err)
	}
	if o := e.getOrder(t, id); o.Status != walletd.OrderProcessing || len(o.Payments) != 1 {
		t.Fatalf("order %+v", o)
	}
}

// Concurrent calls for one order send one provider request.
func TestFlow_ConcurrentRequests(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.fake.SetDelay(100 * time.Millisecond)
	id := e.order(t, "Q-1", "")
	var wg sync.WaitGroup
	tokens := make([]string, 8)
	for i := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, b := e.do(t, "POST", fmt.Sprintf("/v1/orders/%d/financing", id), "")
			var env struct {
				Data struct {
					RequestToken string `json:"request_token"`
				}
			}
			json.Unmarshal(b, &env)
			if (st != 200 && st != 201) || env.Data.RequestToken == "" {
				t.Errorf("%d %s", st, b)
			}
			tokens[i] = env.Data.RequestToken
		}()
	}
	wg.Wait()
	if e.fake.Creates() != 1 || len(slices.Compact(slices.Clone(tokens))) != 1 {
		t.Fatalf("%d provider requests, tokens %v", e.fake.Creates(), tokens)
	}
}

func TestFlow_ProviderErrors(t *testing.T) {
	e := newEnv(t, envOptions{timeout: 300 * time.Millisecond, lease: 600 * time.Millisecond, shape: financingtest.ShapeReference})
	id := e.order(t, "E-1", "")
	path := fmt.Sprintf("/v1/orders/%d/financing", id)
	e.fake.RefuseNext(financing.ProviderError{Type: "error", Error: "missing_parameters", Code: "400", Message: "Missing parameters: phone"})
	msg := e.wantError(t, "POST", path, "", http.StatusBadGateway, walletd.EProvider)
	if !strings.Contains(msg, "Missing parameters: phone") {
		t.Fatalf("message %q", msg)
	}
	// The log of requests shows the refusal.
	log := e.mustDo(t, "GET", "/v1/financing/requests", "", http.StatusOK)["items"].([]any)
	if r := log[0].(map[string]any); len(log) != 1 || r["state"] != "refused" || !strings.Contains(r["last_error"].(string), "Missing parameters: phone") ||
		r["attempts"] != 1.0 || r["reference"] != fmt.Sprint(id) {
		t.Fatalf("requests %v", log)
	}
	// Nothing was created: the retry sends the request (answered in the
	// API reference's shape, {inv_id, href, amount}).
	d := e.mustDo(t, "POST", path, "", http.StatusCreated)
	if !strings.HasPrefix(d["request_token"].(string), "tok") || e.fake.Creates() != 1 || d["state"] != "created" || d["attempts"] != 2.0 ||
		d["last_error"] != nil {
		t.Fatalf("%v, %d", d, e.fake.Creates())
	}

	// A provider that does not answer in time: the request may exist, so
	// a retry within the lease does not send another.
	id2 := e.order(t, "E-2", "")
	path2 := fmt.Sprintf("/v1/orders/%d/financing", id2)
	e.fake.SetDelay(time.Second)
	e.wantError(t, "POST", path2, "", http.StatusBadGateway, walletd.EProvider)
	e.wantError(t, "POST", path2, "", http.StatusConflict, walletd.EConflict)
	log = e.mustDo(t, "GET", "/v1/financing/requests?limit=1", "", http.StatusOK)["items"].([]any)
	if r := log[0].(map[string]any); r["state"] != "sending" || r["last_error"] == nil || r["duration_ms"].(float64) < 250 {
		t.Fatalf("requests %v", log)
	}
	e.fake.SetDelay(0)
	time.Sleep(700 * time.Millisecond)
	e.mustDo(t, "POST", path2, "", http.StatusCreated)

	// Wrong credentials: the provider's 401 is a 502 with its message.
	e.mustDo(t, "PUT", "/v1/financing/settings", strings.Replace(e.settings(""), "s3cret-pass", "wrong", 1), http.StatusOK)
	id3 := e.order(t, "E-3", "")
	msg = e.wantError(t, "POST", fmt.Sprintf("/v1/orders/%d/financing", id3), "", http.StatusBadGateway, walletd.EProvider)
	if !strings.Contains(msg, "Invalid credentials") {
		t.Fatalf("message %q", msg)
	}
}
