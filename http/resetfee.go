package http

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/walletd/walletd"

	"github.com/gorilla/mux"
	"github.com/walletd/walletd/ledger"
)

// The Reset Fee Payment API (../shared/seeds/reset-fee-payment-api.txt,
// docs/reset-fee.md): a storefront's backend posts a user's billing
// details, a variation id, a pre-shared secret key and its account id,
// and gets the id of a new pending order and its one-time, short-lived
// payment link. Its answers are the seed's flat bodies, not the native
// envelope. The secret keys are managed by an admin under
// /v1/reset-fee/keys.

// resetFeeKeyBytes is the randomness of a reset-fee secret key.
const resetFeeKeyBytes = 32

// resetFeeKeyPrefix starts every reset-fee secret key.
const resetFeeKeyPrefix = "rfk_"

func (s *Server) registerResetFeeRoutes(handle handleFunc) {
	handle("POST", "/wp-json/walletd/v1/reset-fee", "", s.handleResetFee)
	handle("POST", "/v1/reset-fee", "", s.handleResetFee)
	handle("POST", "/v1/reset-fee/keys", walletd.ScopeAdmin, s.handleCreateResetFeeKey)
	handle("GET", "/v1/reset-fee/keys", walletd.ScopeAdmin, s.handleListResetFeeKeys)
	handle("DELETE", "/v1/reset-fee/keys/{key_id}", walletd.ScopeAdmin, s.handleRevokeResetFeeKey)
	handle("POST", "/v1/reset-fee/keys/{key_id}/revoke", walletd.ScopeAdmin, s.handleRevokeResetFeeKey)
}

// ResetFeeBilling is the billing_details of a reset-fee request.
type ResetFeeBilling struct {
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Address1  string `json:"address_1"`
	Address2  string `json:"address_2"`
	City      string `json:"city"`
	Postcode  string `json:"postcode"`
	Country   string `json:"country"`
	Email     string `json:"email"`
	Phone     string `json:"phone"`
}

// ResetFeeRequest is the body of a reset-fee request, as the seed gives
// it.
type ResetFeeRequest struct {
	BillingDetails *ResetFeeBilling `json:"billing_details"`
	ProductID      int64            `json:"product_id"`
	SecretKey      string           `json:"secret_key"`
	AccountID      string           `json:"account_id"`
}

// resetFeeAnswer is the seed's answer: success with the order and its
// link, or failure with a message.
type resetFeeAnswer struct {
	Success    bool   `json:"success"`
	OrderID    int64  `json:"order_id,omitempty"`
	PaymentURL string `json:"payment_url,omitempty"`
	Message    string `json:"message,omitempty"`
}

// ParseResetFeeRequest decodes a reset-fee body strictly (the rules of
// every body: one JSON object, no unknown or duplicate keys, the right
// types) and checks that every field the flow needs is there. The secret
// key is not checked here, nor whether the product exists: the handler
// checks the key before it says anything about a product. Returns
// EInvalid or EInvalidJSON with a message that names the field.
func ParseResetFeeRequest(body []byte) (*ResetFeeRequest, error) {
	var req ResetFeeRequest
	if len(body) > MaxBodyBytes {
		return nil, walletd.Errorf(EBodyTooLarge, "The request body is larger than %d bytes.", MaxBodyBytes)
	}
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	return &req, nil
}

// check validates the fields of a request whose secret key is good.
func (req *ResetFeeRequest) check() error {
	b := req.BillingDetails
	if b == nil {
		return walletd.Errorf(walletd.EInvalid, "billing_details is required.")
	}
	for _, f := range []struct{ name, v string }{
		{"first_name", b.FirstName}, {"last_name", b.LastName}, {"address_1", b.Address1}, {"address_2", b.Address2},
		{"city", b.City}, {"postcode", b.Postcode}, {"phone", b.Phone},
	} {
		if err := walletd.CheckText("billing_details."+f.name, f.v, walletd.MaxNameLen, false); err != nil {
			return err
		}
	}
	if strings.TrimSpace(b.Email) == "" {
		return walletd.Errorf(walletd.EInvalid, "billing_details.email is required.")
	} else if err := walletd.CheckText("billing_details.email", b.Email, walletd.MaxEmailLen, true); err != nil {
		return err
	} else if at := strings.LastIndexByte(b.Email, '@'); at < 1 || at == len(b.Email)-1 || strings.ContainsAny(b.Email, " \t<>,;") {
		return walletd.Errorf(walletd.EInvalid, "billing_details.email %s is not an email address.", walletd.QuoteInput(b.Email))
	}
	if b.Country != "" && !walletd.ValidCountry(b.Country) {
		return walletd.Errorf(walletd.EInvalid, "billing_details.country %s is not a two-letter ISO 3166-1 country code, such as \"US\".", walletd.QuoteInput(b.Country))
	}
	if req.ProductID <= 0 || req.ProductID > walletd.MaxOrderID {
		return walletd.Errorf(walletd.EInvalid, "product_id must be the integer id of a product variation.")
	}
	if strings.TrimSpace(req.AccountID) == "" {
		return walletd.Errorf(walletd.EInvalid, "account_id is required.")
	} else if err := walletd.CheckText("account_id", req.AccountID, walletd.MaxOrderIDLen, true); err != nil {
		return err
	}
	return nil
}

