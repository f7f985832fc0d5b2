package inbound

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/walletd/walletd"
)

// Pipeline receives the gateways' webhooks: it checks the network rules
// and the signature, records the event durably (once per provider event
// id), processes it asynchronously on its workers, retries what may
// pass and dead-letters the rest. Set the fields, then Open; Close stops
// it. Events recorded but not processed when the process stopped (a
// crash included) are processed after the next Open.
type Pipeline struct {
	DB       *DB
	Writer   walletd.Submitter
	Ledger   walletd.LedgerReader
	Adapters map[string]Adapter
	Metrics  *Metrics // nil: none
	Logger   *slog.Logger
	Now      func() time.Time
	// PublicURL is the base of the endpoints' URLs in the management list
	// ("": the request's host).
	PublicURL string
	// TrustedProxies are the proxies whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// MaxAttempts bounds the attempts at an event whose processing fails
	// in a way that may pass (default 3); RetryBase is the delay before
	// the first retry, each next one four times longer (default 1 h: 1 h,
	// then 4 h, so three attempts span about 5 h of the 24 h the seed
	// allows).
	MaxAttempts int
	RetryBase   time.Duration
	// Workers process events concurrently (default 4).
	Workers int
	// PollInterval is how often due retries are looked for (default 1 s).
	PollInterval time.Duration
	// Wait bounds how long a delivery waits for its event's outcome before
	// it is answered 500 (the event stays recorded and is processed;
	// default 10 s).
	Wait time.Duration
	// BlockAfter signature failures from one address within BlockWindow
	// block it for BlockFor (defaults 10, 10 min, 15 min; BlockAfter < 0:
	// never).
	BlockAfter  int
	BlockWindow time.Duration
	BlockFor    time.Duration
	// SubmitTimeout bounds one command to the writer (default 10 s).
	SubmitTimeout time.Duration
	// MaxLogRows bounds the reception log: the oldest rows beyond it are
	// deleted every 60 polls (default 1,000,000), so that a flood of
	// refused requests cannot fill the disk.
	MaxLogRows int64

	limiter *limiter
	blocker *blocker
	queue   chan int64
	mu      sync.Mutex
	busy    map[int64]bool          // queued or being processed
	waiters map[int64]chan struct{} // closed when an attempt at the event ends
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// Open starts the workers and the poller, which first takes every
// pending event (those a stop or a crash left).
func (p *Pipeline) Open() error {
	if p.DB == nil || p.Writer == nil || p.Ledger == nil {
		return errors.New("inbound: pipeline needs DB, Writer and Ledger")
	}
	if p.Adapters == nil {
		p.Adapters = NewAdapters(AdapterOptions{})
	}
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 3
	}
	if p.RetryBase <= 0 {
		p.RetryBase = time.Hour
	}
	if p.Workers <= 0 {
		p.Workers = 4
	}
	if p.PollInterval <= 0 {
		p.PollInterval = time.Second
	}
	if p.Wait <= 0 {
		p.Wait = 10 * time.Second
	}
	if p.BlockAfter == 0 {
		p.BlockAfter = 10
	}
	if p.BlockWindow <= 0 {
		p.BlockWindow = 10 * time.Minute
	}
	if p.BlockFor <= 0 {
		p.BlockFor = 15 * time.Minute
	}
	if p.SubmitTimeout <= 0 {
		p.SubmitTimeout = 10 * time.Second
	}
	if p.MaxLogRows <= 0 {
		p.MaxLogRows = 1_000_000
	}
	p.limiter = newLimiter()
	p.blocker = newBlocker(p.BlockAfter, p.BlockWindow, p.BlockFor)
	p.queue = make(chan int64, 1024)
	p.busy = map[int64]bool{}
	p.waiters = map[int64]chan struct{}{}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	for range p.Workers {
		p.wg.Add(1)
		go p.work()
	}
	p.wg.Add(1)
	go p.poll()
	p.Metrics.setDepth(p.depth)
	return nil
}

// Close stops the workers, letting the attempts in flight finish.
func (p *Pipeline) Close() error {
	if p.cancel == nil {
		return nil
	}
	p.cancel()
	p.wg.Wait()
	return nil
}

// enqueue hands event id to a worker unless one has it already.
func (p *Pipeline) enqueue(id int64) {
	p.mu.Lock()
	if p.busy[id] {
		p.mu.Unlock()
		return
	}
	p.busy[id] = true
	p.mu.Unlock()
	select {
	case p.queue <- id:
	default: // full: the poller offers it again
		p.mu.Lock()
		delete(p.busy, id)
		p.mu.Unlock()
	}
}

