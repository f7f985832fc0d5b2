package webhooks

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/sqlitedb"
)

// endpointRecord is an endpoint with the secrets it signs with.
type endpointRecord struct {
	walletd.WebhookEndpoint
	keys signingKeys
	// The stored (sealed) secrets, kept as they are when they cannot be
	// opened, so that saving the endpoint does not lose them.
	storedSecret, storedPrev string
}

// public returns a copy of the endpoint without its secrets.
func (r *endpointRecord) public() *walletd.WebhookEndpoint {
	e := r.WebhookEndpoint
	e.Events = append([]string(nil), r.Events...)
	return &e
}

// newDelivery is a delivery to insert.
type newDelivery struct {
	id, endpointID, eventID, event string
	payload                        []byte
	contentType                    string
	kind                           string
	once                           bool
	eventTime                      time.Time
	streamSeq                      uint64
}

// job is a delivery loaded for sending.
type job struct {
	id, endpointID, eventID, event, kind, contentType string
	payload                                           []byte
	attempts                                          int
	once                                              bool
	eventTime                                         time.Time
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

const endpointColumns = `id, name, url, events, status, status_reason, api_version, format, secret,
	prev_secret, prev_secret_until, created_at, updated_at, secret_rotated_at, numeric_id`

type scanner interface{ Scan(dest ...any) error }

func (db *DB) scanEndpoint(row scanner) (*endpointRecord, error) {
	var r endpointRecord
	var evs, secret, prev string
	var until, created, updated, rotated int64
	if err := row.Scan(&r.ID, &r.Name, &r.URL, &evs, &r.Status, &r.StatusReason, &r.APIVersion, &r.Format,
		&secret, &prev, &until, &created, &updated, &rotated, &r.NumericID); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(evs), &r.Events); err != nil {
		return nil, fmt.Errorf("webhooks: endpoint %s: events: %w", r.ID, err)
	}
	r.CreatedAt, r.UpdatedAt, r.SecretRotatedAt = fromMS(created), fromMS(updated), fromMS(rotated)
	r.storedSecret, r.storedPrev = secret, prev
	r.keys.current, r.keys.err = db.openSecret(r.ID, secret)
	if prev != "" {
		if p, err := db.openSecret(r.ID, prev); err == nil {
			r.keys.previous, r.keys.until = p, fromMS(until)
			r.PreviousSecretUntil = r.keys.until
		}
	}
	return &r, nil
}

// loadEndpoints returns every endpoint, oldest first.
func (db *DB) loadEndpoints(ctx context.Context) ([]*endpointRecord, error) {
	rows, err := db.write.QueryContext(ctx, `SELECT `+endpointColumns+` FROM endpoints ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("webhooks: endpoints: %w", err)
	}
	defer rows.Close()
	var out []*endpointRecord
	for rows.Next() {
		r, err := db.scanEndpoint(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (db *DB) loadEndpoint(ctx context.Context, q querier, id string) (*endpointRecord, error) {
	r, err := db.scanEndpoint(q.QueryRowContext(ctx, `SELECT `+endpointColumns+` FROM endpoints WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, walletd.Errorf(walletd.ENotFound, "Webhook endpoint %s not found.", walletd.QuoteInput(id))
	} else if err != nil {
		return nil, fmt.Errorf("webhooks: endpoint %s: %w", id, err)
	}
	return r, nil
}