// writeResetFee writes a flat answer.
func writeResetFee(w http.ResponseWriter, status int, a resetFeeAnswer) { writeJSON(w, status, a) }

// resetFeeFail answers a failure: 400 for what the request got wrong
// (a message naming the field), 401 for the key, 500 for the rest.
func (s *Server) resetFeeFail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := http.StatusInternalServerError, "The order could not be created; try again."
	switch code := walletd.ErrorCode(err); code {
	case walletd.EInvalid, walletd.EInvalidAmount, walletd.EInvalidCurrency, EInvalidJSON, walletd.ENotFound, walletd.EConflict:
		status, msg = http.StatusBadRequest, walletd.ErrorMessage(err)
	case EBodyTooLarge:
		status, msg = http.StatusRequestEntityTooLarge, walletd.ErrorMessage(err)
	case walletd.EUnavailable:
		status, msg = http.StatusServiceUnavailable, "The service is unavailable; try again."
	default:
		s.Logger.Error("reset-fee request", walletd.LogRequestID, requestID(r.Context()), walletd.LogError, err)
	}
	writeResetFee(w, status, resetFeeAnswer{Message: msg})
}

func (s *Server) handleResetFee(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		s.resetFeeFail(w, r, jsonError(err))
		return
	}
	req, err := ParseResetFeeRequest(body)
	if err != nil {
		s.resetFeeFail(w, r, err)
		return
	}
	ok, err := s.resetFeeKeyValid(r.Context(), req.SecretKey)
	if err != nil {
		s.resetFeeFail(w, r, err)
		return
	} else if !ok {
		s.checkoutMetrics().resetFee("unauthorized")
		writeResetFee(w, http.StatusUnauthorized, resetFeeAnswer{Message: "Invalid secret key provided"})
		return
	}
	if err := req.check(); err != nil {
		s.checkoutMetrics().resetFee("invalid")
		s.resetFeeFail(w, r, err)
		return
	}
	co := s.checkout()
	token, tokenHash := newSecret(linkTokenBytes)
	b := req.BillingDetails
	res, err := s.Writer.Submit(r.Context(), "", &ledger.CreateResetFeeOrder{
		AccountID: req.AccountID, VariationID: req.ProductID, TokenHash: tokenHash, TTL: co.LinkTTL,
		Billing: walletd.OrderAddress{FirstName: b.FirstName, LastName: b.LastName, Address1: b.Address1, Address2: b.Address2,
			City: b.City, Postcode: b.Postcode, Country: strings.ToUpper(b.Country), Email: b.Email, Phone: b.Phone},
	})
	if err != nil {
		if walletd.ErrorCode(err) == walletd.ENotFound {
			err = walletd.Errorf(walletd.EInvalid, "product_id %d is not a product variation of this store.", req.ProductID)
		} else if walletd.ErrorCode(err) == walletd.EConflict {
			err = walletd.Errorf(walletd.EInvalid, "product_id %d cannot be ordered: %s", req.ProductID, walletd.ErrorMessage(err))
		}
		s.checkoutMetrics().resetFee("invalid")
		s.resetFeeFail(w, r, err)
		return
	}
	o, ok := res.Object.(*walletd.ShopOrder)
	if !ok {
		s.resetFeeFail(w, r, errors.New("reset-fee: the writer reported no order"))
		return
	}
	if co.Expirer != nil {
		co.Expirer.Schedule(o.ID, o.CreatedAt.Add(co.LinkTTL))
	}
	m := s.checkoutMetrics()
	m.resetFee("created")
	m.link("issued")
	m.order(walletd.OrderPending)
	s.Logger.Info("reset-fee order created", "order_id", o.ID, "duration", time.Since(start))
	writeResetFee(w, http.StatusOK, resetFeeAnswer{Success: true, OrderID: o.ID, PaymentURL: PaymentURL(s.publicURL(), o.ID, token)})
}

// newSecret returns a random secret of n bytes, base64url without
// padding, and its SHA-256 in hex.
func newSecret(n int) (string, string) {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand)
	s := base64.RawURLEncoding.EncodeToString(b)
	return s, hashSecret(s)
}

