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
	b := &batch{tx: tx, daily: map[dailyKey]*dailySum{}}
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
			if why := b.transaction(m, d.doc, d.created); why != "" {
				res.bad++
				bad = append(bad, badEvent{m.streamSeq, why})
			} else {
				res.applied++
			}
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

// batch is the state of one apply: the daily sums gathered in memory,
// written once at the end. (Transaction history and balances are the
// ledger's: sqlite.History, the wallets table.)
type batch struct {
	tx    *sql.Tx
	daily map[dailyKey]*dailySum
}

// eventDoc is an envelope with the data fields of the events the
// projections use (events.TransactionData), decoded in one pass. Unknown fields are ignored: later versions add some
// (held_after …).
type eventDoc struct {
	Event     string `json:"event"`
	CreatedAt string `json:"created_at"`
	Test      bool   `json:"test"`
	Data      struct {
		// TransactionID is walletd's transaction id (txn_id); the seed's
		// integer transaction_id is the seq. Events published before
		// txn_id existed carried the txn id in transaction_id.
		Amount       string `json:"amount"`
		Currency     string `json:"currency"`
		BalanceAfter string `json:"balance_after"`
		Type         string `json:"type"`
		Seq          uint64 `json:"seq"`
		WalletID     string `json:"wallet_id"`
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
	case events.WalletCredited, events.WalletDebited:
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
	if d.Seq == 0 {
		d.Seq = m.ledgerSeq
	}
	if amount, err := decimal.NewFromString(d.Amount); err != nil || amount.IsNegative() || !plainDecimal(d.Amount) {
		return nil, "", fmt.Sprintf("%s: amount %q", m.key, d.Amount)
	} else if !plainDecimal(d.BalanceAfter) {
		return nil, "", fmt.Sprintf("%s: balance_after %q", m.key, d.BalanceAfter)
	} else if d.Currency == "" {
		return nil, "", m.key + ": no currency"
	}
	return doc, created, ""
}

// transaction applies a decoded wallet.credited or wallet.debited to the
// daily sums. It returns why it was passed over, if it was. An entry's
// transaction event is its first (Walletd-Index 0) and carries the entry's
// seq: one that does not is counted nowhere, so that positions, which
// only rise, count each transaction once.
func (b *batch) transaction(m *message, doc *eventDoc, created string) (why string) {
	d := &doc.Data
	if d.Seq != m.ledgerSeq || m.index != 0 {
		return fmt.Sprintf("%s: transaction of seq %d travels at position %d/%d, not as the entry's first event", doc.Event, d.Seq, m.ledgerSeq, m.index)
	}
	amount, _ := decimal.NewFromString(d.Amount) // checked by decode
	kind := KindCredit
	if doc.Event == events.WalletDebited {
		kind = KindDebit
	}
	k := dailyKey{date: created[:10], currency: d.Currency, typ: d.Type, kind: kind}
	s := b.daily[k]
	if s == nil {
		s = &dailySum{}
		b.daily[k] = s
	}
	s.count++
	s.total = s.total.Add(amount)
	s.scale = max(s.scale, fracDigits(d.Amount))
	return ""
}

// flush writes the daily sums the batch changed.
func (b *batch) flush(ctx context.Context) error {
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
