package webhooks_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/walletd/walletd"
	"github.com/walletd/walletd/events"
	"github.com/walletd/walletd/events/bus"
)

// History that `walletd events republish` put back into the stream is for
// other subscribers: the dispatcher recorded those events when they were
// new (their deliveries may since be pruned), so it delivers nothing for
// them and its ledger position does not go back.
func TestDispatcher_SkipsRepublishedHistory(t *testing.T) {
	t.Parallel()
	n := mustNATS(t)
	e := mustService(t)
	rc := newReceiver(t)
	ep, _ := e.create(t, walletd.WebhookEndpointInput{URL: rc.URL})
	startDispatcher(t, e.Svc, n)
	rc.waitFor(t, "ping", 1)
	live := func(seq string, data string) {
		env := events.Envelope{ID: events.NewID(), Event: events.WalletCredited, APIVersion: "v1",
			CreatedAt: events.FormatTime(time.Now()), SiteURL: siteURL, Data: json.RawMessage(data)}
		body, _ := json.Marshal(env)
		msg := nats.NewMsg(events.Subject("walletd", "wal_test", events.WalletCredited))
		msg.Data = body
		msg.Header.Set(bus.HeaderSeq, seq)
		msg.Header.Set(bus.HeaderIndex, "0")
		if _, err := n.js.PublishMsg(context.Background(), msg, jetstream.WithMsgID(env.ID)); err != nil {
			t.Fatal(err)
		}
	}
	live("7", `{"n":1}`)
	rc.waitFor(t, events.WalletCredited, 1)
	// An old event, republished: a new id to the stream (its duplicate
	// window long past), seq 3 of the ledger.
	env := events.Envelope{ID: events.NewID(), Event: events.WalletCredited, APIVersion: "v1",
		CreatedAt: events.FormatTime(time.Now().Add(-30 * 24 * time.Hour)), SiteURL: siteURL, Data: json.RawMessage(`{"old":true}`)}
	body, _ := json.Marshal(env)
	msg := nats.NewMsg(events.Subject("walletd", "wal_test", events.WalletCredited))
	msg.Data = body
	msg.Header.Set(bus.HeaderSeq, "3")
	msg.Header.Set(bus.HeaderIndex, "0")
	msg.Header.Set(bus.HeaderRepublished, "1")
	if _, err := n.js.PublishMsg(context.Background(), msg, jetstream.WithMsgID(env.ID)); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, e, n)
	if got := rc.byEvent(t, events.WalletCredited); len(got) != 1 {
		t.Fatalf("%d wallet.credited deliveries, want 1 (the republished event was sent)", len(got))
	}
	if ds := e.deliveries(t, ep.ID, ""); len(ds) != 2 { // ping + the live event
		t.Errorf("%d deliveries recorded, want 2", len(ds))
	}
	var seq string
	rawDB(t, e).QueryRow(`SELECT value FROM meta WHERE key = 'dispatch_ledger_seq'`).Scan(&seq)
	if seq != "7" {
		t.Errorf("stored ledger seq %q, want 7 (it went back to the republished event's)", seq)
	}
}
