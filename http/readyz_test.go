package http_test

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"

	whttp "github.com/walletd/walletd/http"
	"github.com/walletd/walletd/walletdtest"
)

// TestServer_ReadyzAlert checks that /readyz is not ready while the relay's
// alert is raised.
func TestServer_ReadyzAlert(t *testing.T) {
	l := walletdtest.MustOpenLedger(t, nil)
	var alert atomic.Pointer[error]
	s := &whttp.Server{Addr: "127.0.0.1:0", Writer: l.Writer, Ledger: l.DB, APIKeys: l.DB,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Alert: func() error {
			if p := alert.Load(); p != nil {
				return *p
			}
			return nil
		}}
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	status := func() int {
		resp, err := http.Get(s.URL() + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := status(); got != 200 {
		t.Fatalf("no alert: %d, want 200", got)
	}
	err := errors.New("relay: forged message")
	alert.Store(&err)
	if got := status(); got != 503 {
		t.Fatalf("alert: %d, want 503", got)
	}
}