func (p *Pipeline) poll() {
	defer p.wg.Done()
	t := time.NewTicker(p.PollInterval)
	defer t.Stop()
	for n := 0; ; n++ {
		if n%60 == 0 {
			if err := p.DB.pruneLog(p.ctx, p.MaxLogRows); err != nil && p.ctx.Err() == nil {
				p.Logger.Warn("inbound: prune the log", walletd.LogError, err)
			}
		}
		ids, err := p.DB.due(p.ctx, p.Now(), cap(p.queue)/2)
		if err != nil && p.ctx.Err() == nil {
			p.Logger.Warn("inbound: due events", walletd.LogError, err)
		}
		for _, id := range ids {
			p.enqueue(id)
		}
		select {
		case <-p.ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (p *Pipeline) work() {
	defer p.wg.Done()
	for {
		select {
		case <-p.ctx.Done():
			return
		case id := <-p.queue:
			p.attempt(id)
			p.mu.Lock()
			delete(p.busy, id)
			if ch, ok := p.waiters[id]; ok {
				close(ch)
				delete(p.waiters, id)
			}
			p.mu.Unlock()
		}
	}
}

// waitSettled waits until event id is no longer pending, or until the
// pipeline's Wait or ctx ends, and returns it as it then is.
func (p *Pipeline) waitSettled(ctx context.Context, id int64) (*Record, error) {
	deadline := time.NewTimer(p.Wait)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		ch, ok := p.waiters[id]
		if !ok {
			ch = make(chan struct{})
			p.waiters[id] = ch
		}
		p.mu.Unlock()
		r, err := p.DB.Event(ctx, id)
		if err != nil || r.State != StatePending || r.Attempts > 0 {
			return r, err
		}
		select {
		case <-ch:
		case <-deadline.C:
			return r, nil
		case <-ctx.Done():
			return r, nil
		}
	}
}

// attempt processes event id once and stores what it came to.
func (p *Pipeline) attempt(id int64) {
	ctx := p.ctx
	r, err := p.DB.Event(ctx, id)
	if err != nil {
		if ctx.Err() == nil {
			p.Logger.Warn("inbound: read event", LogEventRow, id, walletd.LogError, err)
		}
		return
	} else if r.State != StatePending {
		return
	}
	start := p.Now()
	out, class, cause := p.apply(ctx, r)
	if ctx.Err() != nil && class == classRetry {
		return // stopping: the event stays pending for the next start
	}
	now := p.Now()
	r.Attempts++
	r.Outcome, r.LastError = out, ""
	if cause != nil {
		r.LastError = cause.Error()
	}
	switch class {
	case classDone:
		r.State = StateDone
	case classDead:
		r.State, r.DeadReason = StateDead, out.Message
	case classRetry:
		if r.Attempts >= p.MaxAttempts {
			r.State, r.DeadReason = StateDead, fmt.Sprintf("%d attempts failed: %s", r.Attempts, out.Message)
		} else {
			r.State, r.NextAttemptAt = StatePending, now.Add(p.backoff(r.Attempts))
		}
	}
	if err := p.DB.finish(context.WithoutCancel(ctx), r, now, now.Sub(start)); err != nil {
		p.Logger.Error("inbound: store outcome", LogEventRow, id, walletd.LogError, err)
		return
	}
	p.Metrics.processed(r.Gateway, r.State, out.Status, now.Sub(start))
	lvl := slog.LevelInfo
	if r.State != StateDone || out.Status >= 300 {
		lvl = slog.LevelWarn
	}
	p.Logger.Log(ctx, lvl, "inbound event processed", LogGateway, r.Gateway, LogEventRow, r.ID, LogProviderEvent, r.ProviderID,
		"state", r.State, "status", out.Status, "attempt", r.Attempts, "actions", out.Actions, "error", r.LastError)
}

// backoff is the delay after attempt n (1-based) failed.
func (p *Pipeline) backoff(n int) time.Duration {
	d := p.RetryBase
	for i := 1; i < n && d < 24*time.Hour; i++ {
		d *= 4
	}
	return d
}

// gateway returns the settings of a's gateway: the stored row, or the
// adapter's defaults for a SelfConfigured adapter without one. Returns
// ENotFound when it is not configured.
func (p *Pipeline) gateway(ctx context.Context, a Adapter) (*Gateway, error) {
	g, err := p.DB.Gateway(ctx, a.Name())
	if sc, ok := a.(SelfConfigured); ok && walletd.ErrorCode(err) == walletd.ENotFound {
		return sc.DefaultGateway(ctx)
	}
	return g, err
}

func (p *Pipeline) depth(ctx context.Context) (int64, error) { return p.DB.depth(ctx, StateDead) }

// Log attribute keys of this package.
const (
	LogGateway       = "gateway"
	LogEventRow      = "inbound_event"
	LogProviderEvent = "provider_event_id"
)

// Request is one delivery as HTTP received it.
type Request struct {
	Gateway    string
	Header     http.Header
	Body       []byte
	RemoteAddr string
}

// Reply is the answer to a delivery, in the seed's shape.
type Reply struct {
	// Status is the HTTP status; RetryAfter, when not 0, the Retry-After.
	Status     int           `json:"-"`
	RetryAfter time.Duration `json:"-"`
	Success    bool          `json:"success"`
	Message    string        `json:"message"`
	Code       string        `json:"code,omitempty"`
	Data       any           `json:"data,omitempty"`
	// LogID is the reception's row in the log (0 when not logged).
	LogID int64 `json:"-"`
}
