package inbound

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/ksuid"
	"github.com/walletd/walletd"
)

// The admin side of the pipeline: gateway settings, the management list,
// the test endpoint, the logs and the dead-letter queue.

// PutGateway configures gateway name. Returns ENotFound (no such
// gateway), EInvalid.
func (p *Pipeline) PutGateway(ctx context.Context, name string, in *GatewayInput) (*Gateway, error) {
	a, err := checkGatewayName(p.Adapters, name)
	if err != nil {
		return nil, err
	}
	prev, err := p.DB.Gateway(ctx, name)
	if err != nil && walletd.ErrorCode(err) != walletd.ENotFound {
		return nil, err
	}
	_, self := a.(SelfConfigured)
	g, err := in.build(name, prev, p.Now().UTC(), self)
	if err != nil {
		return nil, err
	}
	if err := p.DB.PutGateway(ctx, g); err != nil {
		return nil, err
	}
	p.Logger.Info("inbound gateway configured", LogGateway, name, "enabled", g.Enabled)
	return g, nil
}

// GatewayStatus is one gateway in the management list: the seed's fields,
// and the settings that are not secret.
type GatewayStatus struct {
	Gateway      string     `json:"gateway"`
	URL          string     `json:"url"`
	Status       string     `json:"status"` // active, configured, disabled, not_configured
	Events       []string   `json:"events"`
	LastReceived *time.Time `json:"last_received"`
	SuccessRate  *float64   `json:"success_rate"`
	NativeURL    string     `json:"native_url"`
	SecretSet    bool       `json:"secret_set"`
	Settings     *Gateway   `json:"settings,omitempty"`
}

