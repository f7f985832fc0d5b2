package sqlite

import (
	"context"
	"fmt"

	"github.com/walletd/walletd"
)

var _ walletd.LedgerStore = (*DB)(nil)

// Commit writes a batch in one transaction: entries, then each changed
// wallet once, then the checkpoint. With synchronous=FULL the commit is one
// fsync of the WAL.
func (db *DB) Commit(ctx context.Context, b *walletd.LedgerBatch) (err error) {
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
			e.CreatedAt.UTC().Format(walletd.TimeFormat), e.KeyID, e.PrevHash[:], e.Hash[:]); err != nil {
			return fmt.Errorf("sqlite: insert entry %d: %w", e.Seq, err)
		}
	}
	ups := tx.StmtContext(ctx, db.upsWallet)
	for _, w := range b.Wallets {
		features, ferr := encodeFeatures(&w.Features)
		if ferr != nil {
			return fmt.Errorf("sqlite: wallet %s features: %w", w.ID, ferr)
		}
		if _, err = ups.ExecContext(ctx, w.ID, w.UserID, w.Email, w.Currency, w.Balance.String(),
			w.Held.String(), w.Status, w.CreatedAt.UTC().Format(walletd.TimeFormat),
			w.UpdatedAt.UTC().Format(walletd.TimeFormat), w.LastSeq, features); err != nil {
			return fmt.Errorf("sqlite: upsert wallet %s: %w", w.ID, err)
		}
	}
	if len(b.Objects) > 0 {
		upo := tx.StmtContext(ctx, db.upsObject)
		for _, o := range b.Objects {
			if _, err = upo.ExecContext(ctx, o.Kind, o.ID, string(o.Data), o.Seq); err != nil {
				return fmt.Errorf("sqlite: upsert %s %s: %w", o.Kind, o.ID, err)
			}
		}
	}
	if cp := b.Checkpoint; cp != nil {
		if _, err = tx.ExecContext(ctx, `INSERT INTO checkpoints (seq, ledger_id, head_hash, created_at, signature)
			VALUES (?, ?, ?, ?, ?)`, cp.Seq, cp.LedgerID, cp.HeadHash[:],
			cp.CreatedAt.UTC().Format(walletd.TimeFormat), cp.Signature); err != nil {
			return fmt.Errorf("sqlite: insert checkpoint %d: %w", cp.Seq, err)
		}
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}
