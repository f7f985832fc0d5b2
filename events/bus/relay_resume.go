package bus

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/walletd/walletd"
	"github.com/walletd/walletd/events"
	"github.com/walletd/walletd/keyfile"
)

// A bounded stream (StreamConfig.MaxAge, MaxBytes) can hold no message at
// all: a quiet ledger outlives MaxAge, or the stream was deleted. The
// relay's position then cannot come from the stream's last message, and
// resuming from nothing would publish the whole ledger again. With a
// PositionFile the relay records its position there (relay.pos, 0600):
// the stream, its creation time, the last stream sequence the relay
// published and the ledger position of that message, with an HMAC under
// the relay's Key. The record is written at most once a second while the
// relay publishes, and when it stops.
//
// When the stream holds a message, nothing changes: the relay resumes from
// the last message it can prove it wrote (resync, provable). When it holds
// none:
//
//   - a record of this stream (same name and creation time) whose stream
//     sequence is the stream's last gives the position exactly;
//   - a record of this stream older than the stream's last sequence L (the
//     relay published after the record was written, then stopped without
//     writing it, and the stream has since dropped those messages): every
//     publish carries Nats-Expected-Last-Sequence, so the stream sequences
//     after the record's are this relay's next records, one each, in
//     ledger order; the position is the (L - record) th record after the
//     record's. A ledger with fewer records than that is an alert (the
//     stream counted messages this walletd did not write) and publishing
//     stops, as for a stream with no provable message;
//   - no record of this stream (none, another stream, a stream created
//     again, or a record ahead of the stream, which lost its tail): the
//     relay starts after the ledger's durable head and logs it. The
//     consumers walletd runs recover what the stream never got from the
//     ledger (recover.go); other subscribers get history with
//     `walletd events republish`.
//
// Across a crash this publishes each record once: the record's sequence
// and the stream's last sequence determine which records are in the
// stream, whether or not the crash came between a publish and the record.

// relayRecord is the content of relay.pos.
type relayRecord struct {
	Stream    string    `json:"stream"`
	Created   time.Time `json:"stream_created"`
	StreamSeq uint64    `json:"stream_seq"`
	Seq       uint64    `json:"seq"`
	Index     int       `json:"index"`
	// RepublishedThrough, written by Republish before each window it
	// publishes (the relay is not running then), says that the stream
	// sequences after StreamSeq up to it hold republished history, not
	// the relay's records.
	RepublishedThrough uint64 `json:"republished_through,omitempty"`
	MAC                string `json:"mac,omitempty"`
}

func (rec *relayRecord) mac(key []byte) string {
	c := *rec
	c.MAC = ""
	b, _ := json.Marshal(c)
	m := hmac.New(sha256.New, key)
	m.Write([]byte("walletd relay position v1\x00"))
	m.Write(b)
	return hex.EncodeToString(m.Sum(nil))
}

// resumeState is what the relay keeps for its position record.
type resumeState struct {
	created time.Time   // the stream's creation time, read at resync
	saved   relayRecord // the last record written
	// openHead is the ledger's head when the relay was opened: the first
	// resync, which comes a little later, starts no later than it, so
	// that entries committed in between are published.
	openHead     uint64
	haveOpenHead bool
}

// noteOpenHead reads the ledger's head as the relay opens.
func (r *Relay) noteOpenHead() error {
	head, err := r.Source.Head(context.Background())
	if err != nil {
		return fmt.Errorf("relay: open: %w", err)
	}
	r.mu.Lock()
	r.resume.openHead, r.resume.haveOpenHead = head, true
	r.mu.Unlock()
	return nil
}

// loadRecord reads the position record; nil when there is none.
func (r *Relay) loadRecord() (*relayRecord, error) {
	b, err := os.ReadFile(r.PositionFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("relay: position record: %w", err)
	}
	var rec relayRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("relay: position record %s: %w", r.PositionFile, err)
	}
	if r.Key != nil && !hmac.Equal([]byte(rec.MAC), []byte(rec.mac(r.Key))) {
		return nil, fmt.Errorf("relay: position record %s: %w: its MAC does not match", r.PositionFile, ErrForged)
	}
	return &rec, nil
}

// savePosition writes the position record when the relay's position
// changed since the last one written.
func (r *Relay) savePosition() error {
	r.mu.Lock()
	rec := relayRecord{Stream: r.Stream, Created: r.resume.created, StreamSeq: r.base, Seq: r.seq, Index: r.index}
	ok := r.synced && rec != r.resume.saved
	r.mu.Unlock()
	if !ok || rec.StreamSeq == 0 {
		return nil
	}
	saved := rec
	if r.Key != nil {
		rec.MAC = rec.mac(r.Key)
	}
	b, _ := json.Marshal(rec)
	if err := keyfile.WriteAtomic(r.PositionFile, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("relay: position record: %w", err)
	}
	r.mu.Lock()
	r.resume.saved = saved
	r.mu.Unlock()
	return nil
}

// saveEvery writes the position record every interval until ctx ends; the
// channel it returns is closed then.
func (r *Relay) saveEvery(ctx context.Context, interval time.Duration) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := r.savePosition(); err != nil {
					r.Logger.Warn("relay: position record", walletd.LogComponent, "relay", walletd.LogError, err)
				}
			}
		}
	}()
	return done
}

