package bus_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/walletd/walletd/events/bus"
	"github.com/walletd/walletd/walletdtest"
)

// memApplier keeps its position and what it applied in memory.
type memApplier struct {
	mu       sync.Mutex
	pos      bus.Position
	applied  []uint64 // stream sequences, in the order applied
	subjects []string // their subjects
	moves    []bus.Position
	fail     func(b *bus.Batch) error // if set, runs before each batch
}

func (a *memApplier) Position(context.Context) (bus.Position, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.pos, nil
}

func (a *memApplier) Reposition(_ context.Context, from, to bus.Position) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.pos != from {
		return bus.Moved(fmt.Errorf("stored %+v, not %+v", a.pos, from))
	}
	a.pos = to
	a.moves = append(a.moves, to)
	return nil
}

func (a *memApplier) Apply(_ context.Context, b *bus.Batch) error {
	if a.fail != nil {
		if err := a.fail(b); err != nil {
			return err
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.pos.Seq != b.Prev {
		return bus.Moved(fmt.Errorf("stored %d, batch after %d", a.pos.Seq, b.Prev))
	}
	for _, m := range b.Msgs {
		a.applied = append(a.applied, m.Seq)
		a.subjects = append(a.subjects, m.Subject)
	}
	a.pos = bus.Position{Stream: "WALLETD", Seq: b.Last}
	return nil
}

// waitFor waits until the applier's position is seq.
func (a *memApplier) waitFor(tb testing.TB, seq uint64) {
	tb.Helper()
	walletdtest.CheckFor(tb, 10*time.Second, 5*time.Millisecond, func() error {
		if pos, _ := a.Position(context.Background()); pos.Seq != seq {
			return fmt.Errorf("at stream seq %d, want %d", pos.Seq, seq)
		}
		return nil
	})
}

// appliedOnce fails unless the applier applied 1…n, each once, in order.
func (a *memApplier) appliedOnce(tb testing.TB, n uint64) {
	tb.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if uint64(len(a.applied)) != n {
		tb.Fatalf("applied %d messages, want %d: %v", len(a.applied), n, a.applied)
	}
	for i, seq := range a.applied {
		if seq != uint64(i+1) {
			tb.Fatalf("applied %v, want 1…%d in order", a.applied, n)
		}
	}
}

func counterValue(tb testing.TB, c prometheus.Counter) float64 {
	tb.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		tb.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func publishN(tb testing.TB, e *walletdtest.JetStream, n int) {
	tb.Helper()
	for i := 0; i < n; i++ {
		if _, err := e.JS.Publish(context.Background(), "walletd.test", []byte("x")); err != nil {
			tb.Fatal(err)
		}
	}
}

// openConsumer opens a consumer for a; tb.Cleanup closes it.
func openConsumer(tb testing.TB, e *walletdtest.JetStream, a bus.Applier, modify ...func(*bus.Consumer)) *bus.Consumer {
	tb.Helper()
	c := &bus.Consumer{JS: e.JS, Durable: "test", Applier: a, BatchSize: 7, Idle: 20 * time.Millisecond, Name: "test", Logger: quiet}
	for _, m := range modify {
		m(c)
	}
	if err := c.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

func TestConsumer_Open(t *testing.T) {
	t.Run("AppliesEveryMessageOnceAcrossRestarts", func(t *testing.T) {
		e := walletdtest.RunJetStream(t)
		a := &memApplier{}
		publishN(t, e, 50)
		c := openConsumer(t, e, a)
		a.waitFor(t, 50)
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		publishN(t, e, 20)
		c = openConsumer(t, e, a)
		a.waitFor(t, 70)
		walletdtest.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
			if n := c.Lag(); n != 0 {
				return fmt.Errorf("lag %d", n)
			}
			return nil
		})
		a.appliedOnce(t, 70)
	})

	t.Run("ErrStreamMismatch", func(t *testing.T) {
		e := walletdtest.RunJetStream(t)
		a := &memApplier{pos: bus.Position{Stream: "OTHER", Seq: 3}}
		c := &bus.Consumer{JS: e.JS, Durable: "test", Applier: a, Logger: quiet}
		if err := c.Open(); !errors.Is(err, bus.ErrStreamMismatch) {
			c.Close()
			t.Fatalf("Open: %v, want ErrStreamMismatch", err)
		}
	})

	t.Run("AdoptStream", func(t *testing.T) {
		e := walletdtest.RunJetStream(t)
		publishN(t, e, 5)
		a := &memApplier{pos: bus.Position{Stream: "OTHER", Seq: 900}}
		openConsumer(t, e, a, func(c *bus.Consumer) { c.AdoptStream = true })
		a.waitFor(t, 5)
		publishN(t, e, 3)
		a.waitFor(t, 8)
		a.mu.Lock()
		defer a.mu.Unlock()
		if fmt.Sprint(a.applied) != "[6 7 8]" || len(a.moves) != 1 || a.moves[0] != (bus.Position{Stream: "WALLETD", Seq: 5}) {
			t.Fatalf("applied %v, moves %v: want only what came after the adoption", a.applied, a.moves)
		}
	})

	t.Run("StreamEndsBeforeThePosition", func(t *testing.T) {
		e := walletdtest.RunJetStream(t)
		publishN(t, e, 4)
		a := &memApplier{pos: bus.Position{Stream: "WALLETD", Seq: 40}}
		openConsumer(t, e, a)
		a.waitFor(t, 4) // rewound to the stream's end
		publishN(t, e, 2)
		a.waitFor(t, 6)
		a.mu.Lock()
		defer a.mu.Unlock()
		if fmt.Sprint(a.applied) != "[5 6]" {
			t.Fatalf("applied %v, want [5 6]", a.applied)
		}
	})

	t.Run("ErrorsResumeFromTheStoredPosition", func(t *testing.T) {
		e := walletdtest.RunJetStream(t)
		publishN(t, e, 30)
		errs := prometheus.NewCounter(prometheus.CounterOpts{Name: "errors"})
		failures := 2
		a := &memApplier{}
		a.fail = func(b *bus.Batch) error {
			if b.Prev >= 10 && failures > 0 {
				failures--
				return errors.New("disk full")
			}
			return nil
		}
		openConsumer(t, e, a, func(c *bus.Consumer) { c.Metrics.Errors = errs })
		a.waitFor(t, 30)
		a.appliedOnce(t, 30)
		if got := counterValue(t, errs); got != 2 {
			t.Fatalf("%v errors counted, want 2", got)
		}
	})

	t.Run("ErrPositionMoved", func(t *testing.T) {
		// The store is reset while the consumer runs: it notices when
		// idle, and applies the stream again from the start.
		e := walletdtest.RunJetStream(t)
		publishN(t, e, 10)
		errs := prometheus.NewCounter(prometheus.CounterOpts{Name: "errors"})
		a := &memApplier{}
		openConsumer(t, e, a, func(c *bus.Consumer) { c.Metrics.Errors = errs })
		a.waitFor(t, 10)
		a.mu.Lock()
		a.pos, a.applied = bus.Position{}, nil
		a.mu.Unlock()
		a.waitFor(t, 10)
		a.appliedOnce(t, 10)
		if got := counterValue(t, errs); got != 0 {
			t.Fatalf("a reset counted %v errors", got)
		}
	})

	t.Run("ErrStop", func(t *testing.T) {
		e := walletdtest.RunJetStream(t)
		publishN(t, e, 10)
		crash := errors.New("kill -9")
		var first uint64 // the position after the first batch
		a := &memApplier{fail: func(b *bus.Batch) error {
			if b.Prev > 0 {
				return bus.Stop(crash)
			}
			first = b.Last
			return nil
		}}
		c := openConsumer(t, e, a)
		select {
		case <-c.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("the consumer did not stop")
		}
		err := c.Close()
		if !errors.Is(err, crash) || !errors.Is(err, bus.ErrStop) || err.Error() != "kill -9" {
			t.Fatalf("Close: %v", err)
		}
		if pos, _ := a.Position(context.Background()); pos.Seq != first {
			t.Fatalf("stopped at %d, want after the first batch (%d)", pos.Seq, first)
		}
	})
}

func TestConsumer_CatchUp(t *testing.T) {
	e := walletdtest.RunJetStream(t)
	publishN(t, e, 30)
	a := &memApplier{}
	c := &bus.Consumer{JS: e.JS, Ephemeral: true, Applier: a, BatchSize: 7, Idle: 20 * time.Millisecond, Logger: quiet}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	a.appliedOnce(t, 30)
	// Nothing more to do: it returns at once.
	if err := c.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	a.appliedOnce(t, 30)
}
