package ledger

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/ledger/export"

	"github.com/shopspring/decimal"
)

// VerifyOptions says what Verify checks against.
type VerifyOptions struct {
	Keyring *Keyring
	// PublicKey verifies checkpoint signatures; nil skips them (and reports
	// it as a problem if there are checkpoints).
	PublicKey ed25519.PublicKey
	// LedgerID, if set, is the id every checkpoint must name. It must be
	// set when External is not empty.
	LedgerID string
	// External are checkpoints kept outside the ledger (saved from NATS, a
	// webhook delivery or the API by someone the operator does not
	// control). The stored checkpoints prove nothing against whoever can
	// delete them together with the entries they cover; an external one
	// can: the ledger must reach its seq and have its head hash there.
	External []ExternalCheckpoint
}

// ExternalCheckpoint is a checkpoint kept outside the ledger and where it
// came from, which Verify names in its problems.
type ExternalCheckpoint struct {
	Checkpoint *walletd.Checkpoint
	Source     string // a file name, say
}

// VerifyReport is the outcome of Verify.
type VerifyReport struct {
	OK          bool   `json:"ok"`
	Entries     uint64 `json:"entries"`
	HeadSeq     uint64 `json:"head_seq"`
	HeadHash    string `json:"head_hash"`
	Checkpoints int    `json:"checkpoints"`
	// ExternalCheckpoints is the number of VerifyOptions.External checked.
	ExternalCheckpoints int    `json:"external_checkpoints,omitempty"`
	FirstBadSeq         uint64 `json:"first_bad_seq,omitempty"`
	Problem             string `json:"problem,omitempty"`
}

