package webhooks

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"time"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/events"
)

// SendTest queues a synthetic event with "test": true and a fresh id to an
// active endpoint: one attempt, no retries. Returns ENotFound, EInvalid,
// EConflict (the endpoint is not active).
func (s *Service) SendTest(ctx context.Context, id, event string) (*walletd.WebhookDelivery, error) {
	if event == "" {
		event = events.WalletCredited
	}
	if event != events.Ping && !IsKnownEvent(event) {
		return nil, walletd.Errorf(walletd.EInvalid, "Unknown event %s; known events: %s.", walletd.QuoteInput(event), strings.Join(KnownEvents, ", "))
	}
	r := s.record(id)
	if r == nil {
		return nil, walletd.Errorf(walletd.ENotFound, "Webhook endpoint %s not found.", walletd.QuoteInput(id))
	}
	if r.Status != StatusActive {
		return nil, walletd.Errorf(walletd.EConflict, "Endpoint %s is %s: test events go to active endpoints only.", id, r.Status)
	}
	now := s.Now().UTC().Truncate(time.Millisecond)
	d := newDelivery{id: walletd.NewID("whd"), endpointID: id, eventID: events.NewID(), event: event,
		kind: KindTest, once: true, eventTime: now, contentType: "application/json"}
	var data json.RawMessage
	if isOrderTopic(event) {
		data = sampleOrderData(now)
	} else {
		data = syntheticData(event, now)
	}
	d.payload = s.envelope(d.eventID, event, now, data, true)
	if r.Format == FormatWooCommerce {
		d.payload = bodyFor(r.Format, event, d.payload)
	}
	var got map[string]int
	err := s.DB.tx(ctx, func(tx *sql.Tx) (err error) {
		got, err = insertDeliveries(ctx, tx, []newDelivery{d}, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	if got[id] == 0 {
		return nil, walletd.Errorf(walletd.EConflict, "Endpoint %s changed status; the test event was not queued.", id)
	}
	s.wake(id)
	return s.DB.delivery(ctx, s.DB.write, id, d.id)
}

// Attempts returns the last limit (at most LogSize) attempts of an
// endpoint, newest first. Returns ENotFound.
func (s *Service) Attempts(ctx context.Context, id string, limit int) ([]*walletd.WebhookAttempt, error) {
	if s.record(id) == nil {
		return nil, walletd.Errorf(walletd.ENotFound, "Webhook endpoint %s not found.", walletd.QuoteInput(id))
	}
	if limit <= 0 || limit > LogSize {
		limit = LogSize
	}
	return s.DB.attempts(ctx, id, limit)
}

// Delivery returns a delivery of an endpoint, with the exact payload.
// Returns ENotFound.
func (s *Service) Delivery(ctx context.Context, endpointID, deliveryID string) (*walletd.WebhookDelivery, error) {
	return s.DB.delivery(ctx, s.DB.read, endpointID, deliveryID)
}

// Deliveries lists an endpoint's deliveries in a state ("" for all),
// oldest first. It is meant for tests and tools: the list is not bounded.
func (s *Service) Deliveries(ctx context.Context, endpointID, state string) ([]*walletd.WebhookDelivery, error) {
	return s.DB.deliveriesOf(ctx, endpointID, state)
}

// RetryDelivery sends a delivery again now, with its original payload and
// event id. A pending delivery is simply brought forward; a finished one
// gets one more attempt, without further retries. Returns ENotFound,
// EConflict (the endpoint is not active).
func (s *Service) RetryDelivery(ctx context.Context, endpointID, deliveryID string) (*walletd.WebhookDelivery, error) {
	err := s.DB.tx(ctx, func(tx *sql.Tx) error {
		r, err := s.DB.loadEndpoint(ctx, tx, endpointID)
		if err != nil {
			return err
		}
		d, err := s.DB.delivery(ctx, tx, endpointID, deliveryID)
		if err != nil {
			return err
		}
		if r.Status != StatusActive {
			return walletd.Errorf(walletd.EConflict, "Endpoint %s is %s: enable it before retrying its deliveries.", endpointID, r.Status)
		}
		now := ms(s.Now())
		switch d.State {
		case StatePending:
			_, err = tx.ExecContext(ctx, `UPDATE deliveries SET next_attempt_at = ?, updated_at = ? WHERE id = ?`, now, now, d.ID)
		case StateSucceeded, StateFailed:
			_, err = tx.ExecContext(ctx, `UPDATE deliveries SET state = 'pending', once = 1, next_attempt_at = ?, updated_at = ?
				WHERE id = ?`, now, now, d.ID)
		default:
			return walletd.Errorf(walletd.EConflict, "Delivery %s is %s.", d.ID, d.State)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	s.wake(endpointID)
	return s.DB.delivery(ctx, s.DB.write, endpointID, deliveryID)
}

// EnableEndpoint makes a suspended or disabled endpoint active. With
// deliverHeld, the deliveries held while it was suspended are queued again
// (with a fresh retry schedule); without, they are marked failed (each can
// still be retried by hand). It returns how many held deliveries were
// queued or discarded. Enabling an active endpoint changes nothing.
// Returns ENotFound.
func (s *Service) EnableEndpoint(ctx context.Context, id string, deliverHeld bool) (*walletd.WebhookEndpoint, int64, error) {
	var out *endpointRecord
	var n int64
	err := s.DB.tx(ctx, func(tx *sql.Tx) error {
		r, err := s.DB.loadEndpoint(ctx, tx, id)
		if err != nil {
			return err
		}
		out = r
		if r.Status == StatusActive {
			return nil
		}
		now := ms(s.Now())
		var res sql.Result
		if deliverHeld {
			res, err = tx.ExecContext(ctx, `UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?,
				updated_at = ? WHERE endpoint_id = ? AND state = 'held'`, now, now, id)
		} else {
			res, err = tx.ExecContext(ctx, `UPDATE deliveries SET state = 'failed', updated_at = ?,
				last_error = 'held while suspended; discarded when the endpoint was enabled'
				WHERE endpoint_id = ? AND state = 'held'`, now, id)
		}
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		r.Status, r.StatusReason, r.UpdatedAt = StatusActive, "", fromMS(now)
		return s.DB.saveEndpoint(ctx, tx, r)
	})
	if err != nil {
		return nil, 0, err
	}
	s.refresh(ctx, id)
	s.Logger.Info("webhooks: endpoint enabled", walletd.LogEndpointID, id, "deliver_held", deliverHeld, "held", n)
	return out.public(), n, nil
}
