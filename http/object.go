package http

import (
	"context"
	"fmt"
	"net/http"

	"github.com/walletd/walletd"

	"github.com/gorilla/mux"
)

// The objects the writer keeps besides wallets (top-ups, withdrawals,
// codes, rules, settings, orders …; walletd.ObjTopup …), read back over
// the ledger's LedgerReader.Object and Objects.

// readObject reads the committed object of kind and id. Returns ENotFound.
func readObject[T any](ctx context.Context, s *Server, kind, id string) (*T, error) {
	v, err := s.Ledger.Object(ctx, kind, id)
	if err != nil {
		return nil, err
	}
	t, ok := v.(*T)
	if !ok || t == nil {
		return nil, fmt.Errorf("http: %s %q decoded as %T", kind, id, v)
	}
	return t, nil
}

// resultObject returns the object a command reported, or reads the one
// the result names when it carries none (a replay whose object the writer
// could not read).
func resultObject[T any](ctx context.Context, s *Server, res *walletd.Result) (*T, error) {
	if t, ok := res.Object.(*T); ok && t != nil {
		return t, nil
	}
	if res.ObjectKind == "" || res.ObjectID == "" {
		return nil, fmt.Errorf("http: the result of a %T command names no object", res.Object)
	}
	return readObject[T](ctx, s, res.ObjectKind, res.ObjectID)
}

// getObject answers GET for one object of kind, named by path variable v.
func getObject[T, J any](s *Server, kind, v string, render func(*T, written) J) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		o, err := readObject[T](r.Context(), s, kind, mux.Vars(r)[v])
		if err != nil {
			s.Error(w, r, err)
			return
		}
		writeData(w, http.StatusOK, render(o, written{}))
	}
}

// listObjects answers a page of the objects of kind in id order, paged
// like the wallets: pass next_cursor as cursor until it is empty.
func listObjects[T, J any](s *Server, kind string, id func(*T) string, render func(*T, written) J) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		limit, err := parseLimit(q.Get("limit"), 50, 200)
		if err != nil {
			s.Error(w, r, err)
			return
		}
		list, err := s.Ledger.Objects(r.Context(), kind, q.Get("cursor"), limit+1)
		if err != nil {
			s.Error(w, r, err)
			return
		}
		next := ""
		items := make([]J, 0, min(len(list), limit))
		for i, v := range list {
			o, ok := v.(*T)
			if !ok {
				s.Error(w, r, fmt.Errorf("http: %s decoded as %T", kind, v))
				return
			}
			if i == limit {
				next = id(list[limit-1].(*T))
				break
			}
			items = append(items, render(o, written{}))
		}
		writeData(w, http.StatusOK, map[string]any{"items": items, "next_cursor": next})
	}
}

// putSettings answers PUT of a currency's settings: a new command from
// newCmd is decoded from the body and applied, and the settings it stored
// rendered with the entries that recorded them.
func putSettings[T, J any](s *Server, newCmd func() walletd.Command, render func(*T, written) J) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		cmd := newCmd()
		if err := decodeJSON(w, r, cmd); err != nil {
			s.Error(w, r, err)
			return
		}
		applyObject(s, w, r, http.StatusOK, cmd, render)
	}
}

// getSettings answers GET of a currency's settings of kind (keyed by
// currency): ?currency=, by default the default currency.
func getSettings[T, J any](s *Server, kind string, render func(*T, written) J) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := s.currencyParam(r)
		if err != nil {
			s.Error(w, r, err)
			return
		}
		v, err := readObject[T](r.Context(), s, kind, c)
		if err != nil {
			s.Error(w, r, err)
			return
		}
		writeData(w, http.StatusOK, render(v, written{}))
	}
}
