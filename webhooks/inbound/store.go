package inbound

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/sqlitedb"
	"github.com/walletd/walletd/webhooks"
)

// Event states in webhooks.db.
const (
	StatePending   = "pending"
	StateDone      = "done"
	StateDead      = "dead"
	StateDiscarded = "discarded"
)

// Log statuses: the seed's.
const (
	LogSuccess = "success"
	LogError   = "error"
	LogPending = "pending"
)

// DB is the inbound side of webhooks.db: gateways, events, the log.
type DB struct {
	pools *sqlitedb.DB
	seal  *webhooks.Sealer
}

// OpenDB opens webhooks.db at path (applying its migrations, shared with
// the outbound side) with its own connections. seal seals the gateways'
// secrets (nil: stored as they are).
func OpenDB(ctx context.Context, path string, seal *webhooks.Sealer) (*DB, error) {
	pools, err := sqlitedb.Open(ctx, path, sqlitedb.Options{Migrations: "webhooks", Synchronous: sqlitedb.SyncFull, ReadConns: 4})
	if err != nil {
		return nil, err
	}
	return &DB{pools: pools, seal: seal}, nil
}

// Close closes the connections.
func (db *DB) Close() error { return db.pools.Close() }

func ms(t time.Time) int64 { return t.UnixMilli() }
func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// Gateway returns the settings of gateway name, its secret opened.
// Returns ENotFound when it is not configured.
func (db *DB) Gateway(ctx context.Context, name string) (*Gateway, error) {
	var cfg, secret string
	err := db.pools.Read.QueryRowContext(ctx, `SELECT config, secret FROM inbound_gateways WHERE gateway = ?`, name).Scan(&cfg, &secret)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, walletd.Errorf(walletd.ENotFound, "Gateway %s is not configured.", walletd.QuoteInput(name))
	} else if err != nil {
		return nil, fmt.Errorf("inbound: gateway %s: %w", name, err)
	}
	g := &Gateway{}
	if err := json.Unmarshal([]byte(cfg), g); err != nil {
		return nil, fmt.Errorf("inbound: gateway %s: %w", name, err)
	}
	if g.Secret, err = db.seal.Open("inbound:"+name, secret); err != nil {
		return nil, fmt.Errorf("inbound: gateway %s secret: %w", name, err)
	}
	if err := g.parse(); err != nil {
		return nil, fmt.Errorf("inbound: gateway %s: %w", name, err)
	}
	return g, nil
}

// PutGateway stores g's settings, its secret sealed.
func (db *DB) PutGateway(ctx context.Context, g *Gateway) error {
	cfg, err := json.Marshal(g)
	if err != nil {
		return err
	}
	_, err = db.pools.Write.ExecContext(ctx, `INSERT INTO inbound_gateways (gateway, config, secret, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (gateway) DO UPDATE SET config = excluded.config, secret = excluded.secret, updated_at = excluded.updated_at`,
		g.Name, string(cfg), db.seal.Seal("inbound:"+g.Name, g.Secret), ms(g.CreatedAt), ms(g.UpdatedAt))
	if err != nil {
		return fmt.Errorf("inbound: put gateway %s: %w", g.Name, err)
	}
	return nil
}

// Outcome is what processing an event came to: the answer every copy of
// the event gets.
type Outcome struct {
	// Status is the HTTP status of the answer.
	Status int `json:"status"`
	// Code is the error code ("" on success).
	Code    string `json:"code,omitempty"`
	Message string `json:"message"`
	// OrderID is the order acted on; OrderReference the reference the
	// event gave, for a 404; TopupID the top-up acted on.
	OrderID        *int64   `json:"order_id"`
	OrderReference string   `json:"order_reference,omitempty"`
	TopupID        string   `json:"topup_id,omitempty"`
	RulesEvaluated int      `json:"rules_evaluated"`
	RulesTriggered int      `json:"rules_triggered"`
	Actions        []string `json:"actions_executed"`
	// Result is a SelfApplier's own word for what the attempt did
	// (WeGetFinancing: applied, ignored, review, retrying); "" otherwise.
	Result string `json:"result,omitempty"`
}

