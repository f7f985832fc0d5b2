package projections

import (
	"encoding/base64"
	"math"
	"testing"
	"time"

	"github.com/walletd/walletd"
)

func TestParseTime(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"2026-11-24", "2026-11-24T00:00:00Z"},
		{"2026-11-24T18:46:55Z", "2026-11-24T18:46:55Z"},
		{"2026-11-24T18:46:55.25+02:00", "2026-11-24T16:46:55.25Z"},
		{"2026-11-24T00:30:00-01:00", "2026-11-24T01:30:00Z"},
		{"0001-01-01", "0001-01-01T00:00:00Z"},
		{"9999-12-31T23:59:59Z", "9999-12-31T23:59:59Z"},
	} {
		got, err := ParseTime("from", tc.in)
		if err != nil || got.Format(time.RFC3339Nano) != tc.want || got.Location() != time.UTC {
			t.Errorf("ParseTime(%q) = %v, %v; want %s", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{
		"", "2026", "2026-13-01", "2026-02-30", "24/11/2026", "2026-11-24T18:46:55", "2026-11-24 18:46:55Z",
		" 2026-11-24", "2026-11-24 ", "0000-01-01", "0001-01-01T00:30:00+01:00", "9999-12-31T23:00:00-02:00",
		"2026-11-24T25:00:00Z", "+2026-11-24", "1764000000", "2026-11-24T18:46:55.1234567890123456789012345Z",
		"9999-12-31T23:59:59.5Z", "9999-12-31T23:59:59.000000001Z",
	} {
		if _, err := ParseTime("from", in); walletd.ErrorCode(err) != walletd.EInvalid {
			t.Errorf("ParseTime(%q): %v, want invalid_request", in, err)
		}
	}
	t.Run("ErrOutOfRange", func(t *testing.T) {
		// A fraction in the last second of 9999 was accepted, and rounded
		// up to year 10000 by the queries (issue 18).
		const want = "to must be from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z."
		for _, in := range []string{"9999-12-31T23:59:59.5Z", "0000-12-31", "0001-01-01T00:00:00+00:01", "9999-12-31T23:00:00-01:00"} {
			if _, err := ParseTime("to", in); walletd.ErrorMessage(err) != want {
				t.Errorf("ParseTime(%q): %v, want %q", in, err, want)
			}
		}
	})
}

func TestParseDate(t *testing.T) {
	if d, err := ParseDate("date", "2026-11-24"); err != nil || !d.Equal(time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("%v %v", d, err)
	}
	for _, in := range []string{"", "2026-11-24T00:00:00Z", "2026-11-31", "26-11-24", "0000-01-01"} {
		if _, err := ParseDate("date", in); walletd.ErrorCode(err) != walletd.EInvalid {
			t.Errorf("ParseDate(%q): %v", in, err)
		}
	}
}

func TestCursor(t *testing.T) {
	for _, c := range []walletd.Cursor{
		{CreatedAt: time.Date(2026, 11, 24, 18, 46, 55, 0, time.UTC), Seq: 1},
		{CreatedAt: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), Seq: math.MaxInt64},
		{CreatedAt: time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), Seq: 10},
		{CreatedAt: time.Unix(0, 0).UTC(), Seq: 7},
	} {
		got, err := walletd.ParseCursor(c.String())
		if err != nil || *got != c {
			t.Errorf("round trip of %+v: %+v, %v", c, got, err)
		}
	}
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, in := range []string{
		"", "12", enc("1764000000"), enc("1764000000:0"), enc("1764000000:01"), enc("01764000000:1"),
		enc("1764000000:-1"), enc("-0:1"), enc("+1764000000:1"), enc("1764000000:9223372036854775808"),
		enc("1764000000:1:2"), enc(" 1764000000:1"), enc("1764000000:1 "), enc("999999999999:1"),
		enc("-99999999999:1"), enc("1764000000:1") + "=", enc("1764000000:1") + "\n", "not base64!",
	} {
		if _, err := walletd.ParseCursor(in); walletd.ErrorCode(err) != walletd.EInvalid {
			t.Errorf("ParseCursor(%q): %v, want invalid_request", in, err)
		}
	}
}

func FuzzParseTimeParam(f *testing.F) {
	for _, s := range []string{"2026-11-24", "2026-11-24T18:46:55Z", "2026-11-24T18:46:55.999999999-23:59",
		"0001-01-01T00:00:00Z", "9999-12-31T23:59:59+00:00", "2026-02-29", "x",
		"9999-12-31T23:59:59.5Z", "0001-01-01T00:00:00.5+00:00", "9999-12-31T23:59:58.999999999Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseTime("from", s)
		if err != nil {
			if walletd.ErrorCode(err) != walletd.EInvalid {
				t.Fatalf("%q: error %v is not invalid_request", s, err)
			}
			return
		}
		if got.Location() != time.UTC || got.Before(minStored) || got.After(maxStored) {
			t.Fatalf("%q: %v out of range or not UTC", s, got)
		}
		again, err := ParseTime("from", got.Format(time.RFC3339Nano))
		if err != nil || !again.Equal(got) {
			t.Fatalf("%q: %v does not round-trip: %v %v", s, got, again, err)
		}
	})
}

func FuzzCursor(f *testing.F) {
	for _, c := range []walletd.Cursor{{CreatedAt: time.Date(2026, 11, 24, 18, 46, 55, 0, time.UTC), Seq: 1}, {CreatedAt: time.Unix(0, 0), Seq: math.MaxInt64}} {
		f.Add(c.String(), c.CreatedAt.Unix(), c.Seq)
	}
	for _, s := range []string{"", "====", "MTc2NDAwMDAwMDow", "MTc2NDAwMDAwMDox\n"} {
		f.Add(s, int64(1764000000), uint64(42))
	}
	f.Fuzz(func(t *testing.T, s string, unix int64, seq uint64) {
		if c, err := walletd.ParseCursor(s); err == nil {
			if c.Seq == 0 || c.Seq > math.MaxInt64 || c.String() != s || c.CreatedAt.Location() != time.UTC {
				t.Fatalf("%q: accepted as %+v", s, c)
			}
		} else if walletd.ErrorCode(err) != walletd.EInvalid {
			t.Fatalf("%q: error %v is not invalid_request", s, err)
		}
		if seq == 0 || seq > math.MaxInt64 || unix < minUnix || unix > maxUnix {
			return
		}
		c := walletd.Cursor{CreatedAt: time.Unix(unix, 0).UTC(), Seq: seq}
		if got, err := walletd.ParseCursor(c.String()); err != nil || *got != c {
			t.Fatalf("%+v: round trip gives %+v, %v", c, got, err)
		}
	})
}

// The bounds of the cursor's time, as walletd.ParseCursor accepts them.
var (
	minUnix = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	maxUnix = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC).Unix()
)
