package webhooks

import (
	"context"
	"fmt"
	"time"

	"github.com/walletd/walletd"
)

// Two processes can share one webhooks.db: `walletd serve --webhooks=false`
// serves the endpoint API (Service.APIOnly: it records endpoints, test
// events and retries, and sends nothing) and `walletd dispatcher` records
// the deliveries of the stream's events and sends them. Each keeps its
// endpoints in memory, so each must see what the other changed: the API's
// new, changed and deleted endpoints, test events and retries in the
// dispatcher; the endpoints the senders suspended or disabled in the API.
//
// The changes row (migration 00006) counts those changes; triggers move it
// in the transaction that makes them, whichever process that is. A
// Service with Follow set reads it every Follow (one read of a one-row
// table) and, when it moved, reloads every endpoint and wakes every lane,
// so a lane loads the deliveries another process queued. The dispatcher's
// own event deliveries and the senders' outcomes do not move it.

// changesVersion returns the changes counter.
func (db *DB) changesVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := db.read.QueryRowContext(ctx, `SELECT version FROM changes WHERE id = 1`).Scan(&v); err != nil {
		return 0, fmt.Errorf("webhooks: changes: %w", err)
	}
	return v, nil
}

// follow catches up with the changes row every Follow, until Close.
func (s *Service) follow() {
	defer s.bgWG.Done()
	t := time.NewTicker(s.Follow)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		err := s.catchUp(s.ctx)
		switch {
		case err != nil && s.ctx.Err() == nil:
			if !failing {
				s.Logger.Warn("webhooks: cannot look for endpoint changes made by another process; will retry", walletd.LogError, err)
			}
			failing = true
		case err == nil:
			failing = false
		}
	}
}

// catchUp reloads the endpoints when the changes row moved since the last
// time. The dispatcher calls it before it records each batch (with Follow
// set), so that an endpoint created before an event entered the stream
// gets the event although another process created it.
func (s *Service) catchUp(ctx context.Context) error {
	s.followMu.Lock()
	defer s.followMu.Unlock()
	v, err := s.DB.changesVersion(ctx)
	if err != nil || v == s.version {
		return err
	}
	if err := s.reload(ctx); err != nil {
		return err
	}
	s.version = v
	return nil
}

// reload makes the endpoints in memory those of webhooks.db: new and
// changed ones set (with a lane unless APIOnly), deleted ones dropped with
// their lanes. Then every lane looks for due deliveries.
func (s *Service) reload(ctx context.Context) error {
	recs, err := s.DB.loadEndpoints(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	seen := make(map[string]bool, len(recs))
	for _, r := range recs {
		seen[r.ID] = true
		s.setLocked(r)
	}
	for id := range s.eps {
		if seen[id] {
			continue
		}
		delete(s.eps, id)
		if l := s.lanes[id]; l != nil {
			l.stop()
			delete(s.lanes, id)
		}
	}
	lanes := make([]*lane, 0, len(s.lanes))
	for _, l := range s.lanes {
		lanes = append(lanes, l)
	}
	s.mu.Unlock()
	for _, l := range lanes {
		l.poke()
	}
	return nil
}
