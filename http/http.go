// Package http serves walletd's HTTP API with gorilla/mux: the native /v1
// API, health and readiness probes and Prometheus metrics.
package http

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/walletd/walletd"

	"github.com/gorilla/mux"
	"github.com/walletd/walletd/health"
	"github.com/walletd/walletd/http/plugin"
	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/webhooks/inbound"
)

// MaxBodyBytes is the largest request body any endpoint accepts.
const MaxBodyBytes = 1 << 20

// Server is the HTTP server. Set the fields, then Open.
type Server struct {
	Addr       string
	Writer     walletd.Submitter
	Ledger     walletd.LedgerReader
	APIKeys    walletd.APIKeyService
	Currencies *walletd.Currencies
	// Verify runs the full chain verification for GET /v1/ledger/verify.
	Verify func(ctx context.Context) (*ledger.VerifyReport, error)
	// Alert, if set, makes /readyz not ready while it returns an error:
	// the relay found a message in the stream that walletd did not write.
	Alert func() error
	// Lag, if set, makes /readyz not ready while a part that follows the
	// ledger (the relay, the projector) is behind by more than its bound,
	// and reports each part's lag.
	Lag *health.Checker
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
	Webhooks walletd.WebhookService
	// Checkout configures the reset-fee links and payment pages; nil
	// takes the defaults (checkout.go).
	Checkout *Checkout
	// Plugin serves the plugin order API under /plugin and /api/plugin,
	// and PluginKeys its keys under /v1/plugin-keys; nil leaves them
	// answering 503.
	Plugin     *plugin.API
	PluginKeys walletd.PluginStore
	// Financing serves consumer financing (docs/financing.md); nil leaves
	// its routes answering 503.
	Financing FinancingService
	// Inbound receives the payment gateways' webhooks; nil leaves their
	// routes answering 503.
	Inbound *inbound.Pipeline

	ln     net.Listener
	srv    *http.Server
	router *mux.Router
	hot    hotRouter
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
		s.Currencies = walletd.DefaultCurrencies()
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
		Handler:           &s.hot,
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
			s.Logger.Error("http serve", walletd.LogError, err)
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
func (s *Server) Handler() http.Handler { return &s.hot }

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
		s.Error(w, r, walletd.Errorf(walletd.ENotFound, "No route for %s %s.", walletd.QuoteInput(r.Method), walletd.QuoteInput(r.URL.Path)))
	}))
	r.MethodNotAllowedHandler = s.instrument("method_not_allowed", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.Error(w, r, walletd.Errorf(EMethodNotAllowed, "Method %s is not allowed on %s.", walletd.QuoteInput(r.Method), walletd.QuoteInput(r.URL.Path)))
	}))

	handle := func(method, path, scope string, h http.HandlerFunc) {
		var hh http.Handler = h
		if scope != "" {
			hh = s.authorize(scope, hh)
		}
		hh = s.instrument(path, hh)
		r.Handle(path, hh).Methods(method)
		s.hot.register(method, path, hh)
	}
	handle("GET", "/healthz", "", s.handleHealthz)
	handle("GET", "/readyz", "", s.handleReadyz)
	handle("GET", "/livez", "", s.handleHealthz)
	r.Handle("/metrics", s.instrument("/metrics", s.Metrics.Handler())).Methods("GET")

	// One register function per file, in the order of the API document.
	s.registerWalletRoutes(handle)
	s.registerTransferRoutes(handle)
	s.registerTopupRoutes(handle)
	s.registerWithdrawalRoutes(handle)
	s.registerLimitsRoutes(handle)
	s.registerKYCRoutes(handle)
	s.registerAutoReloadRoutes(handle)
	s.registerRedemptionRoutes(handle)
	s.registerRewardRoutes(handle)
	s.registerProductRoutes(handle)
	s.registerOrderRoutes(handle)
	s.registerLedgerRoutes(handle)
	s.registerAPIKeyRoutes(handle)
	s.registerHistoryRoutes(handle)
	s.registerWebhookRoutes(handle)
	s.registerResetFeeRoutes(handle)
	s.registerCheckoutRoutes(handle)
	s.registerPluginRoutes(r, handle)
	s.registerFinancingRoutes(handle)
	s.registerInboundRoutes(handle)
	s.registerDocRoutes(r)
	s.hot.router = r
	return r
}

// handleFunc registers handler h for method and path, behind an API key
// with scope unless scope is "" (the probes).
type handleFunc func(method, path, scope string, h http.HandlerFunc)

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "data": map[string]string{"status": "ok"}})
}

func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.Ledger.Ping(ctx); err != nil {
		s.Logger.Warn("not ready", walletd.LogError, err)
		s.Error(w, r, walletd.Errorf(walletd.EUnavailable, "The ledger database does not answer."))
		return
	}
	if s.Alert != nil {
		if err := s.Alert(); err != nil {
			s.Logger.Error("not ready", walletd.LogError, err)
			s.Error(w, r, walletd.Errorf(walletd.EUnavailable, "The event stream holds a message walletd did not write: see the relay's alert in the log."))
			return
		}
	}
	if s.Lag != nil {
		s.readyLag(ctx, w, r)
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
	walletd.EInvalid:             http.StatusBadRequest,
	walletd.EInvalidAmount:       http.StatusBadRequest,
	walletd.EInvalidCurrency:     http.StatusBadRequest,
	EInvalidJSON:                 http.StatusBadRequest,
	EUnauthorized:                http.StatusUnauthorized,
	EForbidden:                   http.StatusForbidden,
	walletd.ENotFound:            http.StatusNotFound,
	EMethodNotAllowed:            http.StatusMethodNotAllowed,
	walletd.EWalletExists:        http.StatusConflict,
	walletd.EIdempotencyConflict: http.StatusConflict,
	walletd.EConflict:            http.StatusConflict,
	EBodyTooLarge:                http.StatusRequestEntityTooLarge,
	walletd.ECurrencyMismatch:    http.StatusUnprocessableEntity,
	walletd.EInsufficientFunds:   http.StatusUnprocessableEntity,
	walletd.EWalletFrozen:        http.StatusUnprocessableEntity,
	walletd.ESpendingLimit:       http.StatusUnprocessableEntity,
	walletd.EKYCRequired:         http.StatusUnprocessableEntity,
	walletd.ECodeExpired:         http.StatusUnprocessableEntity,
	walletd.ECodeExhausted:       http.StatusUnprocessableEntity,
	walletd.ECodeUsed:            http.StatusUnprocessableEntity,
	walletd.EUnavailable:         http.StatusServiceUnavailable,
	EProjectionLagging:           http.StatusServiceUnavailable,
	walletd.EInternal:            http.StatusInternalServerError,
	walletd.EProvider:            http.StatusBadGateway,
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
	code, msg := walletd.ErrorCode(err), walletd.ErrorMessage(err)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		code, msg = walletd.EUnavailable, "The request was cancelled or timed out."
	}
	if code == walletd.EInternal {
		s.Logger.Error("internal error", walletd.LogRequestID, requestID(r.Context()), walletd.LogError, err)
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
	if a, ok := data.(jsonAppender); ok {
		writeAppended(w, status, a)
		return
	}
	writeJSON(w, status, okBody{Success: true, Data: data})
}

// timeJSON formats a time of an answer: RFC 3339 in UTC with the
// fraction it has, "" for the zero time (left out with omitempty).
func timeJSON(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
