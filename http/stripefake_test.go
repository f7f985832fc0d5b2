package http_test

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// stripeFake is a local fake of Stripe Checkout: the API's POST
// /v1/checkout/sessions (form-encoded request, Bearer secret key, JSON
// answer, error bodies as Stripe documents them) and a hosted page at
// each session's url, whose Pay button sends the browser to the
// session's success_url (the test then delivers the webhook Stripe
// would send).
type stripeFake struct {
	mu       sync.Mutex
	sessions map[string]map[string]string // by id: the creation form
	keys     map[string]string            // idempotency key → session id
	fail     bool                         // answer the next creations with an error
	srv      *httptest.Server
}

const stripeFakeKey = "sk_test_fake_checkout"

func newStripeFake(t *testing.T) *stripeFake {
	f := &stripeFake{sessions: map[string]map[string]string{}, keys: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/checkout/sessions", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("Authorization") != "Bearer "+stripeFakeKey {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error": {"type": "invalid_request_error", "message": "Invalid API Key provided", "code": "api_key_invalid"}}`))
			return
		}
		if err := r.ParseForm(); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		form := map[string]string{}
		for k, v := range r.PostForm {
			form[k] = v[0]
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.fail {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error": {"type": "invalid_request_error", "message": "The card network is down (test).", "code": "parameter_invalid"}}`))
			return
		}
		exp, err := strconv.ParseInt(form["expires_at"], 10, 64)
		if form["expires_at"] != "" && (err != nil || time.Until(time.Unix(exp, 0)) < 30*time.Minute || time.Until(time.Unix(exp, 0)) > 24*time.Hour) {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error": {"type": "invalid_request_error", "message": "expires_at must be 30 minutes to 24 hours from now.", "code": "parameter_invalid_integer", "param": "expires_at"}}`))
			return
		} else if form["expires_at"] == "" {
			exp = time.Now().Add(24 * time.Hour).Unix()
		}
		id, seen := f.keys[r.Header.Get("Idempotency-Key")]
		if !seen {
			id = fmt.Sprintf("cs_test_%d", len(f.sessions)+1)
			f.sessions[id] = form
			if k := r.Header.Get("Idempotency-Key"); k != "" {
				f.keys[k] = id
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"id": id, "object": "checkout.session", "mode": "payment",
			"client_reference_id": f.sessions[id]["client_reference_id"], "url": f.srv.URL + "/c/pay/" + id,
			"expires_at": exp, "payment_status": "unpaid", "status": "open"})
	})
	mux.HandleFunc("GET /c/pay/{id}", func(w http.ResponseWriter, r *http.Request) {
		form := f.session(r.PathValue("id"))
		if form == nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!DOCTYPE html><html><head><title>Stripe Checkout (test)</title></head><body style="font-family:sans-serif">
<h1 id="stripe-title">Stripe Checkout (local test fake)</h1>
<p id="stripe-amount">%s: %s %s</p>
<form method="post" action="/c/pay/%s"><button id="stripe-pay" type="submit">Pay</button></form>
<p><a id="stripe-cancel" href="%s">Cancel</a></p></body></html>`,
			html.EscapeString(form["line_items[0][price_data][product_data][name]"]), form["line_items[0][price_data][unit_amount]"],
			strings.ToUpper(form["line_items[0][price_data][currency]"]), html.EscapeString(r.PathValue("id")), html.EscapeString(form["cancel_url"]))
	})
	mux.HandleFunc("POST /c/pay/{id}", func(w http.ResponseWriter, r *http.Request) {
		form := f.session(r.PathValue("id"))
		if form == nil {
			http.NotFound(w, r)
			return
		}
		http.Redirect(w, r, form["success_url"], http.StatusSeeOther)
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *stripeFake) session(id string) map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sessions[id]
}

func (f *stripeFake) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sessions)
}

// completed is Stripe's checkout.session.completed event of session id,
// paid.
func (f *stripeFake) completed(evt, id string) string {
	form := f.session(id)
	amount, _ := strconv.ParseInt(form["line_items[0][price_data][unit_amount]"], 10, 64)
	b, _ := json.Marshal(map[string]any{"id": evt, "object": "event", "type": "checkout.session.completed", "api_version": "2025-07-30.basil",
		"data": map[string]any{"object": map[string]any{"id": id, "object": "checkout.session", "payment_status": "paid", "status": "complete",
			"amount_total": amount, "currency": form["line_items[0][price_data][currency]"], "client_reference_id": form["client_reference_id"],
			"payment_intent": "pi_" + id, "metadata": map[string]any{"order_id": form["metadata[order_id]"]}}}})
	return string(b)
}
