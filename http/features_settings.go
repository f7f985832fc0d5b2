package http

import (
	"net/http"
	"time"

	"github.com/walletd/walletd"

	"github.com/gorilla/mux"
	"github.com/shopspring/decimal"
	"github.com/walletd/walletd/ledger"
)

// Wallet settings (limits, KYC, auto-reload), currency settings and
// redemption codes over HTTP.

// ---------------------------------------------------------------------------
// Wallet settings: spending limits, KYC status, auto-reload

// limitsJSON are a wallet's spending limits; an absent field is no limit.
type limitsJSON struct {
	PerTransaction string `json:"per_transaction,omitempty"`
	Daily          string `json:"daily,omitempty"`
	Monthly        string `json:"monthly,omitempty"`
}

// autoReloadJSON is a wallet's auto-reload; disabled has no other field.
type autoReloadJSON struct {
	Enabled   bool   `json:"enabled"`
	Threshold string `json:"threshold,omitempty"`
	Amount    string `json:"amount,omitempty"`
	Method    string `json:"method,omitempty"`
}

func autoReloadToJSON(a walletd.AutoReload) autoReloadJSON {
	if a.Amount == "" {
		return autoReloadJSON{}
	}
	return autoReloadJSON{Enabled: true, Threshold: a.Threshold, Amount: a.Amount, Method: a.Method}
}

