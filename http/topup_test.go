package http_test

import (
	"strings"
	"testing"

	"github.com/walletd/walletd"
)

type topupData struct {
	ID            string `json:"id"`
	WalletID      string `json:"wallet_id"`
	Amount        string `json:"amount"`
	Currency      string `json:"currency"`
	Method        string `json:"method"`
	ExternalRef   string `json:"external_ref"`
	Origin        string `json:"origin"`
	Status        string `json:"status"`
	FailureReason string `json:"failure_reason"`
	TransactionID string `json:"transaction_id"`
	Seq           uint64 `json:"seq"`
	LedgerHash    string `json:"ledger_hash"`
	Transaction   *entry `json:"transaction"`
}

func TestTopups(t *testing.T) {
	s := mustServer(t)
	w := s.mustWallet(t, "u1", "USD")

	r := s.do(t, "POST", "/v1/wallets/"+w.ID+"/topups", `{"amount":"25","method":"card","external_ref":"pi_1"}`)
	r.expect(t, 201, "")
	var top topupData
	r.data(t, &top)
	if !strings.HasPrefix(top.ID, "top_") || top.Status != "pending" || top.Amount != "25.00" || top.Currency != "USD" ||
		top.Method != "card" || top.ExternalRef != "pi_1" || top.Origin != "api" || top.WalletID != w.ID ||
		top.Seq == 0 || len(top.LedgerHash) != 64 || top.TransactionID != "" {
		t.Fatalf("created top-up %s", r.Data)
	}
	s.wantMoney(t, w.ID, "0.00/0.00/0.00")

	r = s.do(t, "GET", "/v1/topups/"+top.ID, "")
	r.expect(t, 200, "")
	var got topupData
	r.data(t, &got)
	if got.ID != top.ID || got.Status != "pending" || got.Seq != 0 {
		t.Fatalf("GET top-up %s", r.Data)
	}

	r = s.do(t, "POST", "/v1/topups/"+top.ID+"/complete", ``)
	r.expect(t, 200, "")
	var done topupData
	r.data(t, &done)
	if done.Status != "completed" || done.Transaction == nil || done.Transaction.Kind != "credit" || done.Transaction.Type != "topup" ||
		done.Transaction.Amount != "25.00" || done.TransactionID != done.Transaction.TransactionID || done.Seq != done.Transaction.Seq {
		t.Fatalf("completed top-up %s", r.Data)
	}
	s.wantMoney(t, w.ID, "25.00/0.00/25.00")

	t.Run("ErrCompleteTwice", func(t *testing.T) {
		s.do(t, "POST", "/v1/topups/"+top.ID+"/complete", `{}`).expect(t, 409, "conflict")
		s.do(t, "POST", "/v1/topups/"+top.ID+"/fail", `{"reason":"late"}`).expect(t, 409, "conflict")
		s.wantMoney(t, w.ID, "25.00/0.00/25.00")
	})
	t.Run("Fail", func(t *testing.T) {
		r := s.do(t, "POST", "/v1/wallets/"+w.ID+"/topups", `{"amount":"5","method":"card"}`)
		r.expect(t, 201, "")
		var t2 topupData
		r.data(t, &t2)
		r = s.do(t, "POST", "/v1/topups/"+t2.ID+"/fail", `{"reason":"card declined"}`)
		r.expect(t, 200, "")
		r.data(t, &t2)
		if t2.Status != "failed" || t2.FailureReason != "card declined" || t2.Transaction != nil {
			t.Fatalf("failed top-up %s", r.Data)
		}
		s.do(t, "POST", "/v1/topups/"+t2.ID+"/complete", ``).expect(t, 409, "conflict")
		s.do(t, "POST", "/v1/topups/"+t2.ID+"/fail", ``).expect(t, 409, "conflict")
		s.wantMoney(t, w.ID, "25.00/0.00/25.00")
	})
	t.Run("IdempotentCreate", func(t *testing.T) {
		body := `{"amount":"7","method":"card"}`
		r1 := s.do(t, "POST", "/v1/wallets/"+w.ID+"/topups", body, "Idempotency-Key", "top-k1")
		r2 := s.do(t, "POST", "/v1/wallets/"+w.ID+"/topups", body, "Idempotency-Key", "top-k1")
		r1.expect(t, 201, "")
		r2.expect(t, 201, "")
		var a, b topupData
		r1.data(t, &a)
		r2.data(t, &b)
		if a.ID == "" || a.ID != b.ID || a.Seq != b.Seq || r2.Header.Get("Idempotent-Replayed") != "true" || string(r1.Data) != string(r2.Data) {
			t.Fatalf("replay differs:\n%s\n%s", r1.Data, r2.Data)
		}
		s.do(t, "POST", "/v1/wallets/"+w.ID+"/topups", `{"amount":"8","method":"card"}`, "Idempotency-Key", "top-k1").expect(t, 409, "idempotency_conflict")
		// Completing with a key: the replay answers the same completion.
		c1 := s.do(t, "POST", "/v1/topups/"+a.ID+"/complete", ``, "Idempotency-Key", "top-k1-done")
		c2 := s.do(t, "POST", "/v1/topups/"+a.ID+"/complete", ``, "Idempotency-Key", "top-k1-done")
		c1.expect(t, 200, "")
		c2.expect(t, 200, "")
		if string(c1.Data) != string(c2.Data) || c2.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("completion replay differs:\n%s\n%s", c1.Data, c2.Data)
		}
		s.wantMoney(t, w.ID, "32.00/0.00/32.00")
	})

	reader, writer := s.bearer(t, walletd.ScopeWalletsRead), s.bearer(t, walletd.ScopeWalletsWrite)
	path := "/v1/wallets/" + w.ID + "/topups"
	cases := append(jsonCases("POST", path, "amount"), amountCases("POST", path, `{"amount":"%AMOUNT%","method":"card"}`)...)
	cases = append(cases,
		badCase{name: "NumberAmount", method: "POST", path: path, body: `{"amount":25,"method":"card"}`, status: 400, code: "invalid_json"},
		badCase{name: "EmptyBody", method: "POST", path: path, body: ``, status: 400, code: "invalid_json"},
		badCase{name: "NoMethod", method: "POST", path: path, body: `{"amount":"5"}`, status: 400, code: "invalid_request"},
		badCase{name: "BadMethod", method: "POST", path: path, body: `{"amount":"5","method":"Credit Card"}`, status: 400, code: "invalid_request"},
		badCase{name: "UnknownWallet", method: "POST", path: "/v1/wallets/wal_nope/topups", body: `{"amount":"5","method":"card"}`, status: 404, code: "not_found"},
		badCase{name: "UnknownTopupGet", method: "GET", path: "/v1/topups/top_nope", status: 404, code: "not_found"},
		badCase{name: "UnknownTopupComplete", method: "POST", path: "/v1/topups/top_nope/complete", status: 404, code: "not_found"},
		badCase{name: "UnknownTopupFail", method: "POST", path: "/v1/topups/top_nope/fail", body: `{"reason":"x"}`, status: 404, code: "not_found"},
		badCase{name: "CompleteUnknownField", method: "POST", path: "/v1/topups/" + top.ID + "/complete", body: `{"force":true}`, status: 400, code: "invalid_json"},
		badCase{name: "FailWrongType", method: "POST", path: "/v1/topups/" + top.ID + "/fail", body: `{"reason":5}`, status: 400, code: "invalid_json"},
		badCase{name: "ScopeCreate", method: "POST", path: path, body: `{"amount":"5","method":"card"}`, status: 403, code: "forbidden", headers: []string{"Authorization", reader}},
		badCase{name: "ScopeComplete", method: "POST", path: "/v1/topups/" + top.ID + "/complete", status: 403, code: "forbidden", headers: []string{"Authorization", writer}},
		badCase{name: "ScopeFail", method: "POST", path: "/v1/topups/" + top.ID + "/fail", status: 403, code: "forbidden", headers: []string{"Authorization", writer}},
		badCase{name: "ScopeGet", method: "GET", path: "/v1/topups/" + top.ID, status: 403, code: "forbidden", headers: []string{"Authorization", writer}},
		badCase{name: "NoToken", method: "GET", path: "/v1/topups/" + top.ID, status: 401, code: "unauthorized", headers: []string{"Authorization", ""}},
	)
	runBad(t, s, cases, w.ID)
	s.do(t, "GET", "/v1/topups/"+top.ID, "", "Authorization", reader).expect(t, 200, "")

	// A top-up paid through a storefront order may carry the order's
	// integer id as its external reference.
	t.Run("IntegerExternalRef", func(t *testing.T) {
		r := s.do(t, "POST", path, `{"amount":"5","method":"card","external_ref":1204}`)
		r.expect(t, 201, "")
		var got struct {
			ExternalRef string `json:"external_ref"`
		}
		r.data(t, &got)
		if got.ExternalRef != "1204" {
			t.Fatalf("external_ref %q", got.ExternalRef)
		}
		for _, v := range []string{`1.5`, `-1`, `true`, `1e3`, `99999999999999999999`} {
			r := s.do(t, "POST", path, `{"amount":"5","method":"card","external_ref":`+v+`}`)
			r.expect(t, 400, "invalid_request")
			if !strings.Contains(r.Message, `Field "external_ref"`) {
				t.Fatalf("%s: message %q", v, r.Message)
			}
		}
	})
	s.verifies(t)
}
