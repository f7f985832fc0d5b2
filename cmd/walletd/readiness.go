package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/walletd/walletd/health"
	"github.com/walletd/walletd/ledger/sqlite"
)

// readinessConfig bounds the lag behind the ledger that /readyz accepts.
type readinessConfig struct {
	MaxLagEntries int64
	MaxLag        time.Duration
}

// readinessFlags registers --ready-max-lag-entries and --ready-max-lag.
func readinessFlags(fs *flag.FlagSet, c *readinessConfig) {
	fs.Int64Var(&c.MaxLagEntries, "ready-max-lag-entries", health.DefaultMaxLagEntries,
		"/readyz is 503 while the relay, the projector or the webhook dispatcher is more than this many ledger entries behind (negative: no bound)")
	fs.DurationVar(&c.MaxLag, "ready-max-lag", health.DefaultMaxLag,
		"/readyz is 503 while the relay, the projector or the webhook dispatcher has not handled an entry committed this long ago (negative: no bound)")
}

// lagChecker measures the lag of the relay and, when serve runs them, of
// the projector and the webhook dispatcher, against the ledger in db.
func (s *server) lagChecker() *health.Checker {
	db := s.db
	comps := []health.Component{{Name: "relay", Seq: func() uint64 { seq, _ := s.relay.Position(); return seq }}}
	if s.projector != nil {
		comps = append(comps, health.Component{Name: "projector", Seq: s.pdb.AppliedSeq})
	}
	if s.webhooks != nil && s.webhooks.dispatcher != nil {
		d := s.webhooks.dispatcher
		comps = append(comps, health.Component{Name: "webhooks", Seq: func() uint64 {
			// The dispatcher counts in stream messages: with none pending it
			// has what the stream holds, which is what the relay published.
			if seq, pending := d.Progress(); pending > 0 {
				return seq
			}
			seq, _ := s.relay.Position()
			return seq
		}})
	}
	return &health.Checker{
		Head: sqlite.NewOutbox(db, "").Head,
		CommittedAt: func(ctx context.Context, seq uint64) (time.Time, error) {
			es, err := db.Entries(ctx, seq-1, 1)
			if err != nil {
				return time.Time{}, err
			} else if len(es) == 0 {
				return time.Time{}, fmt.Errorf("entry %d not found", seq)
			}
			return es[0].CreatedAt, nil
		},
		Components:    comps,
		MaxLagEntries: s.cfg.Readiness.MaxLagEntries,
		MaxLag:        s.cfg.Readiness.MaxLag,
	}
}
