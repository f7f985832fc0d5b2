package http

import (
	"net/http"
	"time"

	"github.com/walletd/walletd"

	"github.com/gorilla/mux"
	"github.com/walletd/walletd/webhooks"
)

// Outbound webhooks over HTTP: the admin API of the endpoints walletd
// delivers events to, their secrets and their delivery log.

// webhookBase is the path of the endpoint collection.
const webhookBase = "/v1/webhook-endpoints"

// registerWebhookRoutes adds the admin API of outbound webhooks. The
// routes exist even when no WebhookService is set; they then answer 503.
func (s *Server) registerWebhookRoutes(handle handleFunc) {
	h := func(f http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if s.Webhooks == nil {
				s.Error(w, r, walletd.Errorf(walletd.EUnavailable, "Outbound webhooks are not enabled on this server."))
				return
			}
			f(w, r)
		}
	}
	handle("POST", webhookBase, walletd.ScopeAdmin, h(s.handleCreateWebhookEndpoint))
	handle("GET", webhookBase, walletd.ScopeAdmin, h(s.handleListWebhookEndpoints))
	handle("GET", webhookBase+"/{id}", walletd.ScopeAdmin, h(s.handleGetWebhookEndpoint))
	handle("PATCH", webhookBase+"/{id}", walletd.ScopeAdmin, h(s.handleUpdateWebhookEndpoint))
	handle("DELETE", webhookBase+"/{id}", walletd.ScopeAdmin, h(s.handleDeleteWebhookEndpoint))
	handle("POST", webhookBase+"/{id}/rotate-secret", walletd.ScopeAdmin, h(s.handleRotateWebhookSecret))
	handle("POST", webhookBase+"/{id}/test", walletd.ScopeAdmin, h(s.handleTestWebhook))
	handle("POST", webhookBase+"/{id}/enable", walletd.ScopeAdmin, h(s.handleEnableWebhookEndpoint))
	handle("GET", webhookBase+"/{id}/deliveries", walletd.ScopeAdmin, h(s.handleWebhookAttempts))
	handle("GET", webhookBase+"/{id}/deliveries/{delivery_id}", walletd.ScopeAdmin, h(s.handleGetWebhookDelivery))
	handle("POST", webhookBase+"/{id}/deliveries/{delivery_id}/retry", walletd.ScopeAdmin, h(s.handleRetryWebhookDelivery))
}

