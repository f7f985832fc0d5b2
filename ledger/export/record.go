package export

import (
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/walletd/walletd"
)

// parseHeader parses and checks a header line.
func parseHeader(p *recordParser, line []byte) (*Header, error) {
	kind, err := p.parse(line)
	if err != nil {
		return nil, err
	} else if kind != RecordHeader {
		return nil, fmt.Errorf("the first line is a %q record, not the header", kind)
	}
	var h Header
	var at string
	if err := p.fields(map[string]*string{"format": &h.Format, "ledger_id": &h.LedgerID, "exported_at": &at, "canonical": &h.Canonical}, nil); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	if h.Format != Format {
		return nil, fmt.Errorf("header: format %q is not %q", h.Format, Format)
	} else if h.Canonical != walletd.CanonicalVersion {
		return nil, fmt.Errorf("header: canonical encoding %q is not %q, the one this walletd verifies", h.Canonical, walletd.CanonicalVersion)
	}
	if h.ExportedAt, err = parseTime(at); err != nil {
		return nil, fmt.Errorf("header: exported_at: %w", err)
	}
	return &h, nil
}

// parseTime parses a TimeFormat time and insists on the exact text
// (hashes cover the time re-rendered in that form, so nothing else may
// pass for it).
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(walletd.TimeFormat, s)
	if err != nil {
		return t, err
	} else if t.Format(walletd.TimeFormat) != s {
		return t, fmt.Errorf("%q is not in the form %s", s, walletd.TimeFormat)
	}
	return t, nil
}

// fields assigns the parsed members to strs and nums by key, and requires
// every one of them, once, and no other member than "record".
func (p *recordParser) fields(strs map[string]*string, nums map[string]*uint64) error {
	seen := 0
	for i, v := range p.vals {
		if v.key == "record" {
			continue
		}
		for _, w := range p.vals[:i] {
			if w.key == v.key {
				return fmt.Errorf("duplicate key %q", v.key)
			}
		}
		if dst, ok := strs[v.key]; ok {
			if v.isNum {
				return fmt.Errorf("%s is a number, want a string", v.key)
			}
			*dst = v.str
		} else if dst, ok := nums[v.key]; ok {
			if !v.isNum {
				return fmt.Errorf("%s is a string, want a number", v.key)
			}
			*dst = v.num
		} else {
			return fmt.Errorf("unknown field %q", v.key)
		}
		seen++
	}
	if seen != len(strs)+len(nums) {
		for k := range strs {
			if !p.has(k) {
				return fmt.Errorf("missing field %q", k)
			}
		}
		for k := range nums {
			if !p.has(k) {
				return fmt.Errorf("missing field %q", k)
			}
		}
	}
	return nil
}

func (p *recordParser) has(key string) bool {
	for _, v := range p.vals {
		if v.key == key {
			return true
		}
	}
	return false
}

// seq returns the parsed "seq" member, if the line had a numeric one.
func (p *recordParser) seq() (uint64, bool) {
	for _, v := range p.vals {
		if v.key == "seq" && v.isNum {
			return v.num, true
		}
	}
	return 0, false
}

// entryFieldCount is the number of members of an entry line besides
// "record".
const entryFieldCount = 23

