package main_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82/webhook"
	"github.com/walletd/walletd/sqlitedb"
	"github.com/walletd/walletd/walletdtest"
)

const crashStripeSecret = "whsec_crash_test_0123456789abcdef"

// TestServe_InboundCrash kills walletd with SIGKILL while Stripe
// deliveries are recorded but not yet processed (one worker, many
// deliveries at once). After a restart every recorded event is processed
// once: each order is paid exactly once, every acknowledged delivery's
// order is paid, a delivery again answers the first outcome, and the
// chain verifies.
func TestServe_InboundCrash(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	p := startServe(t, dir, "--inbound-workers", "1")
	if st, err := p.call("PUT", "/v1/inbound/gateways/stripe", `{"secret": "`+crashStripeSecret+`", "rate_per_minute": 100000, "burst": 100000}`, "", nil); err != nil || st != 200 {
		t.Fatalf("configure: %d %v", st, err)
	}
	const n = 60
	orders := make([]int64, n)
	for i := range orders {
		var o struct{ ID int64 }
		if _, err := p.call("POST", "/v1/orders", `{"currency": "USD", "total": "10.00"}`, "", &o); err != nil {
			t.Fatal(err)
		}
		orders[i] = o.ID
	}
	body := func(i int) string {
		return fmt.Sprintf(`{"id":"evt_crash_%d","object":"event","type":"payment_intent.succeeded","data":{"object":{"id":"pi_crash_%d","object":"payment_intent",`+
			`"amount":1000,"amount_received":1000,"currency":"usd","status":"succeeded","metadata":{"order_id":"%d"}}}}`, i, i, orders[i])
	}
	deliver := func(url string, i int) (int, string, error) {
		b := body(i)
		req, _ := http.NewRequest("POST", url+"/wp-json/odcm/v1/webhooks/stripe", strings.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Stripe-Signature", webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(b), Secret: crashStripeSecret}).Header)
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw), nil
	}

	db, err := sqlitedb.OpenReadOnly(filepath.Join(dir, "webhooks.db"), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	pending := func() int {
		var c int
		db.QueryRow(`SELECT count(*) FROM inbound_events WHERE state = 'pending'`).Scan(&c)
		return c
	}

	var mu sync.Mutex
	acked := map[int]string{}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, raw, err := deliver(p.URL, i)
			if err == nil && st == 200 {
				mu.Lock()
				acked[i] = raw
				mu.Unlock()
			}
		}()
	}
	walletdtest.CheckFor(t, 20*time.Second, time.Millisecond, func() error {
		if pending() < 5 {
			return fmt.Errorf("%d events pending", pending())
		}
		return nil
	})
	p.cmd.Process.Kill() // SIGKILL: events recorded, not yet processed
	<-p.done
	wg.Wait()
	left := pending()
	if left == 0 {
		t.Fatal("no event was left pending by the kill")
	}
	t.Logf("%d deliveries acknowledged before SIGKILL, %d events left pending", len(acked), left)

	p = startServe(t, dir, "--inbound-workers", "1")
	walletdtest.CheckFor(t, 30*time.Second, 50*time.Millisecond, func() error {
		if c := pending(); c != 0 {
			return fmt.Errorf("%d events still pending", c)
		}
		return nil
	})
	var recorded int
	db.QueryRow(`SELECT count(*) FROM inbound_events WHERE state = 'done'`).Scan(&recorded)
	paid := 0
	for i, id := range orders {
		var o struct {
			Status   string            `json:"status"`
			Payments []json.RawMessage `json:"payments"`
		}
		if _, err := p.call("GET", fmt.Sprintf("/v1/orders/%d", id), "", "", &o); err != nil {
			t.Fatal(err)
		}
		if len(o.Payments) > 1 {
			t.Fatalf("order %d paid %d times", id, len(o.Payments))
		}
		if o.Status == "processing" {
			paid++
		} else if _, ok := acked[i]; ok {
			t.Fatalf("order %d: delivery acknowledged, order %s", id, o.Status)
		}
	}
	if paid != recorded {
		t.Fatalf("%d events recorded, %d orders paid", recorded, paid)
	}
	// Every delivery again: one effect, and the first outcome for those
	// acknowledged.
	for i := range n {
		st, raw, err := deliver(p.URL, i)
		if err != nil || st != 200 {
			t.Fatalf("redelivery %d: %d %v %s", i, st, err, raw)
		}
		if first, ok := acked[i]; ok && first != raw {
			t.Fatalf("redelivery %d: %s, first %s", i, raw, first)
		}
	}
	for _, id := range orders {
		var o struct{ Payments []json.RawMessage }
		p.call("GET", fmt.Sprintf("/v1/orders/%d", id), "", "", &o)
		if len(o.Payments) != 1 {
			t.Fatalf("order %d has %d payments", id, len(o.Payments))
		}
	}
}
