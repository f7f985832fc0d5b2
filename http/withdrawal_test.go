package http_test

import (
	"strings"
	"testing"

	"github.com/walletd/walletd"
)

type withdrawalData struct {
	ID             string `json:"id"`
	WalletID       string `json:"wallet_id"`
	Amount         string `json:"amount"`
	Method         string `json:"method"`
	Destination    string `json:"destination"`
	Status         string `json:"status"`
	RejectReason   string `json:"reject_reason"`
	TransactionID  string `json:"transaction_id"`
	Seq            uint64 `json:"seq"`
	BalanceAfter   string `json:"balance_after"`
	HeldAfter      string `json:"held_after"`
	AvailableAfter string `json:"available_after"`
	Transaction    *entry `json:"transaction"`
}

func (s *testServer) mustWithdrawal(tb testing.TB, walletID, amount string) withdrawalData {
	tb.Helper()
	r := s.do(tb, "POST", "/v1/wallets/"+walletID+"/withdrawals", `{"amount":"`+amount+`","method":"bank","destination":"DE89 3704"}`)
	r.expect(tb, 201, "")
	var d withdrawalData
	r.data(tb, &d)
	return d
}

func TestWithdrawals(t *testing.T) {
	s := mustServer(t)
	w := s.mustWallet(t, "u1", "USD")
	s.mustCredit(t, w.ID, "100.00")

	d := s.mustWithdrawal(t, w.ID, "30")
	if !strings.HasPrefix(d.ID, "wdr_") || d.Status != "pending" || d.Amount != "30.00" || d.Destination != "DE89 3704" ||
		d.BalanceAfter != "100.00" || d.HeldAfter != "30.00" || d.AvailableAfter != "70.00" || d.Seq == 0 {
		t.Fatalf("requested withdrawal %+v", d)
	}
	s.wantMoney(t, w.ID, "100.00/30.00/70.00")
	s.do(t, "POST", "/v1/wallets/"+w.ID+"/debit", `{"amount":"70.01"}`).expect(t, 422, "insufficient_funds")

	r := s.do(t, "GET", "/v1/withdrawals/"+d.ID, "")
	r.expect(t, 200, "")
	var got withdrawalData
	r.data(t, &got)
	if got.ID != d.ID || got.Status != "pending" || got.BalanceAfter != "" {
		t.Fatalf("GET withdrawal %s", r.Data)
	}

	r = s.do(t, "POST", "/v1/withdrawals/"+d.ID+"/approve", ``)
	r.expect(t, 200, "")
	var ok withdrawalData
	r.data(t, &ok)
	if ok.Status != "approved" || ok.Transaction == nil || ok.Transaction.Kind != "settle" || ok.Transaction.Amount != "30.00" ||
		ok.TransactionID != ok.Transaction.TransactionID || ok.BalanceAfter != "70.00" || ok.HeldAfter != "0.00" {
		t.Fatalf("approved withdrawal %s", r.Data)
	}
	s.wantMoney(t, w.ID, "70.00/0.00/70.00")
	s.do(t, "POST", "/v1/withdrawals/"+d.ID+"/approve", ``).expect(t, 409, "conflict")
	s.do(t, "POST", "/v1/withdrawals/"+d.ID+"/reject", `{"reason":"late"}`).expect(t, 409, "conflict")

	t.Run("Reject", func(t *testing.T) {
		d := s.mustWithdrawal(t, w.ID, "20")
		s.wantMoney(t, w.ID, "70.00/20.00/50.00")
		r := s.do(t, "POST", "/v1/withdrawals/"+d.ID+"/reject", `{"reason":"name mismatch"}`)
		r.expect(t, 200, "")
		r.data(t, &d)
		if d.Status != "rejected" || d.RejectReason != "name mismatch" || d.HeldAfter != "0.00" || d.AvailableAfter != "70.00" {
			t.Fatalf("rejected withdrawal %s", r.Data)
		}
		s.wantMoney(t, w.ID, "70.00/0.00/70.00")
		s.do(t, "POST", "/v1/withdrawals/"+d.ID+"/approve", ``).expect(t, 409, "conflict")
	})

	t.Run("ApproveAgainstReject", func(t *testing.T) {
		for round := 0; round < 3; round++ {
			d := s.mustWithdrawal(t, w.ID, "1")
			before := s.wallet(t, w.ID).Balance
			statuses := race(20, func(i int) *response {
				if i%2 == 0 {
					return s.do(t, "POST", "/v1/withdrawals/"+d.ID+"/approve", ``)
				}
				return s.do(t, "POST", "/v1/withdrawals/"+d.ID+"/reject", `{"reason":"race"}`)
			})
			if statuses[200] != 1 || statuses[409] != 19 {
				t.Fatalf("statuses %v, want one 200 and 19 409", statuses)
			}
			after := s.wallet(t, w.ID)
			final := s.getWithdrawal(t, d.ID)
			want := before
			if final.Status == "approved" {
				want = map[string]string{"70.00": "69.00", "69.00": "68.00", "68.00": "67.00"}[before]
			}
			if after.Held != "0.00" || after.Balance != want || after.Available != want {
				t.Fatalf("withdrawal %s: wallet %+v, want balance %s", final.Status, after, want)
			}
		}
	})

	reader, writer := s.bearer(t, walletd.ScopeWalletsRead), s.bearer(t, walletd.ScopeWalletsWrite)
	path := "/v1/wallets/" + w.ID + "/withdrawals"
	cases := append(jsonCases("POST", path, "amount"), amountCases("POST", path, `{"amount":"%AMOUNT%","method":"bank"}`)...)
	cases = append(cases,
		badCase{name: "InsufficientFunds", method: "POST", path: path, body: `{"amount":"1000","method":"bank"}`, status: 422, code: "insufficient_funds"},
		badCase{name: "NoMethod", method: "POST", path: path, body: `{"amount":"1"}`, status: 400, code: "invalid_request"},
		badCase{name: "UnknownWallet", method: "POST", path: "/v1/wallets/wal_nope/withdrawals", body: `{"amount":"1","method":"bank"}`, status: 404, code: "not_found"},
		badCase{name: "UnknownGet", method: "GET", path: "/v1/withdrawals/wdr_nope", status: 404, code: "not_found"},
		badCase{name: "UnknownApprove", method: "POST", path: "/v1/withdrawals/wdr_nope/approve", status: 404, code: "not_found"},
		badCase{name: "UnknownReject", method: "POST", path: "/v1/withdrawals/wdr_nope/reject", status: 404, code: "not_found"},
		badCase{name: "RejectUnknownField", method: "POST", path: "/v1/withdrawals/" + d.ID + "/reject", body: `{"why":"x"}`, status: 400, code: "invalid_json"},
		badCase{name: "ScopeRequest", method: "POST", path: path, body: `{"amount":"1","method":"bank"}`, status: 403, code: "forbidden", headers: []string{"Authorization", reader}},
		badCase{name: "ScopeApprove", method: "POST", path: "/v1/withdrawals/" + d.ID + "/approve", status: 403, code: "forbidden", headers: []string{"Authorization", writer}},
		badCase{name: "ScopeReject", method: "POST", path: "/v1/withdrawals/" + d.ID + "/reject", status: 403, code: "forbidden", headers: []string{"Authorization", writer}},
	)
	runBad(t, s, cases, w.ID)
	s.verifies(t)
}

func (s *testServer) getWithdrawal(tb testing.TB, id string) withdrawalData {
	tb.Helper()
	r := s.do(tb, "GET", "/v1/withdrawals/"+id, "")
	r.expect(tb, 200, "")
	var d withdrawalData
	r.data(tb, &d)
	return d
}
