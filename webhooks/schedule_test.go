package webhooks_test

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/events"
	"github.com/walletd/walletd/walletdtest"
	"github.com/walletd/walletd/webhooks"
)

func TestDispatcher_RetryScheduleAndSuspension(t *testing.T) {
	t.Parallel()
	n := mustNATS(t)
	e := mustService(t)
	rc := newReceiver(t)
	var failing atomic.Bool
	failing.Store(true)
	rc.setRespond(func(int, *http.Request) int {
		if failing.Load() {
			return 503
		}
		return 200
	})
	ep, secret := e.create(t, walletd.WebhookEndpointInput{URL: rc.URL, Events: []string{events.WalletCredited}})
	startDispatcher(t, e.Svc, n)
	idA, _ := n.publish(t, events.WalletCredited, `{"n":"A"}`)
	// B starts once A has failed three times, so A runs out of retries first.
	walletdtest.CheckFor(t, 5*time.Second, 2*time.Millisecond, func() error {
		if got := len(rc.byEvent(t, events.WalletCredited)); got < 3 {
			return fmt.Errorf("%d attempts of A", got)
		}
		return nil
	})
	idB, _ := n.publish(t, events.WalletCredited, `{"n":"B"}`)

	walletdtest.CheckFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if st := e.endpoint(t, ep.ID).Status; st != webhooks.StatusSuspended {
			return fmt.Errorf("status %s", st)
		}
		return nil
	})
	suspended := e.endpoint(t, ep.ID)
	if suspended.StatusReason == "" {
		t.Error("no status reason")
	}
	// A: the first attempt and five retries, spaced by the schedule.
	var atA []time.Time
	for _, r := range rc.byEvent(t, events.WalletCredited) {
		if r.env(t).ID == idA {
			if !r.verified(secret) {
				t.Fatal("a retry does not verify")
			}
			atA = append(atA, r.At)
		}
	}
	if len(atA) != 1+len(fastSchedule) {
		t.Fatalf("A was attempted %d times, want %d", len(atA), 1+len(fastSchedule))
	}
	for i, d := range fastSchedule {
		if gap := atA[i+1].Sub(atA[i]); gap < d-2*time.Millisecond || gap > d+2*time.Second {
			t.Errorf("retry %d came %v after attempt %d, schedule says %v", i+1, gap, i+1, d)
		}
	}
	var logA []*walletd.WebhookAttempt
	for _, a := range e.attempts(t, ep.ID) {
		if a.EventID == idA {
			logA = append([]*walletd.WebhookAttempt{a}, logA...)
		}
	}
	if len(logA) != 6 {
		t.Fatalf("log of A: %d rows", len(logA))
	}
	for i, a := range logA {
		want := webhooks.ResultRetrying
		if i == 5 {
			want = webhooks.ResultSuspended
		}
		if a.Attempt != i+1 || a.HTTPStatus != 503 || a.Result != want {
			t.Errorf("log row %d: attempt %d status %d result %s, want %d 503 %s", i, a.Attempt, a.HTTPStatus, a.Result, i+1, want)
		}
	}
	// A failed; B, mid-schedule, is held; later events are held, not sent.
	stateOf := func(id string) *walletd.WebhookDelivery {
		for _, d := range e.deliveries(t, ep.ID, "") {
			if d.EventID == id {
				return d
			}
		}
		t.Fatalf("no delivery of %s", id)
		return nil
	}
	if d := stateOf(idA); d.State != webhooks.StateFailed || d.Attempts != 6 {
		t.Fatalf("A: %s after %d attempts", d.State, d.Attempts)
	}
	if d := stateOf(idB); d.State != webhooks.StateHeld || d.Attempts >= 6 {
		t.Fatalf("B: %s after %d attempts", d.State, d.Attempts)
	}
	sent := len(rc.requests())
	idC, _ := n.publish(t, events.WalletCredited, `{"n":"C"}`)
	idD, _ := n.publish(t, events.WalletCredited, `{"n":"D"}`)
	walletdtest.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		if got := len(e.deliveries(t, ep.ID, webhooks.StateHeld)); got != 3 {
			return fmt.Errorf("%d held", got)
		}
		return nil
	})
	walletdtest.CheckHolds(t, 300*time.Millisecond, 10*time.Millisecond, func() error {
		if got := len(rc.requests()); got != sent {
			return fmt.Errorf("a suspended endpoint was sent %d more requests", got-sent)
		}
		return nil
	})
	if _, err := e.Svc.SendTest(context.Background(), ep.ID, events.WalletCredited); walletd.ErrorCode(err) != walletd.EConflict {
		t.Fatalf("test to a suspended endpoint: %v", err)
	}
	st := webhooks.StatusActive
	if _, err := e.Svc.UpdateEndpoint(context.Background(), ep.ID, walletd.WebhookEndpointUpdate{Status: &st}); walletd.ErrorCode(err) != walletd.EConflict {
		t.Fatalf("PATCH status=active on a suspended endpoint: %v", err)
	}

	// Enabled with deliver_held: B, C and D go out with a fresh schedule.
	failing.Store(false)
	_, moved, err := e.Svc.EnableEndpoint(context.Background(), ep.ID, true)
	if err != nil || moved != 3 {
		t.Fatalf("enable: %d moved, %v", moved, err)
	}
	for _, id := range []string{idB, idC, idD} {
		walletdtest.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
			if d := stateOf(id); d.State != webhooks.StateSucceeded {
				return fmt.Errorf("%s: %s", id, d.State)
			}
			return nil
		})
	}
	if d := stateOf(idA); d.State != webhooks.StateFailed {
		t.Fatalf("A after enable: %s", d.State)
	}
	// A can be sent again by hand.
	if _, err := e.Svc.RetryDelivery(context.Background(), ep.ID, stateOf(idA).ID); err != nil {
		t.Fatal(err)
	}
	walletdtest.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		if d := stateOf(idA); d.State != webhooks.StateSucceeded || d.Attempts != 7 {
			return fmt.Errorf("A: %s after %d", d.State, d.Attempts)
		}
		return nil
	})
}