// walletSetting is the answer of a change of a wallet's settings. It is
// rendered from the entry that recorded the change, so that a replay
// answers the same.
type walletSetting struct {
	WalletID   string          `json:"wallet_id"`
	Limits     *limitsJSON     `json:"limits,omitempty"`
	KYCStatus  string          `json:"kyc_status,omitempty"`
	AutoReload *autoReloadJSON `json:"auto_reload,omitempty"`
	written
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
	s.apply(w, r, http.StatusOK, cmd, func(res *walletd.Result) (any, error) {
		e, err := firstEntry(res)
		if err != nil {
			return nil, err
		}
		m := entryMeta(res.Entries, 0)
		return walletSetting{WalletID: e.WalletID, Limits: &limitsJSON{PerTransaction: m["per_transaction"], Daily: m["daily"], Monthly: m["monthly"]},
			written: writtenBy(res.Entries)}, nil
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
	spent := func(key, v, current string) string {
		d := decimal.Zero
		if key == current && v != "" {
			d, _ = decimal.NewFromString(v)
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
	}{wal.ID, wal.Currency, loc.String(), limitsJSON(f.Limits),
		spentJSON{Day: day, Daily: spent(f.DayKey, f.DaySpent, day), Month: month, Monthly: spent(f.MonthKey, f.MonthSpent, month)}})
}

func (s *Server) handleSetKYC(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Status string `json:"status"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	s.apply(w, r, http.StatusOK, &ledger.SetKYC{WalletID: mux.Vars(r)["id"], Status: req.Status}, func(res *walletd.Result) (any, error) {
		e, err := firstEntry(res)
		if err != nil {
			return nil, err
		}
		return walletSetting{WalletID: e.WalletID, KYCStatus: entryMeta(res.Entries, 0)["kyc_status"], written: writtenBy(res.Entries)}, nil
	})
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
		s.apply(w, r, http.StatusOK, cmd, func(res *walletd.Result) (any, error) {
			e, err := firstEntry(res)
			if err != nil {
				return nil, err
			}
			m := entryMeta(res.Entries, 0)
			ar := autoReloadToJSON(walletd.AutoReload{Threshold: m["threshold"], Amount: m["amount"], Method: m["method"]})
			return walletSetting{WalletID: e.WalletID, AutoReload: &ar, written: writtenBy(res.Entries)}, nil
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

// limitLocation is the time zone the spending limits count days in.
func (s *Server) limitLocation() *time.Location {
	if s.LimitLocation == nil {
		return time.UTC
	}
	return s.LimitLocation
}

// currencyParam returns the currency query parameter, the default
// currency when it is absent. Returns EInvalidCurrency.
func (s *Server) currencyParam(r *http.Request) (string, error) {
	c := r.URL.Query().Get("currency")
	if c == "" {
		c = s.DefaultCurrency
		if c == "" {
			c = "USD"
		}
	}
	if _, err := s.Currencies.Scale(c); err != nil {
		return "", err
	}
	return c, nil
}

// ---------------------------------------------------------------------------
// KYC and referral settings

type kycSettingsJSON struct {
	Currency            string `json:"currency"`
	Threshold           string `json:"threshold"`
	CumulativeThreshold string `json:"cumulative_threshold,omitempty"`
	UpdatedAt           string `json:"updated_at"`
	written
}

func kycSettingsToJSON(k *walletd.KYCSettings, wr written) any {
	return &kycSettingsJSON{Currency: k.Currency, Threshold: k.Threshold, CumulativeThreshold: k.CumulativeThreshold,
		UpdatedAt: timeJSON(k.UpdatedAt), written: wr}
}

// setSettings answers PUT of a currency's settings: a new command from
// newCmd is decoded and applied, and the settings it stored (kind, keyed
// by currency) rendered with the entry that recorded them.
func setSettings[T any](s *Server, kind string, newCmd func() walletd.Command, render func(*T, written) any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		cmd := newCmd()
		if err := decodeJSON(w, r, cmd); err != nil {
			s.Error(w, r, err)
			return
		}
		s.apply(w, r, http.StatusOK, cmd, func(res *walletd.Result) (any, error) {
			e, err := firstEntry(res)
			if err != nil {
				return nil, err
			}
			v, err := resultObject[T](r.Context(), s, res, kind, e.Currency)
			if err != nil {
				return nil, err
			}
			return render(v, writtenBy(res.Entries)), nil
		})
	}
}

// getSettings answers GET of a currency's settings (?currency=, default
// the default currency).
func getSettings[T any](s *Server, kind string, render func(*T, written) any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := s.currencyParam(r)
		if err != nil {
			s.Error(w, r, err)
			return
		}
		v, err := readObject[T](r.Context(), s, kind, c)
		if err != nil {
			s.Error(w, r, err)
			return
		}
		writeData(w, http.StatusOK, render(v, written{}))
	}
}

type referralSettingsJSON struct {
	Currency       string `json:"currency"`
	ReferrerReward string `json:"referrer_reward"`
	RefereeReward  string `json:"referee_reward"`
	MinOrderTotal  string `json:"min_order_total,omitempty"`
	UpdatedAt      string `json:"updated_at"`
	written
}

func referralSettingsToJSON(rs *walletd.ReferralSettings, wr written) any {
	return &referralSettingsJSON{Currency: rs.Currency, ReferrerReward: rs.ReferrerReward, RefereeReward: rs.RefereeReward,
		MinOrderTotal: rs.MinOrderTotal, UpdatedAt: timeJSON(rs.UpdatedAt), written: wr}
}

// ---------------------------------------------------------------------------
// Redemption codes

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

func codeToJSON(c *walletd.RedemptionCode) *codeJSON {
	out := &codeJSON{ID: c.ID, Code: c.Code, Amount: c.Amount, Currency: c.Currency, MaxRedemptions: c.MaxRedemptions,
		Redemptions: c.Redemptions, PerUserOnce: c.PerUserOnce, CreatedAt: timeJSON(c.CreatedAt)}
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
	s.apply(w, r, http.StatusCreated, &req, func(res *walletd.Result) (any, error) {
		c, err := resultObject[walletd.RedemptionCode](r.Context(), s, res, walletd.ObjCode, entryMeta(res.Entries, 0)["id"])
		if err != nil {
			return nil, err
		}
		out := codeToJSON(c)
		out.written = writtenBy(res.Entries)
		return out, nil
	})
}

func (s *Server) handleGetCode(w http.ResponseWriter, r *http.Request) {
	getObject(s, walletd.ObjCode, "id", func(c *walletd.RedemptionCode) any { return codeToJSON(c) })(w, r)
}

func (s *Server) handleRedeem(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Code string `json:"code"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	s.apply(w, r, http.StatusCreated, &ledger.Redeem{WalletID: mux.Vars(r)["id"], Code: req.Code}, func(res *walletd.Result) (any, error) {
		e, err := firstEntry(res)
		if err != nil {
			return nil, err
		}
		return entryToJSON(e), nil
	})
}
