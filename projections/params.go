package projections

import (
	"time"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/events"
)

// ParseTime parses a period bound given by a caller (the from and to query
// parameters): an RFC 3339 timestamp ("2026-11-24T18:46:55Z", any offset,
// fractions allowed) or a date ("2026-11-24", midnight UTC). name is the
// parameter's name, for the message. The result is in UTC, from
// 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z: the times created_at can
// hold (a fraction in the last second is after them). Returns EInvalid for
// anything else, with the allowed range when only the range is wrong.
func ParseTime(name, s string) (time.Time, error) {
	bad := func() (time.Time, error) {
		return time.Time{}, walletd.Errorf(walletd.EInvalid,
			"%s must be an RFC 3339 timestamp (2026-11-24T18:46:55Z) or a date (2026-11-24).", name)
	}
	if len(s) < len(time.DateOnly) || len(s) > 40 {
		return bad()
	}
	var t time.Time
	var err error
	if len(s) == len(time.DateOnly) {
		t, err = time.ParseInLocation(time.DateOnly, s, time.UTC)
	} else {
		t, err = time.Parse(time.RFC3339Nano, s)
	}
	if err != nil {
		return bad()
	}
	t = t.UTC()
	if t.Before(minStored) || t.After(maxStored) {
		return time.Time{}, walletd.Errorf(walletd.EInvalid, "%s must be from %s to %s.", name,
			events.FormatTime(minStored), events.FormatTime(maxStored))
	}
	return t, nil
}

// ParseDate parses a YYYY-MM-DD day (UTC). name is the parameter's name.
// Returns EInvalid for anything else.
func ParseDate(name, s string) (time.Time, error) {
	t, err := time.ParseInLocation(time.DateOnly, s, time.UTC)
	if err != nil || len(s) != len(time.DateOnly) || t.Year() < 1 {
		return time.Time{}, walletd.Errorf(walletd.EInvalid, "%s must be a date such as 2026-11-24.", name)
	}
	return t, nil
}
