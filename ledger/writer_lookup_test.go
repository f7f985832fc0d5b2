package ledger_test

import (
	"context"
	"testing"

	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/walletdtest"
)

// A key committed after the caller's own lookup (which therefore found
// nothing) must still be caught by the writer from its memory of recent
// commits: replayed when the request is the same, refused when not.
func TestWriter_LookupRace(t *testing.T) {
	var l *walletdtest.Ledger
	stale := map[string]bool{}
	l = walletdtest.MustOpenLedger(t, func(c *ledger.WriterConfig) {
		c.Lookup = func(ctx context.Context, key string) ([]*ledger.Entry, error) {
			if stale[key] {
				return nil, nil // as if read just before the other request committed
			}
			return l.DB.LookupIdempotencyKey(ctx, key)
		}
	})
	w := l.MustWallet(t, "u1", "USD")
	credit := &ledger.Post{WalletID: w, Kind: ledger.KindCredit, Amount: "5.00", Type: "topup"}
	first, err := l.Writer.Submit(context.Background(), "k", credit)
	if err != nil {
		t.Fatal(err)
	}
	stale["k"] = true

	t.Run("SameRequestReplays", func(t *testing.T) {
		again, err := l.Writer.Submit(context.Background(), "k", credit)
		if err != nil || !again.Replayed || again.Entries[0].ID != first.Entries[0].ID {
			t.Fatalf("got %+v, %v", again, err)
		}
	})
	t.Run("ErrOtherRequest", func(t *testing.T) {
		other := *credit
		other.Amount = "6.00"
		if _, err := l.Writer.Submit(context.Background(), "k", &other); ledger.ErrorCode(err) != ledger.EIdempotencyConflict {
			t.Fatalf("got %v", err)
		}
	})
	wal, err := l.DB.Wallet(context.Background(), w)
	if err != nil || wal.Balance.String() != "5" {
		t.Fatalf("balance %v (%v): the key was applied twice", wal.Balance, err)
	}
}
