package http

import (
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/walletd/walletd"

	"github.com/gorilla/mux"
	"github.com/walletd/walletd/webhooks/inbound"
)

// Inbound payment-gateway webhooks over HTTP: the gateways' endpoints at
// the Order Daemon seed's paths and native ones, and the management
// routes (the seed's list, test and logs; the gateways' settings and the
// dead-letter queue, http/inbound_admin.go). The pipeline
// (webhooks/inbound) does the work; these handlers only carry bytes.

// Paths of the inbound routes.
const (
	odcmBase    = "/wp-json/odcm/v1/webhooks"
	inboundBase = "/v1/inbound"
)

// registerInboundRoutes adds the inbound webhook routes. The gateways'
// endpoints take no API key (the gateway signs its body); the
// management routes need admin. Without a pipeline they answer 503.
func (s *Server) registerInboundRoutes(handle handleFunc) {
	h := func(f http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if s.Inbound == nil {
				s.Error(w, r, walletd.Errorf(walletd.EUnavailable, "Inbound gateway webhooks are not enabled on this server."))
				return
			}
			f(w, r)
		}
	}
	// The seed's management routes come first: /webhooks/logs/… and
	// /webhooks/test/… are not gateways.
	handle("GET", odcmBase+"/", walletd.ScopeAdmin, h(s.handleInboundGateways))
	handle("GET", odcmBase, walletd.ScopeAdmin, h(s.handleInboundGateways))
	handle("POST", odcmBase+"/test/{gateway}", walletd.ScopeAdmin, h(s.handleInboundTest))
	handle("GET", odcmBase+"/logs/{gateway}", walletd.ScopeAdmin, h(s.handleInboundLogs))
	handle("POST", odcmBase+"/{gateway}", "", h(s.handleInboundReceive))

	handle("GET", inboundBase+"/gateways", walletd.ScopeAdmin, h(s.handleInboundGateways))
	handle("GET", inboundBase+"/gateways/{gateway}", walletd.ScopeAdmin, h(s.handleGetInboundGateway))
	handle("PUT", inboundBase+"/gateways/{gateway}", walletd.ScopeAdmin, h(s.handlePutInboundGateway))
	handle("POST", inboundBase+"/gateways/{gateway}/test", walletd.ScopeAdmin, h(s.handleInboundTest))
	handle("GET", inboundBase+"/gateways/{gateway}/logs", walletd.ScopeAdmin, h(s.handleInboundLogs))
	handle("GET", inboundBase+"/dead-letters", walletd.ScopeAdmin, h(s.handleInboundDeadLetters))
	handle("GET", inboundBase+"/dead-letters/{id}", walletd.ScopeAdmin, h(s.handleInboundDeadLetter))
	handle("POST", inboundBase+"/dead-letters/{id}/redrive", walletd.ScopeAdmin, h(s.handleInboundRedrive))
	handle("POST", inboundBase+"/dead-letters/{id}/discard", walletd.ScopeAdmin, h(s.handleInboundDiscard))
	handle("POST", inboundBase+"/{gateway}", "", h(s.handleInboundReceive))
}

// inboundReceiver is the endpoint of one gateway at a path of its own
// (WeGetFinancing's postbacks: financing_postback.go).
func (s *Server) inboundReceiver(gateway string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.Inbound == nil {
			s.Error(w, r, walletd.Errorf(walletd.EUnavailable, "Inbound gateway webhooks are not enabled on this server."))
			return
		}
		s.receiveInbound(w, r, gateway)
	}
}

// handleInboundReceive passes a delivery's raw bytes to the pipeline and
// writes its answer in the seed's shape.
func (s *Server) handleInboundReceive(w http.ResponseWriter, r *http.Request) {
	s.receiveInbound(w, r, mux.Vars(r)["gateway"])
}

func (s *Server) receiveInbound(w http.ResponseWriter, r *http.Request, gateway string) {
	req := &inbound.Request{Gateway: gateway, Header: r.Header, RemoteAddr: r.RemoteAddr}
	body, err := io.ReadAll(r.Body) // bounded by instrument's MaxBytesReader
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			rep := &inbound.Reply{Status: http.StatusRequestEntityTooLarge, Message: "Webhook payload too large", Code: "payload_too_large"}
			writeJSON(w, rep.Status, s.Inbound.Refuse(r.Context(), req, rep, inbound.OutTooLarge))
			return
		}
		writeJSON(w, http.StatusBadRequest, &inbound.Reply{Message: "Webhook payload could not be read", Code: "invalid_payload"})
		return
	}
	req.Body = body
	rep := s.Inbound.Receive(r.Context(), req)
	if rep.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(rep.RetryAfter.Seconds()))))
	}
	if ct, b := s.Inbound.Render(req.Gateway, rep); ct != "" {
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(rep.Status)
		w.Write(b)
		return
	}
	writeJSON(w, rep.Status, rep)
}

// inboundBaseURL is the base of the URLs the management list shows: the
// pipeline's public URL, else the request's own host.
func (s *Server) inboundBaseURL(r *http.Request) string {
	if s.Inbound.PublicURL != "" {
		return s.Inbound.PublicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Server) handleInboundGateways(w http.ResponseWriter, r *http.Request) {
	list, err := s.Inbound.ListGateways(r.Context(), s.inboundBaseURL(r))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeData(w, http.StatusOK, map[string]any{"endpoints": list})
}

func (s *Server) handleInboundTest(w http.ResponseWriter, r *http.Request) {
	var req inbound.TestInput
	if err := decodeJSON(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	res, err := s.Inbound.Test(r.Context(), mux.Vars(r)["gateway"], &req)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeData(w, http.StatusOK, res)
}

// inboundLogJSON is a log row in the seed's fields.
type inboundLogJSON struct {
	ID string `json:"id"`
	*inbound.LogEntry
}

func (s *Server) handleInboundLogs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := parseLimit(q.Get("limit"), 20, 500)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	logs, total, err := s.Inbound.Logs(r.Context(), mux.Vars(r)["gateway"], strings.TrimSpace(q.Get("status")), limit)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	out := make([]inboundLogJSON, len(logs))
	for i, l := range logs {
		out[i] = inboundLogJSON{ID: "log_" + strconv.FormatInt(l.ID, 10), LogEntry: l}
	}
	writeData(w, http.StatusOK, map[string]any{"logs": out, "total": total})
}
