package financing

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/walletd/walletd"
)

// request returns the stored request of req's reference, or claims it,
// sends it and stores the answer. Each call of the provider is logged in
// the inbound log (direction out) and, for an order, noted on the
// order's history. returnURL, when not "", is both the success and the
// failure URL.
func (s *Service) request(ctx context.Context, c *credentials, kind string, req *CreateRequest, amount walletd.Money, currency, returnURL string) (*walletd.FinancingRequest, bool, error) {
	ref := req.MerchantTransactionID
	defer s.lock(ref)()
	row, claimed, err := s.Store.claim(ctx, ref, kind, amount, currency, s.Now(), s.Lease)
	if err != nil {
		return nil, false, err
	}
	if !claimed {
		if row.State != "created" {
			return nil, false, walletd.Errorf(walletd.EConflict, "A financing request for %s was sent at %s and has no answer yet: retry after %s.",
				ref, row.ClaimedAt.Format(time.RFC3339), row.ClaimedAt.Add(s.Lease).Format(time.RFC3339))
		}
		s.Metrics.request(ReqReused)
		return &row.FinancingRequest, false, nil
	}
	sh := s.shown(c)
	req.PostbackURL, req.SuccessURL, req.FailureURL = sh.PostbackURL, withRef(sh.SuccessURL, ref), withRef(sh.FailureURL, ref)
	if returnURL != "" {
		req.SuccessURL, req.FailureURL = returnURL, returnURL
	}
	// The call runs to its end even if the caller goes away: its answer
	// must be stored, or the next call would send a second request.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.Timeout)
	defer cancel()
	start := s.Now()
	a, status, err := s.send(cctx, c, req)
	took := s.Now().Sub(start)
	if s.Metrics != nil {
		s.Metrics.RequestTiming.Observe(took.Seconds())
	}
	// Not cctx: what the call did is stored whatever is left of its
	// timeout (an answer that came just before it included).
	sctx := context.WithoutCancel(ctx)
	if err != nil {
		var refused *refusedError
		if errors.As(err, &refused) {
			s.Metrics.request(ReqRefused)
			s.sent(ctx, kind, ref, start, took, status, ReqRefused, "", refused.msg)
			if rerr := s.Store.failed(sctx, ref, true, refused.msg, took); rerr != nil {
				s.Logger.Error("financing: record a refused request", walletd.LogError, rerr)
			}
			s.Logger.Warn("financing request refused", logReference, ref, walletd.LogError, err)
			return nil, false, walletd.Errorf(walletd.EProvider, "%s", refused.msg)
		}
		s.Metrics.request(ReqNoAnswer)
		s.sent(ctx, kind, ref, start, took, status, ReqNoAnswer, "", clip(err.Error()))
		if rerr := s.Store.failed(sctx, ref, false, clip(err.Error()), took); rerr != nil {
			s.Logger.Error("financing: record a request without an answer", walletd.LogError, rerr)
		}
		s.Logger.Warn("financing request without an answer", logReference, ref, walletd.LogError, err)
		return nil, false, walletd.Errorf(walletd.EProvider, "WeGetFinancing did not answer the request for %s (%s); it may have been created: retry after %s.",
			ref, walletd.QuoteInput(err.Error()), s.Now().Add(s.Lease).UTC().Format(time.RFC3339))
	}
	now := s.Now().UTC()
	if err := s.Store.created(sctx, ref, a.RequestToken, a.Href, now, took); err != nil {
		return nil, false, err
	}
	s.Metrics.request(ReqCreated)
	s.Logger.Info("financing request created", logReference, ref, logKind, kind)
	s.sent(ctx, kind, ref, start, took, status, ReqCreated, a.RequestToken, "")
	stored, err := s.Store.request(sctx, ref, "")
	if err != nil {
		return nil, false, err
	}
	if kind == walletd.FinancingOrder {
		id, _ := ParseReference(ref)
		s.noteOrder(ctx, id, MetaRequest, map[string]string{"state": "created", "request_token": stored.RequestToken, "href": stored.Href,
			"amount": stored.Amount.String(), "created_at": stored.CreatedAt.Format(time.RFC3339), "duration_ms": fmt.Sprint(took.Milliseconds())},
			"Financing requested from WeGetFinancing")
	}
	return stored, true, nil
}

// sent logs one call of the provider in the inbound log (direction out:
// its status, timing, order and outcome) and, when it made no request
// for an order, notes that on the order's history. A log that cannot be
// written is logged; it never fails the call.
func (s *Service) sent(ctx context.Context, kind, ref string, start time.Time, took time.Duration, status int, outcome, token, msg string) {
	ctx = context.WithoutCancel(ctx)
	e := &RequestLogEntry{At: start, Kind: kind, Reference: ref, RequestToken: token, HTTPStatus: status, Duration: took, Outcome: outcome, Error: msg}
	if kind == walletd.FinancingOrder {
		e.OrderID, _ = ParseReference(ref)
		if e.OrderID != 0 && outcome != ReqCreated {
			s.noteOrder(ctx, e.OrderID, MetaRequest, map[string]string{"state": outcome, "error": msg, "at": start.UTC().Format(time.RFC3339),
				"duration_ms": fmt.Sprint(took.Milliseconds())}, "The financing request to WeGetFinancing failed")
		}
	}
	if s.Inbound == nil {
		return
	}
	if err := s.Inbound.LogRequest(ctx, e); err != nil {
		s.Logger.Warn("financing: log the request", logReference, ref, walletd.LogError, err)
	}
}

// withRef adds ref to a return URL (?ref=…), so the page can name it.
func withRef(u, ref string) string {
	if u == "" {
		return ""
	}
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	return u + sep + "ref=" + ref
}

// refusedError is a provider's answer that refused a request: nothing was
// created, so the claim is released.
type refusedError struct{ msg string }

func (e *refusedError) Error() string { return e.msg }

// send POSTs req to the provider and reads its answer; status is the
// provider's HTTP status (0 without an answer).
func (s *Service) send(ctx context.Context, c *credentials, req *CreateRequest) (*Answer, int, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, 0, err
	}
	u := c.APIURL + "/merchant/" + c.MerchantID + "/requests"
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, 0, err
	}
	hr.SetBasicAuth(c.Username, c.Password)
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Accept", "application/json")
	resp, err := s.HTTPClient.Do(hr)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, MaxAnswerBytes))
	if err != nil {
		return nil, resp.StatusCode, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		if pe, ok := ParseProviderError(answer); ok {
			msg := pe.Message
			if msg == "" {
				msg = pe.Error
			}
			return nil, resp.StatusCode, &refusedError{msg: fmt.Sprintf("WeGetFinancing refused the request: %s (%s, HTTP %d).", msg, pe.Error, resp.StatusCode)}
		}
		return nil, resp.StatusCode, &refusedError{msg: fmt.Sprintf("WeGetFinancing answered HTTP %d.", resp.StatusCode)}
	}
	a, err := ParseAnswer(answer)
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("the answer is not a created request: %s", walletd.ErrorMessage(err))
	}
	return a, resp.StatusCode, nil
}