// entry fills e from a parsed entry line. It is the hot path of verifying
// an export, so it switches on keys instead of building maps.
func (p *recordParser) entry(e *walletd.Entry) error {
	var seen [entryFieldCount]bool
	var createdAt, prevHash, hash string
	for _, v := range p.vals {
		var dst *string
		idx := 0
		switch v.key {
		case "record":
			continue
		case "seq":
			if !v.isNum {
				return errors.New("seq is a string, want a number")
			}
			if seen[0] {
				return errors.New(`duplicate key "seq"`)
			}
			e.Seq = v.num
			seen[0] = true
			continue
		case "id":
			dst, idx = &e.ID, 1
		case "event_id":
			dst, idx = &e.EventID, 2
		case "kind":
			dst, idx = &e.Kind, 3
		case "type":
			dst, idx = &e.Type, 4
		case "wallet_id":
			dst, idx = &e.WalletID, 5
		case "user_id":
			dst, idx = &e.UserID, 6
		case "email":
			dst, idx = &e.Email, 7
		case "currency":
			dst, idx = &e.Currency, 8
		case "amount":
			dst, idx = &e.Amount, 9
		case "balance_after":
			dst, idx = &e.BalanceAfter, 10
		case "held_after":
			dst, idx = &e.HeldAfter, 11
		case "reason":
			dst, idx = &e.Reason, 12
		case "order_id":
			dst, idx = &e.OrderID, 13
		case "transfer_id":
			dst, idx = &e.TransferID, 14
		case "counterparty_wallet_id":
			dst, idx = &e.Counterparty, 15
		case "metadata":
			dst, idx = &e.Metadata, 16
		case "idempotency_key":
			dst, idx = &e.IdempotencyKey, 17
		case "request_hash":
			dst, idx = &e.RequestHash, 18
		case "created_at":
			dst, idx = &createdAt, 19
		case "key_id":
			dst, idx = &e.KeyID, 20
		case "prev_hash":
			dst, idx = &prevHash, 21
		case "hash":
			dst, idx = &hash, 22
		default:
			return fmt.Errorf("unknown field %q", v.key)
		}
		if v.isNum {
			return fmt.Errorf("%s is a number, want a string", v.key)
		} else if seen[idx] {
			return fmt.Errorf("duplicate key %q", v.key)
		}
		*dst = v.str
		seen[idx] = true
	}
	for i, ok := range seen {
		if !ok {
			return fmt.Errorf("missing field %q", entryFieldNames[i])
		}
	}
	var err error
	if e.CreatedAt, err = parseTime(createdAt); err != nil {
		return fmt.Errorf("created_at: %w", err)
	}
	if err := parseLowerHex(&e.PrevHash, prevHash); err != nil {
		return fmt.Errorf("prev_hash: %w", err)
	}
	if err := parseLowerHex(&e.Hash, hash); err != nil {
		return fmt.Errorf("hash: %w", err)
	}
	return nil
}

var entryFieldNames = [entryFieldCount]string{"seq", "id", "event_id", "kind", "type", "wallet_id",
	"user_id", "email", "currency", "amount", "balance_after", "held_after", "reason", "order_id",
	"transfer_id", "counterparty_wallet_id", "metadata", "idempotency_key", "request_hash",
	"created_at", "key_id", "prev_hash", "hash"}

// checkpoint returns the checkpoint of a parsed checkpoint line.
func (p *recordParser) checkpoint() (*walletd.Checkpoint, error) {
	cp := &walletd.Checkpoint{}
	var head, at, sig string
	if err := p.fields(map[string]*string{"ledger_id": &cp.LedgerID, "head_hash": &head, "created_at": &at, "signature": &sig},
		map[string]*uint64{"seq": &cp.Seq}); err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	var err error
	if err := parseLowerHex(&cp.HeadHash, head); err != nil {
		return nil, fmt.Errorf("checkpoint %d: head_hash: %w", cp.Seq, err)
	}
	if cp.CreatedAt, err = parseTime(at); err != nil {
		return nil, fmt.Errorf("checkpoint %d: created_at: %w", cp.Seq, err)
	}
	if cp.Signature, err = base64.StdEncoding.Strict().DecodeString(sig); err != nil {
		return nil, fmt.Errorf("checkpoint %d: signature is not base64", cp.Seq)
	}
	return cp, nil
}

// end returns the counts of a parsed end record.
func (p *recordParser) end() (entries, checkpoints uint64, err error) {
	if err := p.fields(nil, map[string]*uint64{"entries": &entries, "checkpoints": &checkpoints}); err != nil {
		return 0, 0, fmt.Errorf("end record: %w", err)
	}
	return entries, checkpoints, nil
}

// parseLowerHex parses a 64-character lower-case hex hash. Upper case is
// refused so that one hash has one spelling.
func parseLowerHex(h *walletd.Hash, s string) error {
	if len(s) != 2*walletd.HashSize {
		return fmt.Errorf("%d characters, want %d", len(s), 2*walletd.HashSize)
	}
	for i := 0; i < walletd.HashSize; i++ {
		hi, ok1 := lowerHexVal(s[2*i])
		lo, ok2 := lowerHexVal(s[2*i+1])
		if !ok1 || !ok2 {
			return errors.New("not lower-case hex")
		}
		h[i] = hi<<4 | lo
	}
	return nil
}

func lowerHexVal(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}
