// Package financingtest is a local fake of a financing provider speaking
// WeGetFinancing's v1 API, for development and tests: it creates requests
// (Basic auth, the seed's JSON), serves a checkout page at each request's
// href with Approve and Reject buttons, and sends signed JSON postbacks
// (version 1.9, x-timestamp and x-signature) to the request's
// postback_url. Nothing in it reaches the internet.
package financingtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/walletd/walletd/financing"
)

// Answer shapes of a created request.
const (
	ShapeGuide     = "guide"     // {href, request_token}
	ShapeReference = "reference" // {inv_id, href, amount}
)

// Fake is the fake provider. Set the fields, then Start; Close stops it.
type Fake struct {
	MerchantID string
	Username   string
	Password   string
	// Shape is the answer shape (default ShapeGuide).
	Shape string
	// Now is the postbacks' clock (default time.Now).
	Now func() time.Time

	srv     *httptest.Server
	mu      sync.Mutex
	seq     int
	creates int
	reqs    map[string]*Request
	refuse  *financing.ProviderError
	delay   time.Duration
}

// SetDelay makes every create-request answer wait d (a slow provider).
func (f *Fake) SetDelay(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.delay = d
}

// Request is one request the fake created.
type Request struct {
	Token string
	Body  financing.CreateRequest
	// Raw is the JSON body as it came.
	Raw []byte
	// Auth is the Basic credentials it came with.
	Username, Password string
}

// Start serves the fake on a loopback port.
func (f *Fake) Start() *Fake {
	if f.Now == nil {
		f.Now = time.Now
	}
	if f.Shape == "" {
		f.Shape = ShapeGuide
	}
	f.reqs = map[string]*Request{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /merchant/{merchant_id}/requests", f.handleCreate)
	mux.HandleFunc("GET /checkout", f.handleCheckout)
	mux.HandleFunc("POST /checkout/decide", f.handleDecide)
	// Assigned before it serves: the handlers read f.srv.
	f.srv = httptest.NewUnstartedServer(mux)
	f.srv.Start()
	return f
}

// URL is the fake's API base URL (the api_url setting).
func (f *Fake) URL() string { return f.srv.URL }

// Close stops the fake.
func (f *Fake) Close() { f.srv.Close() }

// Creates returns how many create-request calls the fake answered with a
// created request.
func (f *Fake) Creates() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.creates
}

// Requests returns the created requests by token.
func (f *Fake) Requests() map[string]*Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]*Request, len(f.reqs))
	for k, v := range f.reqs {
		out[k] = v
	}
	return out
}

// RefuseNext makes the next create-request call answer this error body
// (with its code as the HTTP status).
func (f *Fake) RefuseNext(pe financing.ProviderError) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refuse = &pe
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func providerError(w http.ResponseWriter, status int, kind, msg string) {
	writeJSON(w, status, map[string]any{"type": "error", "error": kind, "code": status, "message": msg})
}

// handleCreate is POST /merchant/{merchant_id}/requests: Basic auth, then
// the seed's JSON, strictly (unknown fields refused), with its required
// fields.
func (f *Fake) handleCreate(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	delay := f.delay
	f.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	user, pass, ok := r.BasicAuth()
	if !ok || user != f.Username || pass != f.Password {
		providerError(w, http.StatusUnauthorized, "unauthorized", "Invalid credentials")
		return
	}
	if r.PathValue("merchant_id") != f.MerchantID {
		providerError(w, http.StatusNotFound, "not_found", "Unknown merchant")
		return
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		providerError(w, http.StatusBadRequest, "invalid_content_type", "Content-Type must be application/json")
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		providerError(w, http.StatusBadRequest, "invalid_request", "Unreadable body")
		return
	}
	var body financing.CreateRequest
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		providerError(w, http.StatusBadRequest, "invalid_request", "Invalid JSON: "+err.Error())
		return
	}
	var missing []string
	for _, p := range []struct{ name, v string }{{"merchant_transaction_id", body.MerchantTransactionID}, {"first_name", body.FirstName},
		{"last_name", body.LastName}, {"email", body.Email}, {"amount", body.Amount}, {"version", body.Version}, {"postback_url", body.PostbackURL}} {
		if p.v == "" {
			missing = append(missing, p.name)
		}
	}
	if len(body.CartItems) == 0 {
		missing = append(missing, "cart_items")
	}
	if len(missing) > 0 {
		providerError(w, http.StatusBadRequest, "missing_parameters", "Missing parameters: "+strings.Join(missing, ", "))
		return
	}
	if body.Version != financing.APIVersion {
		providerError(w, http.StatusBadRequest, "invalid_version", "version must be 1.9")
		return
	}
	if a, err := strconv.ParseFloat(body.Amount, 64); err != nil || a <= 0 {
		providerError(w, http.StatusBadRequest, "invalid_amount", "amount must be a positive decimal")
		return
	}
	f.mu.Lock()
	if pe := f.refuse; pe != nil {
		f.refuse = nil
		f.mu.Unlock()
		code, _ := strconv.Atoi(string(pe.Code))
		if code == 0 {
			code = http.StatusBadRequest
		}
		writeJSON(w, code, pe)
		return
	}
	f.seq++
	f.creates++
	token := fmt.Sprintf("tok%06d%s", f.seq, strings.ToLower(strings.ReplaceAll(body.MerchantTransactionID, "_", "")))
	f.reqs[token] = &Request{Token: token, Body: body, Raw: raw, Username: user, Password: pass}
	f.mu.Unlock()
	href := f.srv.URL + "/checkout?token=" + url.QueryEscape(token)
	if f.Shape == ShapeReference {
		writeJSON(w, http.StatusOK, map[string]any{"inv_id": token, "href": href, "amount": body.Amount})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"href": href, "request_token": token})
}

