package walletd

import "github.com/segmentio/ksuid"

// NewID returns prefix + "_" + a new KSUID: sortable by time and unique.
func NewID(prefix string) string { return prefix + "_" + ksuid.New().String() }
