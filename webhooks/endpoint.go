package webhooks

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/events"
)

// normalizeEvents validates an event filter: known keys, no duplicates.
// Returns EInvalid naming the first unknown key.
func normalizeEvents(in []string) ([]string, error) {
	out := []string{}
	for _, e := range in {
		e = strings.TrimSpace(e)
		if e == OrderDeleted || e == OrderRestored {
			return nil, walletd.Errorf(walletd.EInvalid, "Unknown event %s: walletd never deletes or restores an order; its order topics are %s.", walletd.QuoteInput(e), strings.Join(OrderTopics, ", "))
		}
		if !IsKnownEvent(e) {
			return nil, walletd.Errorf(walletd.EInvalid, "Unknown event %s; known events: %s.", walletd.QuoteInput(e), strings.Join(KnownEvents, ", "))
		}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out, nil
}

func checkName(name string) error {
	if len(name) > 100 {
		return walletd.Errorf(walletd.EInvalid, "name is longer than 100 bytes.")
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return walletd.Errorf(walletd.EInvalid, "name contains control characters.")
		}
	}
	return nil
}

func checkFormat(f string) error {
	if !slices.Contains(Formats, f) {
		return walletd.Errorf(walletd.EInvalid, "format must be one of %s.", strings.Join(Formats, ", "))
	}
	return nil
}

func checkAPIVersion(v string) error {
	if v != events.APIVersion {
		return walletd.Errorf(walletd.EInvalid, "api_version must be %q.", events.APIVersion)
	}
	return nil
}

// MaxEndpoints is how many endpoints a walletd keeps by default
// (Service.MaxEndpoints), so that the endpoint list has a maximum.
const MaxEndpoints = 100

