// Package gateway carries consumer financing's postbacks through the
// shared inbound pipeline (webhooks/inbound): Adapter is its
// wegetfinancing gateway, and Log keeps financing's traffic in the
// pipeline's log (the requests sent, direction out) and reads its
// postbacks back. It joins two packages of one layer, financing and
// webhooks/inbound, neither of which imports the other.
package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/financing"
	"github.com/walletd/walletd/webhooks/inbound"
)

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
	// and the requests.
	Service *financing.Service
	// Applier applies postbacks (nil: a LedgerApplier of Service).
	Applier financing.Applier
	// Logger logs each postback applied (nil: Service's, else
	// slog.Default).
	Logger *slog.Logger
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
func NewAdapter(s *financing.Service) *Adapter { return &Adapter{Service: s} }

func (a *Adapter) applier() financing.Applier {
	if a.Applier != nil {
		return a.Applier
	}
	return &financing.LedgerApplier{Service: a.Service}
}

func (a *Adapter) logger() *slog.Logger {
	switch {
	case a.Logger != nil:
		return a.Logger
	case a.Service.Logger != nil:
		return a.Service.Logger
	}
	return slog.Default()
}

// Name is "wegetfinancing".
func (*Adapter) Name() string { return financing.GatewayName }

// Events lists the statuses acted on.
func (*Adapter) Events() []string { return financing.Statuses }

// MaxBodyBytes is financing.MaxPostbackBytes.
func (*Adapter) MaxBodyBytes() int { return financing.MaxPostbackBytes }

// AnswerOnRecord is true: the provider wants 200 "OK" within 5 s, so a
// postback is answered once recorded and applied after.
func (*Adapter) AnswerOnRecord() bool { return true }

// DefaultGateway serves the gateway, enabled, once financing is
// configured. Returns ENotFound before.
func (a *Adapter) DefaultGateway(ctx context.Context) (*inbound.Gateway, error) {
	if _, _, err := a.Service.Credentials(ctx); err != nil {
		if walletd.ErrorCode(err) == walletd.EConflict {
			return nil, walletd.Errorf(walletd.ENotFound, "Financing is not configured.")
		}
		return nil, err
	}
	return &inbound.Gateway{Name: financing.GatewayName, RatePerMinute: defaultRatePerMinute, Burst: defaultBurst,
		BurstWindowSeconds: defaultBurstWindow, Enabled: true}, nil
}

// Verify checks x-timestamp and x-signature against the financing
// settings' username and password (VerifySignature).
func (a *Adapter) Verify(ctx context.Context, _ *inbound.Gateway, h http.Header, body []byte, now time.Time) error {
	s := a.Service
	user, pass, err := s.Credentials(ctx)
	if err != nil {
		if walletd.ErrorCode(err) == walletd.EConflict {
			s.Metrics.Refused(financing.RefusedUnset)
		}
		return fmt.Errorf("%w: financing settings: %w", inbound.ErrUnavailable, err)
	}
	if err := financing.VerifySignature(h, body, user, pass, now, s.PostbackWindow()); err != nil {
		s.Metrics.Refused(financing.RefusedSignature)
		return fmt.Errorf("%w: %w", inbound.ErrSignature, err)
	}
	return nil
}

// Parse reads a verified postback: the provider event id is its EventID;
// its kind, target (merchant_transaction_id), amount and request token
// are shown in the log and the dead-letter queue.
func (a *Adapter) Parse(_ *inbound.Gateway, body []byte) (*inbound.Event, error) {
	p, err := financing.ParsePostback(body)
	if err != nil {
		a.Service.Metrics.Refused(financing.RefusedPayload)
		return nil, fmt.Errorf("%w: %s", inbound.ErrPayload, walletd.ErrorMessage(err))
	}
	ev := &inbound.Event{ProviderID: p.EventID, Type: p.Status, Amount: p.Amount, PaymentRef: p.RequestToken}
	switch financing.Decide(p).Action {
	case financing.ActApprove:
		ev.Kind = inbound.KindSucceeded
	case financing.ActReject, financing.ActCancel:
		ev.Kind = inbound.KindFailed
	case financing.ActRefund:
		ev.Kind = inbound.KindRefunded
	}
	if id, top := financing.ParseReference(p.MerchantTransactionID); id != 0 {
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
	p, err := financing.ParsePostback(r.Body)
	if err != nil { // it parsed when it was recorded
		return &inbound.Outcome{Status: http.StatusUnprocessableEntity, Code: "not_applied", Message: walletd.ErrorMessage(err), Result: financing.StateReview}, true, nil
	}
	if r.Attempts == 0 {
		s.Metrics.Postback(p.Status)
	}
	out, err := a.applier().Apply(ctx, p)
	if err != nil {
		s.Metrics.Outcome(financing.StateRetrying)
		return &inbound.Outcome{Status: http.StatusInternalServerError, Code: "processing_error",
			Message: "The postback could not be applied now; it is tried again.", Result: financing.StateRetrying}, false, err
	}
	s.Metrics.Outcome(out.State)
	o := &inbound.Outcome{Status: http.StatusOK, Message: out.Detail, Result: out.State, TopupID: out.TopupID}
	if out.OrderID != 0 {
		o.OrderID = &out.OrderID
	}
	a.logger().Info("financing postback applied", walletd.LogEventID, p.EventID, "postback_status", p.Status, "state", out.State, "outcome", out.Detail)
	if out.State == financing.StateReview {
		o.Status, o.Code = http.StatusUnprocessableEntity, financing.StateReview
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
	user, pass, err := a.Service.Credentials(context.Background())
	if err != nil {
		return nil, err
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	h := http.Header{}
	h.Set(financing.HeaderTimestamp, ts)
	h.Set(financing.HeaderSignature, financing.Sign(ts, user, body, pass))
	return h, nil
}

// Sample is an approval of the request walletd sent for target (the test
// endpoint: it really pays the order). Returns EConflict when walletd
// sent no request for it (an approval would be for review).
func (a *Adapter) Sample(_ *inbound.Gateway, t inbound.Target, _, _, id string, _ time.Time) ([]byte, error) {
	ref := t.Ref
	req, err := a.Service.Request(context.Background(), ref)
	if walletd.ErrorCode(err) == walletd.ENotFound {
		return nil, walletd.Errorf(walletd.EConflict, "walletd sent no financing request for %s: send one first (POST /v1/orders/{id}/financing).", walletd.QuoteInput(ref))
	} else if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{"version": financing.APIVersion, "request_token": req.RequestToken, "merchant_transaction_id": ref,
		"updates": map[string]string{"status": financing.StatusApproved}, "sample_id": id})
}
