package projections

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/walletd/walletd"

	"github.com/shopspring/decimal"
	"github.com/walletd/walletd/events"
)

// Transaction kinds, as the read models and the API name them.
const (
	KindCredit = "credit"
	KindDebit  = "debit"
)

// message is one stream message as the projections need it.
type message struct {
	key        string // event key, from the subject
	streamSeq  uint64
	ledgerSeq  uint64 // Walletd-Seq
	index      int    // Walletd-Index
	positioned bool   // the Walletd-Seq and Walletd-Index headers were valid
	data       []byte // the envelope
}

// after reports whether m comes after ledger position (seq, index).
func (m *message) after(seq uint64, index int) bool {
	return m.ledgerSeq > seq || m.ledgerSeq == seq && m.index > index
}

// batchResult is what one applied batch did.
type batchResult struct {
	applied int // events that changed a read model
	skipped int // already applied (redelivered or replayed)
	ignored int // events the projections do not use, or without a position
	bad     int // events that could not be decoded: logged and passed over
	pos     Position
}

// errPositionMoved means the stored position is not the one the projector
// last wrote: the database was reset, or another process writes it. The
// projector resumes from the stored position.
var errPositionMoved = errors.New("projections: the stored position moved (reset, or another writer)")

// balanceRow is one row of balances, read once per batch and written back.
type balanceRow struct {
	walletID, userID, email, currency, balance, status string
	lastSeq                                            uint64
	createdAt, updatedAt                               string
}

type dailyKey struct{ date, currency, typ, kind string }

type dailySum struct {
	count int64
	total decimal.Decimal
	scale int32
}

// badEvent describes an event passed over because it could not be used.
type badEvent struct {
	streamSeq uint64
	reason    string
}

