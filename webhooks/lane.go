package webhooks

import (
	"context"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/walletd/walletd"
)

// httpDoer sends one request; *http.Client implements it.
type httpDoer interface {
	Do(req *http.Request) (*http.Response, error)
}

var _ httpDoer = (*http.Client)(nil)

// newClient returns the client deliveries go out with: a timeout per
// attempt, no redirects, no proxy, and the guard on every connection. https
// URLs may reach any public address (and the allowed ones); plain http URLs
// only the allowed ones.
func newClient(g *Guard, timeout time.Duration, perEndpoint int, tlsConf *tls.Config) *http.Client {
	transport := func(plain bool) *http.Transport {
		d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, Control: g.control(plain)}
		t := &http.Transport{
			Proxy:                 nil, // a proxy would hide the address the guard must see
			DialContext:           d.DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          1024,
			MaxIdleConnsPerHost:   2 * perEndpoint,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   timeout,
			ResponseHeaderTimeout: timeout,
			TLSClientConfig:       tlsConf,
		}
		if tlsConf != nil {
			t.TLSClientConfig = tlsConf.Clone()
		}
		return t
	}
	return &http.Client{
		Transport: &schemeTransport{secure: transport(false), plain: transport(true)},
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // a redirect is an answer, not a 2xx
		},
	}
}

// schemeTransport sends https and http requests through transports whose
// connections are guarded differently.
type schemeTransport struct{ secure, plain http.RoundTripper }

func (t *schemeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	switch req.URL.Scheme {
	case "https":
		return t.secure.RoundTrip(req)
	case "http":
		return t.plain.RoundTrip(req)
	}
	return nil, fmt.Errorf("webhooks: scheme %q", req.URL.Scheme)
}

// result is the outcome of one attempt.
type result struct {
	job        *job
	attempt    int
	at, end    time.Time // start and end of the attempt (Service.Now)
	dur        time.Duration
	status     int // 0: no response
	errText    string
	retryAfter time.Duration
	canceled   bool // stopped by shutdown or deletion: not an attempt
	logResult  string
}

func (r *result) ok() bool { return r.status >= 200 && r.status < 300 }

// laneQueue is how many due deliveries a lane holds in memory.
const laneQueue = 256

// lane sends one endpoint's deliveries: a loader fills a queue with due
// deliveries, PerEndpoint senders post them. busy holds the deliveries
// loaded and not yet committed, which the loader must not load again.
type lane struct {
	s      *Service
	id     string
	ctx    context.Context
	cancel context.CancelFunc
	wakeC  chan struct{}
	queue  chan *job

	mu          sync.Mutex
	busy        map[string]bool
	pausedUntil time.Time // 429 with Retry-After
}

func newLane(s *Service, id string) *lane {
	l := &lane{s: s, id: id, wakeC: make(chan struct{}, 1), queue: make(chan *job, laneQueue), busy: map[string]bool{}}
	l.ctx, l.cancel = context.WithCancel(s.ctx)
	return l
}

// poke makes the loader look for work. It never blocks.
func (l *lane) poke() {
	select {
	case l.wakeC <- struct{}{}:
	default:
	}
}

func (l *lane) stop() { l.cancel() }

func (l *lane) release(ids ...string) {
	l.mu.Lock()
	for _, id := range ids {
		delete(l.busy, id)
	}
	l.mu.Unlock()
}

func (l *lane) paused(now time.Time) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pausedUntil, now.Before(l.pausedUntil)
}

func (l *lane) run() {
	defer l.s.lanesWG.Done()
	var wg sync.WaitGroup
	for i := 0; i < l.s.PerEndpoint; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); l.sender() }()
	}
	defer wg.Wait()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		wait := l.load()
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		var tc <-chan time.Time
		if wait >= 0 {
			timer.Reset(wait)
			tc = timer.C
		}
		select {
		case <-l.ctx.Done():
			return
		case <-l.wakeC:
		case <-tc:
		}
	}
}

// load queues the endpoint's due deliveries and returns how long to wait
// before looking again (negative: until poked).
func (l *lane) load() time.Duration {
	r := l.s.record(l.id)
	if r == nil || r.Status != StatusActive {
		return -1
	}
	now := l.s.Now()
	if until, ok := l.paused(now); ok {
		return until.Sub(now)
	}
	free := cap(l.queue) - len(l.queue)
	if free < cap(l.queue)/2 {
		return -1 // the senders poke when the queue runs low
	}
	l.mu.Lock()
	busy := maps.Clone(l.busy)
	l.mu.Unlock()
	jobs, next, err := l.s.DB.due(l.ctx, l.id, now, free, busy)
	if err != nil {
		if l.ctx.Err() == nil {
			l.s.Logger.Warn("webhooks: load due deliveries", walletd.LogEndpointID, l.id, walletd.LogError, err)
		}
		return time.Second
	}
	l.mu.Lock()
	for _, j := range jobs {
		l.busy[j.id] = true
	}
	l.mu.Unlock()
	for _, j := range jobs {
		l.queue <- j // only the loader adds, and there is room for free jobs
	}
	switch {
	case len(jobs) == free:
		return -1 // more may be due: the senders poke when the queue runs low
	case !next.IsZero():
		return max(next.Sub(l.s.Now()), time.Millisecond)
	}
	return -1
}

