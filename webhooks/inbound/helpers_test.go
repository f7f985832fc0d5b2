package inbound_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82/webhook"
	"github.com/walletd/walletd"
	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/walletdtest"
	"github.com/walletd/walletd/webhooks"
	"github.com/walletd/walletd/webhooks/inbound"
)

const (
	stripeSecret  = "whsec_test_0123456789abcdef0123456789"
	genericSecret = "shared-secret-0123456789"
)

// env is a pipeline on a real ledger and a real webhooks.db.
type env struct {
	l      *walletdtest.Ledger
	dir    string
	key    []byte
	db     *inbound.DB
	p      *inbound.Pipeline
	writer walletd.Submitter
	opts   inbound.AdapterOptions
	modify func(*inbound.Pipeline)
}

func newEnv(t *testing.T, modify func(*inbound.Pipeline)) *env {
	t.Helper()
	return newEnvOpts(t, inbound.AdapterOptions{}, modify)
}

// newEnvWith is newEnv with adapter options.
func newEnvWith(t *testing.T, o inbound.AdapterOptions) *env { return newEnvOpts(t, o, nil) }

func newEnvOpts(t *testing.T, o inbound.AdapterOptions, modify func(*inbound.Pipeline)) *env {
	t.Helper()
	e := &env{l: walletdtest.MustOpenLedger(t, nil), dir: t.TempDir(), modify: modify, opts: o}
	e.key = make([]byte, 32)
	for i := range e.key {
		e.key[i] = byte(i)
	}
	e.writer = e.l.Writer
	e.open(t)
	t.Cleanup(func() { e.close() })
	return e
}

func (e *env) open(t *testing.T) {
	t.Helper()
	seal, err := webhooks.NewSealer(e.key)
	if err != nil {
		t.Fatal(err)
	}
	if e.db, err = inbound.OpenDB(context.Background(), filepath.Join(e.dir, "webhooks.db"), seal); err != nil {
		t.Fatal(err)
	}
	e.p = &inbound.Pipeline{DB: e.db, Writer: e.writer, Ledger: e.l.DB, Adapters: inbound.NewAdapters(e.opts),
		PollInterval: 20 * time.Millisecond, RetryBase: 50 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)}
	if e.modify != nil {
		e.modify(e.p)
	}
	if err := e.p.Open(); err != nil {
		t.Fatal(err)
	}
}

func (e *env) close() {
	if e.p != nil {
		e.p.Close()
		e.db.Close()
		e.p = nil
	}
}

// restart closes and reopens the pipeline and its database.
func (e *env) restart(t *testing.T) {
	t.Helper()
	e.close()
	e.open(t)
}

// configure configures gateway, with limits no test reaches unless in
// sets its own.
func (e *env) configure(t *testing.T, gateway string, in inbound.GatewayInput) {
	t.Helper()
	if in.RatePerMinute == 0 {
		in.RatePerMinute, in.Burst = 100000, 100000
	}
	if _, err := e.p.PutGateway(context.Background(), gateway, &in); err != nil {
		t.Fatal(err)
	}
}

// order creates a pending order of total in currency and returns its id.
func (e *env) order(t *testing.T, total, currency string, virtual bool) int64 {
	t.Helper()
	c := &ledger.CreateOrder{Currency: currency, Total: total}
	if virtual {
		c.MetaData = []ledger.OrderMetaInput{{Key: "virtual", Value: json.RawMessage("true")}}
	}
	res, err := e.l.Writer.Submit(context.Background(), "", c)
	if err != nil {
		t.Fatal(err)
	}
	return res.Object.(*walletd.ShopOrder).ID
}

func (e *env) orderStatus(t *testing.T, id int64) *walletd.ShopOrder {
	t.Helper()
	v, err := e.l.DB.Object(context.Background(), walletd.ObjShopOrder, walletd.IntKey(id))
	if err != nil {
		t.Fatal(err)
	}
	return v.(*walletd.ShopOrder)
}

// topup creates a wallet and a pending top-up of amount.
func (e *env) topup(t *testing.T, user, currency, amount string) (string, string) {
	t.Helper()
	w := e.l.MustWallet(t, user, currency)
	res, err := e.l.Writer.Submit(context.Background(), "", &ledger.CreateTopup{WalletID: w, Amount: amount, Method: "card"})
	if err != nil {
		t.Fatal(err)
	}
	return w, res.Object.(*walletd.Topup).ID
}

func (e *env) topupStatus(t *testing.T, id string) *walletd.Topup {
	t.Helper()
	v, err := e.l.DB.Object(context.Background(), walletd.ObjTopup, id)
	if err != nil {
		t.Fatal(err)
	}
	return v.(*walletd.Topup)
}

// stripeEvent returns a Stripe event body.
func stripeEvent(id, typ string, object map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"id": id, "object": "event", "api_version": "2025-07-30.basil", "created": time.Now().Unix(),
		"livemode": false, "pending_webhooks": 1, "request": map[string]any{"id": nil, "idempotency_key": nil}, "type": typ,
		"data": map[string]any{"object": object}})
	return b
}

// paymentIntent returns a payment_intent.succeeded for order id.
func paymentIntent(evt string, orderID any, amount int64, currency string) []byte {
	return stripeEvent(evt, "payment_intent.succeeded", map[string]any{"id": "pi_" + evt, "object": "payment_intent",
		"amount": amount, "amount_received": amount, "currency": currency, "status": "succeeded",
		"metadata": map[string]any{"order_id": fmt.Sprint(orderID)}})
}

// stripeHeader signs body with stripe-go's own test helper.
func stripeHeader(body []byte, secret string, at time.Time) http.Header {
	sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret, Timestamp: at})
	h := http.Header{}
	h.Set("Stripe-Signature", sp.Header)
	h.Set("Content-Type", "application/json")
	return h
}

func (e *env) deliver(gateway string, h http.Header, body []byte) *inbound.Reply {
	return e.p.Receive(context.Background(), &inbound.Request{Gateway: gateway, Header: h, Body: body, RemoteAddr: "192.0.2.10:4242"})
}

func replyJSON(t *testing.T, r *inbound.Reply) map[string]any {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	return m
}

// flaky is a Submitter that answers EUnavailable while fail says so.
type flaky struct {
	next  walletd.Submitter
	mu    sync.Mutex
	fails int
	calls int
}

func (f *flaky) Submit(ctx context.Context, key string, cmd walletd.Command) (*walletd.Result, error) {
	f.mu.Lock()
	f.calls++
	fail := f.fails > 0
	if fail {
		f.fails--
	}
	f.mu.Unlock()
	if fail {
		return nil, walletd.Errorf(walletd.EUnavailable, "The writer is busy.")
	}
	return f.next.Submit(ctx, key, cmd)
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// genericSign signs body with the generic rule and genericSecret.
func genericSign(body []byte) (http.Header, error) {
	m := hmac.New(sha256.New, []byte(genericSecret))
	m.Write(body)
	return http.Header{"X-Webhook-Secret": {hex.EncodeToString(m.Sum(nil))}}, nil
}
