package http

import (
	"net/http"

	"github.com/walletd/walletd"

	"github.com/gorilla/mux"
	"github.com/walletd/walletd/http/client"
	"github.com/walletd/walletd/ledger"
)

// Auto-reload over HTTP: a wallet's auto-reload starts a top-up when a
// debit takes its balance below a threshold.

func (s *Server) registerAutoReloadRoutes(handle handleFunc) {
	read, write := walletd.ScopeWalletsRead, walletd.ScopeWalletsWrite
	handle("GET", "/v1/wallets/{id}/auto-reload", read, s.handleGetAutoReload)
	handle("PUT", "/v1/wallets/{id}/auto-reload", write, s.handleSetAutoReload(false))
	handle("DELETE", "/v1/wallets/{id}/auto-reload", write, s.handleSetAutoReload(true))
}

// autoReloadJSON is a wallet's auto-reload as the API shows it.
type autoReloadJSON = client.AutoReloadJSON

func autoReloadToJSON(a walletd.AutoReload) autoReloadJSON {
	if !a.Amount.IsSet() {
		return autoReloadJSON{}
	}
	return autoReloadJSON{Enabled: true, Threshold: a.Threshold.String(), Amount: a.Amount.String(), Method: a.Method}
}

func (s *Server) handleSetAutoReload(remove bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Threshold string `json:"threshold"`
			Amount    string `json:"amount"`
			Method    string `json:"method"`
		}
		if !remove {
			if err := decodeJSON(w, r, &req); err != nil {
				s.Error(w, r, err)
				return
			}
		}
		cmd := &ledger.SetAutoReload{WalletID: mux.Vars(r)["id"], Threshold: req.Threshold, Amount: req.Amount, Method: req.Method, Remove: remove}
		s.applySetting(w, r, cmd, func(ws *walletSetting, m map[string]string) {
			ar := autoReloadJSON{}
			if m["amount"] != "" {
				ar = autoReloadJSON{Enabled: true, Threshold: m["threshold"], Amount: m["amount"], Method: m["method"]}
			}
			ws.AutoReload = &ar
		}, func(ws *walletSetting, wal *walletd.Wallet) {
			ar := autoReloadToJSON(wal.Features.AutoReload)
			ws.AutoReload = &ar
		})
	}
}

func (s *Server) handleGetAutoReload(w http.ResponseWriter, r *http.Request) {
	wal, err := s.Ledger.Wallet(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeData(w, http.StatusOK, struct {
		WalletID   string         `json:"wallet_id"`
		AutoReload autoReloadJSON `json:"auto_reload"`
		// PendingTopupID is the top-up the auto-reload started, while
		// it is pending: no other starts until it is completed or failed.
		PendingTopupID string `json:"pending_topup_id,omitempty"`
	}{wal.ID, autoReloadToJSON(wal.Features.AutoReload), wal.Features.ReloadTopupID})
}
