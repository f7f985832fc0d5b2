package webhooks_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/pressly/goose/v3"
	"github.com/walletd/walletd"
	"github.com/walletd/walletd/webhooks"
)

func TestService_NumericID(t *testing.T) {
	t.Parallel()
	e := mustService(t)
	ctx := context.Background()
	rc := newReceiver(t)
	var ids []int64
	var last *walletd.WebhookEndpoint
	for range 3 {
		ep, _ := e.create(t, walletd.WebhookEndpointInput{URL: rc.URL, Status: webhooks.StatusDisabled})
		ids, last = append(ids, ep.NumericID), ep
	}
	if ids[0] != 1 || ids[1] != 2 || ids[2] != 3 {
		t.Fatalf("numeric ids %v, want 1, 2, 3", ids)
	}
	t.Run("NeverReused", func(t *testing.T) {
		if err := e.Svc.DeleteEndpoint(ctx, last.ID); err != nil {
			t.Fatal(err)
		}
		ep, _ := e.create(t, walletd.WebhookEndpointInput{URL: rc.URL, Status: webhooks.StatusDisabled})
		if ep.NumericID != 4 {
			t.Fatalf("after deleting number 3 the next endpoint got %d, want 4", ep.NumericID)
		}
	})
	t.Run("UnchangedByUpdatesAndRestarts", func(t *testing.T) {
		name := "renamed"
		eps, err := e.Svc.Endpoints(ctx)
		if err != nil {
			t.Fatal(err)
		}
		first := eps[0]
		if _, err := e.Svc.UpdateEndpoint(ctx, first.ID, walletd.WebhookEndpointUpdate{Name: &name}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.Svc.RotateSecret(ctx, first.ID, walletd.WebhookRotateOptions{}); err != nil {
			t.Fatal(err)
		}
		e.restart(t)
		if got := e.endpoint(t, first.ID); got.NumericID != 1 || got.Name != name {
			t.Fatalf("after an update, a rotation and a restart: %+v", got)
		}
		ep, _ := e.create(t, walletd.WebhookEndpointInput{URL: rc.URL, Status: webhooks.StatusDisabled})
		if ep.NumericID != 5 {
			t.Fatalf("after a restart the next endpoint got %d, want 5", ep.NumericID)
		}
	})
}

// TestMigration_NumericID opens a webhooks.db made by the first migration
// with endpoints in it: the second numbers them in creation order.
func TestMigration_NumericID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "webhooks.db")
	raw, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, raw, os.DirFS("../migrations/webhooks"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 1); err != nil {
		t.Fatal(err)
	}
	// Inserted out of creation order; two share a creation time (the id
	// decides).
	for _, r := range []struct {
		id      string
		created int64
	}{{"whe_c", 3000}, {"whe_a", 1000}, {"whe_b2", 2000}, {"whe_b1", 2000}} {
		if _, err := raw.Exec(`INSERT INTO endpoints (id, name, url, events, status, api_version, format, secret, created_at, updated_at)
			VALUES (?, 'x', 'https://example.com/h', '[]', 'disabled', 'v1', 'walletpro', 'a-secret-of-enough-length', ?, ?)`,
			r.id, r.created, r.created); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()

	db, err := webhooks.Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc := &webhooks.Service{DB: db, SiteURL: siteURL, Logger: quiet}
	if err := svc.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close(); db.Close() })
	want := map[string]int64{"whe_a": 1, "whe_b1": 2, "whe_b2": 3, "whe_c": 4}
	for id, n := range want {
		ep, err := svc.Endpoint(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if ep.NumericID != n {
			t.Errorf("%s: numeric id %d, want %d", id, ep.NumericID, n)
		}
	}
	ep, _, err := svc.CreateEndpoint(ctx, walletd.WebhookEndpointInput{URL: "https://example.com/new", Status: webhooks.StatusDisabled})
	if err != nil {
		t.Fatal(err)
	}
	if ep.NumericID != 5 {
		t.Fatalf("the first endpoint after the migration got %d, want 5", ep.NumericID)
	}
}
