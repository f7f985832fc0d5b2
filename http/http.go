// Package http serves walletd's HTTP API with gorilla/mux: the native /v1
// API, health and readiness probes and Prometheus metrics.
package http

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/mux"
	"github.com/walletd/walletd/ledger"
)

// MaxBodyBytes is the largest request body any endpoint accepts.
const MaxBodyBytes = 1 << 20

// Log attribute keys.
const (
	attrRequestID = "request_id"
	attrRoute     = "route"
	attrStatus    = "status"
	attrWalletID  = "wallet_id"
	attrError     = "error"
)

// Submitter applies ledger commands; *ledger.Writer implements it.
type Submitter interface {
	// Submit applies cmd and waits for its commit. See ledger.Writer.Submit.
	Submit(ctx context.Context, idempotencyKey string, cmd ledger.Command) (*ledger.Result, error)
}

// LedgerReader is the read side of the ledger; *sqlite.DB implements it.
type LedgerReader interface {
	// Wallet returns wallet id. Returns ENotFound.
	Wallet(ctx context.Context, id string) (*ledger.Wallet, error)
	// Wallets lists wallets by id after a cursor, optionally of one user.
	Wallets(ctx context.Context, userID, after string, limit int) ([]*ledger.Wallet, error)
	// Entries returns entries with seq > afterSeq in seq order.
	Entries(ctx context.Context, afterSeq uint64, limit int) ([]*ledger.Entry, error)
	// Checkpoints returns checkpoints with seq > afterSeq in seq order.
	Checkpoints(ctx context.Context, afterSeq uint64, limit int) ([]*ledger.Checkpoint, error)
	// Ping checks the database answers.
	Ping(ctx context.Context) error
	// Object returns the committed object of kind (ledger.ObjTopup …) and
	// id, decoded (*ledger.Topup …). Returns ENotFound.
	Object(ctx context.Context, kind, id string) (any, error)
	// Objects lists the committed objects of kind with id > after, in id
	// order, up to limit, decoded.
	Objects(ctx context.Context, kind, after string, limit int) ([]any, error)
}

// Server is the HTTP server. Set the fields, then Open.
type Server struct {
	Addr       string
	Writer     Submitter
	Ledger     LedgerReader
	APIKeys    ledger.APIKeyService
	Currencies *ledger.Currencies
	// Verify runs the full chain verification for GET /v1/ledger/verify.
	Verify func(ctx context.Context) (*ledger.VerifyReport, error)
	// CheckpointPublicKey is served with the checkpoints, PEM encoded.
	CheckpointPublicKey string
	Metrics             *Metrics
	Logger              *slog.Logger
	Now                 func() time.Time
	// ShutdownTimeout bounds Close (default 10 s).
	ShutdownTimeout time.Duration
	// LimitLocation is the time zone the daily and monthly spending limits
	// count in, as the writer's (default UTC).
	LimitLocation *time.Location
	// DefaultCurrency is the currency of settings read without one, as the
	// writer's (default USD).
	DefaultCurrency string
	// Projections serves the read-model endpoints (history, statements,
	// reports); nil leaves them answering 503.
	Projections *Projections
	// Webhooks manages outbound webhook endpoints; nil leaves their
	// routes answering 503.
	Webhooks WebhookService

	ln     net.Listener
	srv    *http.Server
	router *mux.Router
	auth   *authCache
	wg     sync.WaitGroup
}

// Open listens on Addr (failing at once on a bad address) and serves in
// the background.
func (s *Server) Open() error {
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Metrics == nil {
		s.Metrics = NewMetrics()
	}
	if s.Currencies == nil {
		s.Currencies = ledger.DefaultCurrencies()
	}
	if s.LimitLocation == nil {
		s.LimitLocation = time.UTC
	}
	if s.DefaultCurrency == "" {
		s.DefaultCurrency = "USD"
	}
	s.auth = newAuthCache(s.APIKeys, s.Now)
	s.router = s.routes()
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("http: listen %s: %w", s.Addr, err)
	}
	s.ln = ln
	s.srv = &http.Server{
		Handler:           s.router,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.Logger.Handler(), slog.LevelWarn),
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.Logger.Error("http serve", attrError, err)
		}
	}()
	return nil
}

// URL returns the base URL the server listens on.
func (s *Server) URL() string {
	addr := s.ln.Addr().(*net.TCPAddr)
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return fmt.Sprintf("http://%s", net.JoinHostPort(host, fmt.Sprint(addr.Port)))
}

// Handler returns the router, for tests that serve it themselves.
func (s *Server) Handler() http.Handler { return s.router }

// Close stops accepting connections and waits for requests in flight, up
// to ShutdownTimeout.
func (s *Server) Close() error {
	if s.srv == nil {
		return nil
	}
	d := s.ShutdownTimeout
	if d == 0 {
		d = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	s.wg.Wait()
	return err
}

func (s *Server) routes() *mux.Router {
	r := mux.NewRouter()
	r.NotFoundHandler = s.instrument("not_found", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.Error(w, r, ledger.Errorf(ledger.ENotFound, "No route for %s %s.", r.Method, r.URL.Path))
	}))
	r.MethodNotAllowedHandler = s.instrument("method_not_allowed", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.Error(w, r, ledger.Errorf(EMethodNotAllowed, "Method %s is not allowed on %s.", r.Method, r.URL.Path))
	}))

	handle := func(method, path, scope string, h http.HandlerFunc) {
		var hh http.Handler = h
		if scope != "" {
			hh = s.authorize(scope, hh)
		}
		r.Handle(path, s.instrument(path, hh)).Methods(method)
	}
	handle("GET", "/healthz", "", s.handleHealthz)
	handle("GET", "/readyz", "", s.handleReadyz)
	r.Handle("/metrics", s.instrument("/metrics", s.Metrics.Handler())).Methods("GET")

	s.registerWalletRoutes(handle)
	s.registerFeatureRoutes(handle)
	s.registerLedgerRoutes(handle)
	s.registerAPIKeyRoutes(handle)
	s.registerHistoryRoutes(handle)
	s.registerWebhookRoutes(handle)
	s.registerDocRoutes(r)
	return r
}

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "data": map[string]string{"status": "ok"}})
}

