package client

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/walletd/walletd"
)

// webhookBase is the path of the webhook endpoint collection.
const webhookBase = "/v1/webhook-endpoints"

// WebhookService manages the outbound webhook endpoints of a walletd
// through its admin API. The token needs the admin scope.
type WebhookService struct {
	Client *Client
}

var _ walletd.WebhookService = (*WebhookService)(nil)

// WebhookEndpointJSON is an endpoint as the API shows it. Secret is set
// only in the answers of create and rotate-secret.
type WebhookEndpointJSON struct {
	ID                      string   `json:"id"`
	NumericID               int64    `json:"numeric_id"`
	Name                    string   `json:"name"`
	URL                     string   `json:"url"`
	Events                  []string `json:"events"`
	Status                  string   `json:"status"`
	StatusReason            string   `json:"status_reason,omitempty"`
	APIVersion              string   `json:"api_version"`
	Format                  string   `json:"format"`
	CreatedAt               string   `json:"created_at"`
	UpdatedAt               string   `json:"updated_at"`
	SecretRotatedAt         string   `json:"secret_rotated_at,omitempty"`
	PreviousSecretExpiresAt string   `json:"previous_secret_expires_at,omitempty"`
	Secret                  string   `json:"secret,omitempty"`
}

// NewWebhookEndpointJSON returns e as the API shows it, with secret (which
// may be empty).
func NewWebhookEndpointJSON(e *walletd.WebhookEndpoint, secret string) WebhookEndpointJSON {
	evs := e.Events
	if evs == nil {
		evs = []string{}
	}
	return WebhookEndpointJSON{
		ID: e.ID, NumericID: e.NumericID, Name: e.Name, URL: e.URL, Events: evs, Status: e.Status, StatusReason: e.StatusReason,
		APIVersion: e.APIVersion, Format: e.Format, CreatedAt: formatTime(e.CreatedAt), UpdatedAt: formatTime(e.UpdatedAt),
		SecretRotatedAt: formatTime(e.SecretRotatedAt), PreviousSecretExpiresAt: formatTime(e.PreviousSecretUntil),
		Secret: secret,
	}
}

// endpoint returns j as the domain type.
func (j *WebhookEndpointJSON) endpoint() (*walletd.WebhookEndpoint, error) {
	e := &walletd.WebhookEndpoint{ID: j.ID, NumericID: j.NumericID, Name: j.Name, URL: j.URL, Events: j.Events, Status: j.Status,
		StatusReason: j.StatusReason, APIVersion: j.APIVersion, Format: j.Format}
	for _, t := range []struct {
		name string
		s    string
		dst  *time.Time
	}{
		{"created_at", j.CreatedAt, &e.CreatedAt},
		{"updated_at", j.UpdatedAt, &e.UpdatedAt},
		{"secret_rotated_at", j.SecretRotatedAt, &e.SecretRotatedAt},
		{"previous_secret_expires_at", j.PreviousSecretExpiresAt, &e.PreviousSecretUntil},
	} {
		var err error
		if *t.dst, err = parseTime(t.s); err != nil {
			return nil, fmt.Errorf("webhook endpoint %s: %s: %w", j.ID, t.name, err)
		}
	}
	return e, nil
}

// WebhookEnableJSON is the answer of POST /{id}/enable: the endpoint, what
// was asked for its held deliveries and how many there were.
type WebhookEnableJSON struct {
	WebhookEndpointJSON
	DeliverHeld bool  `json:"deliver_held"`
	Held        int64 `json:"held"`
}

// WebhookDeliveryJSON is a delivery as the API shows it, with the exact
// payload sent.
type WebhookDeliveryJSON struct {
	ID            string `json:"id"`
	EndpointID    string `json:"endpoint_id"`
	EventID       string `json:"event_id"`
	Event         string `json:"event"`
	Kind          string `json:"kind"`
	State         string `json:"state"`
	Attempts      int    `json:"attempts"`
	NextAttemptAt string `json:"next_attempt_at,omitempty"`
	LastStatus    int    `json:"last_status"`
	LastError     string `json:"last_error,omitempty"`
	ContentType   string `json:"content_type"`
	Payload       string `json:"payload"`
	CreatedAt     string `json:"created_at"`
	UpdatedAt     string `json:"updated_at"`
}

