package bus_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/walletd/walletd/events/bus"
	"github.com/walletd/walletd/walletdtest"
)

// TestConsumer_AppliedLedgerSeq checks that a Consumer reports the ledger
// seq (Walletd-Seq) of the last message it applied, for readiness.
func TestConsumer_AppliedLedgerSeq(t *testing.T) {
	e := walletdtest.RunJetStream(t)
	a := &memApplier{}
	c := openConsumer(t, e, a)
	if got := c.AppliedLedgerSeq(); got != 0 {
		t.Fatalf("before any message: %d", got)
	}
	for i := 1; i <= 30; i++ {
		m := nats.NewMsg("walletd.test")
		m.Header.Set(bus.HeaderSeq, strconv.Itoa(100+i))
		m.Header.Set(bus.HeaderIndex, "0")
		m.Data = []byte("x")
		if _, err := e.JS.PublishMsg(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	a.waitFor(t, 30)
	walletdtest.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		if got := c.AppliedLedgerSeq(); got != 130 {
			return fmt.Errorf("applied ledger seq %d, want 130", got)
		}
		return nil
	})
}
