package projections

import (
	"encoding/base64"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/walletd/walletd/ledger"
)

// ParseTime parses a period bound given by a caller (the from and to query
// parameters): an RFC 3339 timestamp ("2026-11-24T18:46:55Z", any offset,
// fractions allowed) or a date ("2026-11-24", midnight UTC). name is the
// parameter's name, for the message. The result is in UTC, between years 1
// and 9999. Returns EInvalid for anything else.
func ParseTime(name, s string) (time.Time, error) {
	bad := func() (time.Time, error) {
		return time.Time{}, ledger.Errorf(ledger.EInvalid,
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
	if y := t.Year(); y < 1 || y > 9999 {
		return bad()
	}
	return t, nil
}

// ParseDate parses a YYYY-MM-DD day (UTC). name is the parameter's name.
// Returns EInvalid for anything else.
func ParseDate(name, s string) (time.Time, error) {
	t, err := time.ParseInLocation(time.DateOnly, s, time.UTC)
	if err != nil || len(s) != len(time.DateOnly) || t.Year() < 1 {
		return time.Time{}, ledger.Errorf(ledger.EInvalid, "%s must be a date such as 2026-11-24.", name)
	}
	return t, nil
}

// Cursor is a place in a wallet's history, newest first: the page after
// it lists the transactions created before CreatedAt, or at CreatedAt with
// a smaller seq.
type Cursor struct {
	CreatedAt time.Time // UTC, to the second
	Seq       uint64
}

// CursorAfter returns the cursor of the page that follows t.
func CursorAfter(t *Transaction) *Cursor { return &Cursor{CreatedAt: t.CreatedAt, Seq: t.Seq} }

// String returns the cursor's opaque form, the next_cursor of the API.
func (c *Cursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.CreatedAt.Unix(), 10) + ":" + strconv.FormatUint(c.Seq, 10)))
}

// ParseCursor parses a cursor String made. Anything else, including a
// cursor edited by hand, is refused with EInvalid.
func ParseCursor(s string) (*Cursor, error) {
	bad := ledger.Errorf(ledger.EInvalid, "cursor is not a cursor this API returned.")
	if s == "" || len(s) > 64 {
		return nil, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, bad
	}
	secs, seqs, ok := strings.Cut(string(b), ":")
	if !ok || !canonicalUint(seqs) || !canonicalInt(secs) {
		return nil, bad
	}
	unix, err1 := strconv.ParseInt(secs, 10, 64)
	seq, err2 := strconv.ParseUint(seqs, 10, 64)
	if err1 != nil || err2 != nil || seq == 0 || seq > math.MaxInt64 || unix < minUnix || unix > maxUnix {
		return nil, bad
	}
	c := &Cursor{CreatedAt: time.Unix(unix, 0).UTC(), Seq: seq}
	if c.String() != s {
		return nil, bad
	}
	return c, nil
}

// The times a cursor may hold: years 1 to 9999, as created_at.
var (
	minUnix = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	maxUnix = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC).Unix()
)

// canonicalUint reports whether s is a decimal without sign or leading
// zeros, of at most 19 digits.
func canonicalUint(s string) bool {
	if s == "" || len(s) > 19 || (s[0] == '0' && len(s) > 1) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// canonicalInt is canonicalUint with an optional minus sign (not on 0).
func canonicalInt(s string) bool {
	if rest, ok := strings.CutPrefix(s, "-"); ok {
		return rest != "0" && canonicalUint(rest)
	}
	return canonicalUint(s)
}