var checkoutPage = template.Must(template.New("checkout").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Fake WeGetFinancing checkout</title></head>
<body>
<h1>Pay over time</h1>
<p id="amount">Amount: {{.Body.Amount}}</p>
<p id="customer">{{.Body.FirstName}} {{.Body.LastName}} &lt;{{.Body.Email}}&gt;</p>
<form method="post" action="/checkout/decide">
<input type="hidden" name="token" value="{{.Token}}">
<button id="approve" type="submit" name="decision" value="approved">Approve</button>
<button id="reject" type="submit" name="decision" value="rejected">Reject</button>
</form>
</body></html>
`))

// handleCheckout is the page at href.
func (f *Fake) handleCheckout(w http.ResponseWriter, r *http.Request) {
	req := f.Requests()[r.URL.Query().Get("token")]
	if req == nil {
		http.Error(w, "unknown request", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	checkoutPage.Execute(w, req)
}

// handleDecide is the page's buttons: it sends the signed postback, then
// sends the customer back to the success or failure URL.
func (f *Fake) handleDecide(w http.ResponseWriter, r *http.Request) {
	token, decision := r.PostFormValue("token"), r.PostFormValue("decision")
	req := f.Requests()[token]
	if req == nil || (decision != financing.StatusApproved && decision != financing.StatusRejected) {
		http.Error(w, "unknown request or decision", http.StatusBadRequest)
		return
	}
	status, _, err := f.Postback(r.Context(), token, decision, "")
	if err != nil || status != http.StatusOK {
		http.Error(w, fmt.Sprintf("the merchant did not take the postback: %d %v", status, err), http.StatusBadGateway)
		return
	}
	back := req.Body.SuccessURL
	if decision != financing.StatusApproved {
		back = req.Body.FailureURL
	}
	if back == "" {
		fmt.Fprintln(w, "done")
		return
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// PostbackBody returns the v1.9 JSON postback of a request: {"version",
// "request_token", "merchant_transaction_id", "updates": {"status",
// "amount"?}} (amount for a refund).
func PostbackBody(token, merchantTransactionID, status, amount string) []byte {
	updates := map[string]string{"status": status}
	if amount != "" {
		updates["amount"] = amount
	}
	b, _ := json.Marshal(map[string]any{"version": financing.APIVersion, "request_token": token,
		"merchant_transaction_id": merchantTransactionID, "updates": updates})
	return b
}

// Postback sends a signed v1.9 postback for request token with status
// (and amount, for a refund) to the request's postback_url, and returns
// the merchant's answer.
func (f *Fake) Postback(ctx context.Context, token, status, amount string) (int, string, error) {
	req := f.Requests()[token]
	if req == nil {
		return 0, "", fmt.Errorf("financingtest: no request %q", token)
	}
	return f.Send(ctx, req.Body.PostbackURL, PostbackBody(token, req.Body.MerchantTransactionID, status, amount))
}

// Send posts body to url signed with the fake's credentials and its clock.
func (f *Fake) Send(ctx context.Context, url string, body []byte) (int, string, error) {
	ts := strconv.FormatInt(f.Now().Unix(), 10)
	return SendSigned(ctx, url, body, ts, financing.Sign(ts, f.Username, body, f.Password))
}

// SendSigned posts body to url with the given x-timestamp and x-signature.
func SendSigned(ctx context.Context, url string, body []byte, timestamp, signature string) (int, string, error) {
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	hr.Header.Set("Content-Type", "application/json")
	if timestamp != "" {
		hr.Header.Set(financing.HeaderTimestamp, timestamp)
	}
	if signature != "" {
		hr.Header.Set(financing.HeaderSignature, signature)
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b), nil
}
