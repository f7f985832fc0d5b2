package client_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/http/client"
	"github.com/walletd/walletd/walletdtest"
)

// mustEndpoint creates an endpoint of the receiver, at a URL with a query
// that JSON would HTML-escape.
func (s *testServer) mustEndpoint(tb testing.TB, in walletd.WebhookEndpointInput) (*walletd.WebhookEndpoint, string) {
	tb.Helper()
	if in.URL == "" {
		in.URL = s.rcv.URL + "/hook?a=1&b=<2>"
	}
	e, secret, err := s.Client.WebhookService().CreateEndpoint(context.Background(), in)
	if err != nil {
		tb.Fatal(err)
	}
	return e, secret
}

// waitAttempts waits until endpoint id's log has n rows and returns them.
func (s *testServer) waitAttempts(tb testing.TB, id string, n int) []*walletd.WebhookAttempt {
	tb.Helper()
	var as []*walletd.WebhookAttempt
	walletdtest.CheckFor(tb, 5*time.Second, 5*time.Millisecond, func() error {
		var err error
		if as, err = s.Client.WebhookService().Attempts(context.Background(), id, 0); err != nil {
			return err
		} else if len(as) < n {
			return fmt.Errorf("%d attempts, want %d", len(as), n)
		}
		return nil
	})
	return as
}

func TestWebhookService_CreateEndpoint(t *testing.T) {
	s := mustServer(t, true)
	ctx := context.Background()
	svc := s.Client.WebhookService()

	t.Run("OK", func(t *testing.T) {
		e, secret := s.mustEndpoint(t, walletd.WebhookEndpointInput{Name: "ERP", Events: []string{"wallet.credited"}, Format: "standard"})
		if !strings.HasPrefix(e.ID, "whe_") || secret == "" || e.Name != "ERP" || e.Format != "standard" || e.Status != "active" ||
			e.APIVersion == "" || len(e.Events) != 1 || e.Events[0] != "wallet.credited" || e.CreatedAt.IsZero() ||
			!strings.HasSuffix(e.URL, "/hook?a=1&b=<2>") {
			t.Fatalf("endpoint %+v, secret %q", e, secret)
		}
		// The ping arrives.
		walletdtest.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
			if len(s.rcv.received()) == 0 {
				return fmt.Errorf("no ping")
			}
			return nil
		})
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		_, _, err := svc.CreateEndpoint(ctx, walletd.WebhookEndpointInput{URL: "ftp://example.com/x"})
		expectError(t, err, 400, walletd.EInvalid)
		_, _, err = svc.CreateEndpoint(ctx, walletd.WebhookEndpointInput{URL: s.rcv.URL, Events: []string{"wallet.nope"}})
		expectError(t, err, 400, walletd.EInvalid)
	})
}

