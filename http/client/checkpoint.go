package client

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"time"

	"github.com/walletd/walletd"
)

// checkpointPath is the path of the signed checkpoints.
const checkpointPath = "/v1/ledger/checkpoints"

// MaxCheckpointPage is the largest page of checkpoints the API answers.
const MaxCheckpointPage = 1000

// LedgerService reads the signed checkpoints of a walletd through its API
// (GET /v1/ledger/checkpoints), for an auditor who keeps them outside the
// operator's reach. The token needs the admin scope.
type LedgerService struct {
	Client *Client
}

// LedgerService returns the ledger's checkpoints of the API.
func (c *Client) LedgerService() *LedgerService { return &LedgerService{Client: c} }

// CheckpointJSON is a signed checkpoint as GET /v1/ledger/checkpoints shows
// it. Message is the exact signed bytes, a convenience: Checkpoint rebuilds
// them from the other fields and refuses a Message that differs.
type CheckpointJSON struct {
	Seq       uint64 `json:"seq"`
	LedgerID  string `json:"ledger_id"`
	HeadHash  string `json:"head_hash"`
	CreatedAt string `json:"created_at"`
	Signature string `json:"signature"` // standard base64 with padding
	Message   string `json:"message,omitempty"`
}

// NewCheckpointJSON returns cp as the API shows it.
func NewCheckpointJSON(cp *walletd.Checkpoint) CheckpointJSON {
	return CheckpointJSON{
		Seq: cp.Seq, LedgerID: cp.LedgerID, HeadHash: cp.HeadHash.String(),
		CreatedAt: cp.CreatedAt.UTC().Format(walletd.TimeFormat),
		Signature: base64.StdEncoding.EncodeToString(cp.Signature), Message: string(cp.Message()),
	}
}

// Checkpoint returns j as the domain type. It refuses any field that is
// not exactly as walletd writes it: the signature covers the text of
// created_at and head_hash, so a time with other digits or a hash in
// upper case would only fail later, as a bad signature, for no reason
// anyone could see. It does not check the signature.
func (j *CheckpointJSON) Checkpoint() (*walletd.Checkpoint, error) {
	if j.Seq == 0 {
		return nil, errors.New("seq must be 1 or more")
	}
	if j.LedgerID == "" {
		return nil, errors.New("ledger_id is empty")
	}
	h, err := walletd.ParseHash(j.HeadHash)
	if err != nil || h.String() != j.HeadHash {
		return nil, fmt.Errorf("head_hash %s is not 64 lower-case hex characters", walletd.QuoteInput(j.HeadHash))
	}
	at, err := time.Parse(walletd.TimeFormat, j.CreatedAt)
	if err != nil || at.UTC().Format(walletd.TimeFormat) != j.CreatedAt {
		return nil, fmt.Errorf("created_at %s is not a time of the form 2006-01-02T15:04:05.000000Z", walletd.QuoteInput(j.CreatedAt))
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(j.Signature)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("signature is not %d bytes in standard base64", ed25519.SignatureSize)
	}
	cp := &walletd.Checkpoint{LedgerID: j.LedgerID, Seq: j.Seq, HeadHash: h, CreatedAt: at.UTC(), Signature: sig}
	if j.Message != "" && j.Message != string(cp.Message()) {
		return nil, errors.New("message is not the checkpoint's own fields")
	}
	return cp, nil
}

// checkpointPageJSON is the data of GET /v1/ledger/checkpoints.
type checkpointPageJSON struct {
	Items     []CheckpointJSON `json:"items"`
	PublicKey string           `json:"public_key"`
}

// CheckpointPage is one answer of GET /v1/ledger/checkpoints.
type CheckpointPage struct {
	Checkpoints []*walletd.Checkpoint // in seq order
	// PublicKey is the key the server says signs its checkpoints, nil when
	// it serves none. It is only as trustworthy as the server: an auditor
	// keeps a copy taken once and checks against that.
	PublicKey ed25519.PublicKey
}

