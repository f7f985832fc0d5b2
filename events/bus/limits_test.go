package bus_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/walletd/walletd/events/bus"
	"github.com/walletd/walletd/walletdtest"
)

// TestEnsureStream_Limits: a new stream gets the default limits; an
// existing one is updated to the configured limits at the next
// EnsureStream, and drops its oldest messages beyond them.
func TestEnsureStream_Limits(t *testing.T) {
	ctx := context.Background()
	e := walletdtest.RunJetStream(t) // EnsureStream with the defaults
	info := streamInfo(t, e)
	if info.Config.MaxAge != bus.DefaultMaxAge || info.Config.MaxBytes != bus.DefaultMaxBytes || info.Config.MaxMsgs != -1 {
		t.Fatalf("defaults: max age %v, max bytes %d, max msgs %d", info.Config.MaxAge, info.Config.MaxBytes, info.Config.MaxMsgs)
	}
	for i := 0; i < 5; i++ {
		if _, err := e.JS.Publish(ctx, "walletd.sys.test", []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := bus.EnsureStream(ctx, e.JS, bus.StreamConfig{MaxAge: time.Hour, MaxBytes: 1 << 20, MaxMsgs: 3, Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	info = streamInfo(t, e)
	if info.Config.MaxAge != time.Hour || info.Config.MaxBytes != 1<<20 || info.Config.MaxMsgs != 3 || info.Config.Discard.String() != "DiscardOld" {
		t.Fatalf("updated: %+v", info.Config)
	}
	if info.State.Msgs != 3 || info.State.FirstSeq != 3 || info.State.LastSeq != 5 {
		t.Fatalf("after the update the stream holds %d messages %d..%d, want 3 (3..5)", info.State.Msgs, info.State.FirstSeq, info.State.LastSeq)
	}
	// Negative: no limit.
	if _, err := bus.EnsureStream(ctx, e.JS, bus.StreamConfig{MaxAge: -1, MaxBytes: -1, Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	info = streamInfo(t, e)
	if info.Config.MaxAge != 0 || info.Config.MaxBytes != -1 || info.Config.MaxMsgs != -1 {
		t.Fatalf("unlimited: max age %v, max bytes %d, max msgs %d", info.Config.MaxAge, info.Config.MaxBytes, info.Config.MaxMsgs)
	}
}

func streamInfo(tb testing.TB, e *walletdtest.JetStream) *jetstream.StreamInfo {
	tb.Helper()
	ctx := context.Background()
	s, err := e.JS.Stream(ctx, "WALLETD")
	if err != nil {
		tb.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	return info
}
