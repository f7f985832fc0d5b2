package export_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/ledger/export"
	"github.com/walletd/walletd/walletdtest"
)

// exportFixture is a real ledger with entries of every kind and awkward
// text, and its export.
type exportFixture struct {
	l       *walletdtest.Ledger
	entries []*walletd.Entry // as read back from the database
	cps     []*walletd.Checkpoint
	file    []byte // the export
}

// buildExportFixture builds a ledger of about forty entries with a
// checkpoint every 10 and exports it.
func buildExportFixture(tb testing.TB) *exportFixture {
	tb.Helper()
	l := walletdtest.MustOpenLedger(tb, func(c *ledger.WriterConfig) { c.CheckpointEvery = 10 })
	ctx := context.Background()
	a := l.MustWallet(tb, "alice", "USD")
	b := l.MustWallet(tb, "bob-the-builder", "USD")
	y := l.MustWallet(tb, "yuki", "JPY")
	cmds := []struct {
		key string
		cmd walletd.Command
	}{
		{"idem-1", &ledger.Post{WalletID: a, Kind: walletd.KindCredit, Amount: "100.00", Type: "topup",
			Reason:  "Grüße, ünïcödé and a \"quote\", a \\ backslash and a\ttab",
			OrderID: "order-1", Metadata: map[string]string{"channel": "web", "note": "<b>&</b>\tline two \"q\" \\ é 👩\u200d💻"}}},
		{"", &ledger.Post{WalletID: y, Kind: walletd.KindCredit, Amount: "5000", Type: "cashback"}},
		{"idem-2", &ledger.Transfer{FromWalletID: a, ToWalletID: b, Amount: "12.34", Note: "rent 🏠"}},
		{"", &ledger.SetStatus{WalletID: b, Frozen: true, Reason: "review"}},
		{"", &ledger.SetStatus{WalletID: b, Frozen: false}},
		// Every kind of entry the features write: note, hold, settle,
		// release and config.
		{"", &ledger.CreateTopup{WalletID: a, Amount: "9.99", Method: "card"}},
		{"", &ledger.RequestWithdrawal{WalletID: a, Amount: "1.00", Method: "bank"}},
		{"", &ledger.CreateCashbackRule{Percent: "2.5"}},
		{"", &ledger.CompleteOrder{OrderID: "o-1", UserID: "alice", Total: "40.00", Currency: "USD"}},
	}
	for _, c := range cmds {
		if _, err := l.Writer.Submit(ctx, c.key, c.cmd); err != nil {
			tb.Fatal(err)
		}
	}
	for i := 0; i < 30; i++ {
		l.MustCredit(tb, a, fmt.Sprintf("%d.%02d", i+1, i))
	}
	f := &exportFixture{l: l}
	it, err := l.DB.IterateEntries(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	defer it.Close()
	var buf bytes.Buffer
	ew, err := export.NewWriter(&buf, l.DB.LedgerID(), time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	for {
		e := new(walletd.Entry)
		ok, err := it.Next(e)
		if err != nil {
			tb.Fatal(err)
		} else if !ok {
			break
		}
		f.entries = append(f.entries, e)
		if err := ew.WriteEntry(e); err != nil {
			tb.Fatal(err)
		}
	}
	if f.cps, err = l.DB.Checkpoints(ctx, 0, 0); err != nil {
		tb.Fatal(err)
	}
	for _, cp := range f.cps {
		if err := ew.WriteCheckpoint(cp); err != nil {
			tb.Fatal(err)
		}
	}
	if err := ew.Close(); err != nil {
		tb.Fatal(err)
	}
	if len(f.cps) < 3 {
		tb.Fatalf("only %d checkpoints", len(f.cps))
	}
	f.file = buf.Bytes()
	return f
}

func (f *exportFixture) opts() ledger.VerifyOptions {
	return ledger.VerifyOptions{Keyring: f.l.Keyring, PublicKey: f.l.Pub}
}

// verifyExportBytes runs VerifyExport over file.
func verifyExportBytes(tb testing.TB, file []byte, opt ledger.VerifyOptions) (*ledger.VerifyReport, error) {
	tb.Helper()
	rep, _, err := ledger.VerifyExport(context.Background(), bytes.NewReader(file), opt)
	return rep, err
}

// exportLines splits an export into its lines, each with its newline.
func exportLines(file []byte) [][]byte {
	return bytes.SplitAfter(file, []byte("\n"))
}

// lineOfSeq returns the index of the line of entry seq (the header is 0).
func lineOfSeq(seq uint64) int { return int(seq) }