// apply applies msgs (in stream order) to the read models and advances the
// position, in one transaction. expect is the stream sequence the caller
// believes is stored; if the stored one differs, nothing is applied and
// errPositionMoved is returned. Messages at or before the stored ledger
// position are skipped: that is what makes redelivery harmless.
func (db *DB) apply(ctx context.Context, stream string, expect uint64, msgs []message, now time.Time) (res batchResult, bad []badEvent, err error) {
	decs := decodeAll(msgs) // before the transaction, on every core
	// A statement on a context that can be cancelled costs go-sqlite3 a
	// goroutine that watches it; a batch is applied whole or not at all,
	// and is short, so it runs to its end whatever ctx says.
	ctx = context.WithoutCancel(ctx)
	db.applyMu.Lock()
	defer db.applyMu.Unlock()
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return res, nil, fmt.Errorf("projections: begin: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	pos, err := readPosition(ctx, tx)
	if err != nil {
		return res, nil, err
	}
	if pos.StreamSeq != expect {
		return res, nil, fmt.Errorf("%w: stored stream seq %d, expected %d", errPositionMoved, pos.StreamSeq, expect)
	}
	b := &batch{db: db, tx: tx, balances: map[string]*balanceRow{}, daily: map[dailyKey]*dailySum{}}
	defer b.close()
	// Pick what is new, read the balance rows it touches in a few queries,
	// then apply it in order.
	type item struct {
		m *message
		decoded
	}
	items := make([]item, 0, len(msgs))
	wallets := make([]string, 0, len(msgs))
	for i := range msgs {
		m := &msgs[i]
		if m.streamSeq > pos.StreamSeq {
			pos.StreamSeq = m.streamSeq
		}
		if !m.positioned {
			res.ignored++
			bad = append(bad, badEvent{m.streamSeq, "no Walletd-Seq/Walletd-Index headers"})
			continue
		}
		if !m.after(pos.LedgerSeq, pos.LedgerIndex) {
			res.skipped++
			continue
		}
		pos.LedgerSeq, pos.LedgerIndex = m.ledgerSeq, m.index
		switch d := decs[i]; {
		case d.why != "":
			res.bad++
			bad = append(bad, badEvent{m.streamSeq, d.why})
		case d.doc == nil:
			res.ignored++
		default:
			items = append(items, item{m, d})
			wallets = append(wallets, d.doc.Data.WalletID)
		}
	}
	if err := b.loadBalances(ctx, wallets); err != nil {
		return res, nil, err
	}
	for _, it := range items {
		var why string
		if it.doc.Event == events.WalletCredited || it.doc.Event == events.WalletDebited {
			why, err = b.transaction(ctx, it.doc, it.created)
		} else {
			b.walletEvent(it.doc, it.created)
		}
		if err != nil {
			return res, nil, err
		}
		if why != "" {
			res.bad++
			bad = append(bad, badEvent{it.m.streamSeq, why})
		} else {
			res.applied++
		}
	}
	if err := b.flush(ctx); err != nil {
		return res, nil, err
	}
	pos.Stream = stream
	pos.Events += uint64(res.applied)
	pos.UpdatedAt = now.UTC()
	if _, err := tx.ExecContext(ctx, `UPDATE position SET stream = ?, stream_seq = ?, ledger_seq = ?, ledger_index = ?,
		events = ?, updated_at = ? WHERE id = 1`, pos.Stream, pos.StreamSeq, pos.LedgerSeq, pos.LedgerIndex, pos.Events,
		pos.UpdatedAt.Format(time.RFC3339Nano)); err != nil {
		return res, nil, fmt.Errorf("projections: write position: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return res, nil, fmt.Errorf("projections: commit: %w", err)
	}
	res.pos = *pos
	db.notify(pos.LedgerSeq)
	return res, bad, nil
}

// batch is the state of one apply: balance rows read once and daily sums
// gathered in memory, both written once at the end, and the statement
// that inserts transactions.
type batch struct {
	db       *DB
	tx       *sql.Tx
	insTxn   *sql.Stmt
	balances map[string]*balanceRow
	daily    map[dailyKey]*dailySum
}

func (b *batch) close() {
	if b.insTxn != nil {
		b.insTxn.Close()
	}
}

// eventDoc is an envelope with the data fields of the events the
// projections use (events.TransactionData and events.WalletData), decoded
// in one pass. Unknown fields are ignored: later versions add some
// (held_after …).
type eventDoc struct {
	Event     string `json:"event"`
	CreatedAt string `json:"created_at"`
	Test      bool   `json:"test"`
	Data      struct {
		// TransactionID is walletd's transaction id (txn_id); the seed's
		// integer transaction_id is the seq. Events published before
		// txn_id existed carried the txn id in transaction_id.
		TransactionID     string              `json:"txn_id"`
		SeedTransactionID events.StorefrontID `json:"transaction_id"`
		UserID            events.StorefrontID `json:"user_id"`
		UserEmail         string              `json:"user_email"`
		Amount            string              `json:"amount"`
		Currency          string              `json:"currency"`
		BalanceAfter      string              `json:"balance_after"`
		Type              string              `json:"type"`
		Reason            string              `json:"reason"`
		OrderID           events.StorefrontID `json:"order_id"`
		LedgerHash        string              `json:"ledger_hash"`
		Seq               uint64              `json:"seq"`
		WalletID          string              `json:"wallet_id"`
		Status            string              `json:"status"`
	} `json:"data"`
}

// decoded is the outcome of decode.
type decoded struct {
	doc     *eventDoc
	created string
	why     string
}

// decodeAll decodes msgs, spreading large batches over the cores.
func decodeAll(msgs []message) []decoded {
	out := make([]decoded, len(msgs))
	one := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			out[i].doc, out[i].created, out[i].why = decode(&msgs[i])
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(msgs)/128)
	if workers <= 1 {
		one(0, len(msgs))
		return out
	}
	var wg sync.WaitGroup
	per := (len(msgs) + workers - 1) / workers
	for lo := 0; lo < len(msgs); lo += per {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			one(lo, hi)
		}(lo, min(lo+per, len(msgs)))
	}
	wg.Wait()
	return out
}

