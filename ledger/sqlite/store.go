package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/walletd/walletd"

	"github.com/shopspring/decimal"
)

var (
	_ walletd.LedgerStore  = (*DB)(nil)
	_ walletd.LedgerReader = (*DB)(nil)
)

const entryColumns = `seq, id, event_id, kind, type, wallet_id, user_id, email, currency, amount,
	balance_after, held_after, reason, order_id, transfer_id, counterparty, metadata,
	idempotency_key, request_hash, created_at, key_id, prev_hash, hash`

const walletColumns = `id, user_id, email, currency, balance, held, status, created_at, updated_at, last_seq, features`

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

// EntriesByIdempotencyKey returns the committed entries made with key.
func (db *DB) EntriesByIdempotencyKey(ctx context.Context, key string) ([]*walletd.Entry, error) {
	rows, err := db.byIdem.QueryContext(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("sqlite: idempotency lookup: %w", err)
	}
	return collectEntries(rows)
}

type scanner interface{ Scan(dest ...any) error }

func scanWallet(s scanner) (*walletd.Wallet, error) {
	var w walletd.Wallet
	var bal, held, created, updated, features string
	if err := s.Scan(&w.ID, &w.UserID, &w.Email, &w.Currency, &bal, &held, &w.Status, &created, &updated, &w.LastSeq, &features); err != nil {
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

// BadEntryError reports an entry row that cannot even be read back as an
// entry (a NULL, a malformed time or hash): it was tampered with.
type BadEntryError struct {
	Seq uint64
	Err error
}

func (e *BadEntryError) Error() string { return fmt.Sprintf("entry %d: %v", e.Seq, e.Err) }

// BadSeq implements the interface Verify uses to name the seq.
func (e *BadEntryError) BadSeq() uint64 { return e.Seq }

func collectEntries(rows *sql.Rows) ([]*walletd.Entry, error) {
	defer rows.Close()
	var out []*walletd.Entry
	var sc entryScanner
	for rows.Next() {
		e := new(walletd.Entry)
		if err := sc.scan(rows, e); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func (db *DB) queryEntries(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string, args ...any) ([]*walletd.Entry, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: query entries: %w", err)
	}
	return collectEntries(rows)
}

// scanEntry reads one entries row into e. A row that does not hold a valid
// entry gives a *BadEntryError naming its seq.
func scanEntry(rows *sql.Rows, e *walletd.Entry) error {
	var sc entryScanner
	return sc.scan(rows, e)
}

// entryScanner reads entries rows without allocating per row beyond what
// the driver itself allocates: text columns are scanned straight into the
// entry's strings (database/sql hands over the driver's string, no copy),
// the two hashes through reused RawBytes, and created_at through a
// fixed-format parser. Verify reads hundreds of thousands of rows per
// second through it. The zero value is ready to use; it is not safe for
// concurrent use.
type entryScanner struct {
	dest     []any
	seq      sql.NullInt64
	prevHash sql.RawBytes
	hash     sql.RawBytes
	created  string
	e        *walletd.Entry // the entry dest points into
}

// bind points dest at the fields of e.
func (sc *entryScanner) bind(e *walletd.Entry) {
	sc.e = e
	sc.dest = append(sc.dest[:0], &sc.seq,
		&e.ID, &e.EventID, &e.Kind, &e.Type, &e.WalletID, &e.UserID, &e.Email,
		&e.Currency, &e.Amount, &e.BalanceAfter, &e.HeldAfter, &e.Reason, &e.OrderID,
		&e.TransferID, &e.Counterparty, &e.Metadata, &e.IdempotencyKey, &e.RequestHash,
		&sc.created, &e.KeyID, &sc.prevHash, &sc.hash)
}

// scan reads the current row of rows (selected with entryColumns) into e.
// A NULL or otherwise unreadable column gives a *BadEntryError naming the
// row's seq.
func (sc *entryScanner) scan(rows *sql.Rows, e *walletd.Entry) error {
	if sc.e != e || len(sc.dest) == 0 {
		sc.bind(e)
	}
	sc.seq = sql.NullInt64{}
	if err := rows.Scan(sc.dest...); err != nil {
		return &BadEntryError{Seq: uint64(sc.seq.Int64), Err: err}
	}
	if !sc.seq.Valid || sc.seq.Int64 <= 0 {
		return &BadEntryError{Seq: uint64(sc.seq.Int64), Err: errors.New("seq is not a positive integer")}
	}
	e.Seq = uint64(sc.seq.Int64)
	t, err := parseEntryTime(sc.created)
	if err != nil {
		return &BadEntryError{Seq: e.Seq, Err: fmt.Errorf("created_at: %w", err)}
	}
	e.CreatedAt = t
	if len(sc.prevHash) != walletd.HashSize || len(sc.hash) != walletd.HashSize {
		return &BadEntryError{Seq: e.Seq, Err: errors.New("prev_hash or hash is not 32 bytes")}
	}
	copy(e.PrevHash[:], sc.prevHash)
	copy(e.Hash[:], sc.hash)
	return nil
}

// parseEntryTime parses a stored created_at, which must be exactly the
// ledger.TimeFormat text of a time: the canonical encoding hashes the time
// re-rendered, so text that time.Parse merely accepts (a comma before the
// fraction, say) would verify here yet fail in any verifier that hashes
// the column's bytes, as docs/ledger-format.md tells auditors to.
func parseEntryTime(s string) (time.Time, error) {
	if t, ok := fastEntryTime(s); ok {
		return t, nil
	}
	t, err := time.Parse(walletd.TimeFormat, s)
	if err != nil {
		return t, err
	} else if t.Format(walletd.TimeFormat) != s {
		return t, fmt.Errorf("%q is not in the canonical form %s", s, walletd.TimeFormat)
	}
	return t, nil
}

// fastEntryTime decodes the well-formed ledger.TimeFormat text by hand
// (time.Parse is a large share of a verify run). It reports false for
// anything else, which parseEntryTime then leaves to time.Parse; when it
// reports true, the time equals time.Parse's and renders back to s.
func fastEntryTime(s string) (time.Time, bool) {
	// 2006-01-02T15:04:05.000000Z
	if len(s) != 27 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
		s[16] != ':' || s[19] != '.' || s[26] != 'Z' {
		return time.Time{}, false
	}
	num := func(i, n int) int {
		v := 0
		for _, c := range []byte(s[i : i+n]) {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	year, month, day := num(0, 4), num(5, 2), num(8, 2)
	hour, minute, sec, micro := num(11, 2), num(14, 2), num(17, 2), num(20, 6)
	if year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 ||
		minute < 0 || minute > 59 || sec < 0 || sec > 59 || micro < 0 ||
		day > daysIn(time.Month(month), year) {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, micro*1000, time.UTC), true
}

func daysIn(m time.Month, year int) int {
	if m == time.February {
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	}
	return 30 + int((m+m/8)%2)
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

func (db *DB) loadObjects(ctx context.Context) ([]*walletd.StoredObject, error) {
	rows, err := db.write.QueryContext(ctx, `SELECT kind, id, data, seq FROM objects`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: load objects: %w", err)
	}
	defer rows.Close()
	var out []*walletd.StoredObject
	for rows.Next() {
		var o walletd.StoredObject
		var data string
		if err := rows.Scan(&o.Kind, &o.ID, &data, &o.Seq); err != nil {
			return nil, fmt.Errorf("sqlite: scan object: %w", err)
		}
		o.Data = []byte(data)
		out = append(out, &o)
	}
	return out, rows.Err()
}

// LoadObject returns the committed data of one object, from the read pool.
func (db *DB) LoadObject(ctx context.Context, kind, id string) ([]byte, error) {
	var data string
	err := db.read.QueryRowContext(ctx, `SELECT data FROM objects WHERE kind = ? AND id = ?`, kind, id).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, walletd.Errorf(walletd.ENotFound, "No %s %q.", strings.ReplaceAll(kind, "_", " "), id)
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: load %s %s: %w", kind, id, err)
	}
	return []byte(data), nil
}

// Objects lists the objects of kind with id > after, in id order, up to
// limit, decoded.
func (db *DB) Objects(ctx context.Context, kind, after string, limit int) ([]any, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, data FROM objects WHERE kind = ? AND id > ? ORDER BY id LIMIT ?`, kind, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list %s: %w", kind, err)
	}
	defer rows.Close()
	var out []any
	for rows.Next() {
		var id, data string
		if err := rows.Scan(&id, &data); err != nil {
			return nil, fmt.Errorf("sqlite: scan %s: %w", kind, err)
		}
		v, err := walletd.DecodeObject(kind, []byte(data))
		if err != nil {
			return nil, fmt.Errorf("sqlite: %s %s: %w", kind, id, err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Object returns one committed object, decoded, or ENotFound.
func (db *DB) Object(ctx context.Context, kind, id string) (any, error) {
	data, err := db.LoadObject(ctx, kind, id)
	if err != nil {
		return nil, err
	}
	return walletd.DecodeObject(kind, data)
}
