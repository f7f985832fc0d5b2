package ledger_test

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/walletdtest"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/golden/state.txt (only for a deliberate change of behaviour or format)")

// TestWriter_Golden runs every command of the ledger, with a fixed clock,
// ids and keys, and compares what the writer answered and what it stored
// (entries, wallet rows with their features, objects, checkpoints) with
// testdata/golden/state.txt, byte for byte. The file was written by the
// writer before its state became typed: it pins the stored formats and
// every state transition.
func TestWriter_Golden(t *testing.T) {
	var (
		mu  sync.Mutex
		now = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
		ids = map[string]int{}
	)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Second + 250*time.Microsecond)
		return now
	}
	advance := func(d time.Duration) {
		mu.Lock()
		now = now.Add(d)
		mu.Unlock()
	}
	newID := func(prefix string) string {
		mu.Lock()
		defer mu.Unlock()
		ids[prefix]++
		return fmt.Sprintf("%s_%04d", prefix, ids[prefix])
	}
	kr := &walletd.Keyring{Active: "g1", Keys: []walletd.Key{{ID: "g1", Secret: []byte("golden-key-0123456789abcdef01234")}}}
	priv := ed25519.NewKeyFromSeed([]byte("golden-checkpoint-seed-012345678"))
	l := walletdtest.MustOpenLedger(t, func(c *ledger.WriterConfig) {
		c.Now, c.NewID, c.Keyring, c.CheckpointKey, c.CheckpointEvery = clock, newID, kr, priv, 10
	})

	var out strings.Builder
	step := 0
	run := func(key string, cmd walletd.Command) *walletd.Result {
		t.Helper()
		step++
		res, err := l.Writer.Submit(context.Background(), key, cmd)
		if err != nil {
			fmt.Fprintf(&out, "%03d %s key=%q: error %s: %s\n", step, cmd.Op(), key, walletd.ErrorCode(err), walletd.ErrorMessage(err))
			return nil
		}
		obj, _ := json.Marshal(res.Object)
		var seqs []string
		for _, e := range res.Entries {
			seqs = append(seqs, fmt.Sprintf("%d:%s", e.Seq, e.ID))
		}
		fmt.Fprintf(&out, "%03d %s key=%q: replayed=%v entries=[%s] object=%s\n", step, cmd.Op(), key, res.Replayed, strings.Join(seqs, " "), obj)
		return res
	}
	meta := func(res *walletd.Result, i int, k string) string {
		if res == nil || i >= len(res.Entries) {
			t.Fatalf("step %d: no entry %d", step, i)
		}
		var m map[string]string
		json.Unmarshal([]byte(res.Entries[i].Metadata), &m)
		return m[k]
	}
	s := func(v string) *string { return &v }
	wal := func(user, cur string) string {
		res := run("", &ledger.CreateWallet{UserID: user, Email: user + "@example.com", Currency: cur})
		return res.Entries[0].WalletID
	}

	alice, bob, carol := wal("alice", "USD"), wal("bob", "USD"), wal("carol", "USD")
	yen, eur, erin := wal("alice", "JPY"), wal("dave", "EUR"), wal("erin", "USD")
	run("", &ledger.CreateWallet{UserID: "alice", Email: "a@example.com", Currency: "USD"})
	run("", &ledger.Post{WalletID: alice, Kind: walletd.KindCredit, Amount: "1000", Type: "topup", Reason: "seed", Metadata: map[string]string{"b": "2", "a": "1"}})
	run("", &ledger.Post{WalletID: bob, Kind: walletd.KindCredit, Amount: "50.5", Type: "topup"})
	run("", &ledger.Post{WalletID: yen, Kind: walletd.KindCredit, Amount: "5000", Type: "topup"})
	run("", &ledger.Post{WalletID: eur, Kind: walletd.KindCredit, Amount: "1", Type: "topup"})
	run("", &ledger.Post{WalletID: alice, Kind: walletd.KindDebit, Amount: "10.5", Type: "order_payment", OrderID: "wc-1"})
	run("", &ledger.Transfer{FromWalletID: alice, ToWalletID: bob, Amount: "25.25", Note: "rent", Metadata: map[string]string{"m": "may"}})
	run("", &ledger.Transfer{FromWalletID: alice, ToWalletID: eur, Amount: "1"})
	run("", &ledger.SetStatus{WalletID: carol, Frozen: true, Reason: "review"})
	run("", &ledger.Post{WalletID: carol, Kind: walletd.KindDebit, Amount: "1", Type: "fee"})
	run("", &ledger.SetStatus{WalletID: carol, Frozen: false})
	run("", &ledger.Post{WalletID: alice, Kind: walletd.KindDebit, Amount: "0.001", Type: "fee"})

	// Limits, KYC, auto-reload.
	run("", &ledger.SetLimits{WalletID: alice, PerTransaction: s("300"), Daily: s("400"), Monthly: s("1000.5")})
	run("", &ledger.SetLimits{WalletID: alice, PerTransaction: s("-1")})
	run("", &ledger.Post{WalletID: alice, Kind: walletd.KindDebit, Amount: "300.01", Type: "fee"})
	run("", &ledger.Post{WalletID: alice, Kind: walletd.KindDebit, Amount: "200", Type: "fee"})
	run("", &ledger.Transfer{FromWalletID: alice, ToWalletID: bob, Amount: "150.50"})
	run("lim-1", &ledger.Post{WalletID: alice, Kind: walletd.KindDebit, Amount: "60", Type: "fee"})
	run("lim-1", &ledger.Post{WalletID: alice, Kind: walletd.KindDebit, Amount: "60", Type: "fee"})
	advance(24 * time.Hour)
	run("", &ledger.SetKYCSettings{Threshold: "500", CumulativeThreshold: "2000"})
	run("", &ledger.SetKYCSettings{Currency: "JPY", Threshold: "100000"})
	run("", &ledger.Post{WalletID: bob, Kind: walletd.KindCredit, Amount: "10000", Type: "topup"})
	run("", &ledger.Post{WalletID: bob, Kind: walletd.KindDebit, Amount: "600", Type: "fee"})
	run("", &ledger.SetKYC{WalletID: bob, Status: walletd.KYCVerified})
	run("", &ledger.Post{WalletID: bob, Kind: walletd.KindDebit, Amount: "600", Type: "fee"})
	run("", &ledger.SetKYC{WalletID: bob, Status: walletd.KYCPending})
	run("", &ledger.Post{WalletID: bob, Kind: walletd.KindDebit, Amount: "450", Type: "fee"})
	run("", &ledger.Post{WalletID: bob, Kind: walletd.KindDebit, Amount: "400", Type: "fee"})
	run("", &ledger.SetAutoReload{WalletID: alice, Threshold: "500", Amount: "100", Method: "card"})
	run("", &ledger.SetAutoReload{WalletID: alice, Threshold: "500"})
	trig := run("", &ledger.Post{WalletID: alice, Kind: walletd.KindDebit, Amount: "120", Type: "fee"})
	reload := meta(trig, 1, "topup_id")
	run("", &ledger.Post{WalletID: alice, Kind: walletd.KindDebit, Amount: "1", Type: "fee"})
	run("", &ledger.CompleteTopup{TopupID: reload})

	// Top-ups and withdrawals.
	top := run("", &ledger.CreateTopup{WalletID: alice, Amount: "25.5", Method: "card", ExternalRef: "pi_1"})
	topID := top.Object.(*walletd.Topup).ID
	run("", &ledger.CompleteTopup{TopupID: topID})
	run("", &ledger.CompleteTopup{TopupID: topID})
	top2 := run("k-top", &ledger.CreateTopup{WalletID: yen, Amount: "700", Method: "bank_transfer"})
	run("k-top", &ledger.CreateTopup{WalletID: yen, Amount: "700", Method: "bank_transfer"})
	run("", &ledger.FailTopup{TopupID: top2.Object.(*walletd.Topup).ID, Reason: "declined"})
	run("k-top", &ledger.CreateTopup{WalletID: yen, Amount: "700", Method: "bank_transfer"})
	wd := run("", &ledger.RequestWithdrawal{WalletID: bob, Amount: "30", Method: "bank", Destination: "DE89"})
	run("", &ledger.ApproveWithdrawal{WithdrawalID: wd.Object.(*walletd.Withdrawal).ID})
	wd2 := run("", &ledger.RequestWithdrawal{WalletID: bob, Amount: "20.10", Method: "bank"})
	run("", &ledger.RejectWithdrawal{WithdrawalID: wd2.Object.(*walletd.Withdrawal).ID, Reason: "name mismatch"})
	wd3 := run("", &ledger.RequestWithdrawal{WalletID: erin, Amount: "1", Method: "bank"})
	_ = wd3
	run("", &ledger.Post{WalletID: erin, Kind: walletd.KindCredit, Amount: "3", Type: "topup"})
	wd4 := run("", &ledger.RequestWithdrawal{WalletID: erin, Amount: "1", Method: "bank"})
	run("", &ledger.Post{WalletID: carol, Kind: walletd.KindCredit, Amount: "10", Type: "topup"})
	wd5 := run("", &ledger.RequestWithdrawal{WalletID: carol, Amount: "5", Method: "bank"})
	run("", &ledger.RejectWithdrawal{WithdrawalID: wd5.Object.(*walletd.Withdrawal).ID})
	wd7 := run("", &ledger.RequestWithdrawal{WalletID: eur, Amount: "1", Method: "bank"})
	run("", &ledger.RejectWithdrawal{WithdrawalID: wd7.Object.(*walletd.Withdrawal).ID})
	wd6 := run("", &ledger.RequestWithdrawal{WalletID: carol, Amount: "3", Method: "bank"})

	// Codes, rules, milestones, referrals, orders.
	run("", &ledger.CreateRedemptionCode{Code: "welcome-10", Amount: "10", Currency: "USD", MaxRedemptions: 5, PerUserOnce: true, ExpiresAt: "2030-01-01T00:00:00+02:00"})
	run("", &ledger.CreateRedemptionCode{Code: "GIFT-0001", Amount: "2.5", Currency: "USD", MaxRedemptions: 1})
	run("", &ledger.CreateRedemptionCode{Code: "GIFT-0001", Amount: "1", Currency: "USD", MaxRedemptions: 1})
	run("", &ledger.Redeem{WalletID: alice, Code: " welcome-10 "})
	run("", &ledger.Redeem{WalletID: alice, Code: "WELCOME-10"})
	run("", &ledger.Redeem{WalletID: bob, Code: "gift-0001"})
	run("", &ledger.Redeem{WalletID: carol, Code: "GIFT-0001"})
	run("", &ledger.Redeem{WalletID: yen, Code: "WELCOME-10"})
	run("", &ledger.CreateCashbackRule{Percent: "5.50", MaxAmount: "10"})
	run("", &ledger.CreateCashbackRule{Percent: "2.5", MinOrderTotal: "1000"})
	run("", &ledger.CreateCashbackRule{Currency: "JPY", Percent: "1"})
	run("", &ledger.CreateMilestone{Name: "Second order", Metric: walletd.MetricOrderCount, Threshold: "2", Reward: "3"})
	run("", &ledger.CreateMilestone{Name: "Big spender", Metric: walletd.MetricLifetimeSpend, Threshold: "150", Reward: "7.5"})
	run("", &ledger.SetReferralSettings{ReferrerReward: "4", RefereeReward: "0", MinOrderTotal: "50"})
	run("", &ledger.SetReferralSettings{Currency: "JPY", ReferrerReward: "", RefereeReward: "100"})
	run("", &ledger.CreateReferral{ReferrerUserID: "alice", RefereeUserID: "bob"})
	run("", &ledger.CreateReferral{ReferrerUserID: "dave", RefereeUserID: "erin"})
	run("", &ledger.CompleteOrder{OrderID: "1001", UserID: "bob", Total: "80", Currency: "USD"})
	run("", &ledger.CompleteOrder{OrderID: "1001", UserID: "bob", Total: "80.00", Currency: "USD"})
	run("", &ledger.CompleteOrder{OrderID: "1001", UserID: "bob", Total: "81", Currency: "USD"})
	run("", &ledger.CompleteOrder{OrderID: "1002", UserID: "bob", Total: "400", Currency: "USD", Items: json.RawMessage(`[ {"sku": "a", "qty": 2} ]`)})
	run("", &ledger.CompleteOrder{OrderID: "1003", UserID: "bob", Total: "1000", Currency: "USD"})
	run("", &ledger.CompleteOrder{OrderID: "y-1", UserID: "alice", Total: "999", Currency: "JPY"})
	run("", &ledger.CompleteOrder{OrderID: "3001", UserID: "erin", Total: "100", Currency: "USD"})
	run("", &ledger.Post{WalletID: erin, Kind: walletd.KindDebit, Amount: "4.5", Type: "fee"})
	run("", &ledger.RefundOrder{OrderID: "3001", Reason: "returned"})
	run("", &ledger.RefundOrder{OrderID: "3001"})
	run("", &ledger.RefundOrder{OrderID: "1001"})
	run("", &ledger.RejectWithdrawal{WithdrawalID: wd4.Object.(*walletd.Withdrawal).ID})

	dump := func(label string, queries ...string) {
		db, err := sql.Open("sqlite3", filepath.Join(l.Dir, "ledger.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		fmt.Fprintf(&out, "== %s\n", label)
		if len(queries) == 0 {
			queries = []string{
				`SELECT * FROM entries ORDER BY seq`,
				`SELECT * FROM wallets ORDER BY id`,
				`SELECT * FROM objects ORDER BY kind, id`,
				`SELECT * FROM checkpoints ORDER BY seq`,
			}
		}
		for _, q := range queries {
			rows, err := db.Query(q)
			if err != nil {
				t.Fatal(err)
			}
			cols, _ := rows.Columns()
			fmt.Fprintf(&out, "-- %s\n", q)
			for rows.Next() {
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					t.Fatal(err)
				}
				var parts []string
				for i, v := range vals {
					switch v := v.(type) {
					case []byte:
						if cols[i] == "signature" {
							parts = append(parts, fmt.Sprintf("signature=%d bytes", len(v)))
							continue
						}
						if cols[i] == "data" || cols[i] == "features" || cols[i] == "metadata" {
							parts = append(parts, cols[i]+"="+string(v))
						} else {
							parts = append(parts, cols[i]+"="+hex.EncodeToString(v))
						}
					default:
						parts = append(parts, fmt.Sprintf("%s=%v", cols[i], v))
					}
				}
				fmt.Fprintln(&out, strings.ReplaceAll(strings.Join(parts, " "), l.Writer.LedgerID(), "LEDGER"))
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			rows.Close()
		}
	}
	dump("before restart")

	// The state comes back from the database.
	l.Reopen(t)
	run("", &ledger.Post{WalletID: alice, Kind: walletd.KindDebit, Amount: "1", Type: "fee"})
	run("", &ledger.Post{WalletID: alice, Kind: walletd.KindDebit, Amount: "400", Type: "fee"})
	run("", &ledger.CompleteOrder{OrderID: "1002", UserID: "bob", Total: "400.00", Currency: "USD", Items: json.RawMessage(`[{"sku":"a","qty":2}]`)})
	run("", &ledger.CompleteOrder{OrderID: "1004", UserID: "bob", Total: "10", Currency: "USD"})
	run("", &ledger.Redeem{WalletID: alice, Code: "WELCOME-10"})
	run("", &ledger.Redeem{WalletID: erin, Code: "WELCOME-10"})
	run("k-top", &ledger.CreateTopup{WalletID: yen, Amount: "700", Method: "bank_transfer"})
	run("lim-1", &ledger.Post{WalletID: alice, Kind: walletd.KindDebit, Amount: "60", Type: "fee"})
	run("", &ledger.SetAutoReload{WalletID: alice, Remove: true})
	run("", &ledger.SetAutoReload{WalletID: alice, Remove: true})
	run("", &ledger.SetLimits{WalletID: alice})
	run("", &ledger.CompleteOrder{OrderID: "2001", UserID: "erin", Total: "60", Currency: "USD"})
	run("", &ledger.Transfer{FromWalletID: bob, ToWalletID: alice, Amount: "1000"})
	run("", &ledger.ApproveWithdrawal{WithdrawalID: wd6.Object.(*walletd.Withdrawal).ID})
	dump("after restart")

	// Orders and the catalogue (added after the rest: the records above
	// are as they were). The dump shows what this part wrote.
	var from uint64
	for _, e := range allEntries(t, l) {
		from = max(from, e.Seq)
	}
	enabled := false
	prod := run("", &ledger.CreateProduct{Name: "Account Reset Fee", Currency: "USD", Variations: []ledger.VariationInput{
		{ChallengeType: "1 Step", AccountSize: "$100,000", Price: "49", SKU: s("RESET-1-100K")},
		{ChallengeType: "2 Step", AccountSize: "$100,000", Price: "59.5"},
	}})
	vars := prod.Object.(*walletd.Product).VariationIDs
	run("", &ledger.CreateProduct{Name: "Bad", Currency: "USD", Variations: []ledger.VariationInput{{ChallengeType: "1 Step", AccountSize: "$1", Price: "1", SKU: s("RESET-1-100K")}}})
	run("", &ledger.UpdateVariation{ID: vars[1], Price: s("55")})
	run("", &ledger.UpdateProduct{ID: prod.Object.(*walletd.Product).ID, Variations: []ledger.VariationInput{
		{ChallengeType: "1 Step", AccountSize: "$200,000", Price: "89"}, {ID: vars[1], Enabled: &enabled}}})
	lines := []ledger.OrderLineInput{{VariationID: vars[0]}, {Name: "Rush fee", Price: "1.5", Quantity: 2}}
	om := []ledger.OrderMetaInput{{Key: "account_id", Value: json.RawMessage(`"MT5-100234"`)}}
	bill := walletd.OrderAddress{FirstName: "Alice", Email: "alice@example.com", Country: "US"}
	o1 := run("k-order", &ledger.CreateOrder{Source: "reset_fee", ExternalID: "r-1", Currency: "USD", CustomerID: "alice", Billing: bill, Lines: lines, MetaData: om})
	run("k-order", &ledger.CreateOrder{Source: "reset_fee", ExternalID: "r-1", Currency: "USD", CustomerID: "alice", Billing: bill, Lines: lines, MetaData: om})
	run("", &ledger.CreateOrder{Source: "reset_fee", ExternalID: "r-1", Currency: "USD", CustomerID: "alice", Billing: bill, Lines: lines, MetaData: om})
	run("", &ledger.CreateOrder{Source: "reset_fee", ExternalID: "r-1", Currency: "USD", CustomerID: "alice", Lines: lines})
	run("", &ledger.CreateOrder{Currency: "USD", Lines: []ledger.OrderLineInput{{VariationID: vars[1]}}})
	id1 := o1.Object.(*walletd.ShopOrder).ID
	run("", &ledger.DeleteVariation{ID: vars[0]})
	run("", &ledger.PayOrder{ID: id1, Method: walletd.PayWallet})
	run("", &ledger.PayOrder{ID: id1, Method: walletd.PayWallet})
	run("", &ledger.CancelOrder{ID: id1})
	l.Reopen(t)
	run("", &ledger.CompleteOrder{ID: id1})
	run("", &ledger.CompleteOrder{ID: id1})
	run("", &ledger.RefundOrder{ID: id1, Reason: "duplicate"})
	guest := run("", &ledger.CreateOrder{Source: "plugin", ExternalID: "wc-88", Currency: "USD", Billing: walletd.OrderAddress{Email: "guest@example.com"},
		Lines: []ledger.OrderLineInput{{Name: "Gift card", Price: "20"}}, ShippingTotal: "5", Total: "25.00"})
	gid := guest.Object.(*walletd.ShopOrder).ID
	run("", &ledger.PayOrder{ID: gid, Method: walletd.PayStripe, Amount: "25", Currency: "USD", Reference: "pi_3Pq"})
	o3 := run("", &ledger.CreateOrder{Source: "plugin", ExternalID: "wc-89", Currency: "USD", Lines: []ledger.OrderLineInput{{Name: "Gift card", Price: "25"}}})
	run("", &ledger.PayOrder{ID: o3.Object.(*walletd.ShopOrder).ID, Method: walletd.PayPayPal, Amount: "25", Currency: "USD", Reference: "pi_3Pq"})
	run("", &ledger.FailOrder{ID: o3.Object.(*walletd.ShopOrder).ID, Reason: "declined"})
	run("", &ledger.RefundOrder{ID: gid})
	run("", &ledger.CreateOrder{ExternalID: "1001", Status: walletd.OrderCompleted, Currency: "USD", CustomerID: "bob", Total: "80"})
	run("", &ledger.CreateOrder{ExternalID: "1204", Status: walletd.OrderCompleted, Currency: "USD", CustomerID: "erin", Total: "30"})
	run("", &ledger.RefundOrder{OrderID: "1204"})
	dump("orders",
		fmt.Sprintf(`SELECT * FROM entries WHERE seq > %d ORDER BY seq`, from),
		`SELECT * FROM wallets ORDER BY id`,
		fmt.Sprintf(`SELECT * FROM objects WHERE seq > %d ORDER BY kind, id`, from),
		fmt.Sprintf(`SELECT * FROM checkpoints WHERE seq > %d ORDER BY seq`, from))

	path := filepath.Join("testdata", "golden", "state.txt")
	if *updateGolden {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) || i < len(wl); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("line %d differs from %s:\n got %s\nwant %s", i+1, path, g, w)
			}
		}
	}
}
