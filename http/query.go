package http

import (
	"net/http"
	"strconv"

	"github.com/walletd/walletd"
)

// The query parameters several endpoints share: page sizes, seq cursors
// and currencies.

// parseLimit parses a page size from 1 to max; "" is def. Returns
// EInvalid.
func parseLimit(s string, def, max int) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > max {
		return 0, walletd.Errorf(walletd.EInvalid, "limit must be an integer from 1 to %d.", max)
	}
	return n, nil
}

// parseSeq parses the ledger seq of parameter name; "" is 0. Returns
// EInvalid.
func parseSeq(name, s string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 63)
	if err != nil {
		return 0, walletd.Errorf(walletd.EInvalid, "%s must be a non-negative integer.", name)
	}
	return n, nil
}

// currencyParam returns the currency query parameter, the default
// currency when it is absent. Returns EInvalidCurrency.
func (s *Server) currencyParam(r *http.Request) (string, error) {
	c := r.URL.Query().Get("currency")
	if c == "" {
		c = s.DefaultCurrency
		if c == "" {
			c = "USD"
		}
	}
	if _, err := s.Currencies.Scale(c); err != nil {
		return "", err
	}
	return c, nil
}