// webhookEndpointJSON is an endpoint as the API shows it. Secret is set
// only in the answers of create and rotate-secret. NumericID is the
// endpoint's integer id, WooCommerce's webhook id (X-WC-Webhook-ID).
type webhookEndpointJSON struct {
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

func webhookEndpointToJSON(e *walletd.WebhookEndpoint) webhookEndpointJSON {
	evs := e.Events
	if evs == nil {
		evs = []string{}
	}
	return webhookEndpointJSON{
		ID: e.ID, NumericID: e.NumericID, Name: e.Name, URL: e.URL, Events: evs, Status: e.Status, StatusReason: e.StatusReason,
		APIVersion: e.APIVersion, Format: e.Format, CreatedAt: timeJSON(e.CreatedAt), UpdatedAt: timeJSON(e.UpdatedAt),
		SecretRotatedAt: timeJSON(e.SecretRotatedAt), PreviousSecretExpiresAt: timeJSON(e.PreviousSecretUntil),
	}
}

// webhookAttemptJSON is one row of the delivery log.
type webhookAttemptJSON struct {
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

// webhookDeliveryJSON is a delivery with the exact payload sent.
type webhookDeliveryJSON struct {
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

func webhookDeliveryToJSON(d *walletd.WebhookDelivery) webhookDeliveryJSON {
	out := webhookDeliveryJSON{
		ID: d.ID, EndpointID: d.EndpointID, EventID: d.EventID, Event: d.Event, Kind: d.Kind, State: d.State,
		Attempts: d.Attempts, LastStatus: d.LastStatus, LastError: d.LastError, ContentType: d.ContentType,
		Payload: string(d.Payload), CreatedAt: timeJSON(d.CreatedAt), UpdatedAt: timeJSON(d.UpdatedAt),
	}
	if d.State == webhooks.StatePending {
		out.NextAttemptAt = timeJSON(d.NextAttemptAt)
	}
	return out
}

// createWebhookEndpointRequest is the body of POST /v1/webhook-endpoints.
type createWebhookEndpointRequest struct {
	Name       string   `json:"name"`
	URL        string   `json:"url"`
	Events     []string `json:"events"`
	Status     string   `json:"status"`
	APIVersion string   `json:"api_version"`
	Format     string   `json:"format"`
	Secret     string   `json:"secret"`
}

func (s *Server) handleCreateWebhookEndpoint(w http.ResponseWriter, r *http.Request) {
	var req createWebhookEndpointRequest
	if err := decodeJSON(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	ep, secret, err := s.Webhooks.CreateEndpoint(r.Context(), walletd.WebhookEndpointInput(req))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	out := webhookEndpointToJSON(ep)
	out.Secret = secret
	writeData(w, http.StatusCreated, out)
}

func (s *Server) handleListWebhookEndpoints(w http.ResponseWriter, r *http.Request) {
	eps, err := s.Webhooks.Endpoints(r.Context())
	if err != nil {
		s.Error(w, r, err)
		return
	}
	items := make([]webhookEndpointJSON, 0, len(eps))
	for _, ep := range eps {
		items = append(items, webhookEndpointToJSON(ep))
	}
	writeData(w, http.StatusOK, map[string]any{"items": items})
}

func (s *Server) handleGetWebhookEndpoint(w http.ResponseWriter, r *http.Request) {
	ep, err := s.Webhooks.Endpoint(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeData(w, http.StatusOK, webhookEndpointToJSON(ep))
}

// updateWebhookEndpointRequest is the body of PATCH: absent fields keep
// their value.
type updateWebhookEndpointRequest struct {
	Name       *string   `json:"name"`
	URL        *string   `json:"url"`
	Events     *[]string `json:"events"`
	Status     *string   `json:"status"`
	APIVersion *string   `json:"api_version"`
	Format     *string   `json:"format"`
	Secret     *string   `json:"secret"`
}

func (s *Server) handleUpdateWebhookEndpoint(w http.ResponseWriter, r *http.Request) {
	var req updateWebhookEndpointRequest
	if err := decodeJSON(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	ep, err := s.Webhooks.UpdateEndpoint(r.Context(), mux.Vars(r)["id"], walletd.WebhookEndpointUpdate(req))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeData(w, http.StatusOK, webhookEndpointToJSON(ep))
}

func (s *Server) handleDeleteWebhookEndpoint(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["id"]
	if err := s.Webhooks.DeleteEndpoint(r.Context(), id); err != nil {
		s.Error(w, r, err)
		return
	}
	writeData(w, http.StatusOK, map[string]any{"id": id, "deleted": true})
}

// rotateWebhookSecretRequest is the optional body of rotate-secret.
type rotateWebhookSecretRequest struct {
	Secret string `json:"secret"`
	// GracePeriodSeconds is how long the standard format also signs with
	// the previous secret (absent: the server's default; 0: not at all).
	GracePeriodSeconds *int64 `json:"grace_period_seconds"`
}

// maxGrace bounds grace_period_seconds (30 days).
const maxGrace = 30 * 24 * 3600

func (s *Server) handleRotateWebhookSecret(w http.ResponseWriter, r *http.Request) {
	var req rotateWebhookSecretRequest
	if err := decodeOptional(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	opt := walletd.WebhookRotateOptions{Secret: req.Secret}
	if g := req.GracePeriodSeconds; g != nil {
		switch {
		case *g < 0 || *g > maxGrace:
			s.Error(w, r, walletd.Errorf(walletd.EInvalid, "grace_period_seconds must be from 0 to %d.", maxGrace))
			return
		case *g == 0:
			opt.Grace = -1
		default:
			opt.Grace = time.Duration(*g) * time.Second
		}
	}
	ep, secret, err := s.Webhooks.RotateSecret(r.Context(), mux.Vars(r)["id"], opt)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	out := webhookEndpointToJSON(ep)
	out.Secret = secret
	writeData(w, http.StatusOK, out)
}

// testWebhookRequest is the body of POST /{id}/test.
type testWebhookRequest struct {
	Event string `json:"event"`
}

func (s *Server) handleTestWebhook(w http.ResponseWriter, r *http.Request) {
	var req testWebhookRequest
	if err := decodeOptional(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	d, err := s.Webhooks.SendTest(r.Context(), mux.Vars(r)["id"], req.Event)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeData(w, http.StatusAccepted, webhookDeliveryToJSON(d))
}

// enableWebhookRequest is the optional body of POST /{id}/enable.
type enableWebhookRequest struct {
	DeliverHeld bool `json:"deliver_held"`
}

func (s *Server) handleEnableWebhookEndpoint(w http.ResponseWriter, r *http.Request) {
	var req enableWebhookRequest
	if err := decodeOptional(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	ep, n, err := s.Webhooks.EnableEndpoint(r.Context(), mux.Vars(r)["id"], req.DeliverHeld)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	out := struct {
		webhookEndpointJSON
		DeliverHeld bool  `json:"deliver_held"`
		Held        int64 `json:"held"`
	}{webhookEndpointToJSON(ep), req.DeliverHeld, n}
	writeData(w, http.StatusOK, out)
}

func (s *Server) handleWebhookAttempts(w http.ResponseWriter, r *http.Request) {
	limit, err := parseLimit(r.URL.Query().Get("limit"), webhooks.LogSize, webhooks.LogSize)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	as, err := s.Webhooks.Attempts(r.Context(), mux.Vars(r)["id"], limit)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	items := make([]webhookAttemptJSON, 0, len(as))
	for _, a := range as {
		items = append(items, webhookAttemptJSON{
			AttemptedAt: timeJSON(a.At), Event: a.Event, EventID: a.EventID, DeliveryID: a.DeliveryID,
			HTTPStatus: a.HTTPStatus, ResponseMS: a.ResponseMS, Attempt: a.Attempt, Result: a.Result,
			Error: a.Error, Kind: a.Kind, Manual: a.Manual,
		})
	}
	writeData(w, http.StatusOK, map[string]any{"items": items})
}

func (s *Server) handleGetWebhookDelivery(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	d, err := s.Webhooks.Delivery(r.Context(), v["id"], v["delivery_id"])
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeData(w, http.StatusOK, webhookDeliveryToJSON(d))
}

func (s *Server) handleRetryWebhookDelivery(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	d, err := s.Webhooks.RetryDelivery(r.Context(), v["id"], v["delivery_id"])
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeData(w, http.StatusAccepted, webhookDeliveryToJSON(d))
}
