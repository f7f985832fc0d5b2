package http

import (
	"net/http"
	"time"

	"github.com/walletd/walletd"

	"github.com/gorilla/mux"
	"github.com/walletd/walletd/http/client"
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

// The wire shapes of endpoints, deliveries and attempts are defined once,
// in http/client, which decodes what these handlers encode.

// webhookDeliveryToJSON returns d as the API shows it: next_attempt_at only
// while the delivery is pending.
func webhookDeliveryToJSON(d *walletd.WebhookDelivery) client.WebhookDeliveryJSON {
	out := client.NewWebhookDeliveryJSON(d)
	if d.State != webhooks.StatePending {
		out.NextAttemptAt = ""
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
	out := client.NewWebhookEndpointJSON(ep, secret)
	writeData(w, http.StatusCreated, out)
}

func (s *Server) handleListWebhookEndpoints(w http.ResponseWriter, r *http.Request) {
	eps, err := s.Webhooks.Endpoints(r.Context())
	if err != nil {
		s.Error(w, r, err)
		return
	}
	items := make([]client.WebhookEndpointJSON, 0, len(eps))
	for _, ep := range eps {
		items = append(items, client.NewWebhookEndpointJSON(ep, ""))
	}
	writeData(w, http.StatusOK, map[string]any{"items": items})
}

func (s *Server) handleGetWebhookEndpoint(w http.ResponseWriter, r *http.Request) {
	ep, err := s.Webhooks.Endpoint(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeData(w, http.StatusOK, client.NewWebhookEndpointJSON(ep, ""))
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
	writeData(w, http.StatusOK, client.NewWebhookEndpointJSON(ep, ""))
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
	out := client.NewWebhookEndpointJSON(ep, secret)
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
	out := client.WebhookEnableJSON{WebhookEndpointJSON: client.NewWebhookEndpointJSON(ep, ""), DeliverHeld: req.DeliverHeld, Held: n}
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
	items := make([]client.WebhookAttemptJSON, 0, len(as))
	for _, a := range as {
		items = append(items, client.NewWebhookAttemptJSON(a))
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
