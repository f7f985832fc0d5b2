package http

import (
	"net/http"

	"github.com/walletd/walletd"

	"github.com/gorilla/mux"
	"github.com/walletd/walletd/ledger"
)

// KYC over HTTP: an admin sets a wallet's KYC status, and the KYC settings
// of a currency: the thresholds above which outgoing operations of
// wallets not verified are refused.

func (s *Server) registerKYCRoutes(handle handleFunc) {
	admin := walletd.ScopeAdmin
	handle("PUT", "/v1/wallets/{id}/kyc", admin, s.handleSetKYC)
	handle("GET", "/v1/settings/kyc", admin, getSettings(s, walletd.ObjKYCSettings, kycSettingsToJSON))
	handle("PUT", "/v1/settings/kyc", admin, putSettings(s, func() walletd.Command { return new(ledger.SetKYCSettings) }, kycSettingsToJSON))
}

func (s *Server) handleSetKYC(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Status string `json:"status"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	s.applySetting(w, r, &ledger.SetKYC{WalletID: mux.Vars(r)["id"], Status: req.Status}, func(ws *walletSetting, m map[string]string) {
		ws.KYCStatus = m["kyc_status"]
	}, func(ws *walletSetting, wal *walletd.Wallet) {
		ws.KYCStatus = wal.Features.KYC()
	})
}

// kycSettingsJSON are the KYC settings of a currency as the API shows
// them.
type kycSettingsJSON struct {
	Currency            string `json:"currency"`
	Threshold           string `json:"threshold"`
	CumulativeThreshold string `json:"cumulative_threshold,omitempty"`
	UpdatedAt           string `json:"updated_at"`
	written
}

func kycSettingsToJSON(k *walletd.KYCSettings, wr written) *kycSettingsJSON {
	return &kycSettingsJSON{Currency: k.Currency, Threshold: k.Threshold.String(), CumulativeThreshold: k.CumulativeThreshold.String(),
		UpdatedAt: timeJSON(k.UpdatedAt), written: wr}
}