// CreateEndpoint saves a new endpoint and, if it is active, queues a ping
// to it. It returns the endpoint and its secret, which is not shown again.
// Returns EInvalid, and EConflict when Service.MaxEndpoints exist.
func (s *Service) CreateEndpoint(ctx context.Context, in walletd.WebhookEndpointInput) (*walletd.WebhookEndpoint, string, error) {
	u, err := s.guard.ValidateURL(in.URL)
	if err != nil {
		return nil, "", err
	}
	if in.Name == "" {
		in.Name = u.Hostname()
	}
	if in.Status == "" {
		in.Status = StatusActive
	}
	if in.APIVersion == "" {
		in.APIVersion = events.APIVersion
	}
	if in.Format == "" {
		in.Format = FormatWalletPro
	}
	evs, err := normalizeEvents(in.Events)
	if err != nil {
		return nil, "", err
	}
	if err := checkName(in.Name); err != nil {
		return nil, "", err
	}
	if in.Status != StatusActive && in.Status != StatusDisabled {
		return nil, "", walletd.Errorf(walletd.EInvalid, "status must be active or disabled.")
	}
	if err := checkAPIVersion(in.APIVersion); err != nil {
		return nil, "", err
	}
	if err := checkFormat(in.Format); err != nil {
		return nil, "", err
	}
	secret := in.Secret
	if secret == "" {
		secret = NewSecret()
	} else if err := validateSecret(in.Format, secret); err != nil {
		return nil, "", err
	}
	now := s.Now().UTC().Truncate(time.Millisecond)
	r := &endpointRecord{WebhookEndpoint: walletd.WebhookEndpoint{
		ID: walletd.NewID("whe"), Name: in.Name, URL: u.String(), Events: evs, Status: in.Status,
		APIVersion: in.APIVersion, Format: in.Format, CreatedAt: now, UpdatedAt: now,
	}, keys: signingKeys{current: secret}}
	err = s.DB.tx(ctx, func(tx *sql.Tx) error {
		var count int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM endpoints`).Scan(&count); err != nil {
			return err
		}
		if count >= s.MaxEndpoints {
			return walletd.Errorf(walletd.EConflict, "There are %d webhook endpoints, the most walletd keeps: delete one first.", count)
		}
		n, err := nextNumericID(ctx, tx)
		if err != nil {
			return err
		}
		r.NumericID = n
		if err := s.DB.saveEndpoint(ctx, tx, r); err != nil {
			return err
		}
		if r.Status != StatusActive {
			return nil
		}
		_, err = insertDeliveries(ctx, tx, []newDelivery{s.ping(r, now)}, now)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	s.refresh(ctx, r.ID)
	s.Logger.Info("webhooks: endpoint created", walletd.LogEndpointID, r.ID, "numeric_id", r.NumericID, "format", r.Format, "events", len(r.Events))
	return r.public(), secret, nil
}

// ping is the delivery sent when an endpoint is created: event "ping" in
// the envelope, or for the woocommerce format WooCommerce's own ping, the
// form-encoded webhook_id=<numeric id> (sent unsigned, see newRequest).
func (s *Service) ping(r *endpointRecord, now time.Time) newDelivery {
	d := newDelivery{id: walletd.NewID("whd"), endpointID: r.ID, eventID: events.NewID(), event: events.Ping,
		kind: KindPing, once: true, eventTime: now, contentType: "application/json"}
	if r.Format == FormatWooCommerce {
		d.payload, d.contentType = []byte("webhook_id="+strconv.FormatInt(r.NumericID, 10)), "application/x-www-form-urlencoded"
		return d
	}
	data, _ := json.Marshal(map[string]string{"endpoint_id": r.ID, "message": "walletd webhook endpoint created"})
	d.payload = s.envelope(d.eventID, events.Ping, now, data, false)
	return d
}

// envelope marshals a synthetic envelope.
func (s *Service) envelope(id, key string, now time.Time, data json.RawMessage, test bool) []byte {
	b, _ := json.Marshal(events.Envelope{ID: id, Event: key, APIVersion: events.APIVersion,
		CreatedAt: events.FormatTime(now), SiteURL: s.SiteURL, Data: data, Test: test})
	return b
}

// Endpoints lists every endpoint, oldest first.
func (s *Service) Endpoints(ctx context.Context) ([]*walletd.WebhookEndpoint, error) {
	s.mu.RLock()
	out := make([]*walletd.WebhookEndpoint, 0, len(s.eps))
	for _, r := range s.eps {
		out = append(out, r.public())
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b *walletd.WebhookEndpoint) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// Endpoint returns endpoint id. Returns ENotFound.
func (s *Service) Endpoint(ctx context.Context, id string) (*walletd.WebhookEndpoint, error) {
	r := s.record(id)
	if r == nil {
		return nil, walletd.Errorf(walletd.ENotFound, "Webhook endpoint %s not found.", walletd.QuoteInput(id))
	}
	return r.public(), nil
}

// UpdateEndpoint changes the fields set in up. Status may be set to active
// or disabled; a suspended endpoint is made active with EnableEndpoint,
// which says what becomes of its held deliveries, and disabling it
// discards them (they become failed). Returns ENotFound, EInvalid,
// EConflict.
func (s *Service) UpdateEndpoint(ctx context.Context, id string, up walletd.WebhookEndpointUpdate) (*walletd.WebhookEndpoint, error) {
	var out *endpointRecord
	err := s.DB.tx(ctx, func(tx *sql.Tx) error {
		r, err := s.DB.loadEndpoint(ctx, tx, id)
		if err != nil {
			return err
		}
		now := s.Now().UTC().Truncate(time.Millisecond)
		if up.Name != nil {
			if err := checkName(*up.Name); err != nil {
				return err
			}
			r.Name = *up.Name
		}
		if up.URL != nil {
			u, err := s.guard.ValidateURL(*up.URL)
			if err != nil {
				return err
			}
			r.URL = u.String()
		}
		if up.Events != nil {
			if r.Events, err = normalizeEvents(*up.Events); err != nil {
				return err
			}
		}
		if up.APIVersion != nil {
			if err := checkAPIVersion(*up.APIVersion); err != nil {
				return err
			}
			r.APIVersion = *up.APIVersion
		}
		if up.Format != nil {
			if err := checkFormat(*up.Format); err != nil {
				return err
			}
			r.Format = *up.Format
		}
		if up.Secret != nil {
			if err := validateSecret(r.Format, *up.Secret); err != nil {
				return err
			}
			r.keys = signingKeys{current: *up.Secret}
			r.SecretRotatedAt = now
		} else if up.Format != nil && r.keys.err == nil {
			if err := validateSecret(r.Format, r.keys.current); err != nil {
				return walletd.Errorf(walletd.EInvalid, "The current secret does not suit the %s format: give a new secret with the change (%s)", r.Format, walletd.ErrorMessage(err))
			}
		}
		if up.Status != nil && *up.Status != r.Status {
			switch st := *up.Status; {
			case st != StatusActive && st != StatusDisabled:
				return walletd.Errorf(walletd.EInvalid, "status must be active or disabled.")
			case st == StatusActive && r.Status == StatusSuspended:
				return walletd.Errorf(walletd.EConflict, "Endpoint %s is suspended: enable it with POST /v1/webhook-endpoints/%s/enable, which says what to do with its held deliveries.", id, id)
			case st == StatusDisabled && r.Status == StatusSuspended:
				if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET state = 'failed', updated_at = ?,
					last_error = 'held while suspended; discarded when the endpoint was disabled'
					WHERE endpoint_id = ? AND state = 'held'`, ms(now), id); err != nil {
					return err
				}
			}
			r.Status, r.StatusReason = *up.Status, ""
		}
		r.UpdatedAt = now
		out = r
		return s.DB.saveEndpoint(ctx, tx, r)
	})
	if err != nil {
		return nil, err
	}
	s.refresh(ctx, id)
	return out.public(), nil
}

