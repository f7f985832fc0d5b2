package http

import (
	"context"
	"net/http"

	"github.com/walletd/walletd"

	"github.com/gorilla/mux"
	"github.com/walletd/walletd/financing"
	"github.com/walletd/walletd/ledger"
)

// Consumer financing (docs/financing.md): the provider settings, a
// financing request for a pending order or top-up, and the logs. The
// provider's postbacks go through the inbound pipeline
// (POST /v1/inbound/wegetfinancing, inbound.go); the pages it sends the
// customer back to are financing_postback.go's.

// FinancingService is consumer financing as the HTTP layer uses it;
// *financing.Service implements it.
type FinancingService interface {
	// Settings returns the settings without the password. Returns
	// EConflict when not configured.
	Settings(ctx context.Context) (*walletd.FinancingSettings, error)
	// SetSettings stores the settings. Returns EInvalid, EInvalidAmount,
	// EInvalidCurrency.
	SetSettings(ctx context.Context, in walletd.FinancingSettingsInput) (*walletd.FinancingSettings, error)
	// Offered returns nil when an amount is offered financing. Returns
	// EConflict, ECurrencyMismatch, EInvalidAmount.
	Offered(ctx context.Context, amount walletd.Money, currency string) error
	// RequestOrder returns the one request of a pending order, sending it
	// if none was (created); returnURL ("" for the settings' URLs) is
	// where the provider sends the customer back. Returns ENotFound,
	// EConflict, ECurrencyMismatch, EInvalidAmount, EProvider.
	RequestOrder(ctx context.Context, id int64, returnURL string) (*walletd.FinancingRequest, bool, error)
	// RequestTopup is RequestOrder for a pending top-up.
	RequestTopup(ctx context.Context, topupID string, billing walletd.OrderAddress) (*walletd.FinancingRequest, bool, error)
	// Requests and Postbacks list the logs, newest first (the postbacks
	// are the inbound pipeline's events of gateway wegetfinancing).
	Requests(ctx context.Context, limit int) ([]*walletd.FinancingRequest, error)
	Postbacks(ctx context.Context, limit int) ([]*walletd.FinancingPostback, error)
}

var _ FinancingService = (*financing.Service)(nil)

func (s *Server) registerFinancingRoutes(handle handleFunc) {
	write, admin := walletd.ScopeWalletsWrite, walletd.ScopeAdmin
	h := func(f http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if s.Financing == nil {
				s.Error(w, r, walletd.Errorf(walletd.EUnavailable, "Financing is not enabled on this server."))
				return
			}
			f(w, r)
		}
	}
	handle("GET", "/v1/financing/settings", admin, h(s.handleGetFinancingSettings))
	handle("PUT", "/v1/financing/settings", admin, h(s.handlePutFinancingSettings))
	handle("GET", "/v1/financing/requests", admin, h(s.handleFinancingRequests))
	handle("GET", "/v1/financing/postbacks", admin, h(s.handleFinancingPostbacks))
	handle("POST", "/v1/orders/{order_id}/financing", write, h(s.handleOrderFinancing))
	handle("POST", "/v1/topups/{id}/financing", write, h(s.handleTopupFinancing))
	s.registerFinancingPostbackRoutes(handle)
}

func (s *Server) handleGetFinancingSettings(w http.ResponseWriter, r *http.Request) {
	st, err := s.Financing.Settings(r.Context())
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeData(w, http.StatusOK, st)
}

func (s *Server) handlePutFinancingSettings(w http.ResponseWriter, r *http.Request) {
	var in walletd.FinancingSettingsInput
	if err := decodeJSON(w, r, &in); err != nil {
		s.Error(w, r, err)
		return
	}
	st, err := s.Financing.SetSettings(r.Context(), in)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeData(w, http.StatusOK, st)
}

func (s *Server) handleFinancingRequests(w http.ResponseWriter, r *http.Request) {
	limit, err := parseLimit(r.URL.Query().Get("limit"), 50, 500)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	items, err := s.Financing.Requests(r.Context(), limit)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeData(w, http.StatusOK, map[string]any{"items": items})
}

