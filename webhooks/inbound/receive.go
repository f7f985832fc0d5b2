package inbound

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/walletd/walletd"
)

// Reception outcomes: the log's outcome column and the metrics' label.
const (
	OutAccepted    = "accepted"
	OutDuplicate   = "duplicate"
	OutSignature   = "invalid_signature"
	OutPayload     = "invalid_payload"
	OutNotAllowed  = "ip_not_allowed"
	OutBlocked     = "ip_blocked"
	OutRateLimited = "rate_limited"
	OutNotEnabled  = "not_configured"
	OutUnavailable = "unavailable"
	OutInternal    = "internal_error"
	OutTooLarge    = "payload_too_large"
)

// Receive handles one delivery to gateway req.Gateway and returns the
// answer. It never returns an internal detail to the sender.
func (p *Pipeline) Receive(ctx context.Context, req *Request) *Reply {
	start := p.Now()
	a, err := checkGatewayName(p.Adapters, req.Gateway)
	if err != nil {
		return &Reply{Status: http.StatusNotFound, Message: "Unknown gateway", Code: "gateway_not_found"}
	}
	ip := ClientIP(req.RemoteAddr, req.Header.Values("X-Forwarded-For"), p.TrustedProxies)
	refuse := func(out string, rep *Reply, cause error) *Reply {
		e := &LogEntry{At: start, Gateway: a.Name(), Status: LogError, Outcome: out, HTTPStatus: rep.Status,
			ProcessingTimeMS: p.Now().Sub(start).Milliseconds(), ErrorMessage: rep.Message, RemoteIP: ip.String()}
		rep.LogID, _ = p.DB.log(context.WithoutCancel(ctx), e)
		p.Metrics.received(a.Name(), out)
		if cause != nil {
			p.Logger.Warn("inbound delivery refused", LogGateway, a.Name(), "outcome", out, "remote_ip", ip.String(), walletd.LogError, cause)
		}
		return rep
	}
	if blocked, left := p.blocker.blocked(ip, start); blocked {
		return refuse(OutBlocked, &Reply{Status: http.StatusForbidden, Message: "Too many failed signatures from this address", Code: "ip_blocked", RetryAfter: left}, nil)
	}
	if bl, ok := a.(BodyLimiter); ok && len(req.Body) > bl.MaxBodyBytes() {
		return refuse(OutTooLarge, &Reply{Status: http.StatusRequestEntityTooLarge, Message: "Webhook payload too large", Code: "payload_too_large"}, nil)
	}
	g, err := p.gateway(ctx, a)
	if err != nil || !g.Enabled {
		if err != nil && walletd.ErrorCode(err) != walletd.ENotFound {
			return refuse(OutInternal, processingError(), err)
		}
		return refuse(OutNotEnabled, &Reply{Status: http.StatusNotFound, Message: "Gateway not configured", Code: "gateway_not_configured"}, nil)
	}
	if !g.allows(ip) {
		return refuse(OutNotAllowed, &Reply{Status: http.StatusForbidden, Message: "Address not allowed", Code: "ip_not_allowed"}, nil)
	}
	if ok, wait := p.limiter.allow(g, start); !ok {
		return refuse(OutRateLimited, &Reply{Status: http.StatusTooManyRequests, Message: "Rate limit exceeded", Code: "rate_limited", RetryAfter: wait}, nil)
	}
	if err := a.Verify(ctx, g, req.Header, req.Body, start); err != nil {
		if errors.Is(err, ErrUnavailable) {
			return refuse(OutUnavailable, &Reply{Status: http.StatusServiceUnavailable, Message: "Signature could not be checked now", Code: "verification_unavailable", RetryAfter: time.Minute}, err)
		}
		p.blocker.fail(ip, start)
		return refuse(OutSignature, signatureError(), err)
	}
	return p.accept(ctx, a, g, req.Body, false, ip.String(), start, refuse)
}