// DeleteEndpoint deletes an endpoint with its deliveries and log. Returns
// ENotFound.
func (s *Service) DeleteEndpoint(ctx context.Context, id string) error {
	res, err := s.DB.write.ExecContext(ctx, `DELETE FROM endpoints WHERE id = ?`, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return walletd.Errorf(walletd.ENotFound, "Webhook endpoint %s not found.", walletd.QuoteInput(id))
	}
	s.refresh(ctx, id)
	s.Logger.Info("webhooks: endpoint deleted", walletd.LogEndpointID, id)
	return nil
}

// RotateSecret gives endpoint id a new secret, which signs from now on, and
// returns it (it is not shown again). The standard format also signs with
// the previous secret for opt.Grace. Returns ENotFound, EInvalid.
func (s *Service) RotateSecret(ctx context.Context, id string, opt walletd.WebhookRotateOptions) (*walletd.WebhookEndpoint, string, error) {
	var out *endpointRecord
	secret := opt.Secret
	grace := opt.Grace
	if grace == 0 {
		grace = s.RotationGrace
	}
	err := s.DB.tx(ctx, func(tx *sql.Tx) error {
		r, err := s.DB.loadEndpoint(ctx, tx, id)
		if err != nil {
			return err
		}
		if secret == "" {
			secret = NewSecret()
		} else if err := validateSecret(r.Format, secret); err != nil {
			return err
		}
		now := s.Now().UTC().Truncate(time.Millisecond)
		prev := r.keys.current
		r.keys = signingKeys{current: secret}
		if grace > 0 && prev != "" && r.keys.err == nil {
			r.keys.previous, r.keys.until = prev, now.Add(grace)
		}
		r.PreviousSecretUntil = r.keys.until
		r.SecretRotatedAt, r.UpdatedAt = now, now
		out = r
		return s.DB.saveEndpoint(ctx, tx, r)
	})
	if err != nil {
		return nil, "", err
	}
	s.refresh(ctx, id)
	s.Logger.Info("webhooks: secret rotated", walletd.LogEndpointID, id)
	return out.public(), secret, nil
}
