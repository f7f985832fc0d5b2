package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/walletd/walletd"
)

// What the writer's bounded wallet cache reads (ledger/walletcache.go): one
// wallet when a command needs it, checked against the entry that last
// changed it, and at start-up only the wallet rows changed after the last
// checkpoint (the index wallets_last_seq of migration 00004). All of it on
// the read pool: the writer's own commits are committed before it reads.

// checkedWallet reads one wallet row with the entry its last_seq names.
const checkedWallet = `SELECT w.id, w.user_id, w.email, w.currency, w.balance, w.held, w.status, w.created_at,
	w.updated_at, w.last_seq, w.features, e.wallet_id, e.balance_after, e.held_after
	FROM wallets w LEFT JOIN entries e ON e.seq = w.last_seq`

// LoadWallet returns the committed row of wallet id, or nil if there is
// none. It fails if the row differs from the entry that last changed it
// (walletd.LedgerStore).
func (db *DB) LoadWallet(ctx context.Context, id string) (*walletd.Wallet, error) {
	return db.loadChecked(ctx, checkedWallet+` WHERE w.id = ?`, id)
}

// LoadWalletOf returns the committed row of user's wallet in currency, or
// nil, checked as LoadWallet does. It reads the unique index on
// (user_id, currency).
func (db *DB) LoadWalletOf(ctx context.Context, user, currency string) (*walletd.Wallet, error) {
	return db.loadChecked(ctx, checkedWallet+` WHERE w.user_id = ? AND w.currency = ?`, user, currency)
}

func (db *DB) loadChecked(ctx context.Context, q string, args ...any) (*walletd.Wallet, error) {
	var eWallet, eBal, eHeld sql.NullString
	w, err := scanWalletWith(db.read.QueryRowContext(ctx, q, args...), &eWallet, &eBal, &eHeld)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if err := checkWalletRow(w.ID, w.Balance.String(), w.Held.String(), w.LastSeq, eWallet, eBal, eHeld); err != nil {
		return nil, err
	}
	return w, nil
}

// checkWalletRow compares a wallet row's balance and held amount with the
// balance_after and held_after of the entry its last_seq names.
func checkWalletRow(id, bal, held string, lastSeq uint64, eWallet, eBal, eHeld sql.NullString) error {
	if !eWallet.Valid || eWallet.String != id {
		return fmt.Errorf("wallet %s: its last entry (seq %d) is missing or belongs to another wallet", id, lastSeq)
	}
	if !decimalEqual(bal, eBal.String) || !decimalEqual(held, eHeld.String) {
		return fmt.Errorf("wallet %s: state row (balance %s, held %s) differs from entry %d (balance_after %s, held_after %s)",
			id, bal, held, lastSeq, eBal.String, eHeld.String)
	}
	return nil
}

// CheckWalletStateSince is CheckWalletState for the wallet rows changed
// by an entry after seq only (the index on last_seq): the writer's
// start-up check from the last checkpoint on. It returns how many rows it
// read.
func (db *DB) CheckWalletStateSince(ctx context.Context, seq uint64) (int, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT w.id, w.balance, w.held, w.last_seq,
		e.wallet_id, e.balance_after, e.held_after
		FROM wallets w LEFT JOIN entries e ON e.seq = w.last_seq WHERE w.last_seq > ?`, seq)
	if err != nil {
		return 0, fmt.Errorf("sqlite: check wallets: %w", err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id, bal, held string
		var lastSeq uint64
		var eWallet, eBal, eHeld sql.NullString
		if err := rows.Scan(&id, &bal, &held, &lastSeq, &eWallet, &eBal, &eHeld); err != nil {
			return n, fmt.Errorf("sqlite: check wallets: %w", err)
		}
		n++
		if err := checkWalletRow(id, bal, held, lastSeq, eWallet, eBal, eHeld); err != nil {
			return n, err
		}
	}
	return n, rows.Err()
}

// UserByEmail returns the wallet and user whose wallet in currency has
// email, ignoring the case of ASCII letters: of several, the one of the
// smallest wallet id; "" if none. It reads the index on
// (currency, email COLLATE NOCASE).
func (db *DB) UserByEmail(ctx context.Context, email, currency string) (walletID, userID string, err error) {
	err = db.read.QueryRowContext(ctx, `SELECT id, user_id FROM wallets
		WHERE currency = ? AND email = ? COLLATE NOCASE ORDER BY id LIMIT 1`, currency, email).Scan(&walletID, &userID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", nil
	} else if err != nil {
		return "", "", fmt.Errorf("sqlite: wallet by email: %w", err)
	}
	return walletID, userID, nil
}

// WalletCurrencies returns the currencies wallets are held in, sorted: one
// index seek per currency, not a scan of the wallets.
func (db *DB) WalletCurrencies(ctx context.Context) ([]string, error) {
	var out []string
	after := ""
	for {
		var c string
		err := db.read.QueryRowContext(ctx, `SELECT currency FROM wallets WHERE currency > ? ORDER BY currency LIMIT 1`, after).Scan(&c)
		if errors.Is(err, sql.ErrNoRows) {
			return out, nil
		} else if err != nil {
			return nil, fmt.Errorf("sqlite: wallet currencies: %w", err)
		}
		out = append(out, c)
		after = c
	}
}
