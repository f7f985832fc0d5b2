package http

import (
	"net/http"
	"time"

	"github.com/walletd/walletd"

	"github.com/gorilla/mux"
	"github.com/shopspring/decimal"
	"github.com/walletd/walletd/http/client"
	"github.com/walletd/walletd/ledger"
)

// A wallet's spending limits over HTTP: per transaction, per day and per
// month, and what counts against them now.

func (s *Server) registerLimitsRoutes(handle handleFunc) {
	handle("GET", "/v1/wallets/{id}/limits", walletd.ScopeWalletsRead, s.handleGetLimits)
	handle("PUT", "/v1/wallets/{id}/limits", walletd.ScopeWalletsWrite, s.handleSetLimits)
}

// limitsJSON are a wallet's spending limits as the API shows them.
type limitsJSON = client.LimitsJSON

func limitsToJSON(l walletd.Limits) limitsJSON {
	return limitsJSON{PerTransaction: l.PerTransaction.String(), Daily: l.Daily.String(), Monthly: l.Monthly.String()}
}

func (s *Server) handleSetLimits(w http.ResponseWriter, r *http.Request) {
	var req struct {
		PerTransaction *string `json:"per_transaction"`
		Daily          *string `json:"daily"`
		Monthly        *string `json:"monthly"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	cmd := &ledger.SetLimits{WalletID: mux.Vars(r)["id"], PerTransaction: req.PerTransaction, Daily: req.Daily, Monthly: req.Monthly}
	s.applySetting(w, r, cmd, func(ws *walletSetting, m map[string]string) {
		ws.Limits = &limitsJSON{PerTransaction: m["per_transaction"], Daily: m["daily"], Monthly: m["monthly"]}
	}, func(ws *walletSetting, wal *walletd.Wallet) {
		l := limitsToJSON(wal.Features.Limits)
		ws.Limits = &l
	})
}

// spentJSON is what counts against the daily and monthly limits now.
type spentJSON struct {
	Day     string `json:"day"`     // the current day, YYYY-MM-DD, in the limits' time zone
	Daily   string `json:"daily"`   // spent that day
	Month   string `json:"month"`   // the current month, YYYY-MM
	Monthly string `json:"monthly"` // spent that month
}

func (s *Server) handleGetLimits(w http.ResponseWriter, r *http.Request) {
	wal, err := s.Ledger.Wallet(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		s.Error(w, r, err)
		return
	}
	loc := s.limitLocation()
	now := s.Now().In(loc)
	sc, _ := s.Currencies.Scale(wal.Currency)
	f := &wal.Features
	// A counter of another day or month than the current one is zero.
	spent := func(key string, v walletd.Money, current string) string {
		d := decimal.Zero
		if key == current {
			d = v.Decimal()
		}
		return walletd.FormatAmount(d, sc)
	}
	day, month := now.Format("2006-01-02"), now.Format("2006-01")
	writeData(w, http.StatusOK, struct {
		WalletID string     `json:"wallet_id"`
		Currency string     `json:"currency"`
		TimeZone string     `json:"time_zone"`
		Limits   limitsJSON `json:"limits"`
		Spent    spentJSON  `json:"spent"`
	}{wal.ID, wal.Currency, loc.String(), limitsToJSON(f.Limits),
		spentJSON{Day: day, Daily: spent(f.DayKey, f.DaySpent, day), Month: month, Monthly: spent(f.MonthKey, f.MonthSpent, month)}})
}

// limitLocation is the time zone the spending limits count days in.
func (s *Server) limitLocation() *time.Location {
	if s.LimitLocation == nil {
		return time.UTC
	}
	return s.LimitLocation
}
