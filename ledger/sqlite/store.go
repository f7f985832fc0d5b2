package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
	"github.com/walletd/walletd/ledger"
)

var _ ledger.Store = (*DB)(nil)

const entryColumns = `seq, id, event_id, kind, type, wallet_id, user_id, email, currency, amount,
	balance_after, held_after, reason, order_id, transfer_id, counterparty, metadata,
	idempotency_key, request_hash, created_at, key_id, prev_hash, hash`

const walletColumns = `id, user_id, email, currency, balance, held, status, created_at, updated_at, last_seq`

// Commit writes a batch in one transaction: entries, then each changed
// wallet once, then the checkpoint. With synchronous=FULL the commit is one
// fsync of the WAL.
func (db *DB) Commit(ctx context.Context, b *ledger.Batch) (err error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	ins := tx.StmtContext(ctx, db.insEntry)
	for _, e := range b.Entries {
		if _, err = ins.ExecContext(ctx, e.Seq, e.ID, e.EventID, e.Kind, e.Type, e.WalletID, e.UserID,
			e.Email, e.Currency, e.Amount, e.BalanceAfter, e.HeldAfter, e.Reason, e.OrderID,
			e.TransferID, e.Counterparty, e.Metadata, e.IdempotencyKey, e.RequestHash,
			e.CreatedAt.UTC().Format(ledger.TimeFormat), e.KeyID, e.PrevHash[:], e.Hash[:]); err != nil {
			return fmt.Errorf("sqlite: insert entry %d: %w", e.Seq, err)
		}
	}
	ups := tx.StmtContext(ctx, db.upsWallet)
	for _, w := range b.Wallets {
		if _, err = ups.ExecContext(ctx, w.ID, w.UserID, w.Email, w.Currency, w.Balance.String(),
			w.Held.String(), w.Status, w.CreatedAt.UTC().Format(ledger.TimeFormat),
			w.UpdatedAt.UTC().Format(ledger.TimeFormat), w.LastSeq); err != nil {
			return fmt.Errorf("sqlite: upsert wallet %s: %w", w.ID, err)
		}
	}
	if cp := b.Checkpoint; cp != nil {
		if _, err = tx.ExecContext(ctx, `INSERT INTO checkpoints (seq, ledger_id, head_hash, created_at, signature)
			VALUES (?, ?, ?, ?, ?)`, cp.Seq, cp.LedgerID, cp.HeadHash[:],
			cp.CreatedAt.UTC().Format(ledger.TimeFormat), cp.Signature); err != nil {
			return fmt.Errorf("sqlite: insert checkpoint %d: %w", cp.Seq, err)
		}
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

// LoadState reads every wallet row, the head entry and the last checkpoint.
func (db *DB) LoadState(ctx context.Context) (*ledger.State, error) {
	st := &ledger.State{LedgerID: db.ledgerID}
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
	cps, err := db.queryCheckpoints(ctx, db.write, `SELECT seq, ledger_id, head_hash, created_at, signature FROM checkpoints ORDER BY seq DESC LIMIT 1`)
	if err != nil {
		return nil, err
	} else if len(cps) == 1 {
		st.LastCheckpoint = cps[0]
	}
	return st, nil
}

// EntriesByIdempotencyKey returns the committed entries made with key.
func (db *DB) EntriesByIdempotencyKey(ctx context.Context, key string) ([]*ledger.Entry, error) {
	rows, err := db.byIdem.QueryContext(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("sqlite: idempotency lookup: %w", err)
	}
	return collectEntries(rows)
}

type scanner interface{ Scan(dest ...any) error }

func scanWallet(s scanner) (*ledger.Wallet, error) {
	var w ledger.Wallet
	var bal, held, created, updated string
	if err := s.Scan(&w.ID, &w.UserID, &w.Email, &w.Currency, &bal, &held, &w.Status, &created, &updated, &w.LastSeq); err != nil {
		return nil, fmt.Errorf("sqlite: scan wallet: %w", err)
	}
	var err error
	if w.Balance, err = decimal.NewFromString(bal); err != nil {
		return nil, fmt.Errorf("sqlite: wallet %s balance %q: %w", w.ID, bal, err)
	}
	if w.Held, err = decimal.NewFromString(held); err != nil {
		return nil, fmt.Errorf("sqlite: wallet %s held %q: %w", w.ID, held, err)
	}
	if w.CreatedAt, err = time.Parse(ledger.TimeFormat, created); err != nil {
		return nil, fmt.Errorf("sqlite: wallet %s created_at: %w", w.ID, err)
	}
	if w.UpdatedAt, err = time.Parse(ledger.TimeFormat, updated); err != nil {
		return nil, fmt.Errorf("sqlite: wallet %s updated_at: %w", w.ID, err)
	}
	return &w, nil
}

// BadEntryError reports an entry row that cannot even be read back as an
// entry (a NULL, a malformed time or hash): it was tampered with.
type BadEntryError struct {
	Seq uint64
	Err error
}

func (e *BadEntryError) Error() string { return fmt.Sprintf("entry %d: %v", e.Seq, e.Err) }

// BadSeq implements the interface Verify uses to name the seq.
func (e *BadEntryError) BadSeq() uint64 { return e.Seq }

func collectEntries(rows *sql.Rows) ([]*ledger.Entry, error) {
	defer rows.Close()
	var out []*ledger.Entry
	for rows.Next() {
		e := new(ledger.Entry)
		if err := scanEntry(rows, e); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func (db *DB) queryEntries(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string, args ...any) ([]*ledger.Entry, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: query entries: %w", err)
	}
	return collectEntries(rows)
}

// scanEntry reads one entries row into e. A row that does not hold a valid
// entry gives a *BadEntryError naming its seq.
func scanEntry(rows *sql.Rows, e *ledger.Entry) error {
	var seq sql.NullInt64
	var raw [22]sql.RawBytes
	dest := make([]any, 23)
	dest[0] = &seq
	for i := range raw {
		dest[i+1] = &raw[i]
	}
	if err := rows.Scan(dest...); err != nil {
		return &BadEntryError{Seq: uint64(seq.Int64), Err: err}
	}
	if !seq.Valid || seq.Int64 <= 0 {
		return &BadEntryError{Seq: uint64(seq.Int64), Err: errors.New("seq is not a positive integer")}
	}
	e.Seq = uint64(seq.Int64)
	for i := 0; i < 20; i++ {
		if raw[i] == nil {
			return &BadEntryError{Seq: e.Seq, Err: fmt.Errorf("column %d is NULL", i+2)}
		}
	}
	e.ID = string(raw[0])
	e.EventID = string(raw[1])
	e.Kind = string(raw[2])
	e.Type = string(raw[3])
	e.WalletID = string(raw[4])
	e.UserID = string(raw[5])
	e.Email = string(raw[6])
	e.Currency = string(raw[7])
	e.Amount = string(raw[8])
	e.BalanceAfter = string(raw[9])
	e.HeldAfter = string(raw[10])
	e.Reason = string(raw[11])
	e.OrderID = string(raw[12])
	e.TransferID = string(raw[13])
	e.Counterparty = string(raw[14])
	e.Metadata = string(raw[15])
	e.IdempotencyKey = string(raw[16])
	e.RequestHash = string(raw[17])
	t, err := time.Parse(ledger.TimeFormat, string(raw[18]))
	if err != nil {
		return &BadEntryError{Seq: e.Seq, Err: fmt.Errorf("created_at: %w", err)}
	}
	e.CreatedAt = t
	e.KeyID = string(raw[19])
	if len(raw[20]) != ledger.HashSize || len(raw[21]) != ledger.HashSize {
		return &BadEntryError{Seq: e.Seq, Err: errors.New("prev_hash or hash is not 32 bytes")}
	}
	copy(e.PrevHash[:], raw[20])
	copy(e.Hash[:], raw[21])
	return nil
}
