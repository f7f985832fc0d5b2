package ledger

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/walletd/walletd"
)

// FlowKey is the metadata key naming the flow that made an entry. Callers'
// metadata may not use keys that start with "walletd_", so an entry with
// this key was made by walletd and nobody else.
const FlowKey = "walletd_flow"

// CanonicalMetadata validates metadata and returns its canonical JSON: an
// object with sorted keys, or "" when there is none.
func CanonicalMetadata(m map[string]string) (string, error) {
	if len(m) == 0 {
		return "", nil
	} else if len(m) > walletd.MaxMetadataKeys {
		return "", walletd.Errorf(walletd.EInvalid, "metadata has more than %d keys.", walletd.MaxMetadataKeys)
	}
	for k, v := range m {
		if strings.HasPrefix(k, "walletd_") {
			return "", walletd.Errorf(walletd.EInvalid, "metadata keys starting with walletd_ are reserved.")
		}
		// Keys and values are free text like any other: no control,
		// bidirectional or invisible characters (walletd.CheckText).
		if k == "" {
			return "", walletd.Errorf(walletd.EInvalid, "metadata keys must be 1 to %d bytes of UTF-8.", walletd.MaxMetadataKeyLen)
		} else if err := walletd.CheckText("metadata key", k, walletd.MaxMetadataKeyLen, true); err != nil {
			return "", err
		} else if err := walletd.CheckText("metadata value of "+walletd.QuoteInput(k), v, walletd.MaxMetadataValLen, false); err != nil {
			return "", err
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", walletd.Errorf(walletd.EInvalid, "metadata: %v", err)
	}
	return string(b), nil
}

// sysMeta returns the canonical metadata of an entry made by a flow: flow
// under FlowKey, then the given key/value pairs, empty values left out.
func sysMeta(flow string, kv ...string) string {
	m := make(map[string]string, 1+len(kv)/2)
	m[FlowKey] = flow
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			m[kv[i]] = kv[i+1]
		}
	}
	b, err := json.Marshal(m) // keys sorted
	if err != nil {
		panic(fmt.Sprintf("ledger: encode %s metadata: %v", flow, err)) // a map of strings always encodes
	}
	return string(b)
}

// metaOf returns the metadata of an entry as a map (nil if none or bad).
// Entries walletd made carry metadata it encoded itself; events read what
// they can of any other.
func metaOf(e *walletd.Entry) map[string]string {
	if e.Metadata == "" {
		return nil
	}
	var m map[string]string
	if json.Unmarshal([]byte(e.Metadata), &m) != nil {
		return nil
	}
	return m
}

// boolText is a flag as metadata records it: "true", or "" (left out).
func boolText(v bool) string {
	if v {
		return "true"
	}
	return ""
}
