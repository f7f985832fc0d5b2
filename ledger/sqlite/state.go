package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/walletd/walletd"

	"github.com/shopspring/decimal"
)

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

// LookupIdempotencyKey is EntriesByIdempotencyKey on the read pool, for
// callers that check a key before they queue a command (see
// ledger.WriterConfig.Lookup), so the writer's serial loop need not read.
func (db *DB) LookupIdempotencyKey(ctx context.Context, key string) ([]*walletd.Entry, error) {
	rows, err := db.byIdemRead.QueryContext(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("sqlite: idempotency lookup: %w", err)
	}
	return collectEntries(rows)
}

// IdempotencyKeys calls yield with every idempotency key the ledger holds,
// once each, for the writer's key filter (walletd.LedgerStore). It reads the
// partial index on the key alone.
func (db *DB) IdempotencyKeys(yield func(key string)) error {
	rows, err := db.write.Query(`SELECT DISTINCT idempotency_key FROM entries WHERE idempotency_key <> ''`)
	if err != nil {
		return fmt.Errorf("sqlite: list idempotency keys: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return fmt.Errorf("sqlite: list idempotency keys: %w", err)
		}
		yield(k)
	}
	return rows.Err()
}