// saveEndpoint writes every column of r (insert or replace).
func (db *DB) saveEndpoint(ctx context.Context, q querier, r *endpointRecord) error {
	evs, _ := json.Marshal(r.Events)
	if r.Events == nil {
		evs = []byte("[]")
	}
	secret, prev := db.sealSecret(r.ID, r.keys.current), ""
	if r.keys.previous != "" {
		prev = db.sealSecret(r.ID, r.keys.previous)
	}
	if r.keys.err != nil { // unchanged and unopenable: keep the stored form
		secret, prev = r.storedSecret, r.storedPrev
	}
	_, err := q.ExecContext(ctx, `INSERT INTO endpoints (`+endpointColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, url = excluded.url, events = excluded.events,
		status = excluded.status, status_reason = excluded.status_reason, api_version = excluded.api_version,
		format = excluded.format, secret = excluded.secret, prev_secret = excluded.prev_secret,
		prev_secret_until = excluded.prev_secret_until, updated_at = excluded.updated_at,
		secret_rotated_at = excluded.secret_rotated_at`,
		r.ID, r.Name, r.URL, string(evs), r.Status, r.StatusReason, r.APIVersion, r.Format,
		secret, prev, ms(r.keys.until), ms(r.CreatedAt), ms(r.UpdatedAt), ms(r.SecretRotatedAt), r.NumericID)
	if err != nil {
		return fmt.Errorf("webhooks: save endpoint %s: %w", r.ID, sqlitedb.FormatError(err))
	}
	return nil
}

// seqEndpointNumericID names the sequence of endpoint numeric ids.
const seqEndpointNumericID = "endpoint_numeric_id"

// nextNumericID takes the next endpoint numeric id in tx. The sequence
// only grows, so a deleted endpoint's number is never given again (a
// WooCommerce receiver may still hold it).
func nextNumericID(ctx context.Context, q querier) (int64, error) {
	var n int64
	err := q.QueryRowContext(ctx, `UPDATE sequences SET last = last + 1 WHERE name = ? RETURNING last`,
		seqEndpointNumericID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("webhooks: next endpoint number: %w", err)
	}
	return n, nil
}

// tx runs fn in one write transaction.
func (db *DB) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("webhooks: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("webhooks: commit: %w", err)
	}
	return nil
}

const insertDelivery = `INSERT INTO deliveries (id, endpoint_id, event_id, event, payload, content_type, state, kind,
	once, attempts, next_attempt_at, event_time, stream_seq, created_at, updated_at)
	SELECT ?, e.id, ?, ?, ?, ?, CASE e.status WHEN 'active' THEN 'pending' ELSE 'held' END, ?, ?, 0, ?, ?, ?, ?, ?
	FROM endpoints e WHERE e.id = ? AND e.status <> 'disabled'
	ON CONFLICT (endpoint_id, event_id) DO NOTHING`

// insertDeliveries records deliveries in tx: pending for an active
// endpoint, held for a suspended one, none for a disabled or deleted one,
// and none when the endpoint already has one for the event. It returns the
// endpoints that got a new delivery.
func insertDeliveries(ctx context.Context, tx *sql.Tx, ds []newDelivery, now time.Time) (map[string]int, error) {
	if len(ds) == 0 {
		return nil, nil
	}
	st, err := tx.PrepareContext(ctx, insertDelivery)
	if err != nil {
		return nil, fmt.Errorf("webhooks: prepare: %w", err)
	}
	defer st.Close()
	got := map[string]int{}
	for i := range ds {
		d := &ds[i]
		once := 0
		if d.once {
			once = 1
		}
		res, err := st.ExecContext(ctx, d.id, d.eventID, d.event, d.payload, d.contentType, d.kind, once,
			ms(now), ms(d.eventTime), int64(d.streamSeq), ms(now), ms(now), d.endpointID)
		if err != nil {
			return nil, fmt.Errorf("webhooks: record delivery: %w", err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			got[d.endpointID]++
		}
	}
	return got, nil
}

// Dispatcher position, in meta.
const (
	metaStream    = "dispatch_stream"
	metaStreamSeq = "dispatch_stream_seq"
)

func setMeta(ctx context.Context, q querier, key, value string) error {
	_, err := q.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}

// position returns the stream the dispatcher recorded from and the last
// stream sequence it recorded.
func (db *DB) position(ctx context.Context) (string, uint64, error) {
	var stream, seq string
	err := db.write.QueryRowContext(ctx, `SELECT
		COALESCE((SELECT value FROM meta WHERE key = ?), ''),
		COALESCE((SELECT value FROM meta WHERE key = ?), '0')`, metaStream, metaStreamSeq).Scan(&stream, &seq)
	if err != nil {
		return "", 0, fmt.Errorf("webhooks: position: %w", err)
	}
	n, _ := strconv.ParseUint(seq, 10, 64)
	return stream, n, nil
}

// record inserts the deliveries of a batch of stream messages and the new
// position (with the ledger position of its last message, lp, when not
// nil) in one transaction.
func (db *DB) record(ctx context.Context, stream string, lastSeq uint64, lp *ledgerPos, ds []newDelivery, now time.Time) (map[string]int, error) {
	var got map[string]int
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if got, err = insertDeliveries(ctx, tx, ds, now); err != nil {
			return err
		}
		if err := setMeta(ctx, tx, metaStream, stream); err != nil {
			return err
		}
		if lp != nil {
			if err := setLedgerPos(ctx, tx, lp); err != nil {
				return err
			}
		}
		return setMeta(ctx, tx, metaStreamSeq, strconv.FormatUint(lastSeq, 10))
	})
	return got, err
}

// due returns up to limit pending deliveries of an endpoint whose time has
// come, skipping those in busy, in order of due time; and the due time of
// the next one that is not due yet (zero when there is none).
func (db *DB) due(ctx context.Context, endpointID string, now time.Time, limit int, busy map[string]bool) ([]*job, time.Time, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, next_attempt_at FROM deliveries
		WHERE endpoint_id = ? AND state = 'pending' ORDER BY next_attempt_at, rowid LIMIT ?`,
		endpointID, limit+len(busy)+1)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("webhooks: due: %w", err)
	}
	var ids []any
	var next time.Time
	for rows.Next() {
		var id string
		var at int64
		if err := rows.Scan(&id, &at); err != nil {
			rows.Close()
			return nil, time.Time{}, err
		}
		if busy[id] {
			continue
		}
		if at > ms(now) {
			next = fromMS(at)
			break
		}
		if len(ids) < limit {
			ids = append(ids, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, time.Time{}, err
	}
	if len(ids) == 0 {
		return nil, next, nil
	}
	rows, err = db.read.QueryContext(ctx, `SELECT id, endpoint_id, event_id, event, kind, content_type, payload,
		attempts, once, event_time, next_attempt_at FROM deliveries
		WHERE id IN (?`+strings.Repeat(",?", len(ids)-1)+`) AND state = 'pending' ORDER BY next_attempt_at, rowid`, ids...)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("webhooks: due: %w", err)
	}
	defer rows.Close()
	jobs := make([]*job, 0, len(ids))
	for rows.Next() {
		j := &job{}
		var once int
		var et, at int64
		if err := rows.Scan(&j.id, &j.endpointID, &j.eventID, &j.event, &j.kind, &j.contentType, &j.payload,
			&j.attempts, &once, &et, &at); err != nil {
			return nil, time.Time{}, err
		}
		j.once, j.eventTime = once != 0, fromMS(et)
		jobs = append(jobs, j)
	}
	return jobs, next, rows.Err()
}