func (l *lane) sender() {
	s := l.s
	for {
		var j *job
		select {
		case <-l.ctx.Done():
			return
		case j = <-l.queue:
		}
		if len(l.queue) <= cap(l.queue)/4 {
			l.poke()
		}
		r := s.record(l.id)
		if _, paused := l.paused(s.Now()); r == nil || r.Status != StatusActive || paused {
			l.release(j.id) // left as it is in the database: pending, or held by a suspension
			continue
		}
		select {
		case s.sem <- struct{}{}:
		case <-l.ctx.Done():
			l.release(j.id)
			return
		}
		res := s.attempt(l.ctx, r, j)
		<-s.sem
		if res.canceled {
			l.release(j.id) // still pending: sent again after the next start
			continue
		}
		if res.status == http.StatusTooManyRequests && res.retryAfter > 0 {
			l.mu.Lock()
			l.pausedUntil = res.end.Add(res.retryAfter)
			l.mu.Unlock()
		}
		s.results <- res // the committer runs until every lane has stopped
	}
}

// attempt posts one delivery.
func (s *Service) attempt(ctx context.Context, r *endpointRecord, j *job) *result {
	res := &result{job: j, attempt: j.attempts + 1, at: s.Now()}
	defer func() { res.end = s.Now() }()
	if r.keys.err != nil {
		res.errText = "the endpoint's secret cannot be opened (rotate it): " + r.keys.err.Error()
		return res
	}
	actx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	req, err := newRequest(actx, r, j, s.SiteURL, res.at)
	if err != nil {
		res.errText = "cannot build the request: " + err.Error()
		return res
	}
	start := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		res.dur = time.Since(start)
		res.canceled = ctx.Err() != nil
		res.errText = describeError(err, s.Timeout)
		return res
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	resp.Body.Close()
	res.dur = time.Since(start)
	res.status = resp.StatusCode
	switch {
	case res.ok():
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		res.errText = fmt.Sprintf("HTTP %d: redirects are not followed", resp.StatusCode)
	default:
		res.errText = fmt.Sprintf("HTTP %d", resp.StatusCode)
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		res.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), res.at)
	}
	return res
}

// describeError says why an attempt got no response, without the URL
// (which may carry a token in its query).
func describeError(err error, timeout time.Duration) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	switch {
	case errors.Is(err, ErrAddressRefused):
		return "connection refused by walletd's address guard: " + err.Error()
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return fmt.Sprintf("no response within %v", timeout)
	}
	return err.Error()
}

// outcome is what a result does to its delivery and endpoint.
type outcome struct {
	state      string
	next       time.Time
	logResult  string
	transition string // "", StatusSuspended or StatusDisabled
}

// decide applies the delivery rules to a result, given the endpoint's
// status at commit time.
func (s *Service) decide(r *result, status string) outcome {
	j := r.job
	switch {
	case r.ok():
		return outcome{state: StateSucceeded, logResult: ResultSucceeded}
	case r.status == http.StatusGone:
		o := outcome{state: StateFailed, logResult: ResultFailed}
		if status != StatusDisabled {
			o.logResult, o.transition = ResultDisabled, StatusDisabled
		}
		return o
	case j.once:
		return outcome{state: StateFailed, logResult: ResultFailed}
	case r.attempt > len(s.Schedule):
		o := outcome{state: StateFailed, logResult: ResultFailed}
		if status == StatusActive {
			o.logResult, o.transition = ResultSuspended, StatusSuspended
		}
		return o
	case status == StatusSuspended:
		return outcome{state: StateHeld, logResult: ResultHeld}
	}
	delay := max(s.Schedule[r.attempt-1], r.retryAfter)
	return outcome{state: StatePending, next: r.end.Add(delay), logResult: ResultRetrying}
}