// Checkpoints returns the checkpoints with seq > afterSeq, in seq order, at
// most limit (1 to MaxCheckpointPage), and the public key the server
// serves. Returns EInvalid for a limit out of range, and the API's codes
// "unauthorized" or "forbidden" for a token without the admin scope.
func (s *LedgerService) Checkpoints(ctx context.Context, afterSeq uint64, limit int) (*CheckpointPage, error) {
	q := url.Values{}
	q.Set("after_seq", strconv.FormatUint(afterSeq, 10))
	q.Set("limit", strconv.Itoa(limit))
	r := &request{method: "GET", path: checkpointPath + "?" + q.Encode()}
	var data checkpointPageJSON
	if _, err := s.Client.do(ctx, r, &data); err != nil {
		return nil, err
	}
	page := &CheckpointPage{Checkpoints: make([]*walletd.Checkpoint, 0, len(data.Items))}
	for i := range data.Items {
		cp, err := data.Items[i].Checkpoint()
		if err != nil {
			return nil, fmt.Errorf("%s %s: item %d: %w", r.method, r.path, i, err)
		}
		page.Checkpoints = append(page.Checkpoints, cp)
	}
	if data.PublicKey != "" {
		pub, err := ParseCheckpointPublicKey([]byte(data.PublicKey))
		if err != nil {
			return nil, fmt.Errorf("%s %s: public_key: %w", r.method, r.path, err)
		}
		page.PublicKey = pub
	}
	return page, nil
}

// maxAfterSeq is the largest after_seq the API accepts.
const maxAfterSeq = math.MaxInt64

// LatestCheckpoint returns the checkpoint with the highest seq and the
// public key the server serves. Returns ENotFound when the ledger has no
// checkpoint yet.
//
// The API lists checkpoints in seq order only, and a ledger that signs its
// head every few seconds has millions of them: instead of reading them
// all, it asks for the first checkpoint after seqs that double in distance
// until there is none, then halves the gap. That is about 2·log2(seq)
// requests of one checkpoint each.
func (s *LedgerService) LatestCheckpoint(ctx context.Context) (*walletd.Checkpoint, ed25519.PublicKey, error) {
	page, err := s.Checkpoints(ctx, 0, 1)
	if err != nil {
		return nil, nil, err
	} else if len(page.Checkpoints) == 0 {
		return nil, page.PublicKey, walletd.Errorf(walletd.ENotFound, "The ledger has no signed checkpoint yet.")
	}
	last, pub := page.Checkpoints[0], page.PublicKey
	// lo is the seq of a checkpoint (last's); once found, no checkpoint
	// follows hi.
	lo, hi, found := last.Seq, uint64(0), false
	for step := uint64(1); !found || lo < hi; {
		var after uint64
		if !found {
			after = maxAfterSeq
			if lo < maxAfterSeq-step {
				after = lo + step - 1
			}
			step *= 2
		} else {
			after = lo + (hi-lo)/2
		}
		page, err := s.Checkpoints(ctx, after, 1)
		if err != nil {
			return nil, nil, err
		}
		if len(page.Checkpoints) == 0 {
			hi, found = after, true
			continue
		}
		cp := page.Checkpoints[0]
		if cp.Seq <= after {
			return nil, nil, fmt.Errorf("GET %s: asked for checkpoints after seq %d, got seq %d", checkpointPath, after, cp.Seq)
		}
		last, lo = cp, cp.Seq
	}
	return last, pub, nil
}

// ParseCheckpointPublicKey parses the checkpoint public key as the API
// serves it and checkpoint.pub holds it: PEM, PKIX, Ed25519.
func ParseCheckpointPublicKey(b []byte) (ed25519.PublicKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PUBLIC KEY" {
		return nil, errors.New("not a PEM public key")
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, err
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, errors.New("not an Ed25519 key")
	}
	return pub, nil
}
