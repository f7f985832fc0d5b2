package main

import (
	"strings"
	"testing"
)

func TestParseByteSize(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "1073741824": 1 << 30, "512MiB": 512 << 20, "2GiB": 2 << 30, "2G": 2 << 30,
		"1KiB": 1024, "3T": 3 << 40, "7B": 7, "8388607TiB": 8388607 << 40} {
		got, err := parseByteSize(in)
		if err != nil || got != want {
			t.Errorf("parseByteSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "GiB", "-1", "1.5GiB", "1e9", "1 GiB", "1gib", "NaN", "8388608TiB", "99999999999999999999", "0x10", "+1"} {
		if got, err := parseByteSize(in); err == nil {
			t.Errorf("parseByteSize(%q) = %d, want an error", in, got)
		}
	}
}

// FuzzByteSize: --nats-max-bytes either parses to a size that prints back
// to the same bytes, or is an error quoting at most 40 bytes of it.
func FuzzByteSize(f *testing.F) {
	for _, s := range []string{"0", "1073741824", "512MiB", "2G", "-1", "1.5GiB", "8388608TiB", strings.Repeat("9", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseByteSize(s)
		if err != nil {
			if len(err.Error()) > 400 {
				t.Fatalf("error too long: %d bytes", len(err.Error()))
			}
			return
		}
		if n < 0 {
			t.Fatalf("%q: negative size %d", s, n)
		}
		if m, err := parseByteSize(byteSize(n).String()); err != nil || m != n {
			t.Fatalf("%q: %d does not parse back: %d, %v", s, n, m, err)
		}
	})
}
