package financing

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/webhooks/inbound"
)

// GatewayName is the postbacks' gateway in the inbound pipeline: they
// arrive at /v1/inbound/wegetfinancing and
// /wp-json/odcm/v1/webhooks/wegetfinancing.
const GatewayName = walletd.PayWeGetFinancing

// Network limits of the gateway when an admin stored none: a provider
// posts a few postbacks per application, and resends.
const (
	defaultRatePerMinute = 1000
	defaultBurst         = 200
	defaultBurstWindow   = 10
)

// Adapter carries WeGetFinancing's postbacks through the shared inbound
// pipeline (webhooks/inbound): it verifies x-signature with the
// credentials of the financing settings (sealed at rest in webhooks.db),
// parses the postback (its dedupe id: the SHA-256 of the body), has the
// pipeline answer 200 "OK" as soon as the postback is recorded, and
// applies it with Applier in the pipeline's workers, which retry an
// error with backoff and dead-letter a StateReview.
type Adapter struct {
	// Service gives the credentials, the timestamp window, the metrics
	// and the logger.
	Service *Service
	// Applier applies postbacks (nil: a LedgerApplier of Service).
	Applier Applier
}

var (
	_ inbound.Adapter        = (*Adapter)(nil)
	_ inbound.SelfApplier    = (*Adapter)(nil)
	_ inbound.EarlyAnswerer  = (*Adapter)(nil)
	_ inbound.SelfConfigured = (*Adapter)(nil)
	_ inbound.Answerer       = (*Adapter)(nil)
	_ inbound.Signer         = (*Adapter)(nil)
	_ inbound.BodyLimiter    = (*Adapter)(nil)
)

// NewAdapter returns the adapter of s's postbacks, applied through the
// ledger.
func NewAdapter(s *Service) *Adapter { return &Adapter{Service: s} }

func (a *Adapter) applier() Applier {
	if a.Applier != nil {
		return a.Applier
	}
	return &LedgerApplier{Service: a.Service}
}

// Name is "wegetfinancing".
func (*Adapter) Name() string { return GatewayName }

// Events lists the statuses acted on.
func (*Adapter) Events() []string { return Statuses }

// MaxBodyBytes is MaxPostbackBytes.
func (*Adapter) MaxBodyBytes() int { return MaxPostbackBytes }

// AnswerOnRecord is true: the provider wants 200 "OK" within 5 s, so a
// postback is answered once recorded and applied after.
func (*Adapter) AnswerOnRecord() bool { return true }

// DefaultGateway serves the gateway, enabled, once financing is
// configured. Returns ENotFound before.
func (a *Adapter) DefaultGateway(ctx context.Context) (*inbound.Gateway, error) {
	a.Service.init()
	if _, err := a.Service.Store.settings(ctx); err != nil {
		if walletd.ErrorCode(err) == walletd.EConflict {
			return nil, walletd.Errorf(walletd.ENotFound, "Financing is not configured.")
		}
		return nil, err
	}
	return &inbound.Gateway{Name: GatewayName, RatePerMinute: defaultRatePerMinute, Burst: defaultBurst,
		BurstWindowSeconds: defaultBurstWindow, Enabled: true}, nil
}

// Verify checks x-timestamp and x-signature against the financing
// settings' username and password (VerifySignature).
func (a *Adapter) Verify(ctx context.Context, _ *inbound.Gateway, h http.Header, body []byte, now time.Time) error {
	s := a.Service
	s.init()
	c, err := s.Store.settings(ctx)
	if err != nil {
		if walletd.ErrorCode(err) == walletd.EConflict {
			s.Metrics.refused(RefusedUnset)
		}
		return fmt.Errorf("%w: financing settings: %w", inbound.ErrUnavailable, err)
	}
	if err := VerifySignature(h, body, c.Username, c.Password, now, s.Window); err != nil {
		s.Metrics.refused(RefusedSignature)
		return fmt.Errorf("%w: %w", inbound.ErrSignature, err)
	}
	return nil
}