func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.Ledger.Ping(ctx); err != nil {
		s.Logger.Warn("not ready", attrError, err)
		s.Error(w, r, ledger.Errorf(ledger.EUnavailable, "The ledger database does not answer."))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "data": map[string]string{"status": "ready"}})
}

// HTTP-only error codes.
const (
	EUnauthorized     = "unauthorized"
	EForbidden        = "forbidden"
	EBodyTooLarge     = "body_too_large"
	EMethodNotAllowed = "method_not_allowed"
	EInvalidJSON      = "invalid_json"
)

// codes maps error codes to HTTP statuses: the one table.
var codes = map[string]int{
	ledger.EInvalid:             http.StatusBadRequest,
	ledger.EInvalidAmount:       http.StatusBadRequest,
	ledger.EInvalidCurrency:     http.StatusBadRequest,
	EInvalidJSON:                http.StatusBadRequest,
	EUnauthorized:               http.StatusUnauthorized,
	EForbidden:                  http.StatusForbidden,
	ledger.ENotFound:            http.StatusNotFound,
	EMethodNotAllowed:           http.StatusMethodNotAllowed,
	ledger.EWalletExists:        http.StatusConflict,
	ledger.EIdempotencyConflict: http.StatusConflict,
	ledger.EConflict:            http.StatusConflict,
	EBodyTooLarge:               http.StatusRequestEntityTooLarge,
	ledger.ECurrencyMismatch:    http.StatusUnprocessableEntity,
	ledger.EInsufficientFunds:   http.StatusUnprocessableEntity,
	ledger.EWalletFrozen:        http.StatusUnprocessableEntity,
	ledger.ESpendingLimit:       http.StatusUnprocessableEntity,
	ledger.EKYCRequired:         http.StatusUnprocessableEntity,
	ledger.ECodeExpired:         http.StatusUnprocessableEntity,
	ledger.ECodeExhausted:       http.StatusUnprocessableEntity,
	ledger.ECodeUsed:            http.StatusUnprocessableEntity,
	ledger.EUnavailable:         http.StatusServiceUnavailable,
	EProjectionLagging:          http.StatusServiceUnavailable,
	ledger.EInternal:            http.StatusInternalServerError,
}

// ErrorStatus returns the HTTP status for an error code.
func ErrorStatus(code string) int {
	if st, ok := codes[code]; ok {
		return st
	}
	return http.StatusInternalServerError
}

// errorBody is the error envelope of every native endpoint.
type errorBody struct {
	Success bool   `json:"success"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error writes err as the error envelope. Internal errors are logged with
// their detail and answered with a generic message.
func (s *Server) Error(w http.ResponseWriter, r *http.Request, err error) {
	code, msg := ledger.ErrorCode(err), ledger.ErrorMessage(err)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		code, msg = ledger.EUnavailable, "The request was cancelled or timed out."
	}
	if code == ledger.EInternal {
		s.Logger.Error("internal error", attrRequestID, requestID(r.Context()), attrError, err)
	}
	writeJSON(w, ErrorStatus(code), errorBody{Code: code, Message: msg})
}

type okBody struct {
	Success bool `json:"success"`
	Data    any  `json:"data"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

func writeData(w http.ResponseWriter, status int, data any) {
	writeJSON(w, status, okBody{Success: true, Data: data})
}

// decodeJSON reads one JSON object from the body into v, refusing unknown
// fields, wrong types, trailing data and bodies over MaxBodyBytes.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if r.ContentLength > MaxBodyBytes {
		return ledger.Errorf(EBodyTooLarge, "The request body is larger than %d bytes.", MaxBodyBytes)
	}
	// The body is parsed as JSON whatever Content-Type says: clients such
	// as curl -d label JSON as a form, and a non-JSON body fails below.
	body := http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return jsonError(err)
		}
		return ledger.Errorf(EInvalidJSON, "The request body must hold exactly one JSON object.")
	}
	return nil
}

func jsonError(err error) error {
	var mbe *http.MaxBytesError
	var ute *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &mbe):
		return ledger.Errorf(EBodyTooLarge, "The request body is larger than %d bytes.", MaxBodyBytes)
	case errors.As(err, &ute):
		if ute.Field == "" {
			return ledger.Errorf(EInvalidJSON, "The request body must be a JSON object.")
		}
		return ledger.Errorf(EInvalidJSON, "Field %q must be a %s, not a JSON %s.", ute.Field, jsonTypeName(ute.Type.Kind().String()), ute.Value)
	case errors.As(err, &se):
		return ledger.Errorf(EInvalidJSON, "Malformed JSON at byte %d.", se.Offset)
	case errors.Is(err, io.EOF):
		return ledger.Errorf(EInvalidJSON, "The request body is empty.")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return ledger.Errorf(EInvalidJSON, "The request body ends in the middle of the JSON.")
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return ledger.Errorf(EInvalidJSON, "Unknown field %s.", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return ledger.Errorf(EInvalidJSON, "Malformed JSON.")
}

func jsonTypeName(kind string) string {
	switch kind {
	case "map", "struct":
		return "object"
	case "slice", "array":
		return "array"
	case "bool":
		return "boolean"
	case "string":
		return "string"
	}
	return "number"
}
