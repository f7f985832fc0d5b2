package ledger

import (
	"context"
	"fmt"

	"github.com/walletd/walletd"
)

// chainPage is how many entries a start-up check reads at a time.
const chainPage = 1000

// checkChainSince checks the chain from the last checkpoint to the head,
// as start-up does instead of reading every entry: the entry at the
// checkpoint's seq has the hash the checkpoint names, and every entry
// after it links to the one before and hashes with its key. It returns
// how many entries it read: the entries written since the last
// checkpoint, bounded by WriterConfig.CheckpointEvery (and Interval),
// not by the ledger. The checkpoint's signature and the entries before it
// are walletd verify's.
func (w *Writer) checkChainSince(ctx context.Context, cp *walletd.Checkpoint) (int, error) {
	if cp.Seq == 0 {
		return 0, nil
	}
	if cp.Seq > w.headSeq {
		return 0, fmt.Errorf("the last checkpoint is at seq %d, after the head %d", cp.Seq, w.headSeq)
	}
	if cp.LedgerID != w.ledgerID {
		return 0, fmt.Errorf("the last checkpoint is of ledger %s, not %s", cp.LedgerID, w.ledgerID)
	}
	read, after := 0, cp.Seq-1
	var prev *walletd.Entry
	for after < w.headSeq {
		es, err := w.cfg.Store.Entries(ctx, after, chainPage)
		if err != nil {
			return read, fmt.Errorf("read entries after %d: %w", after, err)
		}
		if len(es) == 0 {
			break
		}
		for _, e := range es {
			read++
			if e.Seq != after+1 {
				return read, fmt.Errorf("entry %d follows entry %d", e.Seq, after)
			}
			k := w.cfg.Keyring.Key(e.KeyID)
			if k == nil {
				return read, fmt.Errorf("entry %d uses key %q, which the keyring lacks", e.Seq, e.KeyID)
			}
			if ComputeHash(k, e) != e.Hash {
				return read, fmt.Errorf("entry %d fails its hash", e.Seq)
			}
			if prev == nil {
				if e.Hash != cp.HeadHash {
					return read, fmt.Errorf("entry %d differs from the last checkpoint", e.Seq)
				}
			} else if e.PrevHash != prev.Hash {
				return read, fmt.Errorf("entry %d does not link to entry %d", e.Seq, prev.Seq)
			}
			prev, after = e, e.Seq
		}
	}
	if after != w.headSeq || prev == nil || prev.Hash != w.headHash {
		return read, fmt.Errorf("the chain from the last checkpoint (seq %d) ends at %d, not at the head %d", cp.Seq, after, w.headSeq)
	}
	return read, nil
}