// ListGateways lists every gateway with its status, under baseURL (the
// public URL walletd is reached at). A configured gateway is "active"
// once it has received a delivery, "configured" before.
func (p *Pipeline) ListGateways(ctx context.Context, baseURL string) ([]*GatewayStatus, error) {
	base := strings.TrimRight(baseURL, "/")
	var out []*GatewayStatus
	for _, name := range sortedKeys(p.Adapters) {
		a := p.Adapters[name]
		s := &GatewayStatus{Gateway: name, URL: base + "/wp-json/odcm/v1/webhooks/" + name, NativeURL: base + "/v1/inbound/" + name,
			Status: "not_configured", Events: a.Events()}
		g, err := p.gateway(ctx, a)
		switch {
		case walletd.ErrorCode(err) == walletd.ENotFound:
		case err != nil:
			return nil, err
		default:
			st, err := p.DB.stats(ctx, name)
			if err != nil {
				return nil, err
			}
			s.LastReceived, s.SuccessRate, s.SecretSet, s.Settings = st.LastReceived, st.SuccessRate, g.Secret != "", g
			switch {
			case !g.Enabled:
				s.Status = "disabled"
			case st.LastReceived != nil:
				s.Status = "active"
			default:
				s.Status = "configured"
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// TestInput is the body of the test endpoint: the order (or top-up) a
// sample payment is for; amount and currency default to the order's.
type TestInput struct {
	OrderID  any    `json:"order_id"`
	TopupID  string `json:"topup_id"`
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

// TestResult is the seed's answer of the test endpoint.
type TestResult struct {
	TestEventSent   bool           `json:"test_event_sent"`
	GatewayResponse map[string]any `json:"gateway_response"`
	AuditEntryID    int64          `json:"audit_entry_id"`
	EventID         string         `json:"event_id"`
	HTTPStatus      int            `json:"http_status"`
}

// Test runs a sample payment event for an order or a top-up through the
// same pipeline as a delivery: signed with the gateway's secret and
// verified where the adapter can sign (Stripe, generic), recorded,
// processed by the rules, logged (as a test). Returns ENotFound,
// EInvalid.
func (p *Pipeline) Test(ctx context.Context, name string, in *TestInput) (*TestResult, error) {
	a, err := checkGatewayName(p.Adapters, name)
	if err != nil {
		return nil, err
	}
	g, err := p.gateway(ctx, a)
	if err != nil {
		return nil, err
	}
	t, amount, currency, err := p.testTarget(ctx, in)
	if err != nil {
		return nil, err
	}
	now := p.Now()
	body, err := a.Sample(g, t, amount, currency, ksuid.New().String(), now)
	if err != nil {
		return nil, err
	}
	refuse := func(out string, rep *Reply, cause error) *Reply {
		e := &LogEntry{At: now, Gateway: name, Status: LogError, Outcome: out, HTTPStatus: rep.Status, ErrorMessage: rep.Message, Test: true}
		rep.LogID, _ = p.DB.log(context.WithoutCancel(ctx), e)
		return rep
	}
	var rep *Reply
	if s, ok := a.(Signer); ok {
		h, err := s.Sign(g, body, now)
		if err != nil {
			return nil, err
		}
		if err := a.Verify(ctx, g, h, body, now); err != nil {
			rep = refuse(OutSignature, signatureError(), err)
		}
	}
	if rep == nil {
		rep = p.accept(ctx, a, g, body, true, "", now, refuse)
	}
	res := &TestResult{TestEventSent: true, AuditEntryID: rep.LogID, HTTPStatus: rep.Status,
		GatewayResponse: map[string]any{"processed": rep.Status == http.StatusOK, "rules_evaluated": 0, "actions_executed": []string{}}}
	if rec, err := p.logEvent(ctx, rep.LogID); err == nil && rec != nil {
		res.EventID = rec.ProviderID
		if rec.Outcome != nil {
			res.GatewayResponse["rules_evaluated"] = rec.Outcome.RulesEvaluated
			res.GatewayResponse["actions_executed"] = rec.Outcome.Actions
		}
	}
	if rep.Status != http.StatusOK {
		res.GatewayResponse["message"] = rep.Message
		res.GatewayResponse["code"] = rep.Code
	}
	return res, nil
}

// logEvent returns the event a log row recorded, if any.
func (p *Pipeline) logEvent(ctx context.Context, logID int64) (*Record, error) {
	var row int64
	if err := p.DB.pools.Read.QueryRowContext(ctx, `SELECT coalesce(event_row, 0) FROM inbound_log WHERE id = ?`, logID).Scan(&row); err != nil || row == 0 {
		return nil, err
	}
	return p.DB.Event(ctx, row)
}

// testTarget resolves the test input to a target and its amount.
func (p *Pipeline) testTarget(ctx context.Context, in *TestInput) (Target, string, string, error) {
	if in.TopupID != "" {
		v, err := p.Ledger.Object(ctx, walletd.ObjTopup, in.TopupID)
		if err != nil {
			return Target{}, "", "", err
		}
		t, _ := v.(*walletd.Topup)
		if t == nil {
			return Target{}, "", "", walletd.Errorf(walletd.ENotFound, "Top-up %s not found.", walletd.QuoteInput(in.TopupID))
		}
		return Target{Type: TargetTopup, Ref: t.ID}, firstOf(in.Amount, t.Amount.String()), firstOf(in.Currency, t.Currency), nil
	}
	var ref string
	switch v := in.OrderID.(type) {
	case string:
		ref = v
	case float64:
		if v != float64(int64(v)) {
			return Target{}, "", "", walletd.Errorf(walletd.EInvalid, "order_id must be an order id.")
		}
		ref = strconv.FormatInt(int64(v), 10)
	case nil:
		return Target{}, "", "", walletd.Errorf(walletd.EInvalid, "order_id or topup_id is required.")
	default:
		return Target{}, "", "", walletd.Errorf(walletd.EInvalid, "order_id must be an order id.")
	}
	o, err := p.findOrder(ctx, ref)
	if err != nil {
		return Target{}, "", "", err
	}
	return Target{Type: TargetOrder, Ref: strconv.FormatInt(o.ID, 10)}, firstOf(in.Amount, o.Total.String()), firstOf(in.Currency, o.Currency), nil
}

// Logs returns the newest receptions of gateway (status: success, error,
// pending or "" for all), up to limit, and their total. Returns
// ENotFound, EInvalid.
func (p *Pipeline) Logs(ctx context.Context, gateway, status string, limit int) ([]*LogEntry, int64, error) {
	if _, err := checkGatewayName(p.Adapters, gateway); err != nil {
		return nil, 0, err
	}
	switch status {
	case "", LogSuccess, LogError, LogPending:
	default:
		return nil, 0, walletd.Errorf(walletd.EInvalid, "status must be success, error or pending.")
	}
	return p.DB.Logs(ctx, gateway, status, limit)
}

// DeadLetters lists the dead-letter queue, newest first, before id
// (0: from the newest). Returns EInvalid.
func (p *Pipeline) DeadLetters(ctx context.Context, gateway string, before int64, limit int) ([]*Record, error) {
	if gateway != "" {
		if _, err := checkGatewayName(p.Adapters, gateway); err != nil {
			return nil, err
		}
	}
	return p.DB.Events(ctx, StateDead, gateway, before, limit)
}

// Event returns a received event, with its body. Returns ENotFound.
func (p *Pipeline) Event(ctx context.Context, id int64) (*Record, error) { return p.DB.Event(ctx, id) }

// Redrive puts a dead letter back in the queue and processes it now,
// waiting for the outcome as a delivery does. Returns ENotFound,
// EConflict (not a dead letter).
func (p *Pipeline) Redrive(ctx context.Context, id int64) (*Record, error) {
	if _, err := p.DB.setState(ctx, id, StatePending, p.Now(), StateDead); err != nil {
		return nil, err
	}
	p.Logger.Info("inbound dead letter redriven", LogEventRow, id)
	p.enqueue(id)
	return p.waitSettled(ctx, id)
}

// Discard takes a dead letter out of the queue for good. Returns
// ENotFound, EConflict.
func (p *Pipeline) Discard(ctx context.Context, id int64) (*Record, error) {
	r, err := p.DB.setState(ctx, id, StateDiscarded, p.Now(), StateDead)
	if err == nil {
		p.Logger.Info("inbound dead letter discarded", LogEventRow, id)
	}
	return r, err
}

// String names an event for messages.
func (r *Record) String() string {
	return fmt.Sprintf("%s event %d (%s)", r.Gateway, r.ID, r.ProviderID)
}
