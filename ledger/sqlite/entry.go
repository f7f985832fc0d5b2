package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/sqlitedb"
)

var _ walletd.EntryIterator = (*EntryIterator)(nil)

// entryColumns are the columns of an entries row, in the order
// entryScanner reads them.
const entryColumns = `seq, id, event_id, kind, type, wallet_id, user_id, email, currency, amount,
	balance_after, held_after, reason, order_id, transfer_id, counterparty, metadata,
	idempotency_key, request_hash, created_at, key_id, prev_hash, hash`

// Entries returns up to limit entries with seq > afterSeq, in seq order.
func (db *DB) Entries(ctx context.Context, afterSeq uint64, limit int) ([]*walletd.Entry, error) {
	return db.queryEntries(ctx, db.read, `SELECT `+entryColumns+` FROM entries WHERE seq > ? ORDER BY seq LIMIT ?`, afterSeq, limit)
}

// EntriesByIdempotencyKey returns the committed entries made with key.
func (db *DB) EntriesByIdempotencyKey(ctx context.Context, key string) ([]*walletd.Entry, error) {
	rows, err := db.byIdem.QueryContext(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("sqlite: idempotency lookup: %w", err)
	}
	return collectEntries(rows)
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

// BadEntryError reports an entry row that cannot even be read back as an
// entry (a NULL, a malformed time or hash): it was tampered with.
type BadEntryError struct {
	Seq uint64
	Err error
}

// Error returns the seq and what is wrong with the row.
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

// EntryIterator walks every entry in seq order, for verify and export.
//
// It reads ahead in parallel: the seq range is cut into chunks of about
// iterChunk entries, reader goroutines (one per CPU, at most iterReaders)
// each scan whole chunks over their own read connection, and Next hands
// the chunks' entries out strictly in chunk order. Reading (SQLite and the
// driver, the larger part of a verify run) thus spreads over the cores
// while the caller (Verify's HMAC) consumes. The entries and errors Next
// yields are exactly those of one `SELECT … ORDER BY seq` over the rows
// present when IterateEntries was called: the chunks partition that range,
// and a chunk that fails to read ends the iteration at its place in order.
type EntryIterator struct {
	pool  *sql.DB               // the iterator's own read-only connections
	order chan chan *entryBatch // one result channel per chunk, in chunk order
	free  chan *entryBatch      // consumed batches, for reuse
	done  chan struct{}         // closed by Close: stop reading
	wg    sync.WaitGroup        // the dispatcher and the readers
	once  sync.Once

	cur *entryBatch
	pos int
	err error // sticky: what ended the iteration
}

// entryBatch is one chunk's entries; err, if set, follows them.
type entryBatch struct {
	entries []walletd.Entry
	err     error
}

// chunkJob asks a reader for the entries with lo <= seq <= hi.
type chunkJob struct {
	lo, hi int64
	res    chan *entryBatch
}

const (
	iterChunk   = 2048 // seq span of one chunk
	iterReaders = 4    // most reader goroutines
	iterAhead   = 6    // most chunks read but not yet consumed
)

var (
	// errEndOfEntries marks the end of a complete iteration.
	errEndOfEntries = errors.New("sqlite: end of entries")
	// errIteratorClosed is returned by Next after Close.
	errIteratorClosed = errors.New("sqlite: entry iterator is closed")
)

// IterateEntries returns an iterator over all entries. Close it when done.
//
// The iterator reads over read-only connections of its own, opened without
// SQLite's per-call mutex (each is used by one goroutine at a time), which
// makes a full scan about a third faster and leaves the shared read pool
// to the API while a long verify or export runs.
func (db *DB) IterateEntries(ctx context.Context) (*EntryIterator, error) {
	readers := min(max(runtime.GOMAXPROCS(0), 1), iterReaders)
	pool, err := sqlitedb.OpenReadOnly(db.Path, readers+1)
	if err != nil {
		return nil, fmt.Errorf("sqlite: iterate entries: %w", err)
	}
	var lo, hi sql.NullInt64
	if err := pool.QueryRowContext(ctx, `SELECT min(seq), max(seq) FROM entries`).Scan(&lo, &hi); err != nil {
		pool.Close()
		return nil, fmt.Errorf("sqlite: iterate entries: %w", err)
	}
	it := &EntryIterator{
		pool:  pool,
		order: make(chan chan *entryBatch, iterAhead),
		free:  make(chan *entryBatch, iterAhead+iterReaders+1),
		done:  make(chan struct{}),
	}
	if !lo.Valid {
		close(it.order) // no entries
		return it, nil
	}
	jobs := make(chan chunkJob)
	if hi.Int64-lo.Int64 < iterChunk {
		readers = 1
	}
	it.wg.Add(1 + readers)
	go it.dispatch(ctx, jobs, lo.Int64, hi.Int64)
	for i := 0; i < readers; i++ {
		go it.read(ctx, jobs)
	}
	return it, nil
}

// dispatch cuts [lo, hi] into chunks and queues them for the readers and,
// in the same order, for Next. Chunks start at an existing seq (found with
// one index seek), so a sparse or tampered seq range costs no empty chunks.
func (it *EntryIterator) dispatch(ctx context.Context, jobs chan<- chunkJob, lo, hi int64) {
	defer it.wg.Done()
	defer close(it.order)
	defer close(jobs)
	queue := func(j chunkJob) bool {
		select {
		case it.order <- j.res:
		case <-it.done:
			return false
		}
		if j.hi < j.lo { // an error chunk: no reader needed
			return true
		}
		select {
		case jobs <- j:
			return true
		case <-it.done:
			return false
		}
	}
	for start := lo; ; {
		j := chunkJob{lo: start, hi: hi, res: make(chan *entryBatch, 1)}
		if hi-start < iterChunk {
			queue(j)
			return
		}
		var next int64
		err := it.pool.QueryRowContext(ctx, `SELECT seq FROM entries WHERE seq >= ? AND seq <= ? ORDER BY seq LIMIT 1`,
			start+iterChunk, hi).Scan(&next)
		if errors.Is(err, sql.ErrNoRows) {
			queue(j)
			return
		} else if err != nil {
			j.lo, j.hi = 1, 0
			j.res <- &entryBatch{err: fmt.Errorf("sqlite: iterate entries: %w", err)}
			queue(j)
			return
		}
		j.hi = next - 1
		if !queue(j) {
			return
		}
		start = next
	}
}

// read scans the chunks it is given, each into one batch.
func (it *EntryIterator) read(ctx context.Context, jobs <-chan chunkJob) {
	defer it.wg.Done()
	var sc entryScanner
	for j := range jobs {
		var b *entryBatch
		select {
		case b = <-it.free:
			b.entries, b.err = b.entries[:0], nil
		default:
			b = &entryBatch{entries: make([]walletd.Entry, 0, iterChunk)}
		}
		b.err = it.readChunk(ctx, &sc, j, b)
		j.res <- b // never blocks: one result per channel of capacity 1
	}
}

// readChunk appends the entries of chunk j to b and returns the error that
// stopped it, if any.
func (it *EntryIterator) readChunk(ctx context.Context, sc *entryScanner, j chunkJob, b *entryBatch) error {
	rows, err := it.pool.QueryContext(ctx, `SELECT `+entryColumns+` FROM entries WHERE seq >= ? AND seq <= ? ORDER BY seq`, j.lo, j.hi)
	if err != nil {
		return fmt.Errorf("sqlite: iterate entries: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		if len(b.entries)%256 == 0 {
			select {
			case <-it.done:
				return errIteratorClosed
			default:
			}
		}
		b.entries = append(b.entries, walletd.Entry{})
		if err := sc.scan(rows, &b.entries[len(b.entries)-1]); err != nil {
			b.entries = b.entries[:len(b.entries)-1]
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return rows.Close()
}

// Next fills e with the next entry; false at the end. An entry row that
// cannot be read gives a *BadEntryError naming its seq.
func (it *EntryIterator) Next(e *walletd.Entry) (bool, error) {
	for it.cur == nil || it.pos == len(it.cur.entries) {
		if it.cur != nil {
			if it.cur.err != nil {
				it.err = it.cur.err
			}
			select {
			case it.free <- it.cur:
			default:
			}
			it.cur = nil
		}
		if errors.Is(it.err, errEndOfEntries) {
			return false, nil
		} else if it.err != nil {
			return false, it.err
		}
		var res chan *entryBatch
		var ok bool
		select {
		case res, ok = <-it.order:
		case <-it.done:
			it.err = errIteratorClosed
			continue
		}
		if !ok {
			it.err = errEndOfEntries
			continue
		}
		select {
		case it.cur = <-res:
			it.pos = 0
		case <-it.done:
			it.err = errIteratorClosed
		}
	}
	*e = it.cur.entries[it.pos]
	it.pos++
	return true, nil
}

// Close stops the readers, waits for them and closes the iterator's
// connections; Next then fails. Like Next, call it from the goroutine that
// iterates. It is safe to call more than once.
func (it *EntryIterator) Close() error {
	var err error
	it.once.Do(func() {
		close(it.done)
		it.wg.Wait()
		err = it.pool.Close()
		it.cur, it.err = nil, errIteratorClosed
	})
	return err
}
