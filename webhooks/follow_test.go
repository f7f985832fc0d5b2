package webhooks_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/walletdtest"
	"github.com/walletd/walletd/webhooks"
)

// splitEnv is one webhooks.db shared by two Services, as `walletd serve
// --webhooks=false` (api: the endpoint API, sending nothing) and `walletd
// dispatcher` (sender: the dispatcher and the lanes) share it.
func splitEnv(t *testing.T, senderFollow time.Duration) (api, sender *svcEnv) {
	t.Helper()
	api = mustService(t, func(s *webhooks.Service) { s.APIOnly, s.Follow = true, 20*time.Millisecond })
	sender = &svcEnv{dir: api.dir, key: api.key, logs: &syncBuffer{},
		mods: []func(*webhooks.Service){func(s *webhooks.Service) { s.Follow = senderFollow }}}
	sender.start(t)
	return api, sender
}

// TestSplit_EndpointCreatedElsewhereGetsTheNextEvent: the dispatcher looks
// at the changes row before it records a batch, so an endpoint the API
// process created before an event entered the stream gets the event, with
// no wait for the periodic look (an hour here); the ping queued with it is
// sent too, and only by the sending process.
func TestSplit_EndpointCreatedElsewhereGetsTheNextEvent(t *testing.T) {
	api, sender := splitEnv(t, time.Hour)
	n := mustNATS(t)
	startDispatcher(t, sender.Svc, n)
	rc := newReceiver(t)
	ep, secret := api.create(t, walletd.WebhookEndpointInput{URL: rc.URL, Events: []string{"wallet.credited"}})
	if got, err := sender.Svc.Endpoint(context.Background(), ep.ID); err == nil {
		t.Fatalf("the sending process knew the endpoint before it looked: %+v", got)
	}
	id, body := n.publish(t, "wallet.credited", `{"wallet_id":"wal_test","amount":"1.00"}`)
	got := rc.waitFor(t, "wallet.credited", 1)
	if e := got[0].env(t); e.ID != id || string(got[0].Body) != string(body) || !got[0].verified(secret) {
		t.Fatalf("delivery %s %q (verified %v), want event %s", e.ID, got[0].Body, got[0].verified(secret), id)
	}
	rc.waitFor(t, "ping", 1)
	time.Sleep(200 * time.Millisecond)
	if all := rc.requests(); len(all) != 2 {
		t.Fatalf("%d requests, want the ping and the event once each", len(all))
	}
}

// TestSplit_ChangesMadeByTheAPIReachTheSender: test events, retries by
// hand and deletions made through the API process reach the sending
// process by the periodic look, and the suspension the sender decides
// reaches the API process.
func TestSplit_ChangesMadeByTheAPIReachTheSender(t *testing.T) {
	api, sender := splitEnv(t, 20*time.Millisecond)
	n := mustNATS(t)
	startDispatcher(t, sender.Svc, n)
	ctx := context.Background()
	rc := newReceiver(t)
	ep, _ := api.create(t, walletd.WebhookEndpointInput{URL: rc.URL, Events: []string{"wallet.credited", "wallet.debited"}})
	rc.waitFor(t, "ping", 1)

	// A test event queued by the API is sent by the sender, once.
	d, err := api.Svc.SendTest(ctx, ep.ID, "wallet.debited")
	if err != nil {
		t.Fatal(err)
	}
	rc.waitFor(t, "wallet.debited", 1)

	// A retry by hand of that (succeeded) delivery is sent again.
	walletdtest.CheckFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		got, err := api.Svc.Delivery(ctx, ep.ID, d.ID)
		if err != nil || got.State != webhooks.StateSucceeded {
			return fmt.Errorf("delivery %+v %w", got, err)
		}
		return nil
	})
	if _, err := api.Svc.RetryDelivery(ctx, ep.ID, d.ID); err != nil {
		t.Fatal(err)
	}
	rc.waitFor(t, "wallet.debited", 2)

	// The sender suspends the endpoint after the last retry: the API says so.
	rc.setRespond(func(int, *http.Request) int { return http.StatusServiceUnavailable })
	n.publish(t, "wallet.credited", `{"wallet_id":"wal_test","amount":"1.00"}`)
	walletdtest.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		got, err := api.Svc.Endpoint(ctx, ep.ID)
		if err != nil || got.Status != webhooks.StatusSuspended {
			return fmt.Errorf("endpoint %+v %w", got, err)
		}
		return nil
	})

	// Deleted through the API: the sender drops it and records nothing more.
	if err := api.Svc.DeleteEndpoint(ctx, ep.ID); err != nil {
		t.Fatal(err)
	}
	walletdtest.CheckFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if _, err := sender.Svc.Endpoint(ctx, ep.ID); walletd.ErrorCode(err) != walletd.ENotFound {
			return fmt.Errorf("sender still has the endpoint: %w", err)
		}
		return nil
	})
	if all := len(rc.byEvent(t, "wallet.debited")); all != 2 {
		t.Fatalf("%d test deliveries, want 2", all)
	}
}

// TestSplit_APIOnlySendsNothing: a Service with APIOnly queues the ping of
// a new endpoint and never sends it.
func TestSplit_APIOnlySendsNothing(t *testing.T) {
	api := mustService(t, func(s *webhooks.Service) {
		s.APIOnly, s.Logger = true, slog.New(slog.NewTextHandler(io.Discard, nil))
	})
	rc := newReceiver(t)
	ep, _ := api.create(t, walletd.WebhookEndpointInput{URL: rc.URL})
	time.Sleep(300 * time.Millisecond)
	if n := len(rc.requests()); n != 0 {
		t.Fatalf("the API process sent %d requests", n)
	}
	if ds := api.deliveries(t, ep.ID, webhooks.StatePending); len(ds) != 1 || ds[0].Event != "ping" {
		t.Fatalf("pending %+v, want the ping", ds)
	}
}