// Record is one received event as stored.
type Record struct {
	ID            int64     `json:"id"`
	Gateway       string    `json:"gateway"`
	ProviderID    string    `json:"provider_event_id"`
	EventType     string    `json:"event_type"`
	Event         Event     `json:"event"`
	Body          []byte    `json:"-"`
	Test          bool      `json:"test"`
	State         string    `json:"state"`
	Attempts      int       `json:"attempts"`
	NextAttemptAt time.Time `json:"next_attempt_at,omitzero"`
	Outcome       *Outcome  `json:"outcome,omitempty"`
	LastError     string    `json:"last_error,omitempty"`
	DeadReason    string    `json:"dead_reason,omitempty"`
	ReceivedAt    time.Time `json:"received_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// recordAndLog stores ev (received now) unless its provider id is
// already stored, and logs the reception e (for that event) in the same
// commit; it returns the event's row, whether this call created it, and
// the log row.
func (db *DB) recordAndLog(ctx context.Context, ev *Event, body []byte, test bool, now time.Time, e *LogEntry) (id int64, created bool, logID int64, err error) {
	evJSON, err := json.Marshal(ev)
	if err != nil {
		return 0, false, 0, err
	}
	tx, err := db.pools.Write.BeginTx(ctx, nil)
	if err != nil {
		return 0, false, 0, fmt.Errorf("inbound: record event: %w", err)
	}
	defer tx.Rollback()
	err = tx.QueryRowContext(ctx, `INSERT INTO inbound_events (gateway, provider_event_id, event_type, event, body, test, state, next_attempt_at, received_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?) ON CONFLICT (gateway, provider_event_id) DO NOTHING RETURNING id`,
		ev.Gateway, ev.ProviderID, ev.Type, string(evJSON), body, test, ms(now), ms(now), ms(now)).Scan(&id)
	created = err == nil
	if errors.Is(err, sql.ErrNoRows) {
		e.Outcome = OutDuplicate
		err = tx.QueryRowContext(ctx, `SELECT id FROM inbound_events WHERE gateway = ? AND provider_event_id = ?`, ev.Gateway, ev.ProviderID).Scan(&id)
	}
	if err != nil {
		return 0, false, 0, fmt.Errorf("inbound: record event: %w", err)
	}
	e.EventRow = id
	if logID, err = logTx(ctx, tx, e); err != nil {
		return 0, false, 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, false, 0, fmt.Errorf("inbound: record event: %w", err)
	}
	return id, created, logID, nil
}

// settleLog sets log row id from the event's outcome, once it has one.
func (db *DB) settleLog(ctx context.Context, id int64, r *Record, elapsed time.Duration) error {
	status, msg, code := LogPending, "", http.StatusAccepted
	var order *int64
	rules := 0
	if o := r.Outcome; o != nil && r.State != StatePending {
		status, code, order, rules = LogSuccess, o.Status, o.OrderID, o.RulesTriggered
		if o.Status >= 300 {
			status, msg = LogError, o.Message
		}
	}
	_, err := db.pools.Write.ExecContext(ctx, `UPDATE inbound_log SET status = ?, http_status = ?, order_id = ?, rules_triggered = ?, error_message = ?,
		processing_time_ms = ? WHERE id = ?`, status, code, order, rules, msg, elapsed.Milliseconds(), id)
	if err != nil {
		return fmt.Errorf("inbound: settle log %d: %w", id, err)
	}
	return nil
}

const recordCols = `id, gateway, provider_event_id, event_type, event, body, test, state, attempts, next_attempt_at, outcome, last_error, dead_reason, received_at, updated_at`

func scanRecord(row interface{ Scan(...any) error }) (*Record, error) {
	r := &Record{}
	var ev, outcome string
	var next, recv, upd int64
	if err := row.Scan(&r.ID, &r.Gateway, &r.ProviderID, &r.EventType, &ev, &r.Body, &r.Test, &r.State, &r.Attempts, &next, &outcome,
		&r.LastError, &r.DeadReason, &recv, &upd); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(ev), &r.Event); err != nil {
		return nil, fmt.Errorf("inbound: event %d: %w", r.ID, err)
	}
	if outcome != "" {
		r.Outcome = &Outcome{}
		if err := json.Unmarshal([]byte(outcome), r.Outcome); err != nil {
			return nil, fmt.Errorf("inbound: event %d outcome: %w", r.ID, err)
		}
	}
	if r.State == StatePending {
		r.NextAttemptAt = fromMS(next)
	}
	r.ReceivedAt, r.UpdatedAt = fromMS(recv), fromMS(upd)
	return r, nil
}

// Event returns the stored event id. Returns ENotFound.
func (db *DB) Event(ctx context.Context, id int64) (*Record, error) {
	r, err := scanRecord(db.pools.Read.QueryRowContext(ctx, `SELECT `+recordCols+` FROM inbound_events WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, walletd.Errorf(walletd.ENotFound, "Inbound event %d not found.", id)
	} else if err != nil {
		return nil, fmt.Errorf("inbound: event %d: %w", id, err)
	}
	return r, nil
}