// Parse reads a verified postback: the provider event id is its EventID;
// its kind, target (merchant_transaction_id), amount and request token
// are shown in the log and the dead-letter queue.
func (a *Adapter) Parse(_ *inbound.Gateway, body []byte) (*inbound.Event, error) {
	p, err := ParsePostback(body)
	if err != nil {
		a.Service.Metrics.refused(RefusedPayload)
		return nil, fmt.Errorf("%w: %s", inbound.ErrPayload, walletd.ErrorMessage(err))
	}
	ev := &inbound.Event{ProviderID: p.EventID, Type: p.Status, Amount: p.Amount, PaymentRef: p.RequestToken}
	switch Decide(p).Action {
	case ActApprove:
		ev.Kind = inbound.KindSucceeded
	case ActReject, ActCancel:
		ev.Kind = inbound.KindFailed
	case ActRefund:
		ev.Kind = inbound.KindRefunded
	}
	if id, top := ParseReference(p.MerchantTransactionID); id != 0 {
		ev.Target = inbound.Target{Type: inbound.TargetOrder, Ref: strconv.FormatInt(id, 10)}
	} else if top != "" {
		ev.Target = inbound.Target{Type: inbound.TargetTopup, Ref: top}
	}
	return ev, nil
}

// ApplyEvent applies a recorded postback (inbound.SelfApplier): an
// Applier error is retried, StateReview is dead-lettered.
func (a *Adapter) ApplyEvent(ctx context.Context, r *inbound.Record) (*inbound.Outcome, bool, error) {
	s := a.Service
	s.init()
	p, err := ParsePostback(r.Body)
	if err != nil { // it parsed when it was recorded
		return &inbound.Outcome{Status: http.StatusUnprocessableEntity, Code: "not_applied", Message: walletd.ErrorMessage(err), Result: StateReview}, true, nil
	}
	if r.Attempts == 0 {
		s.Metrics.postback(p.Status)
	}
	out, err := a.applier().Apply(ctx, p)
	if err != nil {
		s.Metrics.outcome(StateRetrying)
		return &inbound.Outcome{Status: http.StatusInternalServerError, Code: "processing_error",
			Message: "The postback could not be applied now; it is tried again.", Result: StateRetrying}, false, err
	}
	s.Metrics.outcome(out.State)
	o := &inbound.Outcome{Status: http.StatusOK, Message: out.Detail, Result: out.State, TopupID: out.TopupID}
	if out.OrderID != 0 {
		o.OrderID = &out.OrderID
	}
	s.Logger.Info("financing postback applied", walletd.LogEventID, p.EventID, logStatus, p.Status, logState, out.State, logOutcome, out.Detail)
	if out.State == StateReview {
		o.Status, o.Code = http.StatusUnprocessableEntity, StateReview
		return o, true, nil
	}
	return o, false, nil
}

// Answer is the provider plugin's answer: 200 with the text "OK". Other
// answers are the pipeline's JSON.
func (*Adapter) Answer(rep *inbound.Reply) (string, []byte) {
	if rep.Status == http.StatusOK {
		return "text/plain; charset=utf-8", []byte("OK")
	}
	return "", nil
}

// Sign signs a sample as the provider does (for the test endpoint).
func (a *Adapter) Sign(_ *inbound.Gateway, body []byte, now time.Time) (http.Header, error) {
	c, err := a.Service.Store.settings(context.Background())
	if err != nil {
		return nil, err
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	h := http.Header{}
	h.Set(HeaderTimestamp, ts)
	h.Set(HeaderSignature, Sign(ts, c.Username, body, c.Password))
	return h, nil
}

// Sample is an approval of the request walletd sent for target (the test
// endpoint: it really pays the order). Returns EConflict when walletd
// sent no request for it (an approval would be for review).
func (a *Adapter) Sample(_ *inbound.Gateway, t inbound.Target, _, _, id string, _ time.Time) ([]byte, error) {
	ref := t.Ref
	req, err := a.Service.Store.request(context.Background(), ref, "")
	if walletd.ErrorCode(err) == walletd.ENotFound {
		return nil, walletd.Errorf(walletd.EConflict, "walletd sent no financing request for %s: send one first (POST /v1/orders/{id}/financing).", walletd.QuoteInput(ref))
	} else if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{"version": APIVersion, "request_token": req.RequestToken, "merchant_transaction_id": ref,
		"updates": map[string]string{"status": StatusApproved}, "sample_id": id})
}
