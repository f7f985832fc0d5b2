package webhooks

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxRetryAfter caps how long a receiver's Retry-After can push back its
// next attempt.
const MaxRetryAfter = 24 * time.Hour

// ParseSchedule parses a retry schedule: comma-separated Go durations, one
// per retry, each positive ("30s,2m,10m,1h,4h"). At most 20 retries.
func ParseSchedule(s string) ([]time.Duration, error) {
	var out []time.Duration
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		d, err := time.ParseDuration(item)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("retry schedule: %q is not a positive duration", item)
		}
		out = append(out, d)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("retry schedule: no delays in %q", s)
	}
	if len(out) > 20 {
		return nil, fmt.Errorf("retry schedule: %d retries, at most 20", len(out))
	}
	return out, nil
}

// FormatSchedule is the inverse of ParseSchedule.
func FormatSchedule(s []time.Duration) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = d.String()
	}
	return strings.Join(parts, ",")
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP
// date, relative to now. It returns 0 when the header is absent or
// unusable, and never more than MaxRetryAfter.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if allDigits(v) {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n > uint64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter // a number too large to parse is still a number
		}
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), MaxRetryAfter)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