// Events lists the events in state (all when ""), of gateway (all when
// ""), newest first, with id < before (0: from the newest), up to limit.
func (db *DB) Events(ctx context.Context, state, gateway string, before int64, limit int) ([]*Record, error) {
	if before <= 0 {
		before = 1<<63 - 1
	}
	rows, err := db.pools.Read.QueryContext(ctx, `SELECT `+recordCols+` FROM inbound_events
		WHERE (? = '' OR state = ?) AND (? = '' OR gateway = ?) AND id < ? ORDER BY id DESC LIMIT ?`,
		state, state, gateway, gateway, before, limit)
	if err != nil {
		return nil, fmt.Errorf("inbound: events: %w", err)
	}
	defer rows.Close()
	var out []*Record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// due returns the ids of pending events whose time has come.
func (db *DB) due(ctx context.Context, now time.Time, limit int) ([]int64, error) {
	rows, err := db.pools.Read.QueryContext(ctx, `SELECT id FROM inbound_events WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`, ms(now), limit)
	if err != nil {
		return nil, fmt.Errorf("inbound: due events: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// finish stores the result of an attempt and settles the log rows of
// the event that were pending.
func (db *DB) finish(ctx context.Context, r *Record, now time.Time, elapsed time.Duration) error {
	outcome, err := json.Marshal(r.Outcome)
	if err != nil {
		return err
	}
	tx, err := db.pools.Write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("inbound: finish event %d: %w", r.ID, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE inbound_events SET state = ?, attempts = ?, next_attempt_at = ?, outcome = ?, last_error = ?, dead_reason = ?, updated_at = ? WHERE id = ?`,
		r.State, r.Attempts, ms(r.NextAttemptAt), string(outcome), r.LastError, r.DeadReason, ms(now), r.ID); err != nil {
		return fmt.Errorf("inbound: finish event %d: %w", r.ID, err)
	}
	if r.State != StatePending {
		status, msg := LogSuccess, ""
		if r.Outcome.Status >= 300 {
			status, msg = LogError, r.Outcome.Message
		}
		if _, err := tx.ExecContext(ctx, `UPDATE inbound_log SET status = ?, http_status = ?, order_id = ?, rules_triggered = ?, error_message = ?,
			processing_time_ms = processing_time_ms + ? WHERE event_row = ? AND status = 'pending'`,
			status, r.Outcome.Status, r.Outcome.OrderID, r.Outcome.RulesTriggered, msg, elapsed.Milliseconds(), r.ID); err != nil {
			return fmt.Errorf("inbound: finish event %d log: %w", r.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("inbound: finish event %d: %w", r.ID, err)
	}
	return nil
}

// setState moves event id from one of states to state to (redrive,
// discard). Returns ENotFound, EConflict.
func (db *DB) setState(ctx context.Context, id int64, to string, now time.Time, from ...string) (*Record, error) {
	r, err := db.Event(ctx, id)
	if err != nil {
		return nil, err
	}
	ok := false
	for _, f := range from {
		ok = ok || r.State == f
	}
	if !ok {
		return nil, walletd.Errorf(walletd.EConflict, "Inbound event %d is %s.", id, r.State)
	}
	res, err := db.pools.Write.ExecContext(ctx, `UPDATE inbound_events SET state = ?, attempts = CASE WHEN ? = 'pending' THEN 0 ELSE attempts END,
		next_attempt_at = ?, updated_at = ? WHERE id = ? AND state = ?`, to, to, ms(now), ms(now), id, r.State)
	if err != nil {
		return nil, fmt.Errorf("inbound: event %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return nil, walletd.Errorf(walletd.EConflict, "Inbound event %d changed meanwhile.", id)
	}
	return db.Event(ctx, id)
}

// LogEntry is one reception in the log.
type LogEntry struct {
	ID               int64     `json:"-"`
	At               time.Time `json:"timestamp"`
	Gateway          string    `json:"gateway"`
	EventRow         int64     `json:"-"`
	ProviderID       string    `json:"provider_event_id,omitempty"`
	EventType        string    `json:"event_type"`
	Status           string    `json:"status"`
	Outcome          string    `json:"outcome"`
	HTTPStatus       int       `json:"http_status"`
	OrderID          *int64    `json:"order_id,omitempty"`
	ProcessingTimeMS int64     `json:"processing_time_ms"`
	RulesTriggered   int       `json:"rules_triggered"`
	ErrorMessage     string    `json:"error_message,omitempty"`
	RemoteIP         string    `json:"remote_ip,omitempty"`
	Test             bool      `json:"test,omitempty"`
	// Direction is "in" for a delivery received, "out" for a call walletd
	// made to the provider (WeGetFinancing's create request).
	Direction string `json:"direction"`
}

// Log directions.
const (
	DirectionIn  = "in"
	DirectionOut = "out"
)

// LogOutbound appends e, a call walletd made to gateway's provider, to
// the log (direction out) and returns its id.
func (db *DB) LogOutbound(ctx context.Context, e *LogEntry) (int64, error) {
	e.Direction = DirectionOut
	return db.log(ctx, e)
}

// Duplicates counts the deliveries of event row id that found it
// recorded.
func (db *DB) Duplicates(ctx context.Context, id int64) (int, error) {
	var n int
	err := db.pools.Read.QueryRowContext(ctx, `SELECT count(*) FROM inbound_log WHERE event_row = ? AND outcome = ?`, id, OutDuplicate).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("inbound: duplicates of %d: %w", id, err)
	}
	return n, nil
}

// log appends e and returns its id.
func (db *DB) log(ctx context.Context, e *LogEntry) (int64, error) {
	return logTx(ctx, db.pools.Write, e)
}

func logTx(ctx context.Context, db interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, e *LogEntry) (int64, error) {
	var row any
	if e.EventRow > 0 {
		row = e.EventRow
	}
	if e.Direction == "" {
		e.Direction = DirectionIn
	}
	res, err := db.ExecContext(ctx, `INSERT INTO inbound_log (at, gateway, event_row, provider_event_id, event_type, status, outcome, http_status, order_id,
		processing_time_ms, rules_triggered, error_message, remote_ip, test, direction) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ms(e.At), e.Gateway, row, e.ProviderID, e.EventType, e.Status, e.Outcome, e.HTTPStatus, e.OrderID, e.ProcessingTimeMS,
		e.RulesTriggered, e.ErrorMessage, e.RemoteIP, e.Test, e.Direction)
	if err != nil {
		return 0, fmt.Errorf("inbound: log: %w", err)
	}
	return res.LastInsertId()
}

// Logs returns the newest receptions of gateway, of status when not "",
// up to limit, and how many there are in all.
func (db *DB) Logs(ctx context.Context, gateway, status string, limit int) ([]*LogEntry, int64, error) {
	var total int64
	if err := db.pools.Read.QueryRowContext(ctx, `SELECT count(*) FROM inbound_log WHERE gateway = ? AND (? = '' OR status = ?)`, gateway, status, status).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("inbound: logs: %w", err)
	}
	rows, err := db.pools.Read.QueryContext(ctx, `SELECT id, at, gateway, coalesce(event_row, 0), provider_event_id, event_type, status, outcome, http_status, order_id,
		processing_time_ms, rules_triggered, error_message, remote_ip, test, direction FROM inbound_log WHERE gateway = ? AND (? = '' OR status = ?) ORDER BY id DESC LIMIT ?`,
		gateway, status, status, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("inbound: logs: %w", err)
	}
	defer rows.Close()
	var out []*LogEntry
	for rows.Next() {
		e := &LogEntry{}
		var at int64
		var order sql.NullInt64
		if err := rows.Scan(&e.ID, &at, &e.Gateway, &e.EventRow, &e.ProviderID, &e.EventType, &e.Status, &e.Outcome, &e.HTTPStatus, &order,
			&e.ProcessingTimeMS, &e.RulesTriggered, &e.ErrorMessage, &e.RemoteIP, &e.Test, &e.Direction); err != nil {
			return nil, 0, err
		}
		e.At = fromMS(at)
		if order.Valid {
			e.OrderID = &order.Int64
		}
		out = append(out, e)
	}
	return out, total, rows.Err()
}

// Stats are a gateway's figures for the management list.
type Stats struct {
	LastReceived *time.Time
	// SuccessRate is the percentage of settled receptions that succeeded
	// (nil when none settled).
	SuccessRate *float64
}

// stats returns gateway's figures.
func (db *DB) stats(ctx context.Context, gateway string) (*Stats, error) {
	var last sql.NullInt64
	var ok, settled int64
	err := db.pools.Read.QueryRowContext(ctx, `SELECT max(at), coalesce(sum(status = 'success'), 0), coalesce(sum(status != 'pending'), 0) FROM inbound_log WHERE gateway = ? AND test = 0 AND direction = 'in'`, gateway).
		Scan(&last, &ok, &settled)
	if err != nil {
		return nil, fmt.Errorf("inbound: stats: %w", err)
	}
	s := &Stats{}
	if last.Valid {
		t := fromMS(last.Int64)
		s.LastReceived = &t
	}
	if settled > 0 {
		r := float64(ok*1000/settled) / 10
		s.SuccessRate = &r
	}
	return s, nil
}

// depth counts the events in state.
func (db *DB) depth(ctx context.Context, state string) (int64, error) {
	var n int64
	err := db.pools.Read.QueryRowContext(ctx, `SELECT count(*) FROM inbound_events WHERE state = ?`, state).Scan(&n)
	return n, err
}

// pruneLog deletes the oldest log rows beyond the newest max.
func (db *DB) pruneLog(ctx context.Context, max int64) error {
	_, err := db.pools.Write.ExecContext(ctx, `DELETE FROM inbound_log WHERE id <= (SELECT max(id) FROM inbound_log) - ?`, max)
	return err
}
