package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	whttp "github.com/walletd/walletd/http"
)

// sideServer serves a handler on an address of its own, apart from the
// API: Go's profiles (--pprof-addr) or the metrics of a process with no API
// (walletd projector --metrics-addr). Set the fields, then Open; Close
// stops it.
type sideServer struct {
	Name    string // "pprof", "metrics": starts log messages and errors
	Addr    string
	Handler http.Handler
	Logger  *slog.Logger

	srv *http.Server
}

// Open listens on Addr and serves in a goroutine of its own; a bad or busy
// address fails here.
func (s *sideServer) Open() error {
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("%s: listen %s: %w", s.Name, s.Addr, err)
	}
	s.srv = &http.Server{Handler: s.Handler, ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln)
	s.Logger.Info(s.Name+" serving", "addr", ln.Addr().String())
	return nil
}

// Close stops serving, waiting up to a second for requests in flight.
func (s *sideServer) Close() error {
	if s.srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		s.srv.Close()
		return fmt.Errorf("%s: shutdown: %w", s.Name, err)
	}
	return nil
}

// openMetrics makes the metrics registry of a process without the API
// (walletd projector, walletd dispatcher) and, when addr is set, serves
// it on a side server there; the returned func closes that server.
func openMetrics(addr string, logger *slog.Logger) (*whttp.Metrics, func(), error) {
	metrics := whttp.NewMetrics()
	if addr == "" {
		return metrics, func() {}, nil
	}
	ms := &sideServer{Name: "metrics", Addr: addr, Handler: metrics.Handler(), Logger: logger}
	if err := ms.Open(); err != nil {
		return nil, nil, err
	}
	return metrics, func() { ms.Close() }, nil
}
