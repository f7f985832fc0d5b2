package http_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/walletd/walletd"
)

type orderData struct {
	OrderID  string `json:"order_id"`
	UserID   string `json:"user_id"`
	WalletID string `json:"wallet_id"`
	Total    string `json:"total"`
	Status   string `json:"status"`
	Awards   []struct {
		Kind, TransactionID, WalletID, Amount, Ref string
	} `json:"awards"`
	Seq          uint64          `json:"seq"`
	Transactions []entry         `json:"transactions"`
	Items        json.RawMessage `json:"items"`
}

// awards returns an order's awards as "kind amount" strings.
func (o orderData) awards() string {
	var out []string
	for _, a := range o.Awards {
		out = append(out, a.Kind+" "+a.Amount)
	}
	return strings.Join(out, ", ")
}

// withoutWrite removes what only a write answers: seq, ledger_hash and
// transactions.
func withoutWrite(tb testing.TB, raw json.RawMessage) string {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		tb.Fatal(err)
	}
	delete(m, "seq")
	delete(m, "ledger_hash")
	delete(m, "transactions")
	return mustJSON(m)
}

func TestOrders(t *testing.T) {
	s := mustServer(t)
	alice := s.mustWallet(t, "alice", "USD")
	bob := s.mustWallet(t, "bob", "USD")
	s.mustRewards(t)

	// The first order: 5% cashback, the lifetime milestone, both
	// referral rewards.
	body := `{"user_id":"alice","total":"120","currency":"USD","items":[ {"sku":"A1", "qty":2} ]}`
	r := s.do(t, "POST", "/v1/orders/1001/complete", body)
	r.expect(t, 201, "")
	var o orderData
	r.data(t, &o)
	if o.OrderID != "1001" || o.Status != "completed" || o.Total != "120.00" || o.WalletID != alice.ID || string(o.Items) != `[{"sku":"A1","qty":2}]` ||
		o.awards() != "cashback 6.00, milestone 5.00, referral_referee 4.00, referral_referrer 7.00" || len(o.Transactions) != 5 ||
		o.Transactions[0].Type != "order_completed" || o.Seq != o.Transactions[4].Seq {
		t.Fatalf("completed order %s", r.Data)
	}
	s.wantMoney(t, alice.ID, "15.00/0.00/15.00")
	s.wantMoney(t, bob.ID, "7.00/0.00/7.00")
	var ref struct{ Status, OrderID string }
	s.do(t, "GET", "/v1/referrals/alice", "").data(t, &ref)
	if ref.Status != "rewarded" {
		t.Fatalf("referral %+v", ref)
	}

	t.Run("Repeat", func(t *testing.T) {
		r2 := s.do(t, "POST", "/v1/orders/1001/complete", `{"user_id":"alice","total":"120.00","currency":"USD","items":[{"sku":"A1","qty":2}]}`)
		r2.expect(t, 200, "")
		if r2.Header.Get("Idempotent-Replayed") != "true" || withoutWrite(t, r2.Data) != withoutWrite(t, r.Data) || !strings.Contains(string(r2.Data), `"transactions":[]`) {
			t.Fatalf("repeat:\n%s\nfirst:\n%s", r2.Data, r.Data)
		}
		s.wantMoney(t, alice.ID, "15.00/0.00/15.00")
		s.do(t, "POST", "/v1/orders/1001/complete", `{"user_id":"alice","total":"121","currency":"USD"}`).expect(t, 409, "conflict")
		get := s.do(t, "GET", "/v1/orders/1001", "")
		get.expect(t, 200, "")
		if withoutWrite(t, get.Data) != withoutWrite(t, r.Data) {
			t.Fatalf("GET order:\n%s\nfirst:\n%s", get.Data, r.Data)
		}
	})

	// The second order reaches the order_count milestone; the referral
	// and the lifetime milestone were awarded already.
	r = s.do(t, "POST", "/v1/orders/1002/complete", `{"user_id":"alice","total":"20","currency":"USD"}`)
	r.expect(t, 201, "")
	r.data(t, &o)
	if o.awards() != "cashback 1.00, milestone 3.00" {
		t.Fatalf("second order %s", r.Data)
	}
	s.wantMoney(t, alice.ID, "19.00/0.00/19.00")

	t.Run("ConcurrentCompletion", func(t *testing.T) {
		statuses := race(10, func(int) *response {
			return s.do(t, "POST", "/v1/orders/1003/complete", `{"user_id":"alice","total":"40","currency":"USD"}`)
		})
		if statuses[201] != 1 || statuses[200] != 9 {
			t.Fatalf("statuses %v, want one 201 and nine 200", statuses)
		}
		s.wantMoney(t, alice.ID, "21.00/0.00/21.00") // one 2.00 cashback
	})

	t.Run("Refund", func(t *testing.T) {
		r := s.do(t, "POST", "/v1/orders/1001/refund", `{"reason":"returned"}`)
		r.expect(t, 200, "")
		var o orderData
		r.data(t, &o)
		if o.Status != "refunded" || len(o.Transactions) != 2 || o.Transactions[1].Type != "cashback_reversal" || o.Transactions[1].Amount != "6.00" ||
			!strings.HasSuffix(o.awards(), ", cashback_reversal 6.00") {
			t.Fatalf("refunded order %s", r.Data)
		}
		s.wantMoney(t, alice.ID, "15.00/0.00/15.00")
		s.wantMoney(t, bob.ID, "7.00/0.00/7.00")
		s.do(t, "POST", "/v1/orders/1001/refund", ``).expect(t, 409, "conflict")
		// A refund without a body.
		s.do(t, "POST", "/v1/orders/1002/refund", ``).expect(t, 200, "")
		s.wantMoney(t, alice.ID, "14.00/0.00/14.00")
	})

	writer := s.bearer(t, walletd.ScopeWalletsWrite)
	cases := append(jsonCases("POST", "/v1/orders/2001/complete", "total"), amountCases("POST", "/v1/orders/2001/complete", `{"user_id":"alice","total":"%AMOUNT%","currency":"USD"}`)...)
	cases = append(cases,
		badCase{name: "NoWallet", method: "POST", path: "/v1/orders/2001/complete", body: `{"user_id":"carol","total":"5","currency":"USD"}`, status: 404, code: "not_found"},
		badCase{name: "BadCurrency", method: "POST", path: "/v1/orders/2001/complete", body: `{"user_id":"alice","total":"5","currency":"XXX"}`, status: 400, code: "invalid_currency"},
		badCase{name: "ItemsMalformed", method: "POST", path: "/v1/orders/2001/complete", body: `{"user_id":"alice","total":"5","currency":"USD","items":[1,}`, status: 400, code: "invalid_json"},
		badCase{name: "UnknownOrderRefund", method: "POST", path: "/v1/orders/nope/refund", status: 404, code: "not_found"},
		badCase{name: "UnknownOrderGet", method: "GET", path: "/v1/orders/nope", status: 404, code: "not_found"},
		badCase{name: "RefundUnknownField", method: "POST", path: "/v1/orders/1003/refund", body: `{"amount":"1"}`, status: 400, code: "invalid_json"},
		badCase{name: "ScopeComplete", method: "POST", path: "/v1/orders/2001/complete", body: `{"user_id":"alice","total":"5","currency":"USD"}`, status: 403, code: "forbidden", headers: []string{"Authorization", writer}},
		badCase{name: "ScopeRefund", method: "POST", path: "/v1/orders/1003/refund", status: 403, code: "forbidden", headers: []string{"Authorization", writer}},
		badCase{name: "ScopeGetOrder", method: "GET", path: "/v1/orders/1003", status: 403, code: "forbidden", headers: []string{"Authorization", writer}},
	)
	runBad(t, s, cases, alice.ID, bob.ID)
	runBadIDs(t, s, "POST", "/v1/orders/2001/complete", "user_id", `{"user_id":%ID%,"total":"5","currency":"USD"}`)
	s.verifies(t)
}

// TestOrders_IntegerUserID completes a WooCommerce order whose customer id
// is a JSON integer: the wallet of user "103" gets the order.
func TestOrders_IntegerUserID(t *testing.T) {
	s := mustServer(t)
	w := s.mustWallet(t, "103", "USD")
	r := s.do(t, "POST", "/v1/orders/1204/complete", `{"user_id":103,"total":"40.00","currency":"USD"}`)
	r.expect(t, 201, "")
	var o orderData
	r.data(t, &o)
	if o.OrderID != "1204" || o.UserID != "103" || o.WalletID != w.ID || o.Status != "completed" {
		t.Fatalf("order %s", r.Data)
	}
	// The same order again with the id as a string: one order, no new
	// completion.
	s.do(t, "POST", "/v1/orders/1204/complete", `{"user_id":"103","total":"40.00","currency":"USD"}`).expect(t, 200, "")
	s.do(t, "POST", "/v1/orders/1204/refund", ``).expect(t, 200, "")
	s.verifies(t)
}