// accept parses a verified body, records its event and answers with its
// outcome.
func (p *Pipeline) accept(ctx context.Context, a Adapter, g *Gateway, body []byte, test bool, ip string, start time.Time,
	refuse func(string, *Reply, error) *Reply) *Reply {
	ev, err := a.Parse(g, body)
	if err != nil {
		return refuse(OutPayload, &Reply{Status: http.StatusBadRequest, Message: payloadMessage(err), Code: "invalid_payload"}, err)
	}
	ev.Gateway = a.Name()
	if test {
		ev.ProviderID = "test:" + ev.ProviderID
	}
	entry := &LogEntry{At: start, Gateway: a.Name(), ProviderID: ev.ProviderID, EventType: ev.Type, Status: LogPending,
		Outcome: OutAccepted, HTTPStatus: http.StatusAccepted, RemoteIP: ip, Test: test}
	id, created, logID, err := p.DB.recordAndLog(context.WithoutCancel(ctx), ev, body, test, start, entry)
	if err != nil {
		return refuse(OutInternal, processingError(), err)
	}
	out := OutAccepted
	if !created {
		out = OutDuplicate
	}
	p.Metrics.received(a.Name(), out)
	p.enqueue(id)
	if ea, ok := a.(EarlyAnswerer); ok && ea.AnswerOnRecord() {
		return p.answerOnRecord(ctx, id, created, logID, ev, start)
	}
	r, err := p.waitSettled(ctx, id)
	if err != nil {
		p.Logger.Error("inbound: read event", LogEventRow, id, walletd.LogError, err)
		return processingError()
	}
	rep := replyFor(r)
	rep.LogID = logID
	if err := p.DB.settleLog(context.WithoutCancel(ctx), logID, r, p.Now().Sub(start)); err != nil {
		p.Logger.Warn("inbound: settle log", LogEventRow, id, walletd.LogError, err)
	}
	return rep
}

// answerOnRecord answers a recorded event at once (EarlyAnswerer). The
// event's log row is settled when an attempt ends; a duplicate of an
// event already settled has its row settled here.
func (p *Pipeline) answerOnRecord(ctx context.Context, id int64, created bool, logID int64, ev *Event, start time.Time) *Reply {
	if !created {
		if r, err := p.DB.Event(ctx, id); err == nil && r.State != StatePending {
			if err := p.DB.settleLog(context.WithoutCancel(ctx), logID, r, p.Now().Sub(start)); err != nil {
				p.Logger.Warn("inbound: settle log", LogEventRow, id, walletd.LogError, err)
			}
		}
	}
	return &Reply{Status: http.StatusOK, Success: true, Message: "Webhook received", LogID: logID,
		Data: map[string]any{"event_id": ev.ProviderID}}
}

// replyFor renders an event's outcome as the seed's answer.
func replyFor(r *Record) *Reply {
	o := r.Outcome
	if o == nil || (r.State == StatePending) {
		return processingError()
	}
	switch {
	case o.Status == http.StatusOK:
		actions := o.Actions
		if actions == nil {
			actions = []string{}
		}
		return &Reply{Status: http.StatusOK, Success: true, Message: "Webhook processed successfully", Data: map[string]any{
			"event_id": r.Event.ProviderID, "order_id": o.OrderID, "rules_triggered": o.RulesTriggered, "actions_executed": actions}}
	case o.Code == "order_not_found":
		return &Reply{Status: http.StatusNotFound, Message: "Order reference not found", Code: o.Code,
			Data: map[string]any{"order_reference": o.OrderReference}}
	case o.Status == http.StatusInternalServerError:
		return processingError()
	default:
		return &Reply{Status: o.Status, Message: o.Message, Code: o.Code, Data: map[string]any{"event_id": r.Event.ProviderID, "order_id": o.OrderID}}
	}
}

func signatureError() *Reply {
	return &Reply{Status: http.StatusUnauthorized, Message: "Webhook signature verification failed", Code: "invalid_signature"}
}

// processingError is the seed's 500, with no internals.
func processingError() *Reply {
	return &Reply{Status: http.StatusInternalServerError, Message: "Webhook processing failed", Code: "processing_error",
		Data: map[string]any{"error_details": "The event is recorded and will be retried."}}
}

// payloadMessage is the text of a 400: the adapter's own words, which
// name fields and never echo secrets.
func payloadMessage(err error) string {
	msg := err.Error()
	if len(msg) > 300 {
		msg = msg[:300]
	}
	return msg
}

// Refuse logs a delivery that HTTP refused before the pipeline saw it (a
// body over the limit) and returns the reply to send. An unknown gateway
// is not logged (its name would be the sender's choice).
func (p *Pipeline) Refuse(ctx context.Context, req *Request, rep *Reply, outcome string) *Reply {
	a, err := checkGatewayName(p.Adapters, req.Gateway)
	if err != nil {
		return rep
	}
	ip := ClientIP(req.RemoteAddr, req.Header.Values("X-Forwarded-For"), p.TrustedProxies)
	e := &LogEntry{At: p.Now(), Gateway: a.Name(), Status: LogError, Outcome: outcome, HTTPStatus: rep.Status, ErrorMessage: rep.Message, RemoteIP: ip.String()}
	rep.LogID, _ = p.DB.log(context.WithoutCancel(ctx), e)
	p.Metrics.received(a.Name(), outcome)
	return rep
}

// Render returns the content type and body of rep for gateway's sender:
// the adapter's own (Answerer), or "" and nil for the seed's JSON.
func (p *Pipeline) Render(gateway string, rep *Reply) (string, []byte) {
	if a, ok := p.Adapters[gateway].(Answerer); ok {
		return a.Answer(rep)
	}
	return "", nil
}
