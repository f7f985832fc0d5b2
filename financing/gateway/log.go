package gateway

import (
	"context"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/financing"
	"github.com/walletd/walletd/webhooks/inbound"
)

// Log is financing's traffic in the inbound pipeline's database: the
// requests sent to the provider as log rows of direction out, and the
// postbacks read back from the pipeline's events.
type Log struct {
	DB *inbound.DB
}

var _ financing.InboundLog = Log{}

// LogRequest logs one call of the provider: a row of gateway
// wegetfinancing, direction out, event type create_request, with its
// status (success when a request was created), outcome, the provider's
// HTTP status, timing, order, request token (a top-up's id when none) and
// message.
func (l Log) LogRequest(ctx context.Context, e *financing.RequestLogEntry) error {
	row := &inbound.LogEntry{At: e.At, Gateway: financing.GatewayName, ProviderID: e.RequestToken, EventType: "create_request",
		Status: inbound.LogSuccess, Outcome: e.Outcome, HTTPStatus: e.HTTPStatus, ProcessingTimeMS: e.Duration.Milliseconds(), ErrorMessage: e.Error}
	if e.Outcome != financing.ReqCreated {
		row.Status = inbound.LogError
	}
	if e.OrderID != 0 {
		id := e.OrderID
		row.OrderID = &id
	}
	if row.ProviderID == "" && e.Kind == walletd.FinancingTopup {
		row.ProviderID = e.Reference
	}
	_, err := l.DB.LogOutbound(ctx, row)
	return err
}

// Postbacks lists the postbacks the pipeline recorded (gateway
// wegetfinancing), newest first (at most limit), as the financing log
// shows them: applied, ignored, review (a dead letter), received or
// retrying (not yet applied), discarded; with the resends counted.
func (l Log) Postbacks(ctx context.Context, limit int) ([]*walletd.FinancingPostback, error) {
	recs, err := l.DB.Events(ctx, "", financing.GatewayName, 0, limit)
	if err != nil {
		return nil, err
	}
	out := []*walletd.FinancingPostback{}
	for _, r := range recs {
		fp := &walletd.FinancingPostback{ID: r.ID, EventID: r.ProviderID, Status: r.EventType, Amount: r.Event.Amount,
			RequestToken: r.Event.PaymentRef, Reference: r.Event.Target.Ref, Attempts: r.Attempts, ReceivedAt: r.ReceivedAt, UpdatedAt: r.UpdatedAt}
		if p, err := financing.ParsePostback(r.Body); err == nil {
			fp.Reference = p.MerchantTransactionID
		}
		switch r.State {
		case inbound.StatePending:
			fp.State = financing.StateReceived
			if r.Attempts > 0 {
				fp.State, fp.Outcome = financing.StateRetrying, r.LastError
			}
		case inbound.StateDead:
			fp.State, fp.Outcome = financing.StateReview, r.DeadReason
		case inbound.StateDiscarded:
			fp.State = financing.StateDiscarded
		default:
			fp.State = financing.StateApplied
			if r.Outcome != nil {
				fp.Outcome = r.Outcome.Message
				if r.Outcome.Result != "" {
					fp.State = r.Outcome.Result
				}
			}
		}
		if fp.Duplicates, err = l.DB.Duplicates(ctx, r.ID); err != nil {
			return nil, err
		}
		out = append(out, fp)
	}
	return out, nil
}
