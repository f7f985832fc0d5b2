package webhooks

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/walletd/walletd"
)

var _ walletd.WebhookService = (*Service)(nil)

// Service manages webhook endpoints and sends their deliveries. Set the
// fields, then Open; Close stops it.
//
// Each endpoint has a lane: a loader that reads the endpoint's due
// deliveries and PerEndpoint senders that post them, so that one slow or
// dead receiver holds at most PerEndpoint of the Workers sending slots and
// never delays another endpoint. Outcomes go to one committer, which
// writes many of them per transaction.
type Service struct {
	DB      *DB
	SiteURL string // site_url of test and ping envelopes; X-WC-Webhook-Source
	// Schedule is the delay before each retry (default DefaultSchedule).
	// When the last retry fails, the endpoint is suspended.
	Schedule []time.Duration
	// Allow lists the addresses that may be reached although they are not
	// public, and over plain http (development and tests only).
	Allow       []netip.Prefix
	Workers     int           // most attempts in flight overall (default 256)
	PerEndpoint int           // most attempts in flight per endpoint (default 4)
	Timeout     time.Duration // one attempt, connect to response (default 10 s)
	// MaxEndpoints is how many endpoints may exist (default MaxEndpoints):
	// the endpoint list is answered whole.
	MaxEndpoints int
	// RotationGrace is how long the standard format also signs with the
	// previous secret after a rotation (default 24 h).
	RotationGrace time.Duration
	// Retention is how long finished deliveries no log row refers to are
	// kept (default 7 days).
	Retention time.Duration
	// TLSConfig, if set, is the client's TLS configuration (tests use it to
	// trust a test server's certificate).
	TLSConfig *tls.Config
	Metrics   *Metrics // nil: none
	Logger    *slog.Logger
	Now       func() time.Time
	// The split of `walletd serve --webhooks=false` and `walletd
	// dispatcher` (follow.go): APIOnly serves the endpoint API and sends
	// nothing; Follow, if positive, is how often to look for changes
	// another process made to webhooks.db.
	APIOnly bool
	Follow  time.Duration

	followMu sync.Mutex // held while catching up with the changes row
	version  int64      // the changes row as last caught up with

	guard   *Guard
	client  httpDoer
	sem     chan struct{}
	results chan *result
	ctx     context.Context
	cancel  context.CancelFunc
	lanesWG sync.WaitGroup
	bgWG    sync.WaitGroup

	mu     sync.RWMutex
	eps    map[string]*endpointRecord
	lanes  map[string]*lane
	closed bool
}

// Open loads the endpoints and starts the lanes, the committer and the
// housekeeping loop. It fails when the endpoints cannot be loaded.
func (s *Service) Open() error {
	ctx := context.Background()
	if s.Schedule == nil {
		s.Schedule = DefaultSchedule
	}
	if s.Workers <= 0 {
		s.Workers = 256
	}
	if s.MaxEndpoints <= 0 {
		s.MaxEndpoints = MaxEndpoints
	}
	if s.PerEndpoint <= 0 {
		s.PerEndpoint = 4
	}
	if s.Timeout <= 0 {
		s.Timeout = 10 * time.Second
	}
	if s.RotationGrace == 0 {
		s.RotationGrace = 24 * time.Hour
	}
	if s.Retention <= 0 {
		s.Retention = 7 * 24 * time.Hour
	}
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	s.Logger = s.Logger.With("component", "webhooks")
	if s.Now == nil {
		s.Now = time.Now
	}
	s.guard = &Guard{Allow: s.Allow}
	if s.client == nil {
		s.client = newClient(s.guard, s.Timeout, s.PerEndpoint, s.TLSConfig)
	}
	s.sem = make(chan struct{}, s.Workers)
	s.results = make(chan *result, 1024)
	s.eps = map[string]*endpointRecord{}
	s.lanes = map[string]*lane{}
	s.ctx, s.cancel = context.WithCancel(ctx)

	if s.Follow > 0 {
		// Read before the endpoints: a change made in between is seen again.
		v, err := s.DB.changesVersion(ctx)
		if err != nil {
			s.cancel()
			return err
		}
		s.version = v
	}
	recs, err := s.DB.loadEndpoints(ctx)
	if err != nil {
		s.cancel()
		return err
	}
	for _, r := range recs {
		if r.keys.err != nil {
			s.Logger.Error("webhooks: the endpoint's secret cannot be opened; its deliveries will fail until the secret is rotated",
				walletd.LogEndpointID, r.ID, walletd.LogError, r.keys.err)
		}
	}
	s.mu.Lock()
	for _, r := range recs {
		s.setLocked(r)
	}
	s.mu.Unlock()
	s.bgWG.Add(2)
	go s.commitLoop()
	go s.housekeeping()
	if s.Follow > 0 {
		s.bgWG.Add(1)
		go s.follow()
	}
	return nil
}

