package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/shopspring/decimal"
	"github.com/walletd/walletd"
)

// LoadState reads every wallet row, the head entry and the last checkpoint.
func (db *DB) LoadState(ctx context.Context) (*walletd.LedgerState, error) {
	st := &walletd.LedgerState{LedgerID: db.ledgerID}
	rows, err := db.write.QueryContext(ctx, `SELECT `+walletColumns+` FROM wallets`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: load wallets: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		w, err := scanWallet(rows)
		if err != nil {
			return nil, err
		}
		st.Wallets = append(st.Wallets, w)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()

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
// entry and hashed as if it were true. The writer runs it at start-up.
func (db *DB) CheckWalletState(ctx context.Context) error {
	rows, err := db.write.QueryContext(ctx, `SELECT w.id, w.balance, w.held, w.last_seq,
		e.wallet_id, e.balance_after, e.held_after
		FROM wallets w LEFT JOIN entries e ON e.seq = w.last_seq`)
	if err != nil {
		return fmt.Errorf("sqlite: check wallets: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, bal, held string
		var lastSeq uint64
		var eWallet, eBal, eHeld sql.NullString
		if err := rows.Scan(&id, &bal, &held, &lastSeq, &eWallet, &eBal, &eHeld); err != nil {
			return fmt.Errorf("sqlite: check wallets: %w", err)
		}
		if !eWallet.Valid || eWallet.String != id {
			return fmt.Errorf("wallet %s: its last entry (seq %d) is missing or belongs to another wallet", id, lastSeq)
		}
		if !decimalEqual(bal, eBal.String) || !decimalEqual(held, eHeld.String) {
			return fmt.Errorf("wallet %s: state row (balance %s, held %s) differs from entry %d (balance_after %s, held_after %s)",
				id, bal, held, lastSeq, eBal.String, eHeld.String)
		}
	}
	return rows.Err()
}

func decimalEqual(a, b string) bool {
	da, err1 := decimal.NewFromString(a)
	db, err2 := decimal.NewFromString(b)
	return err1 == nil && err2 == nil && da.Equal(db)
}
