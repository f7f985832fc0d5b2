package webhooks_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/events"
	"github.com/walletd/walletd/events/bus"
	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/ledger/sqlite"
	"github.com/walletd/walletd/walletdtest"
	"github.com/walletd/walletd/webhooks"
)

// startRelay publishes a ledger's outbox to the stream.
func startRelay(tb testing.TB, n *natsEnv, l *walletdtest.Ledger) *bus.Relay {
	tb.Helper()
	r := &bus.Relay{JS: n.js, Stream: "WALLETD", Prefix: "walletd", Source: sqlite.NewOutbox(l.DB, siteURL),
		Logger: quiet, Idle: 10 * time.Millisecond}
	if err := r.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { r.Close() })
	return r
}

func TestDispatcher_LiveDelivery(t *testing.T) {
	t.Parallel()
	n := mustNATS(t)
	l := walletdtest.MustOpenLedger(t, nil)
	startRelay(t, n, l)
	e := mustService(t)
	rc := newReceiver(t)
	ep, secret := e.create(t, walletd.WebhookEndpointInput{Name: "ERP", URL: rc.URL + "/webhooks/walletpro"})
	rc.waitFor(t, "ping", 1)
	startDispatcher(t, e.Svc, n)

	a := l.MustWallet(t, "103", "USD")
	b := l.MustWallet(t, "207", "USD")
	credit := l.MustCredit(t, a, "25.00")
	if _, err := l.Writer.Submit(context.Background(), "", &ledger.Transfer{FromWalletID: a, ToWalletID: b, Amount: "10.00", Note: "Splitting lunch"}); err != nil {
		t.Fatal(err)
	}
	// Every seed event of the outbox reaches the receiver, byte for byte as
	// published, signed; walletd's own (wallet.created) are not in the
	// walletpro format's default filter.
	want, err := sqlite.NewOutbox(l.DB, siteURL).After(context.Background(), 0, -1, 1000)
	if err != nil {
		t.Fatal(err)
	}
	want = slices.DeleteFunc(want, func(r events.Record) bool { return !slices.Contains(webhooks.SeedEvents, r.Key()) })
	got := rc.waitFor(t, "", 1+len(want))
	byID := map[string]*received{}
	for _, r := range got[1:] {
		byID[r.env(t).ID] = r
	}
	for _, rec := range want {
		r := byID[rec.Envelope.ID]
		if r == nil {
			t.Fatalf("event %s %s not delivered", rec.Key(), rec.Envelope.ID)
		}
		if string(r.Body) != string(rec.Body()) {
			t.Fatalf("%s: body\n%s\nwant the published envelope\n%s", rec.Key(), r.Body, rec.Body())
		}
		if !r.verified(secret) {
			t.Fatalf("%s: signature %q does not verify", rec.Key(), r.Header.Get("X-WalletPro-Signature"))
		}
		if r.Header.Get("X-WalletPro-Event") != rec.Key() {
			t.Fatalf("X-WalletPro-Event %q", r.Header.Get("X-WalletPro-Event"))
		}
	}
	// The credit in detail: the envelope and every data field.
	r := byID[credit.EventID]
	env := r.env(t)
	if env.Event != "wallet.credited" || env.APIVersion != "v1" || env.SiteURL != siteURL || env.Test || !wphID.MatchString(env.ID) {
		t.Fatalf("envelope %+v", env)
	}
	if _, err := time.Parse(time.RFC3339, env.CreatedAt); err != nil || env.CreatedAt[len(env.CreatedAt)-1] != 'Z' {
		t.Fatalf("created_at %q", env.CreatedAt)
	}
	var raw map[string]any
	json.Unmarshal(r.Body, &raw)
	if _, ok := raw["test"]; ok {
		t.Fatal("a live event carries \"test\"")
	}
	var data events.TransactionData
	if err := json.Unmarshal(env.Data, &data); err != nil {
		t.Fatal(err)
	}
	if data.TransactionID != credit.Seq || data.TxnID != credit.ID || data.UserID != "103" || data.UserEmail != "103@example.com" || data.Amount != "25.00" ||
		data.Currency != "USD" || data.BalanceAfter != "25.00" || data.Type != "topup" || data.LedgerHash != credit.Hash.String() ||
		data.Seq != credit.Seq || data.WalletID != a {
		t.Fatalf("data %+v", data)
	}
	var tr events.TransferData
	for _, r := range got {
		if r.env(t).Event == events.TransferSent {
			json.Unmarshal(r.env(t).Data, &tr)
		}
	}
	if tr.SenderID != "103" || tr.RecipientID != "207" || tr.Amount != "10.00" || tr.Note != "Splitting lunch" || tr.RecipientEmail != "207@example.com" {
		t.Fatalf("transfer data %+v", tr)
	}
	// One delivery per event, all succeeded at the first attempt.
	walletdtest.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		ds := e.deliveries(t, ep.ID, webhooks.StateSucceeded)
		if len(ds) != 1+len(want) {
			return fmt.Errorf("%d succeeded deliveries, want %d", len(ds), 1+len(want))
		}
		for _, d := range ds {
			if d.Attempts != 1 {
				return fmt.Errorf("delivery %s took %d attempts", d.ID, d.Attempts)
			}
		}
		return nil
	})
}

