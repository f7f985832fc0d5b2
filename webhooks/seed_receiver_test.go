package webhooks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/walletdtest"
)

// A receiver written from walletpro-webhooks.txt, and nothing else: the
// seed's event keys and the types of its field tables ("Payload Field
// Reference", and the wallet.transfer.sent example for the transfer
// events). Integer fields are int64, order_id is an integer or null,
// strings are strings: encoding/json refuses a number for a string, a
// string or a fraction for an int64. Unknown fields are allowed, as they
// are in any receiver that reads what it needs.

// seedEventKeys are the seed's "Supported Events".
var seedEventKeys = []string{
	"wallet.credited", "wallet.debited", "wallet.topup.completed", "wallet.topup.failed",
	"wallet.reload.triggered", "wallet.transfer.sent", "wallet.transfer.received", "wallet.withdrawal.requested",
	"wallet.withdrawal.approved", "wallet.withdrawal.rejected", "wallet.redemption_code.redeemed", "wallet.milestone.awarded",
	"wallet.cashback.awarded", "wallet.referral.rewarded", "wallet.spending_limit.blocked", "wallet.kyc.required",
}

// seedEnvelope is the seed's "Envelope Fields (all events)".
type seedEnvelope struct {
	ID         string          `json:"id"`
	Event      string          `json:"event"`
	APIVersion string          `json:"api_version"`
	CreatedAt  string          `json:"created_at"`
	SiteURL    string          `json:"site_url"`
	Test       *bool           `json:"test"`
	Data       json.RawMessage `json:"data"`
}

// seedTransaction is the seed's "Common data Fields (transaction events)".
type seedTransaction struct {
	TransactionID int64  `json:"transaction_id"`
	UserID        int64  `json:"user_id"`
	UserEmail     string `json:"user_email"`
	Amount        string `json:"amount"`
	Currency      string `json:"currency"`
	BalanceAfter  string `json:"balance_after"`
	Type          string `json:"type"`
	Reason        string `json:"reason"`
	OrderID       *int64 `json:"order_id"`
	LedgerHash    string `json:"ledger_hash"`
}

// seedTransfer is the data of the seed's wallet.transfer.sent example.
type seedTransfer struct {
	TransferID     int64  `json:"transfer_id"`
	SenderID       int64  `json:"sender_id"`
	SenderEmail    string `json:"sender_email"`
	RecipientID    int64  `json:"recipient_id"`
	RecipientEmail string `json:"recipient_email"`
	Amount         string `json:"amount"`
	Currency       string `json:"currency"`
	Note           string `json:"note"`
}

// seedFields are the data fields each table lists: all must be present,
// and none but order_id may be null (encoding/json reads null into an
// int64 or a string as the zero value, so presence is checked apart).
var (
	seedTransactionFields = []string{"transaction_id", "user_id", "user_email", "amount", "currency", "balance_after", "type", "reason", "order_id", "ledger_hash"}
	seedTransferFields    = []string{"transfer_id", "sender_id", "sender_email", "recipient_id", "recipient_email", "amount", "currency", "note"}
)

// decodeSeed decodes body as the seed's receiver does and returns what is
// wrong with it.
func decodeSeed(body []byte) error {
	var env seedEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		return fmt.Errorf("envelope: %w", err)
	}
	if env.ID == "" || env.APIVersion != "v1" || env.SiteURL == "" || len(env.Data) == 0 {
		return fmt.Errorf("envelope %+v", env)
	}
	if _, err := time.Parse(time.RFC3339, env.CreatedAt); err != nil || !strings.HasSuffix(env.CreatedAt, "Z") {
		return fmt.Errorf("created_at %q is not RFC 3339 UTC", env.CreatedAt)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(env.Data, &raw); err != nil {
		return fmt.Errorf("data: %w", err)
	}
	fields := seedTransactionFields
	var v any
	var ids func() []int64
	if strings.HasPrefix(env.Event, "wallet.transfer.") {
		t := &seedTransfer{}
		fields, v, ids = seedTransferFields, t, func() []int64 { return []int64{t.TransferID, t.SenderID, t.RecipientID} }
	} else {
		t := &seedTransaction{}
		v, ids = t, func() []int64 { return []int64{t.TransactionID, t.UserID} }
	}
	for _, f := range fields {
		r, ok := raw[f]
		if !ok {
			return fmt.Errorf("no %s", f)
		} else if string(r) == "null" && f != "order_id" {
			return fmt.Errorf("%s is null", f)
		}
	}
	if err := json.Unmarshal(env.Data, v); err != nil {
		return fmt.Errorf("data: %w", err)
	}
	for _, id := range ids() {
		if id <= 0 {
			return fmt.Errorf("an id is %d", id)
		}
	}
	return nil
}

