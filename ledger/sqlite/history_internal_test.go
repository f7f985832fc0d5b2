package sqlite

import (
	"testing"
	"time"
)

// checkBounds checks that since(b) and before(b), compared as text with
// the stored form of whole seconds around b, agree with comparing times.
func checkBounds(t *testing.T, b time.Time) {
	t.Helper()
	sec := b.Truncate(time.Second)
	for _, c := range []time.Time{minStored, maxStored, sec, sec.Add(-time.Second), sec.Add(time.Second)} {
		if c.Before(minStored) || c.After(maxStored) {
			continue
		}
		stored := storedSecond(c)
		for _, k := range []struct {
			name string
			cond func(time.Time) (string, string)
			want bool
		}{{"since", since, !c.Before(b)}, {"before", before, c.Before(b)}} {
			op, text := k.cond(b)
			if len(text) != len("2006-01-02T15:04:05") {
				t.Fatalf("%s(%v): bound %q", k.name, b, text)
			}
			if got := compareText(stored, op, text); got != k.want {
				t.Fatalf("%s(%v): %q %s %q is %v, but the times say %v", k.name, b, stored, op, text, got, k.want)
			}
		}
	}
}

// compareText evaluates a op b as SQLite compares TEXT (bytewise).
func compareText(a, op, b string) bool {
	switch op {
	case "<":
		return a < b
	case "<=":
		return a <= b
	case ">":
		return a > b
	case ">=":
		return a >= b
	}
	panic("operator " + op)
}

func TestBounds(t *testing.T) {
	for _, s := range []string{"2026-12-15T12:00:00Z", "2026-12-15T12:00:00.5Z", "0001-01-01T00:00:00Z",
		"0001-01-01T00:00:00.000000001Z", "9999-12-31T23:59:59Z", "9999-12-31T23:59:59.5Z",
		"9999-12-31T23:59:59.999999999Z", "9999-12-31T23:59:58.5Z"} {
		b, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		checkBounds(t, b)
	}
	// Out of range: what a Go caller of History.Statement could pass.
	for _, tc := range []struct {
		t                 time.Time
		sinceOp, beforeOp string
		text              string
	}{
		{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), ">", "<=", "9999-12-31T23:59:59"},
		{time.Date(0, 12, 31, 23, 0, 0, 0, time.UTC), ">=", "<", "0001-01-01T00:00:00"},
	} {
		if op, text := since(tc.t); op != tc.sinceOp || text != tc.text {
			t.Errorf("since(%v) = %s %s", tc.t, op, text)
		}
		if op, text := before(tc.t); op != tc.beforeOp || text != tc.text {
			t.Errorf("before(%v) = %s %s", tc.t, op, text)
		}
	}
}

// FuzzHistoryBounds checks since and before for any time a caller can
// pass (what projections.ParseTime accepts, and beyond).
func FuzzHistoryBounds(f *testing.F) {
	for _, s := range []string{"2026-12-15T12:00:00Z", "2026-12-15T12:00:00.5+01:00", "0001-01-01T00:00:00Z",
		"9999-12-31T23:59:59.999999999Z", "0001-01-01T00:00:00.5-23:59"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return
		}
		checkBounds(t, b.UTC())
	})
}