// resumeEmpty returns the position of a relay whose stream holds no
// message (see above).
func (r *Relay) resumeEmpty(ctx context.Context, info *jetstream.StreamInfo) (uint64, int, error) {
	r.mu.Lock()
	r.resume.created = info.Created
	r.mu.Unlock()
	last := info.State.LastSeq
	rec, err := r.loadRecord()
	if errors.Is(err, ErrForged) {
		r.raise(err)
		return 0, 0, err
	}
	if err != nil {
		return 0, 0, err
	}
	if rec != nil && rec.Stream == r.Stream && rec.Created.Equal(info.Created) && rec.StreamSeq <= last {
		seq, index := rec.Seq, rec.Index
		if n := last - min(last, max(rec.StreamSeq, rec.RepublishedThrough)); n > 0 {
			recs, err := r.Source.After(ctx, rec.Seq, rec.Index, int(min(n, 1<<20)))
			recs = recs[:min(uint64(len(recs)), n)]
			if err != nil {
				return 0, 0, fmt.Errorf("relay: read outbox: %w", err)
			}
			if uint64(len(recs)) < n {
				err := fmt.Errorf("relay: stream %s ends at %d, %d messages after the recorded %d, but the ledger has only %d records after seq %d index %d: publishing stopped",
					r.Stream, last, n, max(rec.StreamSeq, rec.RepublishedThrough), len(recs), rec.Seq, rec.Index)
				r.raise(err)
				return 0, 0, err
			}
			seq, index = recs[n-1].Seq, recs[n-1].Index
			r.Logger.Warn("relay: the stream dropped every message, some published after the position record: counted them",
				walletd.LogComponent, "relay", "recorded_stream_seq", rec.StreamSeq, walletd.LogStreamLastSeq, last, walletd.LogSeq, seq, walletd.LogIndex, index)
		}
		r.Logger.Info("relay: the stream holds no message; resuming from the position record",
			walletd.LogComponent, "relay", walletd.LogSeq, seq, walletd.LogIndex, index, walletd.LogStreamSeq, last)
		return seq, index, nil
	}
	head, err := r.durableHead(ctx)
	if err != nil {
		return 0, 0, err
	}
	r.mu.Lock()
	if r.resume.haveOpenHead {
		head, r.resume.haveOpenHead = min(head, r.resume.openHead), false
	}
	r.mu.Unlock()
	why := "no position record"
	if rec != nil {
		why = "the position record is of another stream, or ahead of it"
	}
	r.Logger.Warn("relay: the stream holds no message and "+why+": publishing from the ledger's head; walletd's consumers recover earlier events from the ledger, others with walletd events republish",
		walletd.LogComponent, "relay", walletd.LogSeq, head, walletd.LogStreamLastSeq, last)
	return head, events.CheckpointIndex, nil
}

// durableHead returns the last ledger seq the relay may publish: the
// ledger's head, or, for a Gated relay, the last one offered as durable.
func (r *Relay) durableHead(ctx context.Context) (uint64, error) {
	head, err := r.Source.Head(ctx)
	if err != nil {
		return 0, fmt.Errorf("relay: ledger head: %w", err)
	}
	if r.Gated {
		r.mu.Lock()
		head = min(head, r.limit.seq)
		r.mu.Unlock()
	}
	return head, nil
}

// DurableSource returns the relay's Source with Head giving what the relay
// may publish (durableHead): the ledger a consumer recovers from beside a
// Gated relay, so that it never acts on an entry committed but not yet
// durable, one a power loss could still take back.
func (r *Relay) DurableSource() Source { return durableSource{r} }

type durableSource struct{ r *Relay }

func (d durableSource) After(ctx context.Context, seq uint64, index int, limit int) ([]events.Record, error) {
	return d.r.Source.After(ctx, seq, index, limit)
}

func (d durableSource) Head(ctx context.Context) (uint64, error) { return d.r.durableHead(ctx) }

// sawForged reports whether the relay raised the alert since it started.
func (r *Relay) sawForged() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.alert != nil
}

// resumeHistoryOnly positions a relay whose stream holds only republished
// messages (HeaderRepublished) as one whose stream holds none.
func (r *Relay) resumeHistoryOnly(ctx context.Context, s jetstream.Stream) (uint64, int, error) {
	info, err := s.Info(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("relay: stream info: %w", err)
	}
	return r.resumeEmpty(ctx, info)
}

// markRepublished records in the relay's position file that the stream
// sequences up to through hold republished history (see
// relayRecord.RepublishedThrough). A file of another stream, or none, is
// left alone.
func markRepublished(file string, key []byte, info *jetstream.StreamInfo, through uint64) error {
	r := &Relay{PositionFile: file, Key: key}
	rec, err := r.loadRecord()
	if err != nil || rec == nil || rec.Stream != info.Config.Name || !rec.Created.Equal(info.Created) {
		return err
	}
	rec.RepublishedThrough = max(rec.RepublishedThrough, through)
	rec.MAC = ""
	if key != nil {
		rec.MAC = rec.mac(key)
	}
	b, _ := json.Marshal(rec)
	return keyfile.WriteAtomic(file, append(b, '\n'), 0o600)
}