// TestSeedReceiver drives the sixteen seed events through real operations
// (with WooCommerce's integer user and order ids), lets the dispatcher
// deliver them to a walletpro endpoint with the default filter, and
// decodes every delivered body, and every test delivery of the sixteen,
// with the seed's types in Go and in PHP.
func TestSeedReceiver(t *testing.T) {
	t.Parallel()
	n := mustNATS(t)
	l := walletdtest.MustOpenLedger(t, nil)
	startRelay(t, n, l)
	e := mustService(t)
	rc := newReceiver(t)
	ep, secret := e.create(t, walletd.WebhookEndpointInput{Name: "seed", URL: rc.URL + "/webhooks/walletpro"})
	rc.waitFor(t, "ping", 1)
	startDispatcher(t, e.Svc, n)

	ctx := context.Background()
	must := func(cmd walletd.Command) *walletd.Result {
		t.Helper()
		res, err := l.Writer.Submit(ctx, "", cmd)
		if err != nil {
			t.Fatalf("%T: %v", cmd, err)
		}
		return res
	}
	refused := func(cmd walletd.Command, code string) {
		t.Helper()
		if _, err := l.Writer.Submit(ctx, "", cmd); walletd.ErrorCode(err) != code {
			t.Fatalf("%T: %v, want %s", cmd, err, code)
		}
	}
	jane := l.MustWallet(t, "103", "USD")
	bob := l.MustWallet(t, "207", "USD")

	must(&ledger.Post{WalletID: jane, Kind: walletd.KindCredit, Amount: "25.00", Type: "cashback", Reason: "5% cashback on order #1204", OrderID: "1204"})
	top := must(&ledger.CreateTopup{WalletID: jane, Amount: "200.00", Method: "card", ExternalRef: "1300"}).Object.(*walletd.Topup)
	must(&ledger.CompleteTopup{TopupID: top.ID})
	failed := must(&ledger.CreateTopup{WalletID: jane, Amount: "5.00", Method: "card"}).Object.(*walletd.Topup)
	must(&ledger.FailTopup{TopupID: failed.ID, Reason: "card declined"})
	must(&ledger.Transfer{FromWalletID: jane, ToWalletID: bob, Amount: "10.00", Note: "Splitting lunch"})
	wd := must(&ledger.RequestWithdrawal{WalletID: jane, Amount: "20.00", Method: "bank"}).Object.(*walletd.Withdrawal)
	must(&ledger.ApproveWithdrawal{WithdrawalID: wd.ID})
	wd2 := must(&ledger.RequestWithdrawal{WalletID: jane, Amount: "5.00", Method: "bank"}).Object.(*walletd.Withdrawal)
	must(&ledger.RejectWithdrawal{WithdrawalID: wd2.ID, Reason: "name mismatch"})
	code := must(&ledger.CreateRedemptionCode{Code: "GIFT-2026", Amount: "15.00", Currency: "USD", MaxRedemptions: 5}).Object.(*walletd.RedemptionCode)
	must(&ledger.Redeem{WalletID: bob, Code: code.Code})
	must(&ledger.CreateCashbackRule{Percent: "5"})
	must(&ledger.CreateMilestone{Name: "First order", Metric: walletd.MetricOrderCount, Threshold: "1", Reward: "2.00"})
	must(&ledger.SetReferralSettings{ReferrerReward: "3.00", RefereeReward: "1.00"})
	must(&ledger.CreateReferral{ReferrerUserID: "103", RefereeUserID: "207"})
	must(&ledger.CompleteOrder{OrderID: "1204", UserID: "207", Total: "40.00", Currency: "USD"})
	must(&ledger.Post{WalletID: bob, Kind: walletd.KindDebit, Amount: "4.00", Type: "order_payment", Reason: "Partial payment for order #1205", OrderID: "1205"})
	must(&ledger.SetLimits{WalletID: bob, PerTransaction: strp("5.00")})
	refused(&ledger.Post{WalletID: bob, Kind: walletd.KindDebit, Amount: "6.00", Type: "order_payment", OrderID: "1206"}, walletd.ESpendingLimit)
	must(&ledger.SetKYCSettings{Threshold: "50.00"})
	refused(&ledger.Post{WalletID: jane, Kind: walletd.KindDebit, Amount: "60.00", Type: "order_payment"}, walletd.EKYCRequired)
	must(&ledger.SetAutoReload{WalletID: jane, Threshold: "180.00", Amount: "50.00", Method: "card"})
	must(&ledger.Post{WalletID: jane, Kind: walletd.KindDebit, Amount: "20.00", Type: "order_payment"})

	// Every seed event arrives; then the test deliveries of each.
	for _, key := range seedEventKeys {
		rc.waitFor(t, key, 1)
	}
	live := len(rc.requests())
	for _, key := range seedEventKeys {
		if _, err := e.Svc.SendTest(ctx, ep.ID, key); err != nil {
			t.Fatalf("test %s: %v", key, err)
		}
	}
	walletdtest.CheckFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if got := len(rc.requests()); got < live+len(seedEventKeys) {
			return fmt.Errorf("%d requests, want %d", got, live+len(seedEventKeys))
		}
		return nil
	})

	var bodies [][]byte
	perEvent := map[string]int{}
	for _, r := range rc.requests() {
		var env seedEnvelope
		if err := json.Unmarshal(r.Body, &env); err != nil {
			t.Fatalf("body %s: %v", r.Body, err)
		}
		if !slices.Contains(seedEventKeys, env.Event) {
			continue // the ping, and anything else the filter lets through
		}
		if !r.verified(secret) {
			t.Errorf("%s: signature does not verify", env.Event)
		}
		if err := decodeSeed(r.Body); err != nil {
			t.Errorf("%s: the seed's receiver refuses the body: %v\n%s", env.Event, err, r.Body)
		}
		perEvent[env.Event]++
		bodies = append(bodies, r.Body)
	}
	for _, key := range seedEventKeys {
		if perEvent[key] < 2 { // one live delivery at least, and the test delivery
			t.Errorf("%s: %d bodies", key, perEvent[key])
		}
	}

	// The values, where the scenario fixes them. Deliveries run
	// concurrently: bodies are found by their content, not their order.
	first := func(key string, match ...any) map[string]any {
		for _, b := range bodies {
			var env struct {
				Event string         `json:"event"`
				Test  bool           `json:"test"`
				Data  map[string]any `json:"data"`
			}
			json.Unmarshal(b, &env)
			if env.Event == key && !env.Test && (len(match) < 2 || env.Data[match[0].(string)] == match[1]) {
				return env.Data
			}
		}
		return nil
	}
	if d := first("wallet.credited", "reason", "5% cashback on order #1204"); d["user_id"] != float64(103) || d["order_id"] != float64(1204) || d["type"] != "cashback" {
		t.Errorf("wallet.credited data %v", d)
	}
	if d := first("wallet.topup.completed"); d["order_id"] != nil || d["user_id"] != float64(103) {
		t.Errorf("wallet.topup.completed data %v", d)
	}
	if d := first("wallet.cashback.awarded"); d["order_id"] != float64(1204) || d["user_id"] != float64(207) {
		t.Errorf("wallet.cashback.awarded data %v", d)
	}
	sent, received := first("wallet.transfer.sent"), first("wallet.transfer.received")
	if sent["transfer_id"] != received["transfer_id"] || sent["sender_id"] != float64(103) || received["recipient_id"] != float64(207) {
		t.Errorf("transfer data %v / %v", sent, received)
	}

	runPHPSeedCheck(t, bodies)
}

