package client

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/walletd/walletd"
)

// Error is an answer of the API that is not a success. It wraps the
// *walletd.Error the answer carries, so walletd.ErrorCode and errors.As
// see the server's code (ENotFound for a 404, EConflict for a 409 …), and
// it keeps the HTTP status for callers that show or count it.
type Error struct {
	Method     string // the request's method
	Path       string // the request's path and query
	StatusCode int    // the HTTP status of the answer
	// Err is the error of the answer's envelope; nil when the answer is
	// not walletd's (not JSON, or no error code: a proxy's error page).
	Err *walletd.Error
}

// Error returns the server's message with the status and the code, as
// `walletd webhook` prints it: "Webhook endpoint "x" not found. (HTTP 404
// not_found)".
func (e *Error) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("%s %s: HTTP %d, not a walletd answer", e.Method, e.Path, e.StatusCode)
	}
	return fmt.Sprintf("%s (HTTP %d %s)", e.Err.Message, e.StatusCode, e.Err.Code)
}

// Unwrap returns the *walletd.Error of the answer, or nil.
func (e *Error) Unwrap() error {
	if e.Err == nil {
		return nil
	}
	return e.Err
}

// Code returns the error code of the answer, or "" when it has none.
func (e *Error) Code() string {
	if e.Err == nil {
		return ""
	}
	return e.Err.Code
}

// Message returns the error message of the answer, or "" when it has none.
func (e *Error) Message() string {
	if e.Err == nil {
		return ""
	}
	return e.Err.Message
}

// newError returns the error of an answer to r with status and the code and
// message of its envelope.
func newError(r *request, status int, code, message string) *Error {
	e := &Error{Method: r.method, Path: r.path, StatusCode: status}
	if code != "" {
		e.Err = &walletd.Error{Code: code, Message: message}
	}
	return e
}

// maxErrorBytes bounds the error answer read by exec: walletd's are a few
// hundred bytes.
const maxErrorBytes = 64 << 10

// readError reads the error answer resp to r and returns it as an *Error.
func readError(r *request, resp *http.Response) error {
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBytes))
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body) // the rest, if any, so the connection is reused
	var env envelope
	if json.Unmarshal(b, &env) != nil {
		return newError(r, resp.StatusCode, "", "")
	}
	return newError(r, resp.StatusCode, env.Code, env.Message)
}
