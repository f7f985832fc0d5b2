package main

import (
	"flag"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/events/bus"
)

// streamLimitFlags adds the stream's bounds: serve sets them on the stream
// it creates or finds (embedded or external) at every start.
func streamLimitFlags(fs *flag.FlagSet, c *natsConfig) {
	c.MaxBytes = bus.DefaultMaxBytes
	fs.DurationVar(&c.MaxAge, "nats-max-age", bus.DefaultMaxAge, "the stream keeps events this long (0: forever); the ledger keeps them all (docs/operations.md, stream limits)")
	fs.Var((*byteSize)(&c.MaxBytes), "nats-max-bytes", "the stream keeps at most this many bytes, oldest dropped first: 1073741824, 512MiB, 2GiB (0: no limit)")
}

// limits puts the flags' values into sc, where 0 means "no limit".
func (c *natsConfig) limits(sc *bus.StreamConfig) {
	sc.MaxAge, sc.MaxBytes = c.MaxAge, c.MaxBytes
	if sc.MaxAge == 0 {
		sc.MaxAge = -1
	}
	if sc.MaxBytes == 0 {
		sc.MaxBytes = -1
	}
}

// byteSize is a flag of a number of bytes: digits with an optional
// binary unit (KiB, MiB, GiB, TiB; K, M, G, T mean the same).
type byteSize int64

func (b byteSize) String() string { return strconv.FormatInt(int64(b), 10) }

func (b *byteSize) Set(s string) error {
	n, err := parseByteSize(s)
	if err != nil {
		return err
	}
	*b = byteSize(n)
	return nil
}

var byteUnits = []struct {
	suffix string
	shift  uint
}{{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}, {"T", 40}, {"G", 30}, {"M", 20}, {"K", 10}, {"B", 0}}

// parseByteSize parses a byte size such as 1073741824, 512MiB or 2G.
func parseByteSize(s string) (int64, error) {
	num, shift := s, uint(0)
	for _, u := range byteUnits {
		if strings.HasSuffix(s, u.suffix) {
			num, shift = strings.TrimSuffix(s, u.suffix), u.shift
			break
		}
	}
	if num == "" || strings.TrimLeft(num, "0123456789") != "" {
		return 0, fmt.Errorf("byte size %s: want digits with an optional unit (KiB, MiB, GiB, TiB)", walletd.QuoteInput(s))
	}
	n, err := strconv.ParseUint(num, 10, 63)
	if err != nil || n > math.MaxInt64>>shift {
		return 0, fmt.Errorf("byte size %s: too large", walletd.QuoteInput(s))
	}
	return int64(n << shift), nil
}
