package client

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
)

// InboundService is the admin API of inbound payment-gateway webhooks
// (/v1/inbound/…): gateway settings, logs and the dead-letter queue. Its
// methods answer the API's data as raw JSON, which the CLI prints or
// decodes.
type InboundService struct{ *Client }

// InboundService returns the inbound webhook admin API.
func (c *Client) InboundService() *InboundService { return &InboundService{Client: c} }

func (s *InboundService) call(ctx context.Context, method, path string, body any) (json.RawMessage, error) {
	var out json.RawMessage
	_, err := s.do(ctx, &request{method: method, path: path, body: body}, &out)
	return out, err
}

// Gateways lists the gateways and their status.
func (s *InboundService) Gateways(ctx context.Context) (json.RawMessage, error) {
	return s.call(ctx, "GET", "/v1/inbound/gateways", nil)
}

// PutGateway configures a gateway with settings (the body of PUT
// /v1/inbound/gateways/{gateway}).
func (s *InboundService) PutGateway(ctx context.Context, gateway string, settings map[string]any) (json.RawMessage, error) {
	return s.call(ctx, "PUT", "/v1/inbound/gateways/"+url.PathEscape(gateway), settings)
}

// Logs returns a gateway's reception log.
func (s *InboundService) Logs(ctx context.Context, gateway, status string, limit int) (json.RawMessage, error) {
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if status != "" {
		q.Set("status", status)
	}
	return s.call(ctx, "GET", "/v1/inbound/gateways/"+url.PathEscape(gateway)+"/logs?"+q.Encode(), nil)
}

// Test sends a test event for an order.
func (s *InboundService) Test(ctx context.Context, gateway string, body map[string]any) (json.RawMessage, error) {
	return s.call(ctx, "POST", "/v1/inbound/gateways/"+url.PathEscape(gateway)+"/test", body)
}

// DeadLetters lists the dead-letter queue.
func (s *InboundService) DeadLetters(ctx context.Context, gateway string, limit int) (json.RawMessage, error) {
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if gateway != "" {
		q.Set("gateway", gateway)
	}
	return s.call(ctx, "GET", "/v1/inbound/dead-letters?"+q.Encode(), nil)
}

// DeadLetter shows one received event with its body.
func (s *InboundService) DeadLetter(ctx context.Context, id string) (json.RawMessage, error) {
	return s.call(ctx, "GET", "/v1/inbound/dead-letters/"+url.PathEscape(id), nil)
}

// Redrive processes a dead letter again.
func (s *InboundService) Redrive(ctx context.Context, id string) (json.RawMessage, error) {
	return s.call(ctx, "POST", "/v1/inbound/dead-letters/"+url.PathEscape(id)+"/redrive", nil)
}

// Discard takes a dead letter out of the queue.
func (s *InboundService) Discard(ctx context.Context, id string) (json.RawMessage, error) {
	return s.call(ctx, "POST", "/v1/inbound/dead-letters/"+url.PathEscape(id)+"/discard", nil)
}
