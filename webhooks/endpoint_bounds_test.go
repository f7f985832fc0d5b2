package webhooks_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/webhooks"
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

// TestService_MaxEndpoints: creating an endpoint beyond Service.MaxEndpoints
// is EConflict and saves nothing; deleting one makes room again.
func TestService_MaxEndpoints(t *testing.T) {
	e := mustService(t, func(s *webhooks.Service) { s.MaxEndpoints = 3 })
	ctx := context.Background()
	create := func(i int) (*walletd.WebhookEndpoint, error) {
		ep, _, err := e.Svc.CreateEndpoint(ctx, walletd.WebhookEndpointInput{URL: fmt.Sprintf("https://example.com/hook/%d", i), Status: webhooks.StatusDisabled})
		return ep, err
	}
	var first *walletd.WebhookEndpoint
	for i := 0; i < 3; i++ {
		ep, err := create(i)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = ep
		}
	}
	if _, err := create(3); walletd.ErrorCode(err) != walletd.EConflict || !strings.Contains(walletd.ErrorMessage(err), "delete one first") {
		t.Fatalf("a fourth endpoint: %v, want %s", err, walletd.EConflict)
	}
	if eps, err := e.Svc.Endpoints(ctx); err != nil || len(eps) != 3 {
		t.Fatalf("%d endpoints, %v", len(eps), err)
	}
	if err := e.Svc.DeleteEndpoint(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := create(4); err != nil {
		t.Fatalf("after a delete: %v", err)
	}
	if webhooks.MaxEndpoints != 100 {
		t.Fatalf("MaxEndpoints is %d: the OpenAPI document says 100", webhooks.MaxEndpoints)
	}
}
