package http

import (
	"context"
	"net/http"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/health"
)

// readyBody is /readyz's answer once the lag is measured: ready or not,
// with every part's lag.
type readyBody struct {
	Success bool         `json:"success"`
	Code    string       `json:"code,omitempty"`
	Message string       `json:"message,omitempty"`
	Data    *readyStatus `json:"data,omitempty"`
	Lag     []health.Lag `json:"lag,omitempty"`
}

type readyStatus struct {
	Status string       `json:"status"`
	Lag    []health.Lag `json:"lag"`
}

// readyLag answers /readyz from the lag of the parts that follow the
// ledger: 503 unavailable, with each part's lag, while any is behind by
// more than its bound.
func (s *Server) readyLag(ctx context.Context, w http.ResponseWriter, r *http.Request) {
	lags, ready, err := s.Lag.Check(ctx)
	if err != nil {
		s.Logger.Warn("not ready", walletd.LogError, err)
		s.Error(w, r, walletd.Errorf(walletd.EUnavailable, "The lag behind the ledger cannot be measured."))
		return
	}
	if !ready {
		msg := "Not ready: " + health.Describe(lags) + "."
		s.Logger.Debug("not ready", "reason", msg)
		writeJSON(w, ErrorStatus(walletd.EUnavailable), readyBody{Code: walletd.EUnavailable, Message: msg, Lag: lags})
		return
	}
	writeJSON(w, http.StatusOK, readyBody{Success: true, Data: &readyStatus{Status: "ready", Lag: lags}})
}
