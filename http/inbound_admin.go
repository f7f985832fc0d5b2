package http

import (
	"context"
	"net/http"
	"strconv"

	"github.com/walletd/walletd"

	"github.com/gorilla/mux"
	"github.com/walletd/walletd/webhooks/inbound"
)

// The inbound gateways' settings and the dead-letter queue (admin).

// inboundGatewayJSON is a gateway's settings as the API shows them: never
// the secret, only whether one is set.
type inboundGatewayJSON struct {
	*inbound.Gateway
	SecretSet bool `json:"secret_set"`
}

func (s *Server) handleGetInboundGateway(w http.ResponseWriter, r *http.Request) {
	list, err := s.Inbound.ListGateways(r.Context(), s.inboundBaseURL(r))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	name := mux.Vars(r)["gateway"]
	for _, g := range list {
		if g.Gateway == name {
			writeData(w, http.StatusOK, g)
			return
		}
	}
	s.Error(w, r, walletd.Errorf(walletd.ENotFound, "No gateway %s.", walletd.QuoteInput(name)))
}

func (s *Server) handlePutInboundGateway(w http.ResponseWriter, r *http.Request) {
	var req inbound.GatewayInput
	if err := decodeJSON(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	g, err := s.Inbound.PutGateway(r.Context(), mux.Vars(r)["gateway"], &req)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeData(w, http.StatusOK, inboundGatewayJSON{Gateway: g, SecretSet: g.Secret != ""})
}

// inboundEventJSON is a received event as the dead-letter API shows it,
// with its raw body when asked for one event.
type inboundEventJSON struct {
	*inbound.Record
	Body string `json:"body,omitempty"`
}

func (s *Server) handleInboundDeadLetters(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := parseLimit(q.Get("limit"), 50, 500)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	var before int64
	if c := q.Get("before"); c != "" {
		if before, err = strconv.ParseInt(c, 10, 64); err != nil || before < 1 {
			s.Error(w, r, walletd.Errorf(walletd.EInvalid, "before must be an event id."))
			return
		}
	}
	list, err := s.Inbound.DeadLetters(r.Context(), q.Get("gateway"), before, limit)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	out := make([]inboundEventJSON, len(list))
	for i, rec := range list {
		out[i] = inboundEventJSON{Record: rec}
	}
	writeData(w, http.StatusOK, map[string]any{"dead_letters": out})
}

// inboundEventID parses {id}. Returns ENotFound.
func inboundEventID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	if err != nil || id < 1 {
		return 0, walletd.Errorf(walletd.ENotFound, "Inbound event %s not found.", walletd.QuoteInput(mux.Vars(r)["id"]))
	}
	return id, nil
}

func (s *Server) handleInboundDeadLetter(w http.ResponseWriter, r *http.Request) {
	id, err := inboundEventID(r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	rec, err := s.Inbound.Event(r.Context(), id)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeData(w, http.StatusOK, inboundEventJSON{Record: rec, Body: string(rec.Body)})
}

func (s *Server) handleInboundRedrive(w http.ResponseWriter, r *http.Request) {
	s.inboundDLQAction(w, r, s.Inbound.Redrive)
}

func (s *Server) handleInboundDiscard(w http.ResponseWriter, r *http.Request) {
	s.inboundDLQAction(w, r, s.Inbound.Discard)
}

func (s *Server) inboundDLQAction(w http.ResponseWriter, r *http.Request, act func(ctx context.Context, id int64) (*inbound.Record, error)) {
	id, err := inboundEventID(r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	rec, err := act(r.Context(), id)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeData(w, http.StatusOK, inboundEventJSON{Record: rec})
}