func (s *Server) handleFinancingPostbacks(w http.ResponseWriter, r *http.Request) {
	limit, err := parseLimit(r.URL.Query().Get("limit"), 50, 500)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	items, err := s.Financing.Postbacks(r.Context(), limit)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeData(w, http.StatusOK, map[string]any{"items": items})
}

// financingStatus is 201 for a request this call sent, 200 for the stored
// one.
func financingStatus(created bool) int {
	if created {
		return http.StatusCreated
	}
	return http.StatusOK
}

func (s *Server) handleOrderFinancing(w http.ResponseWriter, r *http.Request) {
	var req struct{}
	if err := decodeOptional(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	id, err := s.orderID(r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	fr, created, err := s.Financing.RequestOrder(r.Context(), id, "")
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeData(w, financingStatus(created), fr)
}

// checkBilling checks the billing details of a financed top-up.
func checkBilling(b *walletd.OrderAddress) error {
	for _, f := range []struct{ name, v string }{{"first_name", b.FirstName}, {"last_name", b.LastName}, {"company", b.Company},
		{"address_1", b.Address1}, {"address_2", b.Address2}, {"city", b.City}, {"state", b.State}, {"postcode", b.Postcode},
		{"country", b.Country}, {"email", b.Email}, {"phone", b.Phone}} {
		if err := walletd.CheckText("billing."+f.name, f.v, walletd.MaxNameLen, false); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) handleTopupFinancing(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Billing walletd.OrderAddress `json:"billing"`
	}
	if err := decodeOptional(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	} else if err := checkBilling(&req.Billing); err != nil {
		s.Error(w, r, err)
		return
	}
	fr, created, err := s.Financing.RequestTopup(r.Context(), mux.Vars(r)["id"], req.Billing)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeData(w, financingStatus(created), fr)
}

// financedTopupJSON is the answer of a top-up with method wegetfinancing:
// the top-up and its financing request (href: where the customer goes).
type financedTopupJSON struct {
	*topupJSON
	Financing *walletd.FinancingRequest `json:"financing"`
}

// createFinancedTopup creates a top-up of method wegetfinancing and its
// financing request. Financing must be offered for the amount before the
// top-up is created; when the provider then refuses, the top-up stays
// pending and POST /v1/topups/{id}/financing tries again.
func (s *Server) createFinancedTopup(w http.ResponseWriter, r *http.Request, cmd *ledger.CreateTopup, billing *walletd.OrderAddress) {
	if s.Financing == nil {
		s.Error(w, r, walletd.Errorf(walletd.EUnavailable, "Financing is not enabled on this server."))
		return
	}
	var b walletd.OrderAddress
	if billing != nil {
		b = *billing
	}
	if err := checkBilling(&b); err != nil {
		s.Error(w, r, err)
		return
	}
	wal, err := s.Ledger.Wallet(r.Context(), cmd.WalletID)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	scale, err := s.Currencies.Scale(wal.Currency)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	amount, err := walletd.ParseAmount(cmd.Amount, scale)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	if err := s.Financing.Offered(r.Context(), walletd.NewMoney(amount, scale), wal.Currency); err != nil {
		s.Error(w, r, err)
		return
	}
	s.apply(w, r, http.StatusCreated, cmd, func(res *walletd.Result) (any, error) {
		t, err := resultObject[walletd.Topup](r.Context(), s, res)
		if err != nil {
			return nil, err
		}
		fr, _, err := s.Financing.RequestTopup(r.Context(), t.ID, b)
		if err != nil {
			return nil, walletd.Errorf(walletd.ErrorCode(err), "Top-up %s was created; its financing request failed: %s Retry with POST /v1/topups/%s/financing.",
				t.ID, walletd.ErrorMessage(err), t.ID)
		}
		return &financedTopupJSON{topupJSON: topupToJSON(t, writtenBy(res.Entries)), Financing: fr}, nil
	})
}