func TestDispatcher_EnableWithoutHeld(t *testing.T) {
	t.Parallel()
	n := mustNATS(t)
	e := mustService(t, func(s *webhooks.Service) { s.Schedule = []time.Duration{20 * time.Millisecond} })
	rc := newReceiver(t)
	var failing atomic.Bool
	failing.Store(true)
	rc.setRespond(func(int, *http.Request) int {
		if failing.Load() {
			return 500
		}
		return 204
	})
	ep, _ := e.create(t, walletd.WebhookEndpointInput{URL: rc.URL, Events: []string{events.WalletDebited}})
	startDispatcher(t, e.Svc, n)
	n.publish(t, events.WalletDebited, `{}`)
	walletdtest.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		if st := e.endpoint(t, ep.ID).Status; st != webhooks.StatusSuspended {
			return fmt.Errorf("status %s", st)
		}
		return nil
	})
	held, _ := n.publish(t, events.WalletDebited, `{}`)
	walletdtest.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		if got := len(e.deliveries(t, ep.ID, webhooks.StateHeld)); got != 1 {
			return fmt.Errorf("%d held", got)
		}
		return nil
	})
	failing.Store(false)
	if _, moved, err := e.Svc.EnableEndpoint(context.Background(), ep.ID, false); err != nil || moved != 1 {
		t.Fatalf("enable: %d, %v", moved, err)
	}
	if got := len(e.deliveries(t, ep.ID, webhooks.StateHeld)); got != 0 {
		t.Fatalf("%d still held", got)
	}
	// New events flow again; the held one was discarded (failed), not sent.
	live, _ := n.publish(t, events.WalletDebited, `{}`)
	walletdtest.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		for _, r := range rc.requests() {
			if id := r.env(t).ID; id == live {
				return nil
			}
		}
		return fmt.Errorf("the event after enable was not delivered")
	})
	for _, r := range rc.requests() {
		if r.env(t).ID == held {
			t.Fatal("a discarded held event was sent")
		}
	}
	if _, moved, err := e.Svc.EnableEndpoint(context.Background(), ep.ID, true); err != nil || moved != 0 {
		t.Fatalf("enabling an active endpoint: %d, %v", moved, err)
	}
}
