package financing

import (
	"context"
)

// Outcome is what applying a postback did: State is StateApplied,
// StateIgnored (nothing to do: already done, a preapproval) or
// StateReview (not applied; a person must look: in the inbound pipeline,
// a dead letter); Detail says what, for the log. OrderID or TopupID name
// what the postback was for, once found.
type Outcome struct {
	State   string
	Detail  string
	OrderID int64
	TopupID string
}

// Applier applies a verified, recorded postback to walletd's state. It
// must be idempotent: the same postback applied again (after a crash, a
// retry, a redrive) changes nothing more. An error is transient (the
// ledger did not answer): the inbound pipeline tries again later, with
// backoff.
//
// The inbound pipeline (webhooks/inbound) calls it through Adapter, its
// SelfApplier: StateReview is a dead letter there, redrivable by an admin.
type Applier interface {
	Apply(ctx context.Context, p *Postback) (Outcome, error)
}

// Outcome states: the Result of the inbound pipeline's outcome for a
// postback, and the state GET /v1/financing/postbacks shows.
const (
	StateReceived  = "received"  // recorded, not yet applied
	StateApplied   = "applied"   // it changed the order or top-up
	StateIgnored   = "ignored"   // nothing to do
	StateReview    = "review"    // not applied: the dead-letter queue
	StateRetrying  = "retrying"  // applying failed; tried again later
	StateDiscarded = "discarded" // taken out of the dead-letter queue by an admin
)
