// Package client implements walletd's service interfaces over its native
// HTTP API (/v1), as benbjohnson/wtf's http package does for its CLI: the
// `walletd webhook` commands and `walletd bench` talk to a running server
// through it instead of building requests of their own.
//
// Every answer of the API is an envelope: {"success": true, "data": …} or
// {"success": false, "code": …, "message": …}. The client decodes data into
// the domain types of package walletd and turns an error envelope back into
// a *walletd.Error with the same code (wrapped in an *Error that keeps the
// HTTP status), so walletd.ErrorCode works on what it returns as it does on
// the server's own errors.
//
// The JSON shapes of the requests and answers are defined here once, in
// the file of their concept (webhook.go, wallet.go); the exported ones are
// those a caller may print as the API shows them (walletd webhook --json).
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// DefaultTimeout bounds one request of a Client without an HTTPClient.
const DefaultTimeout = 30 * time.Second

// MaxResponseBytes is the largest answer the client reads. The API's
// largest answers (a delivery with its payload, a page of entries) are far
// below it.
const MaxResponseBytes = 16 << 20

// defaultHTTPClient is used by clients without an HTTPClient. It follows no
// redirect, so the bearer token goes to BaseURL and nowhere else.
var defaultHTTPClient = &http.Client{Timeout: DefaultTimeout, CheckRedirect: NoRedirect}

// NoRedirect is a CheckRedirect function that follows no redirect: the
// redirect answer itself is returned, and the client reports it as an
// answer that is not walletd's.
func NoRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// Client is a connection to one walletd API. Set the fields, then use its
// services; it is safe for concurrent use.
type Client struct {
	// BaseURL is the API's scheme and host, such as http://127.0.0.1:8080;
	// a trailing slash is ignored.
	BaseURL string
	// Token is the bearer token sent with every request (an API key
	// "wdk_<id>.<secret>").
	Token string
	// HTTPClient sends the requests; nil: one with DefaultTimeout that
	// follows no redirect.
	HTTPClient *http.Client
}

// NewClient returns a client of the API at baseURL that authenticates with
// token.
func NewClient(baseURL, token string) *Client {
	return &Client{BaseURL: baseURL, Token: token}
}

// WebhookService returns the webhook endpoints of the API as a
// walletd.WebhookService.
func (c *Client) WebhookService() *WebhookService { return &WebhookService{Client: c} }

// WalletService returns the wallet writes of the API as a
// walletd.Submitter.
func (c *Client) WalletService() *WalletService { return &WalletService{Client: c} }

func (c *Client) httpClient() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return defaultHTTPClient
}

// CloseIdleConnections closes the idle keep-alive connections of the
// client's HTTPClient.
func (c *Client) CloseIdleConnections() { c.httpClient().CloseIdleConnections() }

// request is one call of the API.
type request struct {
	method string
	path   string // from the root, with its query: /v1/webhook-endpoints/whe_…
	body   any    // encoded as JSON; nil: no body
	// idempotencyKey is sent as Idempotency-Key when not empty.
	idempotencyKey string
}

// response is the outcome of a call that succeeded.
type response struct {
	// replayed is the Idempotent-Replayed header: the answer is the stored
	// outcome of an earlier request with the same Idempotency-Key.
	replayed bool
}

// send sends r and returns the HTTP response with its body still to read;
// the caller closes it. It returns transport errors as the *url.Error of
// net/http, which names the method and the URL.
func (c *Client) send(ctx context.Context, r *request) (*http.Response, error) {
	var rd io.Reader
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return nil, err
		}
		// A *bytes.Reader lets net/http set Content-Length and resend the
		// body when a kept-alive connection turns out to be closed.
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, strings.TrimSuffix(c.BaseURL, "/")+r.path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", r.idempotencyKey)
	}
	return c.httpClient().Do(req)
}

// envelope is every answer of the native API.
type envelope struct {
	Success bool   `json:"success"`
	Code    string `json:"code"`
	Message string `json:"message"`
	// Data is a pointer to the value that data decodes into, or nil to
	// skip it.
	Data any `json:"data"`
}

// bufPool holds the buffers answers are read into, so a busy client (the
// bench's workers) does not allocate one per answer.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// do sends r and decodes the data of a successful answer into out (a
// pointer, or nil to skip it). An error answer is returned as an *Error.
func (c *Client) do(ctx context.Context, r *request, out any) (*response, error) {
	resp, err := c.send(ctx, r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	buf := bufPool.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 1<<20 { // do not keep the rare huge answer alive
			buf.Reset()
			bufPool.Put(buf)
		}
	}()
	buf.Reset()
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, MaxResponseBytes)); err != nil {
		return nil, err
	}
	env := envelope{Data: out}
	if err := json.Unmarshal(buf.Bytes(), &env); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && resp.StatusCode < 300 {
			return nil, fmt.Errorf("%s %s: decode the answer: %w", r.method, r.path, err)
		}
		return nil, newError(r, resp.StatusCode, "", "")
	}
	if resp.StatusCode >= 300 || !env.Success {
		return nil, newError(r, resp.StatusCode, env.Code, env.Message)
	}
	return &response{replayed: resp.Header.Get("Idempotent-Replayed") == "true"}, nil
}

// exec sends r and reads a successful answer to the end without decoding
// it; an error answer is returned as an *Error.
func (c *Client) exec(ctx context.Context, r *request) error {
	resp, err := c.send(ctx, r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		// Read to the end, so the connection is kept alive and reused.
		_, err := io.Copy(io.Discard, io.LimitReader(resp.Body, MaxResponseBytes))
		return err
	}
	return readError(r, resp)
}

// formatTime renders t as the API does: RFC 3339 in UTC with as many
// fractional digits as needed, "" for the zero time.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// parseTime parses a time formatted by formatTime; "" is the zero time.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}
