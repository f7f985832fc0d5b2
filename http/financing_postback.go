package http

import (
	"html/template"
	"net/http"

	"github.com/walletd/walletd"

	"github.com/gorilla/mux"
	"github.com/walletd/walletd/financing"
)

// The pages the provider sends the customer back to when the request
// was made through the API (the payment page's requests come back to the
// order's return page instead, checkout_return.go). The provider's signed
// postbacks are the inbound pipeline's (inbound.go,
// POST /v1/inbound/wegetfinancing and its WordPress-style alias).

func (s *Server) registerFinancingPostbackRoutes(handle handleFunc) {
	handle("POST", financing.PostbackPath, "", s.inboundReceiver(financing.GatewayName))
	handle("POST", odcmBase+"/"+financing.GatewayName, "", s.inboundReceiver(financing.GatewayName))
	handle("GET", financing.ReturnPath+"/{outcome}", "", s.handleFinancingReturn)
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
