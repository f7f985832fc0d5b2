package http

import (
	"encoding/base64"
	"net/http"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/http/client"
)

// The ledger over HTTP: its entries (every answer of a write shows the
// entries it appended), its signed checkpoints and the verification of
// the whole chain.

func (s *Server) registerLedgerRoutes(handle handleFunc) {
	handle("GET", "/v1/ledger/verify", walletd.ScopeAdmin, s.handleVerify)
	handle("GET", "/v1/ledger/entries", walletd.ScopeAdmin, s.handleEntries)
	handle("GET", "/v1/ledger/checkpoints", walletd.ScopeAdmin, s.handleCheckpoints)
}

// entryJSON is a ledger entry (a transaction) as the API shows it: the
// client's type, so that the server's answers and what the client reads
// cannot drift apart.
type entryJSON = client.EntryJSON

// entryToJSON returns e as the API shows it.
func entryToJSON(e *walletd.Entry) entryJSON { return client.NewEntryJSON(e) }

func (s *Server) handleVerify(w http.ResponseWriter, r *http.Request) {
	rep, err := s.Verify(r.Context())
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeData(w, http.StatusOK, rep)
}

func (s *Server) handleEntries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	after, err := parseSeq("after_seq", q.Get("after_seq"))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	limit, err := parseLimit(q.Get("limit"), 100, 1000)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	entries, err := s.Ledger.Entries(r.Context(), after, limit)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	items := make([]entryJSON, 0, len(entries))
	next := after
	for _, e := range entries {
		items = append(items, entryToJSON(e))
		next = e.Seq
	}
	writeData(w, http.StatusOK, map[string]any{"items": items, "next_after_seq": next})
}

// checkpointJSON is a signed checkpoint as the API shows it.
type checkpointJSON struct {
	Seq       uint64 `json:"seq"`
	LedgerID  string `json:"ledger_id"`
	HeadHash  string `json:"head_hash"`
	CreatedAt string `json:"created_at"`
	Signature string `json:"signature"` // base64
	Message   string `json:"message"`   // the exact signed bytes
}

func (s *Server) handleCheckpoints(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	after, err := parseSeq("after_seq", q.Get("after_seq"))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	limit, err := parseLimit(q.Get("limit"), 100, 1000)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	cps, err := s.Ledger.Checkpoints(r.Context(), after, limit)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	items := make([]checkpointJSON, 0, len(cps))
	for _, cp := range cps {
		items = append(items, checkpointJSON{
			Seq: cp.Seq, LedgerID: cp.LedgerID, HeadHash: cp.HeadHash.String(),
			CreatedAt: cp.CreatedAt.UTC().Format(walletd.TimeFormat),
			Signature: base64.StdEncoding.EncodeToString(cp.Signature), Message: string(cp.Message()),
		})
	}
	writeData(w, http.StatusOK, map[string]any{"items": items, "public_key": s.CheckpointPublicKey})
}