// commitLoop writes outcomes, many per transaction, until Close.
func (s *Service) commitLoop() {
	defer s.bgWG.Done()
	ctx := context.WithoutCancel(s.ctx)
	batch := make([]*result, 0, 512)
	for r := range s.results {
		batch = append(batch[:0], r)
	drain:
		for len(batch) < cap(batch) {
			select {
			case r, ok := <-s.results:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		changed, err := s.commit(ctx, batch)
		if err != nil {
			// The deliveries stay as they were (pending): they are sent again.
			s.Logger.Error("webhooks: cannot record attempt results; the deliveries will be sent again", walletd.LogError, err, "results", len(batch))
		}
		touched := map[string]bool{}
		s.mu.RLock()
		for _, r := range batch {
			if l := s.lanes[r.job.endpointID]; l != nil {
				l.release(r.job.id)
			}
			touched[r.job.endpointID] = true
		}
		s.mu.RUnlock()
		if err == nil {
			s.observe(batch)
		}
		for _, id := range changed {
			s.refresh(ctx, id)
		}
		for id := range touched {
			s.wake(id)
		}
	}
}

func (s *Service) observe(batch []*result) {
	for _, r := range batch {
		if r.logResult == "" {
			continue
		}
		if m := s.Metrics; m != nil {
			m.Attempts.WithLabelValues(r.logResult).Inc()
			m.AttemptDuration.Observe(r.dur.Seconds())
			if r.ok() && r.job.kind == KindEvent && !r.job.eventTime.IsZero() {
				m.DeliveryLatency.Observe(r.end.Sub(r.job.eventTime).Seconds())
			}
		}
		switch r.logResult {
		case ResultSuspended:
			s.Logger.Warn("webhooks: the last retry failed; endpoint suspended", walletd.LogEndpointID, r.job.endpointID,
				walletd.LogDeliveryID, r.job.id, walletd.LogEventID, r.job.eventID, walletd.LogHTTPStatus, r.status, walletd.LogError, r.errText)
		case ResultDisabled:
			s.Logger.Warn("webhooks: the receiver answered 410 Gone; endpoint disabled", walletd.LogEndpointID, r.job.endpointID,
				walletd.LogDeliveryID, r.job.id)
		default:
			s.Logger.Debug("webhooks: attempt", walletd.LogEndpointID, r.job.endpointID, walletd.LogDeliveryID, r.job.id,
				walletd.LogEventID, r.job.eventID, walletd.LogAttempt, r.attempt, walletd.LogHTTPStatus, r.status, "result", r.logResult, walletd.LogError, r.errText)
		}
	}
}

// commit writes a batch of results in one transaction and returns the
// endpoints whose status it changed.
func (s *Service) commit(ctx context.Context, batch []*result) ([]string, error) {
	var changed []string
	err := s.DB.tx(ctx, func(tx *sql.Tx) error {
		changed = changed[:0]
		status := map[string]string{}
		getStatus := func(id string) (string, error) {
			if st, ok := status[id]; ok {
				return st, nil
			}
			var st string
			err := tx.QueryRowContext(ctx, `SELECT status FROM endpoints WHERE id = ?`, id).Scan(&st)
			if errors.Is(err, sql.ErrNoRows) {
				err = nil
			}
			status[id] = st
			return st, err
		}
		upd, err := tx.PrepareContext(ctx, `UPDATE deliveries SET state = ?, attempts = ?, next_attempt_at = ?,
			last_status = ?, last_error = ?, updated_at = ? WHERE id = ?`)
		if err != nil {
			return err
		}
		defer upd.Close()
		ins, err := tx.PrepareContext(ctx, `INSERT INTO attempts (endpoint_id, delivery_id, event_id, event, attempt, at,
			http_status, response_ms, result, error, kind, manual) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer ins.Close()
		touched := map[string]bool{}
		for _, r := range batch {
			j := r.job
			r.logResult = ""
			st, err := getStatus(j.endpointID)
			if err != nil {
				return err
			} else if st == "" {
				continue // deleted meanwhile
			}
			o := s.decide(r, st)
			next := ms(o.next)
			if _, err := upd.ExecContext(ctx, o.state, r.attempt, next, r.status, r.errText, ms(r.end), j.id); err != nil {
				return err
			}
			manual := 0
			if j.once && j.kind == KindEvent {
				manual = 1
			}
			if _, err := ins.ExecContext(ctx, j.endpointID, j.id, j.eventID, j.event, r.attempt, ms(r.at), r.status,
				r.dur.Milliseconds(), o.logResult, r.errText, j.kind, manual); err != nil {
				return err
			}
			r.logResult = o.logResult
			touched[j.endpointID] = true
			now := ms(r.end)
			switch o.transition {
			case StatusSuspended:
				reason := fmt.Sprintf("delivery %s failed after %d attempts (%s)", j.id, r.attempt, r.errText)
				if _, err := tx.ExecContext(ctx, `UPDATE endpoints SET status = 'suspended', status_reason = ?, updated_at = ?
					WHERE id = ?`, reason, now, j.endpointID); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET state = 'held', updated_at = ?
					WHERE endpoint_id = ? AND state = 'pending'`, now, j.endpointID); err != nil {
					return err
				}
			case StatusDisabled:
				if _, err := tx.ExecContext(ctx, `UPDATE endpoints SET status = 'disabled', status_reason = ?, updated_at = ?
					WHERE id = ?`, "the receiver answered 410 Gone", now, j.endpointID); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET state = 'failed', updated_at = ?,
					last_error = 'held while suspended; discarded when the receiver answered 410 Gone'
					WHERE endpoint_id = ? AND state = 'held'`, now, j.endpointID); err != nil {
					return err
				}
			}
			if o.transition != "" {
				status[j.endpointID] = o.transition
				changed = append(changed, j.endpointID)
			}
		}
		for id := range touched {
			if _, err := tx.ExecContext(ctx, `DELETE FROM attempts WHERE endpoint_id = ? AND id <= (
				SELECT id FROM attempts WHERE endpoint_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`, id, id, LogSize); err != nil {
				return err
			}
		}
		return nil
	})
	return changed, err
}