// TestSeedReceiver_Strict checks that the seed's receiver above refuses
// what walletd sent before its payloads had the seed's types, in Go and in
// PHP: otherwise TestSeedReceiver would prove nothing.
func TestSeedReceiver_Strict(t *testing.T) {
	env := `{"id":"wph_1","event":"%s","api_version":"v1","created_at":"2026-06-20T14:32:07Z","site_url":"https://example.com","data":%s}`
	good := `{"transaction_id":4821,"user_id":103,"user_email":"j@example.com","amount":"25.00","currency":"USD","balance_after":"75.00","type":"cashback","reason":"r","order_id":1204,"ledger_hash":"a3"}`
	if err := decodeSeed([]byte(fmt.Sprintf(env, "wallet.credited", good))); err != nil {
		t.Fatalf("the seed's own example is refused: %v", err)
	}
	for name, bad := range map[string]string{
		"StringTransactionID": strings.Replace(good, `4821`, `"txn_36FtqA1Rk0bWQ4H1Gq7c4BqT9pN"`, 1),
		"StringUserID":        strings.Replace(good, `103`, `"103"`, 1),
		"EmptyOrderID":        strings.Replace(good, `1204`, `""`, 1),
		"NumberAmount":        strings.Replace(good, `"25.00"`, `25`, 1),
		"NoOrderID":           strings.Replace(good, `,"order_id":1204`, ``, 1),
		"NullUserID":          strings.Replace(good, `103`, `null`, 1),
	} {
		body := []byte(fmt.Sprintf(env, "wallet.credited", bad))
		if decodeSeed(body) == nil {
			t.Errorf("%s: accepted", name)
		}
		php, err := exec.LookPath("php")
		if err != nil {
			continue
		}
		file := filepath.Join(t.TempDir(), "bodies.jsonl")
		os.WriteFile(file, body, 0o600)
		if out, err := exec.Command(php, "testdata/seed_receiver.php", file).CombinedOutput(); err == nil {
			t.Errorf("%s: the PHP check accepts it: %s", name, out)
		}
	}
}

// runPHPSeedCheck runs testdata/seed_receiver.php on bodies, one a line.
func runPHPSeedCheck(t *testing.T, bodies [][]byte) {
	t.Helper()
	php, err := exec.LookPath("php")
	if err != nil {
		t.Skip("SKIPPING THE PHP CHECK OF THE SEED PAYLOADS: php is not installed (Debian: apt-get install -y php-cli)")
	}
	file := filepath.Join(t.TempDir(), "bodies.jsonl")
	if err := os.WriteFile(file, append(bytes.Join(bodies, []byte("\n")), '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(php, "testdata/seed_receiver.php", file).CombinedOutput()
	if err != nil {
		t.Fatalf("php: %v\n%s", err, out)
	}
	t.Logf("php: %s", bytes.TrimSpace(out))
}

func strp(s string) *string { return &s }