func TestDispatcher_Filters(t *testing.T) {
	t.Parallel()
	n := mustNATS(t)
	e := mustService(t)
	all, credited, checkpoints, disabled := newReceiver(t), newReceiver(t), newReceiver(t), newReceiver(t)
	epAll, _ := e.create(t, walletd.WebhookEndpointInput{URL: all.URL})
	e.create(t, walletd.WebhookEndpointInput{URL: credited.URL, Events: []string{events.WalletCredited, events.WalletCredited}})
	e.create(t, walletd.WebhookEndpointInput{URL: checkpoints.URL, Events: []string{events.LedgerCheckpoint}})
	e.create(t, walletd.WebhookEndpointInput{URL: disabled.URL, Status: webhooks.StatusDisabled})
	startDispatcher(t, e.Svc, n)
	keys := []string{events.WalletCredited, events.WalletDebited, events.LedgerCheckpoint, events.TransferSent, events.WalletCredited, events.KYCRequired}
	for _, k := range keys {
		n.publish(t, k, `{}`)
	}
	// The last event of all is a marker every non-checkpoint filter takes.
	n.publish(t, events.WalletCredited, `{"marker":true}`)
	all.waitFor(t, "", 1+6) // ping + every event but the checkpoint
	credited.waitFor(t, events.WalletCredited, 3)
	checkpoints.waitFor(t, events.LedgerCheckpoint, 1)
	// The marker reached the filtered endpoints last: nothing else is coming.
	waitIdle(t, e, n)
	count := func(rc *receiver) map[string]int {
		m := map[string]int{}
		for _, r := range rc.requests() {
			var env events.Envelope
			json.Unmarshal(r.Body, &env)
			m[env.Event]++
		}
		return m
	}
	if got := count(all); got[events.LedgerCheckpoint] != 0 || got[events.WalletCredited] != 3 || got[events.WalletDebited] != 1 ||
		got[events.TransferSent] != 1 || got[events.KYCRequired] != 1 || got["ping"] != 1 {
		t.Errorf("empty filter received %v", got)
	}
	if got := count(credited); len(got) != 2 || got[events.WalletCredited] != 3 || got["ping"] != 1 {
		t.Errorf("wallet.credited filter received %v", got)
	}
	if got := count(checkpoints); len(got) != 2 || got[events.LedgerCheckpoint] != 1 {
		t.Errorf("ledger.checkpoint filter received %v", got)
	}
	if got := len(disabled.requests()); got != 0 {
		t.Errorf("the disabled endpoint received %d requests", got)
	}
	// Events before an endpoint existed are not sent to it.
	late := newReceiver(t)
	e.create(t, walletd.WebhookEndpointInput{URL: late.URL})
	late.waitFor(t, "ping", 1)
	waitIdle(t, e, n)
	if got := len(late.requests()); got != 1 {
		t.Errorf("an endpoint created later received %d requests (earlier events)", got)
	}
	if ds := e.deliveries(t, epAll.ID, ""); len(ds) != 7 {
		t.Errorf("%d deliveries recorded for the catch-all endpoint, want 7", len(ds))
	}
}

