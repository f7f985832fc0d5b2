package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
	"github.com/walletd/walletd"
)

// walletColumns are the columns of a wallets row, in the order scanWallet
// reads them.
const walletColumns = `id, user_id, email, currency, balance, held, status, created_at, updated_at, last_seq, features`

// Wallet returns the committed state of wallet id.
// Returns ENotFound if there is no such wallet.
func (db *DB) Wallet(ctx context.Context, id string) (*walletd.Wallet, error) {
	w, err := scanWallet(db.read.QueryRowContext(ctx, `SELECT `+walletColumns+` FROM wallets WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, walletd.Errorf(walletd.ENotFound, "Wallet %s not found.", walletd.QuoteInput(id))
	}
	return w, err
}

// Wallets lists wallets ordered by id, after the cursor id, optionally of
// one user only. It returns up to limit wallets.
func (db *DB) Wallets(ctx context.Context, userID, after string, limit int) ([]*walletd.Wallet, error) {
	q := `SELECT ` + walletColumns + ` FROM wallets WHERE id > ?`
	args := []any{after}
	if userID != "" {
		q += ` AND user_id = ?`
		args = append(args, userID)
	}
	q += ` ORDER BY id LIMIT ?`
	args = append(args, limit)
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list wallets: %w", err)
	}
	defer rows.Close()
	var out []*walletd.Wallet
	for rows.Next() {
		w, err := scanWallet(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

type scanner interface{ Scan(dest ...any) error }

func scanWallet(s scanner) (*walletd.Wallet, error) { return scanWalletWith(s) }

// scanWalletWith scans a wallets row followed by the columns more.
func scanWalletWith(s scanner, more ...any) (*walletd.Wallet, error) {
	var w walletd.Wallet
	var bal, held, created, updated, features string
	dest := append([]any{&w.ID, &w.UserID, &w.Email, &w.Currency, &bal, &held, &w.Status, &created, &updated, &w.LastSeq, &features}, more...)
	if err := s.Scan(dest...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		return nil, fmt.Errorf("sqlite: scan wallet: %w", err)
	}
	var err error
	if err = json.Unmarshal([]byte(features), &w.Features); err != nil {
		return nil, fmt.Errorf("sqlite: wallet %s features: %w", w.ID, err)
	}
	if w.Balance, err = decimal.NewFromString(bal); err != nil {
		return nil, fmt.Errorf("sqlite: wallet %s balance %q: %w", w.ID, bal, err)
	}
	if w.Held, err = decimal.NewFromString(held); err != nil {
		return nil, fmt.Errorf("sqlite: wallet %s held %q: %w", w.ID, held, err)
	}
	if w.CreatedAt, err = time.Parse(walletd.TimeFormat, created); err != nil {
		return nil, fmt.Errorf("sqlite: wallet %s created_at: %w", w.ID, err)
	}
	if w.UpdatedAt, err = time.Parse(walletd.TimeFormat, updated); err != nil {
		return nil, fmt.Errorf("sqlite: wallet %s updated_at: %w", w.ID, err)
	}
	return &w, nil
}

// encodeFeatures returns a wallet's features as stored: "{}" for a wallet
// that uses none, so that plain wallets cost no more to write.
func encodeFeatures(f *walletd.WalletFeatures) (string, error) {
	if *f == (walletd.WalletFeatures{}) {
		return "{}", nil
	}
	b, err := json.Marshal(f)
	return string(b), err
}
