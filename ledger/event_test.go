package ledger_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/events"
	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/walletdtest"
)

// eventData returns the data of the i-th event of an entry as raw JSON
// values by field.
func eventData(tb testing.TB, recs []events.Record, i int) map[string]json.RawMessage {
	tb.Helper()
	if i >= len(recs) {
		tb.Fatalf("%d events, want at least %d", len(recs), i+1)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(recs[i].Envelope.Data, &m); err != nil {
		tb.Fatal(err)
	}
	return m
}

// wantFields checks raw JSON values of data.
func wantFields(tb testing.TB, key string, data map[string]json.RawMessage, want map[string]string) {
	tb.Helper()
	for f, w := range want {
		if got := string(data[f]); got != w {
			tb.Errorf("%s: %s = %s, want %s", key, f, got, w)
		}
	}
}

func TestEntryEvents_SeedTypes(t *testing.T) {
	t.Run("Transaction", func(t *testing.T) {
		e := &walletd.Entry{Seq: 4821, ID: "txn_1", EventID: events.NewID(), Kind: walletd.KindCredit, Type: "cashback",
			WalletID: "wal_1", UserID: "103", Currency: "USD", Amount: "25.00", BalanceAfter: "75.00",
			Reason: "5% cashback on order #1204", OrderID: "1204", CreatedAt: time.Now()}
		recs := ledger.EntryEvents(e, ledger.Party{UserID: "103", Email: "jane@example.com"}, ledger.Party{}, "https://shop.example")
		wantFields(t, "wallet.credited", eventData(t, recs, 0), map[string]string{
			"transaction_id": `4821`, "user_id": `103`, "order_id": `1204`, "user_email": `"jane@example.com"`,
			"amount": `"25.00"`, "balance_after": `"75.00"`, "seq": `4821`, "txn_id": `"txn_1"`, "wallet_id": `"wal_1"`,
		})
		// The same entry makes the same bytes.
		again := ledger.EntryEvents(e, ledger.Party{UserID: "103", Email: "jane@example.com"}, ledger.Party{}, "https://shop.example")
		if string(again[0].Body()) != string(recs[0].Body()) {
			t.Fatalf("events differ:\n%s\n%s", recs[0].Body(), again[0].Body())
		}
	})
	t.Run("NoOrderAndStringIDs", func(t *testing.T) {
		e := &walletd.Entry{Seq: 7, ID: "txn_2", EventID: events.NewID(), Kind: walletd.KindDebit, Type: "order_payment",
			WalletID: "wal_2", UserID: "cus_1042", Currency: "USD", Amount: "1.00", BalanceAfter: "0.00", CreatedAt: time.Now()}
		recs := ledger.EntryEvents(e, ledger.Party{UserID: "cus_1042"}, ledger.Party{}, "")
		wantFields(t, "wallet.debited", eventData(t, recs, 0), map[string]string{
			"transaction_id": `7`, "user_id": `"cus_1042"`, "order_id": `null`,
		})
		e.OrderID, e.UserID = "01204", "9223372036854775808" // not canonical integers: strings
		recs = ledger.EntryEvents(e, ledger.Party{}, ledger.Party{}, "")
		wantFields(t, "wallet.debited", eventData(t, recs, 0), map[string]string{
			"order_id": `"01204"`, "user_id": `"9223372036854775808"`,
		})
	})
}

// TestEntryEvents_Transfer checks that both legs' events carry the integer
// transfer_id of the debit leg's seq and the owners' ids as integers.
func TestEntryEvents_Transfer(t *testing.T) {
	l := walletdtest.MustOpenLedger(t, nil)
	a := l.MustWallet(t, "103", "USD")
	b := l.MustWallet(t, "207", "USD")
	l.MustCredit(t, a, "50.00")
	res := mustSubmit(t, l, "", &ledger.Transfer{FromWalletID: a, ToWalletID: b, Amount: "10.00", Note: "Splitting lunch"})
	out, in := res.Entries[0], res.Entries[1]
	alice, bob := ledger.Party{UserID: "103", Email: "103@example.com"}, ledger.Party{UserID: "207", Email: "207@example.com"}

	sent := ledger.EntryEvents(out, alice, bob, "")
	received := ledger.EntryEvents(in, bob, alice, "")
	if len(sent) != 2 || sent[1].Key() != events.TransferSent || len(received) != 2 || received[1].Key() != events.TransferReceived {
		t.Fatalf("events %v %v", sent, received)
	}
	common := map[string]string{
		"transfer_id": jsonUint(out.Seq), "sender_id": `103`, "recipient_id": `207`, "sender_email": `"103@example.com"`,
		"recipient_email": `"207@example.com"`, "amount": `"10.00"`, "note": `"Splitting lunch"`, "tfr_id": `"` + out.TransferID + `"`,
	}
	wantFields(t, events.TransferSent, eventData(t, sent, 1), common)
	wantFields(t, events.TransferReceived, eventData(t, received, 1), common)
	wantFields(t, events.TransferSent, eventData(t, sent, 1), map[string]string{"transaction_id": jsonUint(out.Seq), "wallet_id": `"` + a + `"`})
	wantFields(t, events.TransferReceived, eventData(t, received, 1), map[string]string{"transaction_id": jsonUint(in.Seq), "wallet_id": `"` + b + `"`})
}

func jsonUint(n uint64) string { b, _ := json.Marshal(n); return string(b) }
