package ledger

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"sort"
)

// EntryIterator yields ledger entries in seq order. Next fills e and
// returns false at the end. An error with a BadSeq() uint64 method names an
// entry that could not be read (a tampered row); Verify reports that seq.
type EntryIterator interface {
	Next(e *Entry) (bool, error)
}

// VerifyOptions says what Verify checks against.
type VerifyOptions struct {
	Keyring *Keyring
	// PublicKey verifies checkpoint signatures; nil skips them (and reports
	// it as a problem if there are checkpoints).
	PublicKey ed25519.PublicKey
	// LedgerID, if set, is the id every checkpoint must name.
	LedgerID string
}

// VerifyReport is the outcome of Verify.
type VerifyReport struct {
	OK          bool   `json:"ok"`
	Entries     uint64 `json:"entries"`
	HeadSeq     uint64 `json:"head_seq"`
	HeadHash    string `json:"head_hash"`
	Checkpoints int    `json:"checkpoints"`
	FirstBadSeq uint64 `json:"first_bad_seq,omitempty"`
	Problem     string `json:"problem,omitempty"`
}

// Verify checks a whole chain: seqs run 1, 2, 3 … without gaps, each
// prev_hash is the previous hash (zero for seq 1), each hash is the HMAC of
// its entry under the key its key_id names, and every checkpoint is signed
// by PublicKey and matches the hash at its seq, which must exist.
//
// It stops at the first problem: FirstBadSeq names the seq.
func Verify(ctx context.Context, it EntryIterator, checkpoints []*Checkpoint, opt VerifyOptions) (*VerifyReport, error) {
	rep := &VerifyReport{Checkpoints: len(checkpoints)}
	if opt.Keyring == nil {
		return nil, fmt.Errorf("verify: no keyring")
	}
	cps := append([]*Checkpoint(nil), checkpoints...)
	sort.Slice(cps, func(i, j int) bool { return cps[i].Seq < cps[j].Seq })
	for _, cp := range cps {
		if opt.PublicKey == nil {
			return rep.fail(cp.Seq, "checkpoints present but no public key given"), nil
		} else if !cp.Verify(opt.PublicKey) {
			return rep.fail(cp.Seq, fmt.Sprintf("checkpoint at seq %d has a bad signature", cp.Seq)), nil
		} else if opt.LedgerID != "" && cp.LedgerID != opt.LedgerID {
			return rep.fail(cp.Seq, fmt.Sprintf("checkpoint at seq %d names ledger %q, not %q", cp.Seq, cp.LedgerID, opt.LedgerID)), nil
		}
	}

	hashers := make(map[string]*Hasher)
	var prev Hash
	var e Entry
	next := 0
	for {
		ok, err := it.Next(&e)
		var bad interface{ BadSeq() uint64 }
		if errors.As(err, &bad) {
			return rep.fail(bad.BadSeq(), fmt.Sprintf("seq %d: unreadable entry: %v", bad.BadSeq(), err)), nil
		} else if err != nil {
			return nil, fmt.Errorf("verify: read entry after seq %d: %w", rep.HeadSeq, err)
		} else if !ok {
			break
		}
		want := rep.HeadSeq + 1
		if e.Seq != want {
			return rep.fail(want, fmt.Sprintf("expected seq %d, found %d", want, e.Seq)), nil
		}
		if e.PrevHash != prev {
			return rep.fail(e.Seq, fmt.Sprintf("seq %d: prev_hash does not match the hash of seq %d", e.Seq, e.Seq-1)), nil
		}
		h := hashers[e.KeyID]
		if h == nil {
			k := opt.Keyring.Key(e.KeyID)
			if k == nil {
				return rep.fail(e.Seq, fmt.Sprintf("seq %d: unknown key_id %q", e.Seq, e.KeyID)), nil
			}
			h = NewHasher(k)
			hashers[e.KeyID] = h
		}
		if h.Sum(&e) != e.Hash {
			return rep.fail(e.Seq, fmt.Sprintf("seq %d: hash does not match its contents", e.Seq)), nil
		}
		for next < len(cps) && cps[next].Seq == e.Seq {
			if cps[next].HeadHash != e.Hash {
				return rep.fail(e.Seq, fmt.Sprintf("seq %d: hash differs from the signed checkpoint", e.Seq)), nil
			}
			next++
		}
		prev = e.Hash
		rep.HeadSeq = e.Seq
		rep.Entries++
		if rep.Entries%65536 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
	}
	if next < len(cps) {
		cp := cps[next]
		if cp.Seq == 0 {
			return rep.fail(0, "checkpoint at seq 0"), nil
		}
		return rep.fail(rep.HeadSeq+1, fmt.Sprintf("a checkpoint signs seq %d but the ledger ends at seq %d: entries were removed", cp.Seq, rep.HeadSeq)), nil
	}
	rep.OK = true
	rep.HeadHash = prev.String()
	if rep.HeadSeq == 0 {
		rep.HeadHash = ""
	}
	return rep, nil
}

func (r *VerifyReport) fail(seq uint64, problem string) *VerifyReport {
	r.OK, r.FirstBadSeq, r.Problem = false, seq, problem
	return r
}
