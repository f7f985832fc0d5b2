package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/events"
	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/ledger/sqlite"
	"github.com/walletd/walletd/walletdtest"
)

func TestOutbox_After(t *testing.T) {
	l := walletdtest.MustOpenLedger(t, func(c *ledger.WriterConfig) { c.CheckpointEvery = 3 })
	a, b := l.MustWallet(t, "u1", "USD"), l.MustWallet(t, "u2", "USD")
	l.MustCredit(t, a, "5.00")
	if _, err := l.Writer.Submit(context.Background(), "", &ledger.Transfer{FromWalletID: a, ToWalletID: b, Amount: "1.00"}); err != nil {
		t.Fatal(err)
	}
	o := sqlite.NewOutbox(l.DB, "https://shop.example")
	all, err := o.After(context.Background(), 0, -1, 1000)
	if err != nil {
		t.Fatal(err)
	}
	// open, open, credit (checkpoint 3), debit + sent, credit + received.
	var keys []string
	for _, r := range all {
		keys = append(keys, r.Key())
	}
	want := []string{events.WalletCreated, events.WalletCreated, events.WalletCredited, events.LedgerCheckpoint,
		events.WalletDebited, events.TransferSent, events.WalletCredited, events.TransferReceived}
	if len(keys) != len(want) {
		t.Fatalf("records %v, want %v", keys, want)
	}
	for i := range want {
		if keys[i] != want[i] {
			t.Fatalf("records %v, want %v", keys, want)
		}
	}
	// Resuming anywhere gives the rest, in the same order and bytes.
	for i := range all {
		rest, err := o.After(context.Background(), all[i].Seq, all[i].Index, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(rest) != len(all)-i-1 || len(rest) > 0 && string(rest[0].Body()) != string(all[i+1].Body()) {
			t.Fatalf("after record %d: %d records", i, len(rest))
		}
	}
	t.Run("CheckpointNotBeforeItsEntries", func(t *testing.T) {
		// A checkpoint whose entries the read did not see (it committed
		// between the two reads) must wait for them.
		cp := &walletd.Checkpoint{LedgerID: l.DB.LedgerID(), Seq: 99, CreatedAt: time.Now()}
		cp.Sign(l.Priv)
		if err := l.DB.Commit(context.Background(), &walletd.LedgerBatch{Checkpoint: cp}); err != nil {
			t.Fatal(err)
		}
		rest, err := o.After(context.Background(), 5, events.CheckpointIndex, 1000)
		if err != nil || len(rest) != 0 {
			t.Fatalf("got %d records (%v), want none before seq 99's entries", len(rest), err)
		}
	})
}
