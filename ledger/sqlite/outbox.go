package sqlite

import (
	"context"
	"sort"
	"sync"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/events"
	"github.com/walletd/walletd/ledger"
)

// Outbox reads the events of committed entries and checkpoints in publish
// order: by ledger seq, then index (entry events first, the checkpoint of
// that seq last). The entries table is the outbox: nothing else is written
// per event, and the same rows always give the same events.
type Outbox struct {
	DB      *DB
	SiteURL string

	mu      sync.Mutex
	parties map[string]ledger.Party // wallet id → owner; owners never change
}

// NewOutbox returns an Outbox over db whose envelopes carry siteURL.
func NewOutbox(db *DB, siteURL string) *Outbox {
	return &Outbox{DB: db, SiteURL: siteURL, parties: make(map[string]ledger.Party)}
}

// After returns up to about limit records positioned after (seq, index).
func (o *Outbox) After(ctx context.Context, seq uint64, index int, limit int) ([]events.Record, error) {
	from := uint64(0)
	if seq > 0 {
		from = seq - 1 // entries with seq >= seq: the rest of entry seq may remain
	}
	entries, err := o.DB.Entries(ctx, from, limit)
	if err != nil {
		return nil, err
	}
	cps, err := o.DB.Checkpoints(ctx, from, limit)
	if err != nil {
		return nil, err
	}
	// The two reads are not one snapshot: a batch may commit its entries
	// and checkpoint between them. A checkpoint is in order only once the
	// events of its seq are, so keep those up to the last entry read (or
	// the position, when there was none).
	last := seq
	if len(entries) > 0 {
		last = entries[len(entries)-1].Seq
	}
	for i, cp := range cps {
		if cp.Seq > last {
			cps = cps[:i]
			break
		}
	}
	out, err := o.records(ctx, entries, cps)
	if err != nil {
		return nil, err
	}
	i := 0
	for i < len(out) && (out[i].Seq < seq || out[i].Seq == seq && out[i].Index <= index) {
		i++
	}
	return out[i:], nil
}

// Records returns the records of committed entries and of cp (nil for
// none), in publish order: what After reads back for them. The relay
// makes a durable batch's records with it, without reading them back.
func (o *Outbox) Records(ctx context.Context, entries []*walletd.Entry, cp *walletd.Checkpoint) ([]events.Record, error) {
	var cps []*walletd.Checkpoint
	if cp != nil {
		cps = []*walletd.Checkpoint{cp}
	}
	return o.records(ctx, entries, cps)
}

func (o *Outbox) records(ctx context.Context, entries []*walletd.Entry, cps []*walletd.Checkpoint) ([]events.Record, error) {
	out := make([]events.Record, 0, len(entries)+len(cps))
	for _, e := range entries {
		owner, err := o.party(ctx, e.WalletID)
		if err != nil {
			return nil, err
		}
		var cp ledger.Party
		if e.Counterparty != "" {
			if cp, err = o.party(ctx, e.Counterparty); err != nil {
				return nil, err
			}
		}
		n := len(out)
		out = append(out, ledger.EntryEvents(e, owner, cp, o.SiteURL)...)
		for i := n; i < len(out); i++ {
			out[i].Wallet = e.WalletID // "" for config entries: the sys subjects
		}
	}
	for _, cp := range cps {
		out = append(out, ledger.CheckpointEvent(cp, o.SiteURL))
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Seq != out[j].Seq {
			return out[i].Seq < out[j].Seq
		}
		return out[i].Index < out[j].Index
	})
	return out, nil
}

// Head returns the seq of the last committed entry.
func (o *Outbox) Head(ctx context.Context) (uint64, error) {
	var seq uint64
	err := o.DB.read.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM entries`).Scan(&seq)
	return seq, err
}

func (o *Outbox) party(ctx context.Context, walletID string) (ledger.Party, error) {
	if walletID == "" { // config entries belong to no wallet
		return ledger.Party{}, nil
	}
	o.mu.Lock()
	p, ok := o.parties[walletID]
	o.mu.Unlock()
	if ok {
		return p, nil
	}
	w, err := o.DB.Wallet(ctx, walletID)
	if err != nil {
		return p, err
	}
	p = ledger.Party{UserID: w.UserID, Email: w.Email}
	o.mu.Lock()
	if len(o.parties) > 100000 {
		o.parties = make(map[string]ledger.Party)
	}
	o.parties[walletID] = p
	o.mu.Unlock()
	return p, nil
}
