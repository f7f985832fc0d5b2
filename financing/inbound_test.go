package financing_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/financing"
	"github.com/walletd/walletd/financing/financingtest"
	"github.com/walletd/walletd/walletdtest"
)

// deadLetters lists the dead letters of gateway wegetfinancing.
func (e *env) deadLetters(t *testing.T) []map[string]any {
	t.Helper()
	d := e.mustDo(t, "GET", "/v1/inbound/dead-letters?gateway=wegetfinancing", "", http.StatusOK)
	var out []map[string]any
	for _, v := range d["dead_letters"].([]any) {
		out = append(out, v.(map[string]any))
	}
	return out
}

// The seed-style WordPress path reaches the same gateway: 200 with the
// plain text OK, and the postback applied; a bad signature there is the
// pipeline's 401.
func TestInbound_WordPressAlias(t *testing.T) {
	e := newEnv(t, envOptions{})
	id := e.order(t, "WP-1", "")
	tok := e.request(t, id)
	body := financingtest.PostbackBody(tok, fmt.Sprint(id), financing.StatusApproved, "")
	req, _ := http.NewRequest("POST", e.url+"/wp-json/odcm/v1/webhooks/wegetfinancing", strings.NewReader(string(body)))
	ts := fmt.Sprint(time.Now().Unix())
	req.Header.Set(financing.HeaderTimestamp, ts)
	req.Header.Set(financing.HeaderSignature, financing.Sign(ts, "shop-user", body, "s3cret-pass"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 16)
	n, _ := resp.Body.Read(b)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b[:n]) != "OK" || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Fatalf("%d %q %s", resp.StatusCode, b[:n], resp.Header.Get("Content-Type"))
	}
	e.waitState(t, financing.StateApplied)
	if o := e.getOrder(t, id); o.Status != walletd.OrderProcessing {
		t.Fatalf("order %+v", o)
	}
	st, out, err := financingtest.SendSigned(context.Background(), e.url+"/wp-json/odcm/v1/webhooks/wegetfinancing", body, ts, strings.Repeat("0", 64))
	if err != nil || st != http.StatusUnauthorized || !strings.Contains(out, `"code":"invalid_signature"`) {
		t.Fatalf("forged: %d %s %v", st, out, err)
	}
	// The gateway is in the pipeline's list, configured by the financing
	// settings.
	list := e.mustDo(t, "GET", "/v1/inbound/gateways/wegetfinancing", "", http.StatusOK)
	if list["status"] != "active" || list["native_url"] != e.url+"/v1/inbound/wegetfinancing" {
		t.Fatalf("gateway %v", list)
	}
	// Its network rules can be set; it takes no secret.
	e.wantError(t, "PUT", "/v1/inbound/gateways/wegetfinancing", `{"secret": "0123456789abcdef0123"}`, http.StatusBadRequest, walletd.EInvalid)
	e.mustDo(t, "PUT", "/v1/inbound/gateways/wegetfinancing", `{"allow_cidrs": ["10.0.0.0/8"]}`, http.StatusOK)
	st, _, _ = e.fake.Send(context.Background(), e.url+financing.PostbackPath, body)
	if st != http.StatusForbidden {
		t.Fatalf("from an address not allowed: %d", st)
	}
}

// An applier error is retried with backoff; one that keeps failing ends
// in the dead-letter queue, and the admin's redrive applies it.
func TestInbound_RetriesAndDeadLetters(t *testing.T) {
	var failing atomic.Bool
	var calls atomic.Int32
	failing.Store(true)
	e := newEnv(t, envOptions{maxAttempts: 3, applier: func(a financing.Applier) financing.Applier {
		return applierFunc(func(ctx context.Context, p *financing.Postback) (financing.Outcome, error) {
			calls.Add(1)
			if failing.Load() {
				return financing.Outcome{}, errors.New("the ledger is busy")
			}
			return a.Apply(ctx, p)
		})
	}})
	id := e.order(t, "RT-1", "")
	tok := e.request(t, id)
	e.postback(t, tok, financing.StatusApproved, "")
	p := e.waitState(t, financing.StateReview)
	if calls.Load() != 3 || p.Attempts != 3 || !strings.Contains(p.Outcome, "3 attempts failed") {
		t.Fatalf("%d calls, log %+v", calls.Load(), p)
	}
	if o := e.getOrder(t, id); o.Status != walletd.OrderPending {
		t.Fatalf("order %+v", o)
	}
	dl := e.deadLetters(t)
	if len(dl) != 1 || dl[0]["provider_event_id"] != p.EventID || dl[0]["state"] != "dead" {
		t.Fatalf("dead letters %v", dl)
	}
	failing.Store(false)
	d := e.mustDo(t, "POST", fmt.Sprintf("/v1/inbound/dead-letters/%v/redrive", dl[0]["id"]), "", http.StatusOK)
	if d["state"] != "done" {
		t.Fatalf("redrive %v", d)
	}
	if o := e.getOrder(t, id); o.Status != walletd.OrderProcessing || len(o.Payments) != 1 {
		t.Fatalf("order %+v", o)
	}
	if p := e.waitState(t, financing.StateApplied); p.Attempts != 1 {
		t.Fatalf("log %+v", p)
	}
	if n := count(e.metrics.Outcomes, financing.StateRetrying); n != 3 {
		t.Fatalf("%v retrying outcomes", n)
	}

	// A failure that passes: applied at a later attempt.
	var left atomic.Int32
	left.Store(1)
	e.restart(t, applierFunc(func(ctx context.Context, p *financing.Postback) (financing.Outcome, error) {
		if left.Add(-1) >= 0 {
			return financing.Outcome{}, errors.New("the ledger is busy")
		}
		return (&financing.LedgerApplier{Service: e.svc}).Apply(ctx, p)
	}))
	id2 := e.order(t, "RT-2", "")
	e.postback(t, e.request(t, id2), financing.StatusApproved, "")
	if p := e.waitState(t, financing.StateApplied); p.Attempts != 2 {
		t.Fatalf("log %+v", p)
	}
}

