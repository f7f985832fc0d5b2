package webhooks_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/walletd/walletd"
)

// TestService_LongIDQuoted: an unknown id of any length is ENotFound whose
// message quotes at most walletd.MaxQuotedInput bytes of it (ids come from
// request paths).
func TestService_LongIDQuoted(t *testing.T) {
	e := mustService(t)
	ctx := context.Background()
	long := strings.Repeat("x", 32<<10)
	for name, call := range map[string]func() error{
		"Endpoint":       func() error { _, err := e.Svc.Endpoint(ctx, long); return err },
		"DeleteEndpoint": func() error { return e.Svc.DeleteEndpoint(ctx, long) },
		"Attempts":       func() error { _, err := e.Svc.Attempts(ctx, long, 10); return err },
		"Delivery":       func() error { _, err := e.Svc.Delivery(ctx, long, long); return err },
		"UpdateEndpoint": func() error { _, err := e.Svc.UpdateEndpoint(ctx, long, walletd.WebhookEndpointUpdate{}); return err },
		"RotateSecret":   func() error { _, _, err := e.Svc.RotateSecret(ctx, long, walletd.WebhookRotateOptions{}); return err },
	} {
		t.Run(name, func(t *testing.T) {
			err := call()
			if walletd.ErrorCode(err) != walletd.ENotFound {
				t.Fatalf("%v, want %s", err, walletd.ENotFound)
			}
			msg := walletd.ErrorMessage(err)
			if len(msg) > 3*walletd.MaxQuotedInput || !strings.Contains(msg, fmt.Sprintf("… (%d bytes)", len(long))) {
				t.Fatalf("message of %d bytes: %.300s", len(msg), msg)
			}
		})
	}
}
