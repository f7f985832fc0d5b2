package http

import (
	"bytes"
	"fmt"
	"io"
	"net/http"

	"github.com/walletd/walletd"
)

// Every write of the API is one ledger command submitted with the
// request's Idempotency-Key; its answer renders what the writer reports in
// the walletd.Result: the entries, the wallets as the command left them
// and the object it created or changed.

// written names the last entry a write appended: pass seq as min_seq to
// read your write from the read models.
type written struct {
	Seq        uint64 `json:"seq,omitempty"`
	LedgerHash string `json:"ledger_hash,omitempty"`
}

// writtenBy names the last of the entries es.
func writtenBy(es []*walletd.Entry) written {
	if len(es) == 0 {
		return written{}
	}
	e := es[len(es)-1]
	return written{Seq: e.Seq, LedgerHash: e.Hash.String()}
}

// apply submits cmd with the request's Idempotency-Key and answers status
// with what render makes of the result. A replay carries
// Idempotent-Replayed: true.
func (s *Server) apply(w http.ResponseWriter, r *http.Request, status int, cmd walletd.Command, render func(*walletd.Result) (any, error)) {
	s.applyStatus(w, r, cmd, func(res *walletd.Result) (int, any, error) {
		data, err := render(res)
		return status, data, err
	})
}

// applyStatus is apply for a command whose answer's status depends on the
// result.
func (s *Server) applyStatus(w http.ResponseWriter, r *http.Request, cmd walletd.Command, render func(*walletd.Result) (int, any, error)) {
	res, err := s.Writer.Submit(r.Context(), r.Header.Get("Idempotency-Key"), cmd)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	status, data, err := render(res)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	if res.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeData(w, status, data)
}

// applyEntry is apply for the commands that answer 201 with the one entry
// they wrote: a credit, a debit, a redemption.
func (s *Server) applyEntry(w http.ResponseWriter, r *http.Request, cmd walletd.Command) {
	s.apply(w, r, http.StatusCreated, cmd, func(res *walletd.Result) (any, error) {
		e, err := firstEntry(res)
		if err != nil {
			return nil, err
		}
		return entryAnswer{e}, nil
	})
}

// applyObject is apply for the commands that create or change one object
// of type T (a rule, a code, settings): it answers the object the result
// reports, rendered with the entries the command wrote.
func applyObject[T, J any](s *Server, w http.ResponseWriter, r *http.Request, status int, cmd walletd.Command, render func(*T, written) J) {
	s.apply(w, r, status, cmd, func(res *walletd.Result) (any, error) {
		o, err := resultObject[T](r.Context(), s, res)
		if err != nil {
			return nil, err
		}
		return render(o, writtenBy(res.Entries)), nil
	})
}

// firstEntry returns the first entry of a result that must have one.
func firstEntry(res *walletd.Result) (*walletd.Entry, error) {
	if len(res.Entries) == 0 {
		return nil, fmt.Errorf("http: the command wrote no entry")
	}
	return res.Entries[0], nil
}

// decodeOptional is decodeJSON for the bodies that may be left out: an
// absent, empty or blank body leaves v as it is.
func decodeOptional(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		return jsonError(err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	return decodeBody(body, v)
}
