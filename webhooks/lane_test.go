package webhooks_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/events"
	"github.com/walletd/walletd/walletdtest"
	"github.com/walletd/walletd/webhooks"
)

func TestService_SlowEndpointDoesNotDelayOthers(t *testing.T) {
	t.Parallel()
	n := mustNATS(t)
	e := mustService(t, func(s *webhooks.Service) { s.Timeout = 5 * time.Second })
	slow, fast := newReceiver(t), newReceiver(t)
	hold := make(chan struct{})
	slow.mu.Lock()
	slow.hold = hold
	slow.mu.Unlock()
	defer close(hold)
	epSlow, _ := e.create(t, walletd.WebhookEndpointInput{URL: slow.URL, Events: []string{events.WalletCredited}})
	e.create(t, walletd.WebhookEndpointInput{URL: fast.URL, Events: []string{events.WalletCredited}})
	startDispatcher(t, e.Svc, n)
	start := time.Now()
	for i := 0; i < 40; i++ {
		n.publish(t, events.WalletCredited, `{}`)
	}
	fast.waitFor(t, events.WalletCredited, 40)
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("the fast endpoint took %v while the slow one hung", d)
	}
	if got := len(slow.requests()); got > 5 { // its ping and at most 4 at once
		t.Fatalf("the hung endpoint has %d requests in flight, want at most 4 (+ping)", got)
	}
	_ = epSlow
}

func TestService_ReceiverSignals(t *testing.T) {
	t.Parallel()
	t.Run("GoneDisables", func(t *testing.T) {
		e := mustService(t)
		rc := newReceiver(t)
		rc.setRespond(func(n int, _ *http.Request) int {
			if n == 0 {
				return 200 // the ping
			}
			return http.StatusGone
		})
		ep, _ := e.create(t, walletd.WebhookEndpointInput{URL: rc.URL})
		rc.waitFor(t, "ping", 1)
		e.Svc.SendTest(context.Background(), ep.ID, events.WalletCredited)
		walletdtest.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
			got := e.endpoint(t, ep.ID)
			if got.Status != webhooks.StatusDisabled || got.StatusReason == "" {
				return fmt.Errorf("endpoint %s %q", got.Status, got.StatusReason)
			}
			return nil
		})
		if as := e.attempts(t, ep.ID); as[0].Result != webhooks.ResultDisabled || as[0].HTTPStatus != 410 {
			t.Fatalf("log %+v", as[0])
		}
	})
	t.Run("RetryAfterOn429", func(t *testing.T) {
		n := mustNATS(t)
		e := mustService(t)
		rc := newReceiver(t)
		rc.setRespond(func(i int, r *http.Request) int {
			if i == 1 { // the first attempt of the event, after the ping
				return http.StatusTooManyRequests
			}
			return 200
		})
		rc.mu.Lock()
		rc.retryAfter = "1"
		rc.mu.Unlock()
		ep, _ := e.create(t, walletd.WebhookEndpointInput{URL: rc.URL})
		rc.waitFor(t, "ping", 1)
		startDispatcher(t, e.Svc, n)
		n.publish(t, events.WalletCredited, `{}`)
		got := rc.waitFor(t, events.WalletCredited, 2)
		if gap := got[1].At.Sub(got[0].At); gap < time.Second {
			t.Fatalf("retried %v after a 429 with Retry-After: 1", gap)
		}
		walletdtest.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
			as := e.attempts(t, ep.ID)
			if len(as) != 3 || as[1].HTTPStatus != 429 || as[1].Result != webhooks.ResultRetrying || as[0].Result != webhooks.ResultSucceeded {
				return fmt.Errorf("log %+v", as)
			}
			return nil
		})
	})
	t.Run("RedirectsAreNotFollowed", func(t *testing.T) {
		e := mustService(t)
		rc := newReceiver(t)
		rc.setRespond(func(int, *http.Request) int { return http.StatusFound })
		ep, _ := e.create(t, walletd.WebhookEndpointInput{URL: rc.URL + "/hook"})
		walletdtest.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
			as := e.attempts(t, ep.ID)
			if len(as) != 1 || as[0].HTTPStatus != 302 {
				return fmt.Errorf("log %+v", as)
			}
			return nil
		})
		walletdtest.CheckHolds(t, 50*time.Millisecond, 5*time.Millisecond, func() error {
			if got := len(rc.requests()); got != 1 {
				return fmt.Errorf("the receiver saw %d requests: the redirect was followed", got)
			}
			return nil
		})
	})
	t.Run("PendingSurvivesRestart", func(t *testing.T) {
		n := mustNATS(t)
		e := mustService(t, func(s *webhooks.Service) { s.Schedule = []time.Duration{300 * time.Millisecond, time.Second} })
		rc := newReceiver(t)
		rc.setRespond(func(i int, _ *http.Request) int {
			if i == 1 {
				return 500
			}
			return 200
		})
		ep, _ := e.create(t, walletd.WebhookEndpointInput{URL: rc.URL})
		rc.waitFor(t, "ping", 1)
		d := startDispatcher(t, e.Svc, n)
		id, _ := n.publish(t, events.WalletCredited, `{}`)
		rc.waitFor(t, events.WalletCredited, 1)
		walletdtest.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
			for _, d := range e.deliveries(t, ep.ID, webhooks.StatePending) {
				if d.EventID == id && d.Attempts == 1 {
					return nil
				}
			}
			return fmt.Errorf("the failed first attempt is not recorded")
		})
		d.Close()
		e.restart(t)
		got := rc.waitFor(t, events.WalletCredited, 2)
		if got[1].env(t).ID != id {
			t.Fatal("another event was retried")
		}
		walletdtest.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
			for _, d := range e.deliveries(t, ep.ID, "") {
				if d.EventID == id && d.State == webhooks.StateSucceeded && d.Attempts == 2 {
					return nil
				}
			}
			return fmt.Errorf("not succeeded at the second attempt")
		})
	})
}