// A postback for review (an approved amount that is not the order's
// total) is a dead letter with its reason, and stays one when redriven.
func TestInbound_ReviewIsDeadLetter(t *testing.T) {
	e := newEnv(t, envOptions{})
	id := e.order(t, "RV-1", "")
	tok := e.request(t, id)
	e.send(t, []byte(fmt.Sprintf(`{"request_token":%q,"merchant_transaction_id":"%d","status":"approved","approved_amount":"450.00"}`, tok, id)))
	e.waitState(t, financing.StateReview)
	dl := e.deadLetters(t)
	if len(dl) != 1 || !strings.Contains(dl[0]["dead_reason"].(string), "450.00") {
		t.Fatalf("dead letters %v", dl)
	}
	d := e.mustDo(t, "POST", fmt.Sprintf("/v1/inbound/dead-letters/%v/redrive", dl[0]["id"]), "", http.StatusOK)
	if d["state"] != "dead" {
		t.Fatalf("redrive %v", d)
	}
	if o := e.getOrder(t, id); o.Status != walletd.OrderPending {
		t.Fatalf("order %+v", o)
	}
}

// Every request walletd sends is in the inbound log (direction out) with
// its status, timing, order and outcome, and on the order's history.
func TestInbound_RequestsLogged(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.fake.SetDelay(30 * time.Millisecond)
	id := e.order(t, "RL-1", "")
	e.fake.RefuseNext(financing.ProviderError{Type: "error", Error: "missing_parameters", Code: "400", Message: "Missing parameters: phone"})
	e.wantError(t, "POST", fmt.Sprintf("/v1/orders/%d/financing", id), "", http.StatusBadGateway, walletd.EProvider)
	if m := meta(e.getOrder(t, id), financing.MetaRequest); m["state"] != financing.ReqRefused || !strings.Contains(m["error"], "phone") {
		t.Fatalf("order's history %v", m)
	}
	tok := e.request(t, id)
	if m := meta(e.getOrder(t, id), financing.MetaRequest); m["state"] != "created" || m["request_token"] != tok {
		t.Fatalf("order's history %v", m)
	}
	e.request(t, e.order(t, "RL-2", ""))                                               // another order
	e.mustDo(t, "POST", fmt.Sprintf("/v1/orders/%d/financing", id), "", http.StatusOK) // reused: nothing sent
	e.postback(t, tok, financing.StatusApproved, "")
	e.waitState(t, financing.StateApplied)

	var logs struct {
		Data struct {
			Logs []struct {
				Direction        string `json:"direction"`
				EventType        string `json:"event_type"`
				Status           string `json:"status"`
				Outcome          string `json:"outcome"`
				HTTPStatus       int    `json:"http_status"`
				OrderID          *int64 `json:"order_id"`
				ProcessingTimeMS int64  `json:"processing_time_ms"`
				ErrorMessage     string `json:"error_message"`
				ProviderEventID  string `json:"provider_event_id"`
			} `json:"logs"`
			Total int `json:"total"`
		} `json:"data"`
	}
	st, b := e.do(t, "GET", "/v1/inbound/gateways/wegetfinancing/logs?limit=10", "")
	if st != 200 || json.Unmarshal(b, &logs) != nil {
		t.Fatalf("%d %s", st, b)
	}
	l := logs.Data.Logs
	if logs.Data.Total != 4 || len(l) != 4 {
		t.Fatalf("log %s", b)
	}
	in, created2, created, refused := l[0], l[1], l[2], l[3]
	if refused.Direction != "out" || refused.EventType != "create_request" || refused.Status != "error" || refused.Outcome != financing.ReqRefused ||
		refused.HTTPStatus != 400 || refused.OrderID == nil || *refused.OrderID != id || !strings.Contains(refused.ErrorMessage, "phone") ||
		refused.ProcessingTimeMS < 25 {
		t.Fatalf("refused request %+v", refused)
	}
	if created.Direction != "out" || created.Status != "success" || created.Outcome != financing.ReqCreated || created.HTTPStatus != 200 ||
		created.ProviderEventID != tok || *created.OrderID != id || created2.Direction != "out" {
		t.Fatalf("created request %+v", created)
	}
	if in.Direction != "in" || in.Status != "success" || in.EventType != "approved" || in.OrderID == nil || *in.OrderID != id {
		t.Fatalf("postback %+v", in)
	}
	// The gateway's success rate counts the postbacks only.
	gw := e.mustDo(t, "GET", "/v1/inbound/gateways/wegetfinancing", "", http.StatusOK)
	if gw["success_rate"] != 100.0 {
		t.Fatalf("gateway %v", gw)
	}
}

