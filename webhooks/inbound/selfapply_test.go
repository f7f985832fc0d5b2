package inbound_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/walletdtest"
	"github.com/walletd/walletd/webhooks/inbound"
)

// selfAdapter is a gateway like WeGetFinancing's: its credentials are
// kept elsewhere (configured, key), it is answered once recorded, it
// applies its own events (apply) and bounds its bodies.
type selfAdapter struct {
	configured atomic.Bool
	mu         sync.Mutex
	apply      func(ctx context.Context, r *inbound.Record) (*inbound.Outcome, bool, error)
}

func (*selfAdapter) Name() string      { return "selfpay" }
func (*selfAdapter) Events() []string  { return []string{"paid"} }
func (*selfAdapter) MaxBodyBytes() int { return 64 }
func (*selfAdapter) AnswerOnRecord() bool {
	return true
}

func (a *selfAdapter) DefaultGateway(context.Context) (*inbound.Gateway, error) {
	if !a.configured.Load() {
		return nil, walletd.Errorf(walletd.ENotFound, "not configured")
	}
	return &inbound.Gateway{Name: "selfpay", RatePerMinute: 1000, Burst: 1000, BurstWindowSeconds: 10, Enabled: true}, nil
}

func (*selfAdapter) Verify(_ context.Context, _ *inbound.Gateway, h http.Header, _ []byte, _ time.Time) error {
	if h.Get("X-Key") != "k" {
		return fmt.Errorf("%w: bad key", inbound.ErrSignature)
	}
	return nil
}

func (*selfAdapter) Parse(_ *inbound.Gateway, body []byte) (*inbound.Event, error) {
	if len(body) == 0 {
		return nil, fmt.Errorf("%w: empty", inbound.ErrPayload)
	}
	return &inbound.Event{ProviderID: string(body), Type: "paid"}, nil
}

func (*selfAdapter) Sample(*inbound.Gateway, inbound.Target, string, string, string, time.Time) ([]byte, error) {
	return nil, errors.New("no samples")
}

func (a *selfAdapter) ApplyEvent(ctx context.Context, r *inbound.Record) (*inbound.Outcome, bool, error) {
	a.mu.Lock()
	f := a.apply
	a.mu.Unlock()
	return f(ctx, r)
}

func (a *selfAdapter) set(f func(ctx context.Context, r *inbound.Record) (*inbound.Outcome, bool, error)) {
	a.mu.Lock()
	a.apply = f
	a.mu.Unlock()
}

// TestPipeline_SelfApplier: the hooks of a gateway that applies its own
// events: served without a row once configured, answered 200 as soon as
// recorded while its applier is slow, the log row settled after; an
// applier error retried with backoff then dead-lettered, a dead outcome
// dead-lettered at once, both redrivable; a body over its limit 413.
func TestPipeline_SelfApplier(t *testing.T) {
	a := &selfAdapter{}
	e := newEnv(t, func(p *inbound.Pipeline) { p.Adapters["selfpay"] = a; p.MaxAttempts = 2 })
	ctx := context.Background()
	key := http.Header{"X-Key": {"k"}}
	if r := e.deliver("selfpay", key, []byte("ev-0")); r.Status != http.StatusNotFound || r.Code != "gateway_not_configured" {
		t.Fatalf("%d %s", r.Status, r.Code)
	}
	a.configured.Store(true)
	if _, err := e.p.PutGateway(ctx, "selfpay", &inbound.GatewayInput{Secret: "0123456789abcdef0123"}); walletd.ErrorCode(err) != walletd.EInvalid {
		t.Fatalf("a secret for a self-configured gateway: %v", err)
	}

	release := make(chan struct{})
	a.set(func(ctx context.Context, r *inbound.Record) (*inbound.Outcome, bool, error) {
		select {
		case <-release:
		case <-ctx.Done():
			return nil, false, ctx.Err()
		}
		return &inbound.Outcome{Status: http.StatusOK, Message: "done " + r.ProviderID, Result: "applied"}, false, nil
	})
	start := time.Now()
	r := e.deliver("selfpay", key, []byte("ev-1"))
	if took := time.Since(start); r.Status != http.StatusOK || took > time.Second {
		t.Fatalf("%d after %s", r.Status, took)
	}
	logs, _, _ := e.p.Logs(ctx, "selfpay", "", 10)
	if logs[0].Status != inbound.LogPending {
		t.Fatalf("log %+v", logs[0])
	}
	close(release)
	walletdtest.CheckFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		logs, _, _ := e.p.Logs(ctx, "selfpay", "", 10)
		if logs[0].Status != inbound.LogSuccess || logs[0].Direction != inbound.DirectionIn {
			return fmt.Errorf("log %+v", logs[0])
		}
		return nil
	})
	// A resend of the settled event: answered at once, its row settled.
	if r := e.deliver("selfpay", key, []byte("ev-1")); r.Status != http.StatusOK {
		t.Fatalf("%d", r.Status)
	}
	if logs, _, _ := e.p.Logs(ctx, "selfpay", "", 10); logs[0].Outcome != inbound.OutDuplicate || logs[0].Status != inbound.LogSuccess {
		t.Fatalf("log %+v", logs[0])
	}

	// Errors: retried, then dead after MaxAttempts; redriven once it passes.
	var calls atomic.Int32
	a.set(func(context.Context, *inbound.Record) (*inbound.Outcome, bool, error) {
		calls.Add(1)
		return nil, false, errors.New("busy")
	})
	e.deliver("selfpay", key, []byte("ev-2"))
	dead := waitDead(t, e, "ev-2")
	if calls.Load() != 2 || dead.Attempts != 2 || !strings.Contains(dead.DeadReason, "2 attempts failed") {
		t.Fatalf("%d calls, %+v", calls.Load(), dead)
	}
	a.set(func(context.Context, *inbound.Record) (*inbound.Outcome, bool, error) {
		return &inbound.Outcome{Status: http.StatusOK, Message: "ok"}, false, nil
	})
	if rec, err := e.p.Redrive(ctx, dead.ID); err != nil || rec.State != inbound.StateDone {
		t.Fatalf("redrive %+v %v", rec, err)
	}
	// A dead outcome: the dead-letter queue at the first attempt.
	a.set(func(context.Context, *inbound.Record) (*inbound.Outcome, bool, error) {
		return &inbound.Outcome{Message: "a person must look"}, true, nil
	})
	e.deliver("selfpay", key, []byte("ev-3"))
	if dead := waitDead(t, e, "ev-3"); dead.Attempts != 1 || dead.DeadReason != "a person must look" || dead.Outcome.Status != http.StatusUnprocessableEntity {
		t.Fatalf("%+v", dead)
	}
	if r := e.deliver("selfpay", key, []byte(strings.Repeat("x", 65))); r.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("%d", r.Status)
	}
}

func waitDead(t *testing.T, e *env, provider string) *inbound.Record {
	t.Helper()
	var out *inbound.Record
	walletdtest.CheckFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		list, err := e.p.DeadLetters(context.Background(), "selfpay", 0, 10)
		if err != nil {
			return err
		}
		for _, r := range list {
			if r.ProviderID == provider {
				out = r
				return nil
			}
		}
		return fmt.Errorf("%s not dead", provider)
	})
	return out
}
