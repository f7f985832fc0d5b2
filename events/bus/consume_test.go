package bus_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/walletd/walletd/events/bus"
	"github.com/walletd/walletd/walletdtest"
)

// A Subscription hands out what has arrived, at most its batch size at a
// time, says when it was idle, and stops with its context.
func TestSubscription(t *testing.T) {
	e := walletdtest.RunJetStream(t)
	ctx := context.Background()
	for i := 0; i < 25; i++ {
		if _, err := e.JS.Publish(ctx, "walletd.test", []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	cons, err := e.JS.CreateConsumer(ctx, "WALLETD", jetstream.ConsumerConfig{AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := bus.Consume(cons, 10)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Stop()
	var buf []jetstream.Msg
	total := 0
	deadline := time.After(5 * time.Second)
	for total < 25 {
		got, err := sub.Next(ctx, deadline, buf, nil)
		if err != nil {
			t.Fatal(err)
		} else if got == nil {
			t.Fatalf("idle after %d of 25 messages", total)
		} else if len(got) > 10 {
			t.Fatalf("a batch of %d, more than 10", len(got))
		}
		for _, m := range got {
			m.Ack()
		}
		total += len(got)
		buf = got
	}
	idle := make(chan time.Time, 1)
	idle <- time.Now()
	if got, err := sub.Next(ctx, idle, buf, nil); got != nil || err != nil {
		t.Fatalf("idle: %d messages, %v", len(got), err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := sub.Next(cctx, nil, buf, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("after cancel: %v", err)
	}
}