// A refund of a financed top-up takes the amount back from the wallet
// when it can pay it; refunds add up to at most the top-up; a wallet that
// cannot pay leaves the refund in the dead-letter queue with the reason,
// and a redrive debits it once the wallet can.
func TestFlow_TopupRefund(t *testing.T) {
	e := newEnv(t, envOptions{})
	wal := e.l.MustWallet(t, "ann", "USD")
	d := e.mustDo(t, "POST", "/v1/wallets/"+wal+"/topups", `{"amount": "250.00", "method": "wegetfinancing", "billing": {"first_name": "Ann", "last_name": "Lee"}}`, http.StatusCreated)
	tok := d["financing"].(map[string]any)["request_token"].(string)
	balance := func() string { return e.mustDo(t, "GET", "/v1/wallets/"+wal, "", http.StatusOK)["balance"].(string) }

	// A refund before the top-up completed: nothing to take back.
	e.postback(t, tok, financing.StatusRefund, "10.00")
	if p := e.waitState(t, financing.StateReview); !strings.Contains(p.Outcome, "pending") {
		t.Fatalf("log %+v", p)
	}
	e.postback(t, tok, financing.StatusApproved, "")
	e.waitState(t, financing.StateApplied)
	e.postback(t, tok, financing.StatusRefund, "100.00")
	if p := e.waitState(t, financing.StateApplied); !strings.Contains(p.Outcome, "debited from wallet "+wal) || balance() != "150.00" {
		t.Fatalf("log %+v, balance %s", p, balance())
	}
	// The same refund again is a duplicate: debited once.
	e.postback(t, tok, financing.StatusRefund, "100.00")
	if balance() != "150.00" {
		t.Fatalf("balance %s", balance())
	}
	// More than is left of the top-up.
	e.postback(t, tok, financing.StatusRefund, "150.01")
	if p := e.waitState(t, financing.StateReview); !strings.Contains(p.Outcome, "above its 250.00 USD") || balance() != "150.00" {
		t.Fatalf("log %+v, balance %s", p, balance())
	}
	for _, bad := range []string{"1e400", "-0", "0.001", "NaN"} {
		e.postback(t, tok, financing.StatusRefund, bad)
		if p := e.waitState(t, financing.StateReview); !strings.Contains(p.Outcome, "not an amount") {
			t.Fatalf("%s: log %+v", bad, p)
		}
	}
	// The wallet spent most of it: the refund cannot be debited now.
	e.mustDo(t, "POST", "/v1/wallets/"+wal+"/debit", `{"amount": "100.00", "reason": "spent"}`, http.StatusCreated)
	e.postback(t, tok, financing.StatusRefund, "150.00")
	p := e.waitState(t, financing.StateReview)
	if !strings.Contains(p.Outcome, "could not be debited from wallet "+wal) || !strings.Contains(p.Outcome, "available") || balance() != "50.00" {
		t.Fatalf("log %+v, balance %s", p, balance())
	}
	e.mustDo(t, "POST", "/v1/wallets/"+wal+"/credit", `{"amount": "200.00", "reason": "paid in"}`, http.StatusCreated)
	rd := e.mustDo(t, "POST", fmt.Sprintf("/v1/inbound/dead-letters/%d/redrive", p.ID), "", http.StatusOK)
	if rd["state"] != "done" || balance() != "100.00" {
		t.Fatalf("redrive %v, balance %s", rd, balance())
	}
	walletdtest.CheckFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		ps, err := e.svc.Postbacks(context.Background(), 1)
		if err != nil || ps[0].State != financing.StateApplied {
			return fmt.Errorf("%+v %w", ps, err)
		}
		return nil
	})
	// All of the top-up is back now: one cent more is for review.
	e.postback(t, tok, financing.StatusRefund, "0.01")
	e.waitState(t, financing.StateReview)
}

// The pipeline's test endpoint sends a sample approval signed as the
// provider signs it, for an order whose request walletd sent: it really
// pays the order. Without a request there is nothing to approve.
func TestInbound_TestEndpoint(t *testing.T) {
	e := newEnv(t, envOptions{})
	id := e.order(t, "TE-1", "")
	e.wantError(t, "POST", "/v1/inbound/gateways/wegetfinancing/test", fmt.Sprintf(`{"order_id": %d}`, id), http.StatusConflict, walletd.EConflict)
	e.request(t, id)
	d := e.mustDo(t, "POST", "/v1/inbound/gateways/wegetfinancing/test", fmt.Sprintf(`{"order_id": %d}`, id), http.StatusOK)
	if d["test_event_sent"] != true || d["http_status"] != 200.0 {
		t.Fatalf("test %v", d)
	}
	e.waitOrder(t, id, walletd.OrderProcessing)
}
