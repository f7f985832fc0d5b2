package projections

import (
	"context"

	"github.com/walletd/walletd/events/bus"
)

var _ bus.LedgerPositioner = (*applier)(nil)

// LedgerPosition returns the ledger position of the last event applied:
// a projector whose stream dropped the events after it recovers them from
// the ledger from there (bus.Consumer.Ledger).
func (a *applier) LedgerPosition(ctx context.Context) (uint64, int, error) {
	pos, err := a.p.DB.Position(ctx)
	if err != nil {
		return 0, 0, err
	}
	return pos.LedgerSeq, pos.LedgerIndex, nil
}