// Verify checks a whole chain: seqs run 1, 2, 3 … without gaps, each
// prev_hash is the previous hash (zero for seq 1), each hash is the HMAC of
// its entry under the key its key_id names, every checkpoint is signed by
// PublicKey and matches the hash at its seq, which must exist, and the
// books balance: each wallet is opened once, keeps its owner and currency,
// and every balance_after and held_after follows from the one before and
// the entry's amount. So even someone holding the HMAC key cannot write an
// entry that makes money appear without verify naming it.
//
// Each of opt.External must be signed by PublicKey, name opt.LedgerID and
// match the hash at its seq, which must exist: a ledger whose head is
// behind an external checkpoint lost entries, even if the checkpoint rows
// that covered them went with them.
//
// It stops at the first problem: FirstBadSeq names the seq. An error from
// it that has a BadSeq method (see walletd.EntryIterator) is such a
// problem; any other error from it stops Verify with that error.
func Verify(ctx context.Context, it walletd.EntryIterator, checkpoints []*walletd.Checkpoint, opt VerifyOptions) (*VerifyReport, error) {
	rep := &VerifyReport{Checkpoints: len(checkpoints)}
	if opt.Keyring == nil {
		return nil, fmt.Errorf("verify: no keyring")
	}
	cps := append([]*walletd.Checkpoint(nil), checkpoints...)
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
	ext, badSeq, problem := checkExternal(opt)
	if problem != "" {
		return rep.fail(badSeq, problem), nil
	}
	rep.ExternalCheckpoints = len(ext)

	hashers := make(map[string]*Hasher)
	books := newWalletBooks()
	var prev walletd.Hash
	var e walletd.Entry
	next, nextExt := 0, 0
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
		if problem := books.apply(&e); problem != "" {
			return rep.fail(e.Seq, fmt.Sprintf("seq %d: %s", e.Seq, problem)), nil
		}
		for next < len(cps) && cps[next].Seq == e.Seq {
			if cps[next].HeadHash != e.Hash {
				return rep.fail(e.Seq, fmt.Sprintf("seq %d: hash differs from the signed checkpoint", e.Seq)), nil
			}
			next++
		}
		for nextExt < len(ext) && ext[nextExt].Checkpoint.Seq == e.Seq {
			if x := ext[nextExt]; x.Checkpoint.HeadHash != e.Hash {
				return rep.fail(e.Seq, fmt.Sprintf("seq %d: hash differs from checkpoint %s, which signs seq %d: the chain up to it was rewritten after it was signed", e.Seq, x.Source, e.Seq)), nil
			}
			nextExt++
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
	if nextExt < len(ext) {
		x := ext[nextExt]
		return rep.fail(rep.HeadSeq+1, fmt.Sprintf("the ledger ends at seq %d but checkpoint %s signs seq %d: entries were removed", rep.HeadSeq, x.Source, x.Checkpoint.Seq)), nil
	}
	rep.OK = true
	rep.HeadHash = prev.String()
	if rep.HeadSeq == 0 {
		rep.HeadHash = ""
	}
	return rep, nil
}

// VerifyExport verifies the export in r, which it reads twice: the
// checkpoints first (export.ReadCheckpoints), then the entries through an
// export.Reader. If opt.LedgerID is empty, the header's ledger id is used:
// every checkpoint must name it. A damaged header is an error; any other
// damage is a failed report naming the first seq in doubt.
func VerifyExport(ctx context.Context, r io.ReadSeeker, opt VerifyOptions) (*VerifyReport, *export.Header, error) {
	h, cps, err := export.ReadCheckpoints(r)
	if err != nil {
		return nil, nil, err
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, nil, fmt.Errorf("export: rewind: %w", err)
	}
	er, err := export.NewReader(r)
	if err != nil {
		return nil, nil, err
	}
	if opt.LedgerID == "" {
		opt.LedgerID = h.LedgerID
	}
	rep, err := Verify(ctx, er, cps, opt)
	return rep, h, err
}

// checkExternal returns opt.External sorted by seq, or the seq and problem
// of the first that is not signed by opt.PublicKey or names another ledger. A
// signature is checked before the ledger id: nothing in a checkpoint with
// a bad signature, its ledger id included, can be believed.
func checkExternal(opt VerifyOptions) ([]ExternalCheckpoint, uint64, string) {
	ext := append([]ExternalCheckpoint(nil), opt.External...)
	sort.SliceStable(ext, func(i, j int) bool { return ext[i].Checkpoint.Seq < ext[j].Checkpoint.Seq })
	for _, x := range ext {
		cp, name := x.Checkpoint, x.Source
		var problem string
		switch {
		case opt.PublicKey == nil:
			problem = fmt.Sprintf("checkpoint %s cannot be checked: no public key given", name)
		case !cp.Verify(opt.PublicKey):
			problem = fmt.Sprintf("checkpoint %s (seq %d) has a bad signature: it was forged or altered, or the public key is not the one that signed it", name, cp.Seq)
		case opt.LedgerID == "":
			problem = fmt.Sprintf("checkpoint %s cannot be checked: the ledger's id is not known", name)
		case cp.LedgerID != opt.LedgerID:
			problem = fmt.Sprintf("checkpoint %s (seq %d) names ledger %q, not %q: it is another ledger's, or this ledger was replaced", name, cp.Seq, cp.LedgerID, opt.LedgerID)
		case cp.Seq == 0:
			problem = fmt.Sprintf("checkpoint %s signs seq 0", name)
		default:
			continue
		}
		return nil, cp.Seq, problem
	}
	return ext, 0, ""
}

func (r *VerifyReport) fail(seq uint64, problem string) *VerifyReport {
	r.OK, r.FirstBadSeq, r.Problem = false, seq, problem
	return r
}

// amount is a fixed-scale decimal as written in entries: an integer count
// of minor units and the number of decimals. Entries keep at most
// MaxAmountDigits integer digits and 8 decimals, so int64 would overflow
// only for balances near 10^11 at scale 8; big values use decimal.
type amount struct {
	minor int64
	big   *decimal.Decimal // set when minor would overflow
	scale int
}

func parseAmountText(s string) (amount, bool) {
	var a amount
	if s == "" || len(s) > 40 {
		return a, false
	}
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	intPart, frac, hasDot := cutDotString(s)
	if intPart == "" || hasDot && frac == "" || !isDigits(intPart) || !isDigits(frac) {
		return a, false
	}
	a.scale = len(frac)
	if len(intPart)+len(frac) <= 18 {
		for _, part := range []string{intPart, frac} {
			for i := 0; i < len(part); i++ {
				a.minor = a.minor*10 + int64(part[i]-'0')
			}
		}
		if neg {
			a.minor = -a.minor
		}
		return a, true
	}
	d, err := decimal.NewFromString(map[bool]string{true: "-", false: ""}[neg] + s)
	if err != nil {
		return a, false
	}
	a.big = &d
	return a, true
}

func cutDotString(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func (a amount) dec() decimal.Decimal {
	if a.big != nil {
		return *a.big
	}
	return decimal.New(a.minor, -int32(a.scale))
}

func (a amount) isZero() bool { return a.dec().IsZero() }

func (a amount) negative() bool {
	if a.big == nil {
		return a.minor < 0
	}
	return a.big.IsNegative()
}

func (a amount) add(b amount) amount {
	if a.big == nil && b.big == nil {
		if s := a.minor + b.minor; (s > a.minor) == (b.minor > 0) {
			return amount{minor: s, scale: a.scale}
		}
	}
	d := a.dec().Add(b.dec())
	return amount{big: &d, scale: a.scale}
}

func (a amount) sub(b amount) amount {
	nb := b
	if nb.big != nil {
		d := nb.big.Neg()
		nb.big = &d
	} else {
		nb.minor = -nb.minor
	}
	return a.add(nb)
}

func (a amount) equal(b amount) bool {
	if a.big == nil && b.big == nil {
		return a.minor == b.minor
	}
	return a.dec().Equal(b.dec())
}

// isDigits reports whether s is made of ASCII digits only ("" is).
func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
