package webhooks_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/events"
	"github.com/walletd/walletd/webhooks"
)

// The seed's 16 event keys, typed from walletpro-webhooks.txt.
var seedKeys = []string{
	"wallet.credited", "wallet.debited", "wallet.topup.completed", "wallet.topup.failed", "wallet.reload.triggered",
	"wallet.transfer.sent", "wallet.transfer.received", "wallet.withdrawal.requested", "wallet.withdrawal.approved",
	"wallet.withdrawal.rejected", "wallet.redemption_code.redeemed", "wallet.milestone.awarded", "wallet.cashback.awarded",
	"wallet.referral.rewarded", "wallet.spending_limit.blocked", "wallet.kyc.required",
}

func TestSeedEvents(t *testing.T) {
	t.Parallel()
	if !slices.Equal(webhooks.SeedEvents, seedKeys) {
		t.Fatalf("SeedEvents %v\nwant the seed's %v", webhooks.SeedEvents, seedKeys)
	}
	for _, k := range webhooks.OwnEvents {
		if slices.Contains(seedKeys, k) {
			t.Fatalf("own event %s is a seed event", k)
		}
	}
	if n := len(webhooks.KnownEvents); n != len(seedKeys)+len(webhooks.OwnEvents)+len(webhooks.OrderTopics) {
		t.Fatalf("%d known events", n)
	}
}

// TestDispatcher_DefaultFilters publishes every known event once and
// checks what endpoints of each format receive with an empty filter, and
// with a list.
func TestDispatcher_DefaultFilters(t *testing.T) {
	t.Parallel()
	n := mustNATS(t)
	e := mustService(t)
	type sub struct {
		in   walletd.WebhookEndpointInput
		want []string
		rc   *receiver
	}
	subs := map[string]*sub{
		"walletpro":        {in: walletd.WebhookEndpointInput{}, want: seedKeys},
		"standard":         {in: walletd.WebhookEndpointInput{Format: webhooks.FormatStandard}},
		"woocommerce":      {in: walletd.WebhookEndpointInput{Format: webhooks.FormatWooCommerce}, want: []string{"order.created", "order.updated"}},
		"walletpro-listed": {in: walletd.WebhookEndpointInput{Events: []string{events.WalletCreated, events.LedgerCheckpoint, events.WalletCredited}}},
		"woocommerce-listed": {in: walletd.WebhookEndpointInput{Format: webhooks.FormatWooCommerce,
			Events: []string{events.WalletCredited, webhooks.OrderUpdated}}},
	}
	// standard: every event but ledger.checkpoint and config.updated.
	for _, k := range webhooks.KnownEvents {
		if k != events.LedgerCheckpoint && k != events.ConfigUpdated {
			subs["standard"].want = append(subs["standard"].want, k)
		}
	}
	subs["walletpro-listed"].want = subs["walletpro-listed"].in.Events
	subs["woocommerce-listed"].want = subs["woocommerce-listed"].in.Events
	for name, s := range subs {
		s.rc = newReceiver(t)
		s.in.URL = s.rc.URL
		e.create(t, s.in)
		if len(s.in.Events) == 0 {
			if got := webhooks.DefaultEvents(s.in.Format); !sameSet(got, s.want) {
				t.Errorf("%s: DefaultEvents %v, want %v", name, got, s.want)
			}
		}
	}
	startDispatcher(t, e.Svc, n)
	for _, k := range webhooks.KnownEvents {
		n.publish(t, k, `{}`)
	}
	waitIdle(t, e, n)
	for name, s := range subs {
		var got []string
		pings := 0
		for _, r := range s.rc.requests() {
			key := r.Header.Get("X-WalletPro-Event") // walletpro
			if topic := r.Header.Get("X-WC-Webhook-Topic"); topic != "" {
				key = topic
			} else if r.Header.Get("webhook-id") != "" {
				key = r.env(t).Event
			}
			switch {
			case key == "ping" || strings.HasPrefix(string(r.Body), "webhook_id="):
				pings++
			case key == "":
				t.Errorf("%s: a request without an event: %v %s", name, r.Header, r.Body)
			default:
				got = append(got, key)
			}
		}
		if pings != 1 || !sameSet(got, s.want) || len(got) != len(s.want) {
			t.Errorf("%s received %d pings and %v\nwant one ping and %v", name, pings, got, s.want)
		}
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b))
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

func TestService_EventFilter(t *testing.T) {
	t.Parallel()
	e := mustService(t)
	rc := newReceiver(t)
	ctx := context.Background()
	t.Run("ErrUnknownOnCreate", func(t *testing.T) {
		for _, key := range []string{"wallet.nope", "order.deleted", "order.restored", "Wallet.Credited", ""} {
			_, _, err := e.Svc.CreateEndpoint(ctx, walletd.WebhookEndpointInput{URL: rc.URL, Events: []string{events.WalletCredited, key}})
			if walletd.ErrorCode(err) != walletd.EInvalid || !strings.Contains(walletd.ErrorMessage(err), `"`+key+`"`) {
				t.Fatalf("%q: err %v, want EInvalid naming it", key, err)
			}
		}
	})
	ep, _ := e.create(t, walletd.WebhookEndpointInput{URL: rc.URL, Events: []string{events.WalletCredited}})
	t.Run("ErrUnknownOnUpdate", func(t *testing.T) {
		bad := []string{events.WalletDebited, "wallet.nope"}
		_, err := e.Svc.UpdateEndpoint(ctx, ep.ID, walletd.WebhookEndpointUpdate{Events: &bad})
		if walletd.ErrorCode(err) != walletd.EInvalid || !strings.Contains(walletd.ErrorMessage(err), `"wallet.nope"`) {
			t.Fatalf("err %v, want EInvalid naming wallet.nope", err)
		}
		if got := e.endpoint(t, ep.ID).Events; !slices.Equal(got, []string{events.WalletCredited}) {
			t.Fatalf("a refused update changed the filter to %v", got)
		}
	})
	t.Run("OwnAndOrderEventsMayBeListed", func(t *testing.T) {
		evs := []string{events.WalletCreated, events.ConfigUpdated, webhooks.OrderCreated, " wallet.credited ", events.WalletCreated}
		got, err := e.Svc.UpdateEndpoint(ctx, ep.ID, walletd.WebhookEndpointUpdate{Events: &evs})
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{events.WalletCreated, events.ConfigUpdated, webhooks.OrderCreated, events.WalletCredited}; !slices.Equal(got.Events, want) {
			t.Fatalf("events %v, want %v", got.Events, want)
		}
	})
	t.Run("EmptyMeansDefault", func(t *testing.T) {
		none := []string{}
		got, err := e.Svc.UpdateEndpoint(ctx, ep.ID, walletd.WebhookEndpointUpdate{Events: &none})
		if err != nil || len(got.Events) != 0 {
			t.Fatalf("%+v %v", got, err)
		}
		b, _ := json.Marshal(webhooks.DefaultEvents(got.Format))
		if string(b) != mustJSON(t, seedKeys) {
			t.Fatalf("walletpro default %s", b)
		}
	})
}

func mustJSON(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}