// NewWebhookDeliveryJSON returns d as the API shows it. next_attempt_at is
// shown when d has one: the API sends it only while a delivery is pending,
// so a delivery this package decoded has one only then.
func NewWebhookDeliveryJSON(d *walletd.WebhookDelivery) WebhookDeliveryJSON {
	return WebhookDeliveryJSON{
		ID: d.ID, EndpointID: d.EndpointID, EventID: d.EventID, Event: d.Event, Kind: d.Kind, State: d.State,
		Attempts: d.Attempts, NextAttemptAt: formatTime(d.NextAttemptAt), LastStatus: d.LastStatus, LastError: d.LastError,
		ContentType: d.ContentType, Payload: string(d.Payload), CreatedAt: formatTime(d.CreatedAt), UpdatedAt: formatTime(d.UpdatedAt),
	}
}

// delivery returns j as the domain type.
func (j *WebhookDeliveryJSON) delivery() (*walletd.WebhookDelivery, error) {
	d := &walletd.WebhookDelivery{ID: j.ID, EndpointID: j.EndpointID, EventID: j.EventID, Event: j.Event, Kind: j.Kind,
		State: j.State, Attempts: j.Attempts, LastStatus: j.LastStatus, LastError: j.LastError,
		Payload: []byte(j.Payload), ContentType: j.ContentType}
	for _, t := range []struct {
		name string
		s    string
		dst  *time.Time
	}{
		{"next_attempt_at", j.NextAttemptAt, &d.NextAttemptAt},
		{"created_at", j.CreatedAt, &d.CreatedAt},
		{"updated_at", j.UpdatedAt, &d.UpdatedAt},
	} {
		var err error
		if *t.dst, err = parseTime(t.s); err != nil {
			return nil, fmt.Errorf("webhook delivery %s: %s: %w", j.ID, t.name, err)
		}
	}
	return d, nil
}

// WebhookAttemptJSON is one row of an endpoint's delivery log as the API
// shows it.
type WebhookAttemptJSON struct {
	AttemptedAt string `json:"attempted_at"`
	Event       string `json:"event"`
	EventID     string `json:"event_id"`
	DeliveryID  string `json:"delivery_id"`
	HTTPStatus  int    `json:"http_status"`
	ResponseMS  int64  `json:"response_ms"`
	Attempt     int    `json:"attempt"`
	Result      string `json:"result"`
	Error       string `json:"error,omitempty"`
	Kind        string `json:"kind"`
	Manual      bool   `json:"manual"`
}

// NewWebhookAttemptJSON returns a as the API shows it.
func NewWebhookAttemptJSON(a *walletd.WebhookAttempt) WebhookAttemptJSON {
	return WebhookAttemptJSON{
		AttemptedAt: formatTime(a.At), Event: a.Event, EventID: a.EventID, DeliveryID: a.DeliveryID,
		HTTPStatus: a.HTTPStatus, ResponseMS: a.ResponseMS, Attempt: a.Attempt, Result: a.Result,
		Error: a.Error, Kind: a.Kind, Manual: a.Manual,
	}
}

// attempt returns j, a row of endpointID's log, as the domain type. The
// API does not show the row's id.
func (j *WebhookAttemptJSON) attempt(endpointID string) (*walletd.WebhookAttempt, error) {
	at, err := parseTime(j.AttemptedAt)
	if err != nil {
		return nil, fmt.Errorf("webhook attempt of delivery %s: attempted_at: %w", j.DeliveryID, err)
	}
	return &walletd.WebhookAttempt{EndpointID: endpointID, DeliveryID: j.DeliveryID, EventID: j.EventID, Event: j.Event,
		Attempt: j.Attempt, At: at, HTTPStatus: j.HTTPStatus, ResponseMS: j.ResponseMS, Result: j.Result,
		Error: j.Error, Kind: j.Kind, Manual: j.Manual}, nil
}

// webhookItemsJSON is the answer of the list endpoints.
type webhookItemsJSON[T any] struct {
	Items []T `json:"items"`
}

