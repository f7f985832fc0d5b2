package sqlite

import (
	"context"

	"github.com/shopspring/decimal"
	"github.com/walletd/walletd"
)

// LoadState reads the head entry, the last checkpoint and every object:
// no wallet, which the writer reads when a command needs it (LoadWallet).
func (db *DB) LoadState(ctx context.Context) (*walletd.LedgerState, error) {
	st := &walletd.LedgerState{LedgerID: db.ledgerID}
	head, err := db.queryEntries(ctx, db.write, `SELECT `+entryColumns+` FROM entries ORDER BY seq DESC LIMIT 1`)
	if err != nil {
		return nil, err
	} else if len(head) == 1 {
		st.Head = head[0]
	}
	if st.Objects, err = db.loadObjects(ctx); err != nil {
		return nil, err
	}
	cps, err := db.queryCheckpoints(ctx, db.write, `SELECT seq, ledger_id, head_hash, created_at, signature FROM checkpoints ORDER BY seq DESC LIMIT 1`)
	if err != nil {
		return nil, err
	} else if len(cps) == 1 {
		st.LastCheckpoint = cps[0]
	}
	return st, nil
}

// CheckWalletState compares every wallet row with the entry that last
// changed it: the balance and held amount must equal that entry's
// balance_after and held_after. The wallet rows are not part of the chain,
// so without this check an edited balance would be taken up by the next
// entry and hashed as if it were true. The writer checks the rows changed
// after the last checkpoint at start-up (CheckWalletStateSince) and every
// other row when it loads it (LoadWallet).
func (db *DB) CheckWalletState(ctx context.Context) error {
	_, err := db.CheckWalletStateSince(ctx, 0)
	return err
}

func decimalEqual(a, b string) bool {
	da, err1 := decimal.NewFromString(a)
	db, err2 := decimal.NewFromString(b)
	return err1 == nil && err2 == nil && da.Equal(db)
}
