package financing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/sqlitedb"
	"github.com/walletd/walletd/webhooks"
)

// Store keeps the financing settings, the requests and the refunds of
// top-ups in webhooks.db (migrations 00004, 00005), with the password
// sealed by the webhooks key; the postbacks are the inbound pipeline's
// (inbound_events). It opens its own connections to the file; SQLite's locking and
// busy timeout let it share the file with the webhook service.
type Store struct {
	pools *sqlitedb.DB
	seal  *webhooks.Sealer
}

// sealAD binds the sealed password to its row.
const sealAD = "financing"

// OpenStore opens (creating and migrating) webhooks.db at path. seal seals
// the password; nil stores it as it is (tests only).
func OpenStore(ctx context.Context, path string, seal *webhooks.Sealer) (*Store, error) {
	pools, err := sqlitedb.Open(ctx, path, sqlitedb.Options{Migrations: "webhooks", Synchronous: sqlitedb.SyncFull})
	if err != nil {
		return nil, err
	}
	return &Store{pools: pools, seal: seal}, nil
}

// Close closes the connections.
func (s *Store) Close() error { return s.pools.Close() }

// credentials are the stored settings with the password opened.
type credentials struct {
	walletd.FinancingSettings
	Password string
}

// errNotConfigured is the error of every use of financing before an admin
// configured it.
func errNotConfigured() error {
	return walletd.Errorf(walletd.EConflict, "Financing is not configured: an admin sets it with PUT /v1/financing/settings (or walletd financing settings set).")
}

// settings returns the stored settings, or errNotConfigured.
func (s *Store) settings(ctx context.Context) (*credentials, error) {
	var c credentials
	var updated int64
	err := s.pools.Read.QueryRowContext(ctx, `SELECT api_url, merchant_id, username, password, min_amount, max_amount, currency,
		success_url, failure_url, updated_at FROM financing_settings WHERE id = 1`).Scan(&c.APIURL, &c.MerchantID, &c.Username,
		&c.Password, &c.MinAmount, &c.MaxAmount, &c.Currency, &c.SuccessURL, &c.FailureURL, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotConfigured()
	} else if err != nil {
		return nil, fmt.Errorf("financing: read settings: %w", err)
	}
	if s.seal != nil {
		if c.Password, err = s.seal.Open(sealAD, c.Password); err != nil {
			return nil, fmt.Errorf("financing: password: %w: set the settings again", err)
		}
	}
	c.PasswordSet, c.UpdatedAt = c.Password != "", fromMS(updated)
	return &c, nil
}

// putSettings stores c (password in clear; sealed here).
func (s *Store) putSettings(ctx context.Context, c *credentials) error {
	pw := c.Password
	if s.seal != nil {
		pw = s.seal.Seal(sealAD, pw)
	}
	_, err := s.pools.Write.ExecContext(ctx, `INSERT INTO financing_settings (id, api_url, merchant_id, username, password,
		min_amount, max_amount, currency, success_url, failure_url, updated_at) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET api_url = excluded.api_url, merchant_id = excluded.merchant_id, username = excluded.username,
		password = excluded.password, min_amount = excluded.min_amount, max_amount = excluded.max_amount, currency = excluded.currency,
		success_url = excluded.success_url, failure_url = excluded.failure_url, updated_at = excluded.updated_at`,
		c.APIURL, c.MerchantID, c.Username, pw, c.MinAmount, c.MaxAmount, c.Currency, c.SuccessURL, c.FailureURL, ms(c.UpdatedAt))
	if err != nil {
		return fmt.Errorf("financing: store settings: %w", err)
	}
	return nil
}

const requestCols = `reference, kind, state, COALESCE(request_token, ''), href, amount, currency, claimed_at, created_at,
	attempts, last_error, duration_ms`

type requestRow struct {
	walletd.FinancingRequest
	ClaimedAt time.Time
}

func scanRequest(row interface{ Scan(...any) error }) (*requestRow, error) {
	var r requestRow
	var amount string
	var claimed, created int64
	if err := row.Scan(&r.Reference, &r.Kind, &r.State, &r.RequestToken, &r.Href, &amount, &r.Currency, &claimed, &created,
		&r.Attempts, &r.LastError, &r.DurationMS); err != nil {
		return nil, err
	}
	scale := int32(0)
	if i := strings.IndexByte(amount, '.'); i >= 0 {
		scale = int32(len(amount) - i - 1)
	}
	m, err := walletd.ParseMoney(amount, scale)
	if err != nil {
		return nil, fmt.Errorf("financing: stored amount %q: %w", amount, err)
	}
	r.Amount, r.ClaimedAt, r.CreatedAt = m, fromMS(claimed), fromMS(created)
	return &r, nil
}