// Close stops sending: attempts in flight are cancelled (their deliveries
// stay pending and are sent again after the next start), outcomes already
// known are committed. Close the Dispatcher first. Closing twice, or a
// Service never opened, is harmless.
func (s *Service) Close() error {
	s.mu.Lock()
	if s.closed || s.cancel == nil {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.lanesWG.Wait()
	close(s.results)
	s.bgWG.Wait()
	return nil
}

// setLocked puts r in the cache and makes sure it has a running lane.
func (s *Service) setLocked(r *endpointRecord) {
	s.eps[r.ID] = r
	if _, ok := s.lanes[r.ID]; !ok && !s.closed && !s.APIOnly {
		l := newLane(s, r.ID)
		s.lanes[r.ID] = l
		s.lanesWG.Add(1)
		go l.run()
	}
}

// refresh reloads endpoint id from the database into the cache and wakes
// its lane.
func (s *Service) refresh(ctx context.Context, id string) {
	// Not cancelled with the request that changed the endpoint: the cache
	// must follow the database.
	r, err := s.DB.loadEndpoint(context.WithoutCancel(ctx), s.DB.write, id)
	s.mu.Lock()
	if walletd.ErrorCode(err) == walletd.ENotFound {
		delete(s.eps, id)
		if l := s.lanes[id]; l != nil {
			l.stop()
			delete(s.lanes, id)
		}
	} else if err == nil {
		s.setLocked(r)
	}
	l := s.lanes[id]
	s.mu.Unlock()
	if err != nil && walletd.ErrorCode(err) != walletd.ENotFound {
		s.Logger.Error("webhooks: reload endpoint", walletd.LogEndpointID, id, walletd.LogError, err)
	}
	if l != nil {
		l.poke()
	}
}

// record returns the cached endpoint id.
func (s *Service) record(id string) *endpointRecord {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.eps[id]
}

func (s *Service) wake(ids ...string) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, id := range ids {
		if l := s.lanes[id]; l != nil {
			l.poke()
		}
	}
}

// housekeeping updates the gauges and prunes old deliveries.
func (s *Service) housekeeping() {
	defer s.bgWG.Done()
	gauges := time.NewTicker(2 * time.Second)
	defer gauges.Stop()
	prune := time.NewTicker(time.Hour)
	defer prune.Stop()
	s.updateGauges()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-gauges.C:
			s.updateGauges()
		case <-prune.C:
			if s.APIOnly {
				continue // the sending process prunes
			}
			n, err := s.DB.prune(s.ctx, s.Now().Add(-s.Retention))
			if err != nil && s.ctx.Err() == nil {
				s.Logger.Warn("webhooks: prune", walletd.LogError, err)
			} else if n > 0 {
				s.Logger.Info("webhooks: pruned finished deliveries", "deleted", n)
			}
		}
	}
}

func (s *Service) updateGauges() {
	m := s.Metrics
	if m == nil {
		return
	}
	counts := map[string]float64{StatusActive: 0, StatusDisabled: 0, StatusSuspended: 0}
	s.mu.RLock()
	for _, r := range s.eps {
		counts[r.Status]++
	}
	s.mu.RUnlock()
	for st, n := range counts {
		m.Endpoints.WithLabelValues(st).Set(n)
	}
	if n, err := s.DB.countState(s.ctx, StatePending); err == nil {
		m.QueueDepth.Set(float64(n))
	}
	if n, err := s.DB.countState(s.ctx, StateHeld); err == nil {
		m.Held.Set(float64(n))
	}
}
