package http

import (
	"errors"
	"html/template"
	"io"
	"net/http"

	"github.com/walletd/walletd"

	"github.com/gorilla/mux"
	"github.com/walletd/walletd/financing"
)

// The provider's side of financing: its signed postbacks, answered 200
// "OK" once verified and recorded (applying them is the financing
// Processor's, after the answer), and the pages it sends the customer
// back to.

func (s *Server) registerFinancingPostbackRoutes(handle handleFunc, h func(http.HandlerFunc) http.HandlerFunc) {
	handle("POST", financing.PostbackPath, "", h(s.handleFinancingPostback))
	handle("GET", financing.ReturnPath+"/{outcome}", "", s.handleFinancingReturn)
}

// handleFinancingPostback is POST /v1/inbound/wegetfinancing: the
// signature is checked, the postback recorded (a resend is recorded once),
// and the answer is 200 with the body OK, as the provider's plugin
// answers. A bad signature is 401, a signed body walletd cannot read 400.
func (s *Server) handleFinancingPostback(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength > financing.MaxPostbackBytes {
		s.Error(w, r, walletd.Errorf(EBodyTooLarge, "The postback is larger than %d bytes.", financing.MaxPostbackBytes))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, financing.MaxPostbackBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			err = walletd.Errorf(EBodyTooLarge, "The postback is larger than %d bytes.", financing.MaxPostbackBytes)
		}
		s.Error(w, r, err)
		return
	}
	if _, _, err := s.Financing.Receive(r.Context(), r.Header, body); err != nil {
		if errors.Is(err, financing.ErrSignature) {
			err = walletd.Errorf(EUnauthorized, "The postback's x-timestamp and x-signature do not verify.")
		}
		s.Error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, "OK")
}

var returnPage = template.Must(template.New("return").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title></head>
<body><main><h1 id="title">{{.Title}}</h1><p id="message">{{.Message}}</p></main></body></html>
`))

// handleFinancingReturn is the page the provider sends the customer back
// to: success (the application is complete; the order is confirmed when
// the lender's decision arrives) or failure (not approved: nothing was
// charged). It shows nothing of the order: the postback, not this page,
// decides.
func (s *Server) handleFinancingReturn(w http.ResponseWriter, r *http.Request) {
	page := map[string]map[string]string{
		"success": {"Title": "Thank you: your financing application is complete",
			"Message": "Your order is confirmed as soon as the lender's decision reaches the shop. You will receive a confirmation by email."},
		"failure": {"Title": "Your financing application was not approved",
			"Message": "The application was declined or cancelled. No order was placed and nothing was charged: you can go back to the shop and choose another way to pay."},
	}[mux.Vars(r)["outcome"]]
	if page == nil {
		s.Error(w, r, walletd.Errorf(walletd.ENotFound, "No such page."))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	returnPage.Execute(w, page)
}