// claim takes the request of reference for the caller: it returns
// claimed when the caller is to send it (no row, a refused one, or a
// claim older than lease that never got an answer), else the stored row
// (created, or a send in progress).
func (s *Store) claim(ctx context.Context, ref, kind string, amount walletd.Money, currency string, now time.Time, lease time.Duration) (row *requestRow, claimed bool, err error) {
	tx, err := s.pools.Write.BeginTx(ctx, nil) // _txlock=immediate: one claim at a time
	if err != nil {
		return nil, false, fmt.Errorf("financing: claim: %w", err)
	}
	defer tx.Rollback()
	row, err = scanRequest(tx.QueryRowContext(ctx, `SELECT `+requestCols+` FROM financing_requests WHERE reference = ?`, ref))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		_, err = tx.ExecContext(ctx, `INSERT INTO financing_requests (reference, kind, state, amount, currency, claimed_at)
			VALUES (?, ?, 'sending', ?, ?, ?)`, ref, kind, amount.String(), currency, ms(now))
	case err != nil:
	case row.State == "created" || (row.State == "sending" && now.Sub(row.ClaimedAt) < lease):
		return row, false, nil
	default: // refused, or a claim whose sender never got an answer: send again
		_, err = tx.ExecContext(ctx, `UPDATE financing_requests SET state = 'sending', claimed_at = ?, amount = ?, currency = ?,
			attempts = attempts + 1 WHERE reference = ?`, ms(now), amount.String(), currency, ref)
	}
	if err == nil {
		err = tx.Commit()
	}
	if err != nil {
		return nil, false, fmt.Errorf("financing: claim %s: %w", ref, err)
	}
	return nil, true, nil
}

// created records the provider's answer to a claimed request, and how
// long the call took.
func (s *Store) created(ctx context.Context, ref, token, href string, now time.Time, d time.Duration) error {
	res, err := s.pools.Write.ExecContext(ctx, `UPDATE financing_requests SET state = 'created', request_token = ?, href = ?, created_at = ?,
		last_error = '', duration_ms = ? WHERE reference = ? AND state = 'sending'`, token, href, ms(now), d.Milliseconds(), ref)
	if err != nil {
		return fmt.Errorf("financing: record request %s: %w", ref, sqlitedb.FormatError(err))
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("financing: record request %s: the claim is gone", ref)
	}
	return nil
}

// failed records a call without a request: refused (the provider
// refused it: the next call sends again), or without an answer (the
// claim stays until its lease ends). msg says why, d how long it took.
func (s *Store) failed(ctx context.Context, ref string, refused bool, msg string, d time.Duration) error {
	state := "sending"
	if refused {
		state = "refused"
	}
	_, err := s.pools.Write.ExecContext(ctx, `UPDATE financing_requests SET state = ?, last_error = ?, duration_ms = ?
		WHERE reference = ? AND state = 'sending'`, state, msg, d.Milliseconds(), ref)
	if err != nil {
		return fmt.Errorf("financing: record the failed request %s: %w", ref, err)
	}
	return nil
}

// request returns the created request of a reference or ("" reference)
// of a request token. Returns ENotFound.
func (s *Store) request(ctx context.Context, ref, token string) (*walletd.FinancingRequest, error) {
	q, arg := `SELECT `+requestCols+` FROM financing_requests WHERE state = 'created' AND reference = ?`, ref
	if ref == "" {
		q, arg = `SELECT `+requestCols+` FROM financing_requests WHERE state = 'created' AND request_token = ?`, token
	}
	r, err := scanRequest(s.pools.Read.QueryRowContext(ctx, q, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, walletd.Errorf(walletd.ENotFound, "No financing request for %s.", walletd.QuoteInput(ref+token))
	} else if err != nil {
		return nil, fmt.Errorf("financing: read request: %w", err)
	}
	return &r.FinancingRequest, nil
}

// requests lists the requests in every state, the last called first.
func (s *Store) requests(ctx context.Context, limit int) ([]*walletd.FinancingRequest, error) {
	rows, err := s.pools.Read.QueryContext(ctx, `SELECT `+requestCols+` FROM financing_requests
		ORDER BY claimed_at DESC, reference LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("financing: list requests: %w", err)
	}
	defer rows.Close()
	out := []*walletd.FinancingRequest{}
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, &r.FinancingRequest)
	}
	return out, rows.Err()
}

// refunded returns the refunds of reference already debited, leaving out
// the one of postback eventID (which may be recorded by an attempt that
// crashed before it could say so).
func (s *Store) refunded(ctx context.Context, ref, eventID string) ([]string, error) {
	rows, err := s.pools.Write.QueryContext(ctx, `SELECT amount FROM financing_refunds WHERE reference = ? AND event_id != ?`, ref, eventID)
	if err != nil {
		return nil, fmt.Errorf("financing: refunds of %s: %w", ref, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// addRefund records the refund of postback eventID, once.
func (s *Store) addRefund(ctx context.Context, eventID, ref, amount string, now time.Time) error {
	_, err := s.pools.Write.ExecContext(ctx, `INSERT OR IGNORE INTO financing_refunds (event_id, reference, amount, created_at) VALUES (?, ?, ?, ?)`,
		eventID, ref, amount, ms(now))
	if err != nil {
		return fmt.Errorf("financing: record the refund of %s: %w", ref, err)
	}
	return nil
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}
