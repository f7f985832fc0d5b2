package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/ledger"
)

var (
	_ walletd.APIKeyService = (*DB)(nil)
	_ ledger.EntryIterator  = (*EntryIterator)(nil)
)

// Wallet returns the committed state of wallet id.
// Returns ENotFound if there is no such wallet.
func (db *DB) Wallet(ctx context.Context, id string) (*walletd.Wallet, error) {
	w, err := scanWallet(db.read.QueryRowContext(ctx, `SELECT `+walletColumns+` FROM wallets WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, walletd.Errorf(walletd.ENotFound, "Wallet %q not found.", id)
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

// Entries returns up to limit entries with seq > afterSeq, in seq order.
func (db *DB) Entries(ctx context.Context, afterSeq uint64, limit int) ([]*walletd.Entry, error) {
	return db.queryEntries(ctx, db.read, `SELECT `+entryColumns+` FROM entries WHERE seq > ? ORDER BY seq LIMIT ?`, afterSeq, limit)
}

// Checkpoints returns up to limit checkpoints with seq > afterSeq; limit 0
// returns them all.
func (db *DB) Checkpoints(ctx context.Context, afterSeq uint64, limit int) ([]*walletd.Checkpoint, error) {
	if limit <= 0 {
		limit = -1
	}
	return db.queryCheckpoints(ctx, db.read, `SELECT seq, ledger_id, head_hash, created_at, signature
		FROM checkpoints WHERE seq > ? ORDER BY seq LIMIT ?`, afterSeq, limit)
}

func (db *DB) queryCheckpoints(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string, args ...any) ([]*walletd.Checkpoint, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: query checkpoints: %w", err)
	}
	defer rows.Close()
	var out []*walletd.Checkpoint
	for rows.Next() {
		var cp walletd.Checkpoint
		var head []byte
		var created string
		if err := rows.Scan(&cp.Seq, &cp.LedgerID, &head, &created, &cp.Signature); err != nil {
			return nil, fmt.Errorf("sqlite: scan checkpoint: %w", err)
		}
		if len(head) != walletd.HashSize {
			return nil, fmt.Errorf("sqlite: checkpoint %d: head hash is %d bytes", cp.Seq, len(head))
		}
		copy(cp.HeadHash[:], head)
		if cp.CreatedAt, err = time.Parse(walletd.TimeFormat, created); err != nil {
			return nil, fmt.Errorf("sqlite: checkpoint %d: created_at: %w", cp.Seq, err)
		}
		out = append(out, &cp)
	}
	return out, rows.Err()
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
	pool, err := openScanPool(db.Path, readers+1)
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

// openScanPool opens up to n read-only connections to the database at path
// in SQLite's multi-thread mode (no per-connection mutex).
func openScanPool(path string, n int) (*sql.DB, error) {
	q := url.Values{}
	q.Set("mode", "ro")
	q.Set("_mutex", "no")
	q.Set("_busy_timeout", "10000")
	pool, err := sql.Open("sqlite3", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	pool.SetMaxOpenConns(n)
	pool.SetMaxIdleConns(n)
	return pool, nil
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

// CreateAPIKey stores k.
func (db *DB) CreateAPIKey(ctx context.Context, k *walletd.APIKey) error {
	_, err := db.write.ExecContext(ctx, `INSERT INTO api_keys (id, name, scopes, secret_hash, created_at) VALUES (?, ?, ?, ?, ?)`,
		k.ID, k.Name, strings.Join(k.Scopes, " "), k.SecretHash, k.CreatedAt.UTC().Format(walletd.TimeFormat))
	if err != nil {
		return FormatError(fmt.Errorf("sqlite: create api key: %w", err))
	}
	return nil
}

// APIKey returns key id. Returns ENotFound.
func (db *DB) APIKey(ctx context.Context, id string) (*walletd.APIKey, error) {
	keys, err := db.apiKeys(ctx, `WHERE id = ?`, id)
	if err != nil {
		return nil, err
	} else if len(keys) == 0 {
		return nil, walletd.Errorf(walletd.ENotFound, "API key %q not found.", id)
	}
	return keys[0], nil
}

// APIKeys lists every key, newest first.
func (db *DB) APIKeys(ctx context.Context) ([]*walletd.APIKey, error) {
	return db.apiKeys(ctx, `ORDER BY id DESC`)
}

// RevokeAPIKey marks key id revoked. Returns ENotFound.
func (db *DB) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	res, err := db.write.ExecContext(ctx, `UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`,
		at.UTC().Format(walletd.TimeFormat), id)
	if err != nil {
		return fmt.Errorf("sqlite: revoke api key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return walletd.Errorf(walletd.ENotFound, "Active API key %q not found.", id)
	}
	return nil
}

func (db *DB) apiKeys(ctx context.Context, where string, args ...any) ([]*walletd.APIKey, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, name, scopes, secret_hash, created_at, revoked_at FROM api_keys `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: api keys: %w", err)
	}
	defer rows.Close()
	var out []*walletd.APIKey
	for rows.Next() {
		var k walletd.APIKey
		var scopes, created string
		var revoked sql.NullString
		if err := rows.Scan(&k.ID, &k.Name, &scopes, &k.SecretHash, &created, &revoked); err != nil {
			return nil, fmt.Errorf("sqlite: scan api key: %w", err)
		}
		k.Scopes = strings.Fields(scopes)
		k.CreatedAt, _ = time.Parse(walletd.TimeFormat, created)
		if revoked.Valid {
			t, _ := time.Parse(walletd.TimeFormat, revoked.String)
			k.RevokedAt = &t
		}
		out = append(out, &k)
	}
	return out, rows.Err()
}