func TestWebhookService_Endpoint(t *testing.T) {
	s := mustServer(t, true)
	ctx := context.Background()
	svc := s.Client.WebhookService()
	a, _ := s.mustEndpoint(t, walletd.WebhookEndpointInput{Name: "a"})
	b, _ := s.mustEndpoint(t, walletd.WebhookEndpointInput{Name: "b"})

	t.Run("OK", func(t *testing.T) {
		got, err := svc.Endpoint(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != a.ID || got.Name != "a" || !got.CreatedAt.Equal(a.CreatedAt) || len(got.Events) != 0 {
			t.Fatalf("got %+v, want %+v", got, a)
		}
	})

	t.Run("List", func(t *testing.T) {
		eps, err := svc.Endpoints(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(eps) != 2 || eps[0].ID != a.ID || eps[1].ID != b.ID {
			t.Fatalf("got %d endpoints: %+v", len(eps), eps)
		}
	})

	// The client's JSON of what it decoded is the server's, byte for byte:
	// `walletd webhook get --json` prints what the API sent.
	t.Run("JSON", func(t *testing.T) {
		got, err := svc.Endpoint(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		raw := s.rawData(t, "/v1/webhook-endpoints/"+a.ID)
		if enc := encode(t, client.NewWebhookEndpointJSON(got, "")); !bytes.Equal(enc, raw) {
			t.Fatalf("client: %s\nserver: %s", enc, raw)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := svc.Endpoint(ctx, "whe_nope")
		expectError(t, err, 404, walletd.ENotFound)
		_, err = svc.Endpoint(ctx, "whe_a b?c") // escaped into one path segment
		expectError(t, err, 404, walletd.ENotFound)
	})
}

func TestWebhookService_UpdateEndpoint(t *testing.T) {
	s := mustServer(t, true)
	ctx := context.Background()
	svc := s.Client.WebhookService()
	e, _ := s.mustEndpoint(t, walletd.WebhookEndpointInput{Events: []string{"wallet.credited"}})

	t.Run("OK", func(t *testing.T) {
		disabled, name, all := "disabled", "renamed", []string{}
		got, err := svc.UpdateEndpoint(ctx, e.ID, walletd.WebhookEndpointUpdate{Status: &disabled, Name: &name, Events: &all})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != "disabled" || got.Name != "renamed" || len(got.Events) != 0 || got.URL != e.URL {
			t.Fatalf("got %+v", got)
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		bad := "sleeping"
		_, err := svc.UpdateEndpoint(ctx, e.ID, walletd.WebhookEndpointUpdate{Status: &bad})
		expectError(t, err, 400, walletd.EInvalid)
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		name := "x"
		_, err := svc.UpdateEndpoint(ctx, "whe_nope", walletd.WebhookEndpointUpdate{Name: &name})
		expectError(t, err, 404, walletd.ENotFound)
	})
}

func TestWebhookService_DeleteEndpoint(t *testing.T) {
	s := mustServer(t, true)
	ctx := context.Background()
	svc := s.Client.WebhookService()
	e, _ := s.mustEndpoint(t, walletd.WebhookEndpointInput{})

	t.Run("OK", func(t *testing.T) {
		if err := svc.DeleteEndpoint(ctx, e.ID); err != nil {
			t.Fatal(err)
		}
		_, err := svc.Endpoint(ctx, e.ID)
		expectError(t, err, 404, walletd.ENotFound)
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		expectError(t, svc.DeleteEndpoint(ctx, e.ID), 404, walletd.ENotFound)
	})
}

func TestWebhookService_RotateSecret(t *testing.T) {
	s := mustServer(t, true)
	ctx := context.Background()
	svc := s.Client.WebhookService()
	e, secret := s.mustEndpoint(t, walletd.WebhookEndpointInput{Format: "standard"})

	t.Run("Grace", func(t *testing.T) {
		got, newSecret, err := svc.RotateSecret(ctx, e.ID, walletd.WebhookRotateOptions{Grace: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if newSecret == "" || newSecret == secret || got.SecretRotatedAt.IsZero() {
			t.Fatalf("got %+v, secret %q", got, newSecret)
		}
		if d := got.PreviousSecretUntil.Sub(got.SecretRotatedAt); d < 59*time.Minute || d > 61*time.Minute {
			t.Fatalf("previous secret kept for %v, want 1h", d)
		}
	})

	t.Run("NoGrace", func(t *testing.T) {
		got, newSecret, err := svc.RotateSecret(ctx, e.ID, walletd.WebhookRotateOptions{Grace: -1, Secret: "whsec_" + strings.Repeat("k", 32)})
		if err != nil {
			t.Fatal(err)
		}
		if newSecret != "whsec_"+strings.Repeat("k", 32) || !got.PreviousSecretUntil.IsZero() {
			t.Fatalf("got %+v, secret %q", got, newSecret)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		_, _, err := svc.RotateSecret(ctx, "whe_nope", walletd.WebhookRotateOptions{})
		expectError(t, err, 404, walletd.ENotFound)
	})
}

func TestWebhookService_SendTest(t *testing.T) {
	s := mustServer(t, true)
	ctx := context.Background()
	svc := s.Client.WebhookService()
	e, _ := s.mustEndpoint(t, walletd.WebhookEndpointInput{})

	t.Run("OK", func(t *testing.T) {
		d, err := svc.SendTest(ctx, e.ID, "wallet.debited")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(d.ID, "whd_") || d.EndpointID != e.ID || d.Event != "wallet.debited" || d.Kind != "test" ||
			d.EventID == "" || len(d.Payload) == 0 || d.CreatedAt.IsZero() {
			t.Fatalf("delivery %+v", d)
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		_, err := svc.SendTest(ctx, e.ID, "wallet.nope")
		expectError(t, err, 400, walletd.EInvalid)
	})

	t.Run("ErrConflict", func(t *testing.T) {
		off, _ := s.mustEndpoint(t, walletd.WebhookEndpointInput{Status: "disabled"})
		_, err := svc.SendTest(ctx, off.ID, "wallet.credited")
		expectError(t, err, 409, walletd.EConflict)
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := svc.SendTest(ctx, "whe_nope", "wallet.credited")
		expectError(t, err, 404, walletd.ENotFound)
	})
}

func TestWebhookService_Attempts(t *testing.T) {
	s := mustServer(t, true)
	ctx := context.Background()
	svc := s.Client.WebhookService()
	e, _ := s.mustEndpoint(t, walletd.WebhookEndpointInput{})
	if _, err := svc.SendTest(ctx, e.ID, "wallet.credited"); err != nil {
		t.Fatal(err)
	}

	t.Run("OK", func(t *testing.T) {
		as := s.waitAttempts(t, e.ID, 2) // the ping and the test
		for _, a := range as {
			if a.EndpointID != e.ID || a.DeliveryID == "" || a.EventID == "" || a.HTTPStatus != 200 || a.Attempt != 1 || a.At.IsZero() || a.Result == "" {
				t.Fatalf("attempt %+v", a)
			}
		}
		// The ping and the test go out concurrently, so either may be the
		// newest; one of each must be there.
		kinds := map[string]string{}
		for _, a := range as {
			kinds[a.Kind] = a.Event
		}
		if kinds["test"] != "wallet.credited" || kinds["ping"] != "ping" {
			t.Fatalf("attempts %+v", as)
		}
		one, err := svc.Attempts(ctx, e.ID, 1)
		if err != nil || len(one) != 1 || one[0].DeliveryID != as[0].DeliveryID {
			t.Fatalf("limit 1: %v %+v", err, one)
		}
	})

	t.Run("JSON", func(t *testing.T) {
		as := s.waitAttempts(t, e.ID, 2)
		items := make([]client.WebhookAttemptJSON, 0, len(as))
		for _, a := range as {
			items = append(items, client.NewWebhookAttemptJSON(a))
		}
		raw := s.rawData(t, "/v1/webhook-endpoints/"+e.ID+"/deliveries")
		if enc := encode(t, map[string]any{"items": items}); !bytes.Equal(enc, raw) {
			t.Fatalf("client: %s\nserver: %s", enc, raw)
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		_, err := svc.Attempts(ctx, e.ID, 500)
		expectError(t, err, 400, walletd.EInvalid)
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := svc.Attempts(ctx, "whe_nope", 10)
		expectError(t, err, 404, walletd.ENotFound)
	})
}

func TestWebhookService_Delivery(t *testing.T) {
	s := mustServer(t, true)
	ctx := context.Background()
	svc := s.Client.WebhookService()
	e, _ := s.mustEndpoint(t, walletd.WebhookEndpointInput{})
	sent, err := svc.SendTest(ctx, e.ID, "wallet.credited")
	if err != nil {
		t.Fatal(err)
	}
	s.waitAttempts(t, e.ID, 2)

	t.Run("OK", func(t *testing.T) {
		d, err := svc.Delivery(ctx, e.ID, sent.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d.ID != sent.ID || d.EventID != sent.EventID || !bytes.Equal(d.Payload, sent.Payload) || d.Attempts != 1 ||
			d.LastStatus != 200 || d.State == sent.State || d.ContentType == "" {
			t.Fatalf("delivery %+v, sent %+v", d, sent)
		}
		raw := s.rawData(t, "/v1/webhook-endpoints/"+e.ID+"/deliveries/"+sent.ID)
		if enc := encode(t, client.NewWebhookDeliveryJSON(d)); !bytes.Equal(enc, raw) {
			t.Fatalf("client: %s\nserver: %s", enc, raw)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := svc.Delivery(ctx, e.ID, "whd_nope")
		expectError(t, err, 404, walletd.ENotFound)
	})
}

func TestWebhookService_RetryDelivery(t *testing.T) {
	s := mustServer(t, true)
	ctx := context.Background()
	svc := s.Client.WebhookService()
	e, _ := s.mustEndpoint(t, walletd.WebhookEndpointInput{})
	sent, err := svc.SendTest(ctx, e.ID, "wallet.credited")
	if err != nil {
		t.Fatal(err)
	}
	s.waitAttempts(t, e.ID, 2)

	t.Run("OK", func(t *testing.T) {
		d, err := svc.RetryDelivery(ctx, e.ID, sent.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d.ID != sent.ID || d.EventID != sent.EventID {
			t.Fatalf("delivery %+v", d)
		}
		as := s.waitAttempts(t, e.ID, 3)
		if as[0].Attempt != 2 || as[0].DeliveryID != sent.ID { // manual marks retried events, not tests

			t.Fatalf("newest attempt %+v", as[0])
		}
	})

	t.Run("ErrConflict", func(t *testing.T) {
		disabled := "disabled"
		if _, err := svc.UpdateEndpoint(ctx, e.ID, walletd.WebhookEndpointUpdate{Status: &disabled}); err != nil {
			t.Fatal(err)
		}
		_, err := svc.RetryDelivery(ctx, e.ID, sent.ID)
		expectError(t, err, 409, walletd.EConflict)
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := svc.RetryDelivery(ctx, e.ID, "whd_nope")
		expectError(t, err, 404, walletd.ENotFound)
	})
}

func TestWebhookService_EnableEndpoint(t *testing.T) {
	s := mustServer(t, true)
	ctx := context.Background()
	svc := s.Client.WebhookService()
	e, _ := s.mustEndpoint(t, walletd.WebhookEndpointInput{Status: "disabled"})

	t.Run("OK", func(t *testing.T) {
		got, held, err := svc.EnableEndpoint(ctx, e.ID, true)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != e.ID || got.Status != "active" || held != 0 {
			t.Fatalf("got %+v, held %d", got, held)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		_, _, err := svc.EnableEndpoint(ctx, "whe_nope", false)
		expectError(t, err, 404, walletd.ENotFound)
	})
}