const deliveryColumns = `id, endpoint_id, event_id, event, kind, state, once, attempts, next_attempt_at,
	last_status, last_error, payload, content_type, event_time, created_at, updated_at`

func scanDelivery(row scanner) (*walletd.WebhookDelivery, error) {
	var d walletd.WebhookDelivery
	var once int
	var next, et, created, updated int64
	if err := row.Scan(&d.ID, &d.EndpointID, &d.EventID, &d.Event, &d.Kind, &d.State, &once, &d.Attempts, &next,
		&d.LastStatus, &d.LastError, &d.Payload, &d.ContentType, &et, &created, &updated); err != nil {
		return nil, err
	}
	d.Once = once != 0
	d.NextAttemptAt, d.EventTime, d.CreatedAt, d.UpdatedAt = fromMS(next), fromMS(et), fromMS(created), fromMS(updated)
	return &d, nil
}

func (db *DB) delivery(ctx context.Context, q querier, endpointID, id string) (*walletd.WebhookDelivery, error) {
	d, err := scanDelivery(q.QueryRowContext(ctx, `SELECT `+deliveryColumns+` FROM deliveries WHERE id = ? AND endpoint_id = ?`, id, endpointID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, walletd.Errorf(walletd.ENotFound, "Delivery %s of endpoint %s not found.", walletd.QuoteInput(id), walletd.QuoteInput(endpointID))
	} else if err != nil {
		return nil, fmt.Errorf("webhooks: delivery %s: %w", id, err)
	}
	return d, nil
}

// deliveriesOf lists an endpoint's deliveries in one state, oldest first
// (tests and tools).
func (db *DB) deliveriesOf(ctx context.Context, endpointID, state string) ([]*walletd.WebhookDelivery, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+deliveryColumns+` FROM deliveries
		WHERE endpoint_id = ? AND (state = ? OR ? = '') ORDER BY rowid`, endpointID, state, state)
	if err != nil {
		return nil, fmt.Errorf("webhooks: deliveries: %w", err)
	}
	defer rows.Close()
	var out []*walletd.WebhookDelivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

const attemptColumns = `id, endpoint_id, delivery_id, event_id, event, attempt, at, http_status, response_ms,
	result, error, kind, manual`

// attempts returns an endpoint's log, newest first.
func (db *DB) attempts(ctx context.Context, endpointID string, limit int) ([]*walletd.WebhookAttempt, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+attemptColumns+` FROM attempts
		WHERE endpoint_id = ? ORDER BY id DESC LIMIT ?`, endpointID, limit)
	if err != nil {
		return nil, fmt.Errorf("webhooks: attempts: %w", err)
	}
	defer rows.Close()
	out := []*walletd.WebhookAttempt{}
	for rows.Next() {
		var a walletd.WebhookAttempt
		var at int64
		var manual int
		if err := rows.Scan(&a.ID, &a.EndpointID, &a.DeliveryID, &a.EventID, &a.Event, &a.Attempt, &at,
			&a.HTTPStatus, &a.ResponseMS, &a.Result, &a.Error, &a.Kind, &manual); err != nil {
			return nil, err
		}
		a.At, a.Manual = fromMS(at), manual != 0
		out = append(out, &a)
	}
	return out, rows.Err()
}

// countState counts deliveries in a state (pending or held use an index).
func (db *DB) countState(ctx context.Context, state string) (int64, error) {
	var n int64
	err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM deliveries WHERE state = ?`, state).Scan(&n)
	return n, err
}

// prune deletes finished deliveries last changed before cutoff that no
// row of the log refers to, in chunks; it returns how many it deleted.
func (db *DB) prune(ctx context.Context, cutoff time.Time) (int64, error) {
	var total int64
	for {
		res, err := db.write.ExecContext(ctx, `DELETE FROM deliveries WHERE rowid IN (
			SELECT rowid FROM deliveries WHERE state IN ('succeeded', 'failed') AND updated_at < ?
			AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.delivery_id = deliveries.id) LIMIT 1000)`, ms(cutoff))
		if err != nil {
			return total, fmt.Errorf("webhooks: prune: %w", err)
		}
		n, _ := res.RowsAffected()
		total += n
		if n < 1000 {
			return total, nil
		}
	}
}
