package bus_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/walletd/walletd/events/bus"
)

// TestServer_SubscriberConsumersApart: each subscriber may create, read,
// acknowledge and delete only the consumers it was given, on a real
// embedded server. A knows B's durable's name and still can neither read
// its info, pull from it, acknowledge its messages, delete it, nor take
// the name over; ordered and unnamed consumers, whose names no grant can
// name, are refused.
func TestServer_SubscriberConsumersApart(t *testing.T) {
	ctx := context.Background()
	g := bus.Grants{Stream: "WALLETD", Prefix: "walletd", Protected: []string{"projections"}}
	pub := newIdentity(t, "walletd", bus.RolePublisher)
	a := newIdentity(t, "alice", bus.RoleSubscriber, "walletd.sys.>", "walletd.w.>")
	a.Consumers = []string{"alice", "alice-audit"}
	b := newIdentity(t, "bob", bus.RoleSubscriber, "walletd.w.>") // default: its name
	s := authServer(t, g, pub, a, b)
	url := s.ClientURL()

	pnc, _, err := connect(url, pub)
	if err != nil {
		t.Fatal(err)
	}
	defer pnc.Close()
	pjs, _ := jetstream.New(pnc)
	if _, err := bus.EnsureStream(ctx, pjs, bus.StreamConfig{}); err != nil {
		t.Fatal(err)
	}
	for _, subj := range []string{"walletd.sys.ledger.checkpoint", "walletd.w.3.wal_1.wallet.credited", "walletd.w.3.wal_1.wallet.debited"} {
		if _, err := pjs.Publish(ctx, subj, []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
	}
	js := func(id *identity) (jetstream.JetStream, func()) {
		t.Helper()
		nc, _, err := connect(url, id)
		if err != nil {
			t.Fatal(err)
		}
		j, _ := jetstream.New(nc, jetstream.WithDefaultTimeout(time.Second))
		return j, nc.Close
	}
	ajs, aclose := js(a)
	defer aclose()
	bjs, bclose := js(b)
	defer bclose()

	// B makes its durable and reads one message without acknowledging it.
	bc, err := bjs.CreateOrUpdateConsumer(ctx, "WALLETD", jetstream.ConsumerConfig{Durable: "bob", FilterSubject: "walletd.w.>", AckPolicy: jetstream.AckExplicitPolicy, AckWait: time.Minute})
	if err != nil {
		t.Fatalf("B makes its durable: %v", err)
	}
	bm, err := bc.Next(jetstream.FetchMaxWait(3 * time.Second))
	if err != nil {
		t.Fatalf("B pulls: %v", err)
	}

	t.Run("OwnDurable", func(t *testing.T) {
		for _, name := range a.Consumers {
			c, err := ajs.CreateOrUpdateConsumer(ctx, "WALLETD", jetstream.ConsumerConfig{Durable: name, FilterSubject: "walletd.sys.>", AckPolicy: jetstream.AckExplicitPolicy})
			if err != nil {
				t.Fatalf("A makes its durable %s: %v", name, err)
			}
			m, err := c.Next(jetstream.FetchMaxWait(3 * time.Second))
			if err != nil {
				t.Fatalf("A pulls from %s: %v", name, err)
			}
			if m.Subject() != "walletd.sys.ledger.checkpoint" {
				t.Fatalf("A got %s", m.Subject())
			}
			if err := m.DoubleAck(ctx); err != nil {
				t.Fatalf("A acknowledges: %v", err)
			}
			info, err := c.Info(ctx)
			if err != nil {
				t.Fatalf("A reads its consumer's info: %v", err)
			}
			if info.AckFloor.Stream == 0 {
				t.Fatalf("%s: the acknowledgement did not land: %+v", name, info.AckFloor)
			}
		}
		// Consume, the push-like pull loop, works on its own consumer.
		c, err := ajs.Consumer(ctx, "WALLETD", "alice")
		if err != nil {
			t.Fatal(err)
		}
		got := make(chan string, 4)
		cc, err := c.Consume(func(m jetstream.Msg) { m.Ack(); got <- m.Subject() })
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pjs.Publish(ctx, "walletd.sys.ledger.checkpoint", []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
		select {
		case <-got:
		case <-time.After(5 * time.Second):
			t.Fatal("Consume delivered nothing")
		}
		cc.Stop()
		if err := ajs.DeleteConsumer(ctx, "WALLETD", "alice-audit"); err != nil {
			t.Fatalf("A deletes its own consumer: %v", err)
		}
	})

	t.Run("ErrOthersDurable", func(t *testing.T) {
		if _, err := ajs.Consumer(ctx, "WALLETD", "bob"); err == nil {
			t.Fatal("A read the info of B's durable")
		}
		if _, err := ajs.Conn().Request("$JS.API.CONSUMER.MSG.NEXT.WALLETD.bob", []byte(`{"batch":1,"expires":500000000}`), time.Second); err == nil {
			t.Fatal("A pulled from B's durable")
		}
		if err := ajs.DeleteConsumer(ctx, "WALLETD", "bob"); err == nil {
			t.Fatal("A deleted B's durable")
		}
		// B's message, acknowledged by A on its reply subject: refused.
		if err := ajs.Conn().Publish(bm.Reply(), []byte("+ACK")); err != nil {
			t.Fatal(err)
		}
		ajs.Conn().Flush()
		// Nor may A take the name over, with B's filter or its own.
		for _, f := range []string{"walletd.w.>", "walletd.sys.>"} {
			if _, err := ajs.CreateOrUpdateConsumer(ctx, "WALLETD", jetstream.ConsumerConfig{Durable: "bob", FilterSubject: f}); err == nil {
				t.Fatalf("A made or changed a consumer named bob (%s)", f)
			}
		}
		// B's durable is untouched: its message is still unacknowledged,
		// B acknowledges it, and reads on.
		info, err := bc.Info(ctx)
		if err != nil {
			t.Fatalf("B's durable: %v", err)
		}
		if info.NumAckPending != 1 || info.Config.FilterSubject != "walletd.w.>" {
			t.Fatalf("B's durable changed: pending %d, filter %s", info.NumAckPending, info.Config.FilterSubject)
		}
		if err := bm.DoubleAck(ctx); err != nil {
			t.Fatalf("B acknowledges: %v", err)
		}
		if m, err := bc.Next(jetstream.FetchMaxWait(3 * time.Second)); err != nil || m.Subject() != "walletd.w.3.wal_1.wallet.debited" {
			t.Fatalf("B reads on: %v", err)
		}
		// And B cannot touch A's.
		if err := bjs.DeleteConsumer(ctx, "WALLETD", "alice"); err == nil {
			t.Fatal("B deleted A's durable")
		}
		if _, err := bjs.Consumer(ctx, "WALLETD", "alice"); err == nil {
			t.Fatal("B read the info of A's durable")
		}
	})

	t.Run("ErrUngrantedShapes", func(t *testing.T) {
		oc, err := ajs.OrderedConsumer(ctx, "WALLETD", jetstream.OrderedConsumerConfig{FilterSubjects: []string{"walletd.sys.>"}})
		if err == nil {
			_, err = oc.Next(jetstream.FetchMaxWait(time.Second))
		}
		if err == nil {
			t.Fatal("an ordered consumer (a made-up name) read")
		}
		for name, cfg := range map[string]jetstream.ConsumerConfig{
			"Unnamed":        {FilterSubject: "walletd.sys.>"},
			"OtherName":      {Name: "carol", FilterSubject: "walletd.sys.>"},
			"TwoFilters":     {Name: "alice", FilterSubjects: []string{"walletd.sys.>", "walletd.w.>"}},
			"UngrantedSubj":  {Name: "alice", FilterSubject: "walletd.>"},
			"ProtectedName":  {Durable: "projections", FilterSubject: "walletd.sys.>"},
			"DottedName":     {Name: "alice.x", FilterSubject: "walletd.sys.>"},
			"NameInBodyOnly": {Durable: "bob", FilterSubject: "walletd.w.>"},
		} {
			if _, err := ajs.CreateConsumer(ctx, "WALLETD", cfg); err == nil {
				t.Fatalf("%s: A made %+v", name, cfg)
			}
		}
		// The legacy durable form carries no filter in its subject: refused.
		if _, err := ajs.Conn().Request("$JS.API.CONSUMER.DURABLE.CREATE.WALLETD.alice",
			[]byte(`{"stream_name":"WALLETD","config":{"durable_name":"alice","filter_subject":"walletd.>"}}`), time.Second); err == nil {
			t.Fatal("A used DURABLE.CREATE")
		}
		if _, err := ajs.Conn().Request("$JS.API.CONSUMER.NAMES.WALLETD", nil, time.Second); err == nil {
			t.Fatal("A listed the consumers")
		}
	})

	t.Run("OnlyGrantedNames", func(t *testing.T) {
		st, err := pjs.Stream(ctx, "WALLETD")
		if err != nil {
			t.Fatal(err)
		}
		names := st.ConsumerNames(ctx)
		var got []string
		for n := range names.Name() {
			got = append(got, n)
		}
		if err := names.Err(); err != nil && !errors.Is(err, jetstream.ErrEndOfData) {
			t.Fatal(err)
		}
		for _, n := range got {
			if n != "alice" && n != "bob" {
				t.Fatalf("the server holds consumer %s: %s", n, strings.Join(got, " "))
			}
		}
	})
}

// TestGrants_ConsumersApart: no consumer name is granted twice, whether
// by two subscribers, one subscriber and a retired key, or a subscriber
// and walletd.
func TestGrants_ConsumersApart(t *testing.T) {
	g := bus.Grants{Stream: "WALLETD", Prefix: "walletd", Protected: []string{"projections"}}
	a := newIdentity(t, "alice", bus.RoleSubscriber, "walletd.>")
	b := newIdentity(t, "bob", bus.RoleSubscriber, "walletd.>")
	if _, err := g.Users([]bus.Identity{a.Identity, b.Identity}); err != nil {
		t.Fatal(err)
	}
	p := g.Permissions(&b.Identity)
	for _, subj := range p.Publish.Allow {
		if strings.Contains(subj, "alice") || strings.HasSuffix(subj, ".*") || strings.Contains(subj, ".*.") && !strings.Contains(subj, "walletd") {
			t.Fatalf("bob's grant %s reaches beyond its consumer", subj)
		}
	}
	for name, mut := range map[string]func(a, b *bus.Identity){
		"ErrSameConsumer":   func(a, b *bus.Identity) { b.Consumers = []string{"alice"} },
		"ErrRetired":        func(a, b *bus.Identity) { a.RetiredConsumers = []string{"bob"} },
		"ErrProtected":      func(a, b *bus.Identity) { b.Consumers = []string{"projections"} },
		"ErrDottedName":     func(a, b *bus.Identity) { b.Consumers = []string{"b.x"} },
		"ErrWildcardName":   func(a, b *bus.Identity) { b.Consumers = []string{"*"} },
		"ErrLongName":       func(a, b *bus.Identity) { b.Consumers = []string{strings.Repeat("b", 65)} },
		"ErrPublisherNamed": func(a, b *bus.Identity) { a.Role = bus.RolePublisher; a.Subjects = nil },
	} {
		t.Run(name, func(t *testing.T) {
			a2, b2 := a.Identity, b.Identity
			mut(&a2, &b2)
			if name == "ErrPublisherNamed" {
				a2.Consumers = []string{"x"}
			}
			if _, err := g.Users([]bus.Identity{a2, b2}); err == nil {
				t.Fatalf("accepted %+v and %+v", a2, b2)
			}
		})
	}
}