// createWebhookEndpointRequest is the body of POST /v1/webhook-endpoints:
// empty fields take the server's defaults.
type createWebhookEndpointRequest struct {
	Name       string   `json:"name,omitempty"`
	URL        string   `json:"url"`
	Events     []string `json:"events"`
	Status     string   `json:"status,omitempty"`
	APIVersion string   `json:"api_version,omitempty"`
	Format     string   `json:"format,omitempty"`
	Secret     string   `json:"secret,omitempty"`
}

// updateWebhookEndpointRequest is the body of PATCH /{id}: absent fields
// keep their value; "events": [] means every event.
type updateWebhookEndpointRequest struct {
	Name       *string   `json:"name,omitempty"`
	URL        *string   `json:"url,omitempty"`
	Events     *[]string `json:"events,omitempty"`
	Status     *string   `json:"status,omitempty"`
	APIVersion *string   `json:"api_version,omitempty"`
	Format     *string   `json:"format,omitempty"`
	Secret     *string   `json:"secret,omitempty"`
}

// rotateWebhookSecretRequest is the body of POST /{id}/rotate-secret.
type rotateWebhookSecretRequest struct {
	Secret string `json:"secret,omitempty"`
	// GracePeriodSeconds is how long the standard format also signs with
	// the previous secret (absent: the server's default; 0: not at all).
	GracePeriodSeconds *int64 `json:"grace_period_seconds,omitempty"`
}

// testWebhookRequest is the body of POST /{id}/test.
type testWebhookRequest struct {
	Event string `json:"event,omitempty"`
}

// enableWebhookRequest is the body of POST /{id}/enable.
type enableWebhookRequest struct {
	DeliverHeld bool `json:"deliver_held"`
}

// endpointPath returns the path of endpoint id, followed by more.
func endpointPath(id string, more ...string) string {
	p := webhookBase + "/" + url.PathEscape(id)
	for _, m := range more {
		p += "/" + m
	}
	return p
}

// CreateEndpoint registers an endpoint and returns it with its secret,
// shown only here; the server sends it a ping. Returns EInvalid.
func (s *WebhookService) CreateEndpoint(ctx context.Context, in walletd.WebhookEndpointInput) (*walletd.WebhookEndpoint, string, error) {
	var j WebhookEndpointJSON
	if _, err := s.Client.do(ctx, &request{method: "POST", path: webhookBase, body: createWebhookEndpointRequest(in)}, &j); err != nil {
		return nil, "", err
	}
	e, err := j.endpoint()
	if err != nil {
		return nil, "", err
	}
	return e, j.Secret, nil
}