// decode decodes an event the projections use and checks its fields. It
// returns a nil doc for an event they do not use, or why the event cannot
// be used.
func decode(m *message) (doc *eventDoc, created string, why string) {
	switch m.key { // the subject says which event it is: others are not decoded
	case events.WalletCredited, events.WalletDebited, events.WalletCreated, events.WalletFrozen, events.WalletUnfrozen:
	default:
		return nil, "", ""
	}
	doc = &eventDoc{}
	if err := json.Unmarshal(m.data, doc); err != nil {
		return nil, "", m.key + ": " + err.Error()
	}
	if doc.Event != m.key {
		return nil, "", fmt.Sprintf("envelope of %q on the subject of %q", doc.Event, m.key)
	}
	if doc.Test {
		return nil, "", "" // test deliveries never reach the ledger's read models
	}
	created, err := eventTime(doc.CreatedAt)
	if err != nil {
		return nil, "", m.key + ": " + err.Error()
	}
	d := &doc.Data
	if d.WalletID == "" {
		return nil, "", m.key + ": no wallet_id"
	}
	if _, seq := d.SeedTransactionID.Int64(); d.TransactionID == "" && !seq {
		d.TransactionID = string(d.SeedTransactionID) // an event from before txn_id
	}
	if d.Seq == 0 {
		d.Seq = m.ledgerSeq
	}
	if m.key == events.WalletCredited || m.key == events.WalletDebited {
		if amount, err := decimal.NewFromString(d.Amount); err != nil || amount.IsNegative() || !plainDecimal(d.Amount) {
			return nil, "", fmt.Sprintf("%s: amount %q", m.key, d.Amount)
		} else if !plainDecimal(d.BalanceAfter) {
			return nil, "", fmt.Sprintf("%s: balance_after %q", m.key, d.BalanceAfter)
		} else if d.Currency == "" {
			return nil, "", m.key + ": no currency"
		}
	}
	return doc, created, ""
}