// hashSecret returns the SHA-256 of s in hex: what is stored of a secret.
func hashSecret(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// resetFeeKeyValid reports whether secret is an active reset-fee key. It
// compares the secret's hash with every key's, in constant time, and
// looks at all of them whatever it finds.
func (s *Server) resetFeeKeyValid(ctx context.Context, secret string) (bool, error) {
	if secret == "" || len(secret) > 256 {
		return false, nil
	}
	h := []byte(hashSecret(secret))
	found := 0
	after := ""
	for {
		page, err := s.Ledger.Objects(ctx, walletd.ObjResetFeeKey, after, 500)
		if err != nil {
			return false, err
		}
		for _, v := range page {
			k, ok := v.(*walletd.ResetFeeKey)
			if !ok {
				continue
			}
			after = k.ID
			if subtle.ConstantTimeCompare(h, []byte(k.Hash)) == 1 && k.Active() {
				found = 1
			}
		}
		if len(page) < 500 {
			return found == 1, nil
		}
	}
}

// resetFeeKeyJSON is a reset-fee key as the API shows it: its secret only
// in the answer that created it.
type resetFeeKeyJSON struct {
	ID        string `json:"id"`
	Name      string `json:"name,omitempty"`
	Prefix    string `json:"prefix"`
	Status    string `json:"status"` // active or revoked
	SecretKey string `json:"secret_key,omitempty"`
	CreatedAt string `json:"created_at"`
	RevokedAt string `json:"revoked_at,omitempty"`
	written
}

func resetFeeKeyToJSON(k *walletd.ResetFeeKey, wr written) resetFeeKeyJSON {
	st := "active"
	if !k.Active() {
		st = "revoked"
	}
	return resetFeeKeyJSON{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Status: st, CreatedAt: timeJSON(k.CreatedAt), RevokedAt: timeJSON(k.RevokedAt), written: wr}
}

func (s *Server) handleCreateResetFeeKey(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name string `json:"name"`
	}
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &req); err != nil {
			s.Error(w, r, err)
			return
		}
	}
	secret, _ := newSecret(resetFeeKeyBytes)
	secret = resetFeeKeyPrefix + secret
	hash := hashSecret(secret)
	cmd := &ledger.CreateResetFeeKey{ID: walletd.NewID("rfk"), Name: req.Name, Prefix: secret[:len(resetFeeKeyPrefix)+6], Hash: hash}
	res, err := s.Writer.Submit(r.Context(), "", cmd) // each request a new key: its secret is shown once
	if err != nil {
		s.Error(w, r, err)
		return
	}
	k, ok := res.Object.(*walletd.ResetFeeKey)
	if !ok {
		s.Error(w, r, errors.New("reset-fee key: the writer reported no key"))
		return
	}
	out := resetFeeKeyToJSON(k, writtenBy(res.Entries))
	out.SecretKey = secret
	w.Header().Set("Cache-Control", "no-store")
	writeData(w, http.StatusCreated, out)
}

// handleListResetFeeKeys answers a page of the reset-fee keys in id
// (creation) order, paged like the wallets: limit up to MaxListRows,
// next_cursor to pass as cursor until it is empty ("" starts at the
// first). A cursor that names no key is a 400.
func (s *Server) handleListResetFeeKeys(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := parseLimit(q.Get("limit"), DefaultListRows, MaxListRows)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	cursor := q.Get("cursor")
	if cursor != "" {
		if _, err := s.Ledger.Object(r.Context(), walletd.ObjResetFeeKey, cursor); walletd.ErrorCode(err) == walletd.ENotFound {
			s.Error(w, r, walletd.Errorf(walletd.EInvalid, "cursor must be the next_cursor of a page."))
			return
		} else if err != nil {
			s.Error(w, r, err)
			return
		}
	}
	page, err := s.Ledger.Objects(r.Context(), walletd.ObjResetFeeKey, cursor, limit+1)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	items := make([]resetFeeKeyJSON, 0, min(len(page), limit))
	next := ""
	for i, v := range page {
		k, ok := v.(*walletd.ResetFeeKey)
		if !ok {
			s.Error(w, r, errors.New("reset-fee key: an object decoded as another type"))
			return
		}
		if i == limit {
			next = page[limit-1].(*walletd.ResetFeeKey).ID
			break
		}
		items = append(items, resetFeeKeyToJSON(k, written{}))
	}
	writeData(w, http.StatusOK, map[string]any{"items": items, "next_cursor": next})
}

func (s *Server) handleRevokeResetFeeKey(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["key_id"]
	res, err := s.Writer.Submit(r.Context(), r.Header.Get("Idempotency-Key"), &ledger.RevokeResetFeeKey{ID: id})
	if err != nil {
		s.Error(w, r, err)
		return
	}
	k, ok := res.Object.(*walletd.ResetFeeKey)
	if !ok {
		s.Error(w, r, errors.New("reset-fee key: the writer reported no key"))
		return
	}
	if res.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeData(w, http.StatusOK, resetFeeKeyToJSON(k, writtenBy(res.Entries)))
}

// linkPath is the path of order id's payment page.
func linkPath(id int64) string { return "/checkout/order-pay/" + strconv.FormatInt(id, 10) + "/" }