// Endpoints lists every endpoint, oldest first.
func (s *WebhookService) Endpoints(ctx context.Context) ([]*walletd.WebhookEndpoint, error) {
	var data webhookItemsJSON[WebhookEndpointJSON]
	if _, err := s.Client.do(ctx, &request{method: "GET", path: webhookBase}, &data); err != nil {
		return nil, err
	}
	out := make([]*walletd.WebhookEndpoint, 0, len(data.Items))
	for i := range data.Items {
		e, err := data.Items[i].endpoint()
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// Endpoint returns endpoint id. Returns ENotFound.
func (s *WebhookService) Endpoint(ctx context.Context, id string) (*walletd.WebhookEndpoint, error) {
	var j WebhookEndpointJSON
	if _, err := s.Client.do(ctx, &request{method: "GET", path: endpointPath(id)}, &j); err != nil {
		return nil, err
	}
	return j.endpoint()
}

// UpdateEndpoint changes the fields of up that are not nil. Returns
// ENotFound, EInvalid, EConflict.
func (s *WebhookService) UpdateEndpoint(ctx context.Context, id string, up walletd.WebhookEndpointUpdate) (*walletd.WebhookEndpoint, error) {
	var j WebhookEndpointJSON
	if _, err := s.Client.do(ctx, &request{method: "PATCH", path: endpointPath(id), body: updateWebhookEndpointRequest(up)}, &j); err != nil {
		return nil, err
	}
	return j.endpoint()
}

// DeleteEndpoint deletes endpoint id, its deliveries and its log. Returns
// ENotFound.
func (s *WebhookService) DeleteEndpoint(ctx context.Context, id string) error {
	_, err := s.Client.do(ctx, &request{method: "DELETE", path: endpointPath(id)}, nil)
	return err
}

// RotateSecret sets a new secret (opt.Secret, or a generated one) and
// returns it, shown only here. opt.Grace zero leaves the grace period to
// the server, negative asks for none; it is sent in whole seconds. Returns
// ENotFound, EInvalid.
func (s *WebhookService) RotateSecret(ctx context.Context, id string, opt walletd.WebhookRotateOptions) (*walletd.WebhookEndpoint, string, error) {
	body := rotateWebhookSecretRequest{Secret: opt.Secret}
	if opt.Grace != 0 {
		g := max(int64(opt.Grace/time.Second), 0)
		body.GracePeriodSeconds = &g
	}
	var j WebhookEndpointJSON
	if _, err := s.Client.do(ctx, &request{method: "POST", path: endpointPath(id, "rotate-secret"), body: body}, &j); err != nil {
		return nil, "", err
	}
	e, err := j.endpoint()
	if err != nil {
		return nil, "", err
	}
	return e, j.Secret, nil
}

// SendTest queues a test event (event "" : the server's default) to
// endpoint id. Returns ENotFound, EInvalid, EConflict (the endpoint is not
// active).
func (s *WebhookService) SendTest(ctx context.Context, id, event string) (*walletd.WebhookDelivery, error) {
	var j WebhookDeliveryJSON
	if _, err := s.Client.do(ctx, &request{method: "POST", path: endpointPath(id, "test"), body: testWebhookRequest{Event: event}}, &j); err != nil {
		return nil, err
	}
	return j.delivery()
}

// Attempts returns the newest attempts of endpoint id's log, newest first;
// limit 0 leaves the number to the server. Returns ENotFound, EInvalid.
func (s *WebhookService) Attempts(ctx context.Context, id string, limit int) ([]*walletd.WebhookAttempt, error) {
	p := endpointPath(id, "deliveries")
	if limit != 0 {
		p += "?limit=" + strconv.Itoa(limit)
	}
	var data webhookItemsJSON[WebhookAttemptJSON]
	if _, err := s.Client.do(ctx, &request{method: "GET", path: p}, &data); err != nil {
		return nil, err
	}
	out := make([]*walletd.WebhookAttempt, 0, len(data.Items))
	for i := range data.Items {
		a, err := data.Items[i].attempt(id)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// Delivery returns one delivery of endpointID with its payload. Returns
// ENotFound.
func (s *WebhookService) Delivery(ctx context.Context, endpointID, deliveryID string) (*walletd.WebhookDelivery, error) {
	var j WebhookDeliveryJSON
	if _, err := s.Client.do(ctx, &request{method: "GET", path: endpointPath(endpointID, "deliveries", url.PathEscape(deliveryID))}, &j); err != nil {
		return nil, err
	}
	return j.delivery()
}

// RetryDelivery sends a delivery again now, with the same payload and
// event id. Returns ENotFound, EConflict.
func (s *WebhookService) RetryDelivery(ctx context.Context, endpointID, deliveryID string) (*walletd.WebhookDelivery, error) {
	var j WebhookDeliveryJSON
	if _, err := s.Client.do(ctx, &request{method: "POST", path: endpointPath(endpointID, "deliveries", url.PathEscape(deliveryID), "retry")}, &j); err != nil {
		return nil, err
	}
	return j.delivery()
}

// EnableEndpoint re-enables endpoint id and delivers (deliverHeld) or
// discards the deliveries held while it was suspended; it returns how many
// there were. Returns ENotFound.
func (s *WebhookService) EnableEndpoint(ctx context.Context, id string, deliverHeld bool) (*walletd.WebhookEndpoint, int64, error) {
	var j WebhookEnableJSON
	if _, err := s.Client.do(ctx, &request{method: "POST", path: endpointPath(id, "enable"), body: enableWebhookRequest{DeliverHeld: deliverHeld}}, &j); err != nil {
		return nil, 0, err
	}
	e, err := j.endpoint()
	if err != nil {
		return nil, 0, err
	}
	return e, j.Held, nil
}