// waitIdle waits until the dispatcher has recorded everything the stream
// holds and no delivery is pending.
func waitIdle(tb testing.TB, e *svcEnv, n *natsEnv) {
	tb.Helper()
	walletdtest.CheckFor(tb, 10*time.Second, 10*time.Millisecond, func() error {
		s, err := n.js.Stream(context.Background(), "WALLETD")
		if err != nil {
			return err
		}
		info, err := s.Info(context.Background())
		if err != nil {
			return err
		}
		var recorded uint64
		rawDB(tb, e).QueryRow(`SELECT COALESCE((SELECT value FROM meta WHERE key = 'dispatch_stream_seq'), '0')`).Scan(&recorded)
		if recorded != info.State.LastSeq {
			return fmt.Errorf("recorded up to stream seq %d of %d", recorded, info.State.LastSeq)
		}
		var pending int
		rawDB(tb, e).QueryRow(`SELECT COUNT(*) FROM deliveries WHERE state = 'pending'`).Scan(&pending)
		if pending > 0 {
			return fmt.Errorf("%d pending", pending)
		}
		return nil
	})
}

func TestDispatcher_CrashDuringDispatch(t *testing.T) {
	t.Parallel()
	n := mustNATS(t)
	e := mustService(t)
	rc := newReceiver(t)
	ep, _ := e.create(t, walletd.WebhookEndpointInput{URL: rc.URL})
	rc.waitFor(t, "ping", 1)
	want := map[string]bool{}
	for i := 0; i < 200; i++ {
		id, _ := n.publish(t, events.WalletCredited, fmt.Sprintf(`{"i":%d}`, i))
		want[id] = true
	}
	small := func(d *webhooks.Dispatcher) { d.BatchSize = 20 }

	// Crash before the second commit: the first batch is recorded, the
	// second is not (and is delivered again by the stream).
	var calls atomic.Int32
	d := startDispatcher(t, e.Svc, n, small, func(d *webhooks.Dispatcher) {
		webhooks.SetCrashHooks(d, func(int) error {
			if calls.Add(1) == 2 {
				return errors.New("kill -9 before commit")
			}
			return nil
		}, nil)
	})
	waitStopped(t, d)
	e.restart(t) // the process restarts: a new service on the same webhooks.db

	// Crash after the second commit, before its acks.
	calls.Store(0)
	d = startDispatcher(t, e.Svc, n, small, func(d *webhooks.Dispatcher) {
		webhooks.SetCrashHooks(d, nil, func(int) error {
			if calls.Add(1) == 2 {
				return errors.New("kill -9 before ack")
			}
			return nil
		})
	})
	waitStopped(t, d)
	e.restart(t)

	// A clean run, with more events arriving meanwhile.
	startDispatcher(t, e.Svc, n, small)
	for i := 0; i < 50; i++ {
		id, _ := n.publish(t, events.WalletDebited, `{}`)
		want[id] = true
	}
	walletdtest.CheckFor(t, 20*time.Second, 20*time.Millisecond, func() error {
		seen := map[string]bool{}
		for _, r := range rc.requests() {
			seen[r.env(t).ID] = true
		}
		missing := 0
		for id := range want {
			if !seen[id] {
				missing++
			}
		}
		if missing > 0 {
			return fmt.Errorf("%d of %d events not delivered", missing, len(want))
		}
		return nil
	})
	// Recorded once each, whatever the stream delivered twice.
	per := map[string]int{}
	for _, d := range e.deliveries(t, ep.ID, "") {
		per[d.EventID]++
	}
	for id := range want {
		if per[id] != 1 {
			t.Fatalf("event %s recorded %d times", id, per[id])
		}
	}
}

// waitStopped waits until a crash hook stopped d, and checks that Close
// reports it.
func waitStopped(tb testing.TB, d *webhooks.Dispatcher) {
	tb.Helper()
	select {
	case <-d.Done():
	case <-time.After(20 * time.Second):
		tb.Fatal("the dispatcher did not stop on its crash hook")
	}
	if err := d.Close(); !errors.Is(err, webhooks.ErrCrash) {
		tb.Fatalf("Close: %v, want ErrCrash", err)
	}
}
