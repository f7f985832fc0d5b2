package financing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/walletd/walletd"
)

// Receive takes a postback as it arrived: it verifies the signature
// against the stored credentials, parses the payload and records it in the
// inbound log, all before the sender is answered; applying it is the
// Processor's, after. A resend (the same body) is recorded once and
// reported as duplicate. Errors: one wrapping ErrSignature (answer 401),
// EInvalid (a signed payload walletd cannot read), EUnavailable (not
// configured).
func (s *Service) Receive(ctx context.Context, h http.Header, body []byte) (p *Postback, duplicate bool, err error) {
	s.init()
	c, err := s.Store.settings(ctx)
	if err != nil {
		if walletd.ErrorCode(err) == walletd.EConflict {
			s.Metrics.refused(RefusedUnset)
			return nil, false, walletd.Errorf(walletd.EUnavailable, "Financing is not configured: walletd sent no request to be answered.")
		}
		return nil, false, err
	}
	if err := VerifySignature(h, body, c.Username, c.Password, s.Now(), s.Window); err != nil {
		s.Metrics.refused(RefusedSignature)
		s.Logger.Warn("financing postback refused", walletd.LogError, err)
		return nil, false, err
	}
	if p, err = ParsePostback(body); err != nil {
		s.Metrics.refused(RefusedPayload)
		s.Logger.Warn("financing postback unreadable", walletd.LogError, err)
		return nil, false, err
	}
	id, duplicate, err := s.Store.record(ctx, p, body, h.Get(HeaderTimestamp), s.Now())
	if err != nil {
		return nil, false, err
	}
	s.Logger.Info("financing postback received", logPostbackID, id, walletd.LogEventID, p.EventID, logStatus, p.Status,
		logReference, p.MerchantTransactionID, logDuplicate, duplicate)
	if !duplicate {
		s.Metrics.postback(p.Status)
		if s.Notify != nil {
			s.Notify()
		}
	}
	return p, duplicate, nil
}

// Outcome is what applying a postback did: State is StateApplied,
// StateIgnored (nothing to do: already done, a preapproval) or
// StateReview (not applied; a person must look: in the inbound pipeline,
// a dead letter); Detail says what, for the log.
type Outcome struct {
	State  string
	Detail string
}

// Applier applies a verified, recorded postback to walletd's state. It
// must be idempotent: the same postback applied again (after a crash, a
// retry, a resend) changes nothing more. An error is transient (the
// ledger did not answer): the postback is tried again later.
//
// This is the seam to the shared inbound pipeline: the pipeline verifies
// with VerifySignature and ParsePostback (its dedupe id: Postback.EventID),
// keeps its own log and dead letters, and calls Apply; StateReview is its
// dead letter.
type Applier interface {
	Apply(ctx context.Context, p *Postback) (Outcome, error)
}

// DefaultRetry is the delays between attempts at applying a postback whose
// Apply failed; after the last, it goes to review.
var DefaultRetry = []time.Duration{2 * time.Second, 10 * time.Second, time.Minute, 10 * time.Minute, time.Hour}

// Processor applies the recorded postbacks in the order they arrived, in
// the background, and again after a restart for those not yet applied.
// Set the fields, then Open; Close stops it.
type Processor struct {
	Store   *Store
	Applier Applier
	Retry   []time.Duration // default DefaultRetry
	// Idle is the longest the processor sleeps without a Notify (default
	// one minute).
	Idle    time.Duration
	Metrics *Metrics
	Logger  *slog.Logger
	Now     func() time.Time

	notify chan struct{}
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Open starts the processor; it first applies what was left pending.
func (p *Processor) Open() error {
	if p.Store == nil || p.Applier == nil {
		return errors.New("financing: processor needs a Store and an Applier")
	}
	if p.Retry == nil {
		p.Retry = DefaultRetry
	}
	if p.Idle == 0 {
		p.Idle = time.Minute
	}
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	p.notify = make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.wg.Add(1)
	go p.run(ctx)
	return nil
}

// Notify wakes the processor: a postback was recorded.
func (p *Processor) Notify() {
	select {
	case p.notify <- struct{}{}:
	default:
	}
}

// Close stops the processor and waits for the postback in hand. What is
// not applied stays recorded and is applied at the next Open.
func (p *Processor) Close() error {
	if p.cancel != nil {
		p.cancel()
		p.wg.Wait()
		p.cancel = nil
	}
	return nil
}

func (p *Processor) run(ctx context.Context) {
	defer p.wg.Done()
	for {
		if err := p.drain(ctx); err != nil && ctx.Err() == nil {
			p.Logger.Error("financing: apply postbacks", walletd.LogError, err)
		}
		wait := p.Idle
		if next, err := p.Store.nextDue(ctx); err == nil && !next.IsZero() {
			wait = min(wait, max(next.Sub(p.Now()), 10*time.Millisecond))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-p.notify:
		case <-t.C:
		}
		t.Stop()
	}
}

// drain applies every postback due now.
func (p *Processor) drain(ctx context.Context) error {
	for ctx.Err() == nil {
		rows, err := p.Store.pending(ctx, p.Now(), 100)
		if err != nil || len(rows) == 0 {
			return err
		}
		for _, r := range rows {
			if err := p.one(ctx, r); err != nil {
				return err
			}
		}
	}
	return nil
}

// one applies one postback and records its outcome.
func (p *Processor) one(ctx context.Context, r pendingRow) error {
	out, err := p.apply(ctx, r.Body)
	now := p.Now()
	var next time.Time
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopping: it stays pending for the next start
		}
		if r.Attempts < len(p.Retry) {
			out = Outcome{State: StateRetrying, Detail: err.Error()}
			next = now.Add(p.Retry[r.Attempts])
		} else {
			out = Outcome{State: StateReview, Detail: fmt.Sprintf("gave up after %d attempts: %v", r.Attempts+1, err)}
		}
	}
	p.Metrics.outcome(out.State)
	p.Logger.Info("financing postback applied", logPostbackID, r.ID, logState, out.State, logOutcome, out.Detail)
	return p.Store.finish(ctx, r.ID, out.State, out.Detail, next, now)
}

func (p *Processor) apply(ctx context.Context, body []byte) (Outcome, error) {
	pb, err := ParsePostback(body)
	if err != nil { // it parsed when it was recorded
		return Outcome{State: StateReview, Detail: walletd.ErrorMessage(err)}, nil
	}
	return p.Applier.Apply(ctx, pb)
}