// transaction applies a decoded wallet.credited or wallet.debited. It
// returns why it was passed over, if it was; err fails the batch.
func (b *batch) transaction(ctx context.Context, doc *eventDoc, created string) (why string, err error) {
	d := &doc.Data
	amount, _ := decimal.NewFromString(d.Amount) // checked by decode
	kind := KindCredit
	if doc.Event == events.WalletDebited {
		kind = KindDebit
	}
	if b.insTxn == nil {
		if b.insTxn, err = b.tx.PrepareContext(ctx, `INSERT OR IGNORE INTO transactions (wallet_id, seq, transaction_id,
			user_id, kind, type, amount, currency, balance_after, reason, order_id, ledger_hash, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`); err != nil {
			return "", fmt.Errorf("projections: prepare: %w", err)
		}
	}
	res, err := b.insTxn.ExecContext(ctx, d.WalletID, d.Seq, d.TransactionID, string(d.UserID), kind, d.Type, d.Amount,
		d.Currency, d.BalanceAfter, d.Reason, string(d.OrderID), d.LedgerHash, created)
	if err != nil {
		return "", fmt.Errorf("projections: insert transaction %d: %w", d.Seq, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		// The same entry under a later position: never counted twice.
		return fmt.Sprintf("%s: transaction of seq %d is already projected", doc.Event, d.Seq), nil
	}

	row := b.balances[d.WalletID]
	if row == nil {
		row = &balanceRow{walletID: d.WalletID, status: walletd.StatusActive, createdAt: created}
		b.balances[d.WalletID] = row
	}
	fill(&row.userID, string(d.UserID))
	fill(&row.email, d.UserEmail)
	fill(&row.currency, d.Currency)
	row.balance, row.lastSeq, row.updatedAt = d.BalanceAfter, d.Seq, created

	k := dailyKey{date: created[:10], currency: d.Currency, typ: d.Type, kind: kind}
	s := b.daily[k]
	if s == nil {
		s = &dailySum{}
		b.daily[k] = s
	}
	s.count++
	s.total = s.total.Add(amount)
	s.scale = max(s.scale, fracDigits(d.Amount))
	return "", nil
}

// walletEvent applies a decoded wallet.created, .frozen or .unfrozen.
func (b *batch) walletEvent(doc *eventDoc, created string) {
	d := &doc.Data
	row := b.balances[d.WalletID]
	if row == nil {
		row = &balanceRow{walletID: d.WalletID, balance: b.db.zero(d.Currency), status: walletd.StatusActive, createdAt: created}
		b.balances[d.WalletID] = row
	}
	fill(&row.userID, string(d.UserID))
	fill(&row.email, d.UserEmail)
	fill(&row.currency, d.Currency)
	switch doc.Event {
	case events.WalletFrozen:
		row.status = walletd.StatusFrozen
	case events.WalletUnfrozen:
		row.status = walletd.StatusActive
	}
	row.lastSeq, row.updatedAt = d.Seq, created
}

// loadBalances reads the balance rows of wallets (ids may repeat) into
// the batch, a few hundred per query. Wallets without a row get none.
func (b *batch) loadBalances(ctx context.Context, wallets []string) error {
	const chunk = 500
	ids := make([]any, 0, chunk)
	seen := make(map[string]bool, len(wallets))
	query := func() error {
		if len(ids) == 0 {
			return nil
		}
		rows, err := b.tx.QueryContext(ctx, `SELECT wallet_id, user_id, user_email, currency, balance, status, last_seq,
			created_at, updated_at FROM balances WHERE wallet_id IN (`+strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",")+`)`, ids...)
		if err != nil {
			return fmt.Errorf("projections: read balances: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			r := &balanceRow{}
			if err := rows.Scan(&r.walletID, &r.userID, &r.email, &r.currency, &r.balance, &r.status, &r.lastSeq,
				&r.createdAt, &r.updatedAt); err != nil {
				return fmt.Errorf("projections: read balances: %w", err)
			}
			b.balances[r.walletID] = r
		}
		ids = ids[:0]
		return rows.Err()
	}
	for _, id := range wallets {
		if seen[id] {
			continue
		}
		seen[id] = true
		if ids = append(ids, id); len(ids) == chunk {
			if err := query(); err != nil {
				return err
			}
		}
	}
	return query()
}

// flush writes the balance rows and daily sums the batch changed.
func (b *batch) flush(ctx context.Context) error {
	if len(b.balances) > 0 {
		st, err := b.tx.PrepareContext(ctx, `INSERT OR REPLACE INTO balances (wallet_id, user_id, user_email, currency,
			balance, status, last_seq, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return fmt.Errorf("projections: prepare: %w", err)
		}
		defer st.Close()
		for _, r := range b.balances {
			if _, err := st.ExecContext(ctx, r.walletID, r.userID, r.email, r.currency, r.balance, r.status,
				r.lastSeq, r.createdAt, r.updatedAt); err != nil {
				return fmt.Errorf("projections: write balance %s: %w", r.walletID, err)
			}
		}
	}
	for k, s := range b.daily {
		var count int64
		var total string
		err := b.tx.QueryRowContext(ctx, `SELECT count, total FROM daily_totals WHERE date = ? AND currency = ? AND type = ? AND kind = ?`,
			k.date, k.currency, k.typ, k.kind).Scan(&count, &total)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("projections: read daily total: %w", err)
		}
		sum, scale := s.total, s.scale
		if err == nil {
			prev, perr := decimal.NewFromString(total)
			if perr != nil {
				return fmt.Errorf("projections: daily total %q of %s %s: %w", total, k.date, k.currency, perr)
			}
			sum, scale = sum.Add(prev), max(scale, fracDigits(total))
		}
		if _, err := b.tx.ExecContext(ctx, `INSERT OR REPLACE INTO daily_totals (date, currency, type, kind, count, total)
			VALUES (?, ?, ?, ?, ?, ?)`, k.date, k.currency, k.typ, k.kind, count+s.count, sum.StringFixed(scale)); err != nil {
			return fmt.Errorf("projections: write daily total: %w", err)
		}
	}
	return nil
}

// eventTime normalizes an envelope's created_at to RFC 3339 UTC seconds,
// the form stored and compared as text.
func eventTime(s string) (string, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return "", fmt.Errorf("created_at %q is not RFC 3339", s)
	}
	if y := t.UTC().Year(); y < 1 || y > 9999 {
		return "", fmt.Errorf("created_at %q is out of range", s)
	}
	return events.FormatTime(t), nil
}

// plainDecimal reports whether s is a plain decimal such as "-12.50": what
// the events carry, and what sorts and sums safely.
func plainDecimal(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" || len(s) > 64 {
		return false
	}
	dot := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '.' && !dot && i > 0 && i < len(s)-1:
			dot = true
		case c < '0' || c > '9':
			return false
		}
	}
	return true
}

// fracDigits returns the number of digits after the dot of a plain decimal.
func fracDigits(s string) int32 {
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return int32(len(s) - i - 1)
	}
	return 0
}

func fill(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}

// scale returns the minor-unit scale of currency, or -1 if unknown.
func (db *DB) scale(currency string) int32 {
	c := db.Currencies
	if c == nil {
		c = defaultCurrencies
	}
	s, err := c.Scale(currency)
	if err != nil {
		return -1
	}
	return s
}

var defaultCurrencies = walletd.DefaultCurrencies()

// zero returns a zero amount of currency at its scale ("0.00" for USD).
func (db *DB) zero(currency string) string {
	return decimal.Zero.StringFixed(max(db.scale(currency), 0))
}
