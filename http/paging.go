package http

import (
	"context"
	"strconv"

	"github.com/walletd/walletd"
)

// Offset paging of the admin key lists and the daily report: limit from
// 1 to MaxListRows (default DefaultListRows, which holds every row of a
// small list, as these lists did before they paged), offset from 0, and
// next_offset in the answer (null on the last page). An offset past the
// last row is a 400, so that a client paging with a stale count hears of
// it instead of reading an empty page.

// Rows per answer of the lists paged by offset: the default and the most
// a limit may ask for.
const (
	DefaultListRows = 1000
	MaxListRows     = 1000
)

// maxOffset bounds the offset parameter before any count is read.
const maxOffset = 1 << 30

// parseOffsetPage parses the limit and offset query parameters. Returns
// EInvalid.
func parseOffsetPage(limit, offset string) (l, o int, err error) {
	if l, err = parseLimit(limit, DefaultListRows, MaxListRows); err != nil {
		return 0, 0, err
	}
	if offset != "" {
		if o, err = strconv.Atoi(offset); err != nil || o < 0 || o > maxOffset {
			return 0, 0, walletd.Errorf(walletd.EInvalid, "offset must be an integer from 0 to %d.", maxOffset)
		}
	}
	return l, o, nil
}

// checkOffset returns EInvalid when offset is past the last of total
// rows (offset 0 is always valid, also of an empty list).
func checkOffset(offset, total int) error {
	if offset > 0 && offset >= total {
		return walletd.Errorf(walletd.EInvalid, "offset %d is past the end: there are %d rows.", offset, total)
	}
	return nil
}

// nextOffset is the next_offset of a page of n rows from offset of total:
// nil on the last page.
func nextOffset(offset, n, total int) *int {
	if next := offset + n; n > 0 && next < total {
		return &next
	}
	return nil
}

// apiKeyPager is an APIKeyService that reads one page of its keys
// (ledger/sqlite); another is paged in memory.
type apiKeyPager interface {
	APIKeysPage(ctx context.Context, offset, limit int) ([]*walletd.APIKey, int, error)
}

// pluginKeyPager is a PluginStore that reads one page of its keys
// (ledger/sqlite); another is paged in memory.
type pluginKeyPager interface {
	PluginKeysPage(ctx context.Context, offset, limit int) ([]*walletd.PluginKey, int, error)
}

// pageOf returns list[offset:offset+limit] and len(list), for stores that
// read the whole list.
func pageOf[T any](list []T, offset, limit int) ([]T, int) {
	total := len(list)
	if offset >= total {
		return nil, total
	}
	return list[offset:min(total, offset+limit)], total
}
