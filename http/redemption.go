package http

import (
	"net/http"

	"github.com/walletd/walletd"

	"github.com/gorilla/mux"
	"github.com/walletd/walletd/ledger"
)

// Redemption codes over HTTP: an admin creates a code worth a fixed
// amount; redeeming it credits a wallet.

func (s *Server) registerRedemptionRoutes(handle handleFunc) {
	admin := walletd.ScopeAdmin
	handle("POST", "/v1/redemption-codes", admin, s.handleCreateCode)
	handle("GET", "/v1/redemption-codes/{id}", admin, getObject(s, walletd.ObjCode, "id", codeToJSON))
	handle("POST", "/v1/wallets/{id}/redeem", walletd.ScopeWalletsWrite, s.handleRedeem)
}

// codeJSON is a redemption code as the API shows it.
type codeJSON struct {
	ID             string `json:"id"`
	Code           string `json:"code"`
	Amount         string `json:"amount"`
	Currency       string `json:"currency"`
	MaxRedemptions int    `json:"max_redemptions"`
	Redemptions    int    `json:"redemptions"`
	PerUserOnce    bool   `json:"per_user_once"`
	ExpiresAt      string `json:"expires_at,omitempty"`
	CreatedAt      string `json:"created_at"`
	written
}

func codeToJSON(c *walletd.RedemptionCode, wr written) *codeJSON {
	out := &codeJSON{ID: c.ID, Code: c.Code, Amount: c.Amount.String(), Currency: c.Currency, MaxRedemptions: c.MaxRedemptions,
		Redemptions: c.Redemptions, PerUserOnce: c.PerUserOnce, CreatedAt: timeJSON(c.CreatedAt), written: wr}
	if c.ExpiresAt != nil {
		out.ExpiresAt = timeJSON(*c.ExpiresAt)
	}
	return out
}

func (s *Server) handleCreateCode(w http.ResponseWriter, r *http.Request) {
	var req ledger.CreateRedemptionCode
	if err := decodeJSON(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	applyObject(s, w, r, http.StatusCreated, &req, codeToJSON)
}

// handleRedeem redeems a code into a wallet and answers the credit.
func (s *Server) handleRedeem(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Code string `json:"code"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	s.applyEntry(w, r, &ledger.Redeem{WalletID: mux.Vars(r)["id"], Code: req.Code})
}
