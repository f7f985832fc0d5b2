package http_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/walletd/walletd"
)

func TestKYC(t *testing.T) {
	s := mustServer(t)
	w := s.mustWallet(t, "u1", "USD")
	s.mustCredit(t, w.ID, "100.00")
	if wal := s.do(t, "GET", "/v1/wallets/"+w.ID, ""); !strings.Contains(string(wal.Data), `"kyc_status":"none"`) {
		t.Fatalf("new wallet %s", wal.Data)
	}
	s.do(t, "GET", "/v1/settings/kyc", "").expect(t, 404, "not_found")

	r := s.do(t, "PUT", "/v1/settings/kyc", `{"threshold":"50","cumulative_threshold":"500"}`)
	r.expect(t, 200, "")
	var ks struct {
		Currency, Threshold, CumulativeThreshold string
		Seq                                      uint64
	}
	r.data(t, &ks)
	r = s.do(t, "GET", "/v1/settings/kyc?currency=USD", "")
	r.expect(t, 200, "")
	if !strings.Contains(string(r.Data), `"currency":"USD","threshold":"50.00","cumulative_threshold":"500.00"`) {
		t.Fatalf("KYC settings %s", r.Data)
	}
	s.do(t, "GET", "/v1/settings/kyc?currency=EUR", "").expect(t, 404, "not_found")
	s.do(t, "GET", "/v1/settings/kyc?currency=XXX", "").expect(t, 400, "invalid_currency")

	t.Run("ErrKYCRequired", func(t *testing.T) {
		s.do(t, "POST", "/v1/wallets/"+w.ID+"/withdrawals", `{"amount":"60","method":"bank"}`).expect(t, 422, "kyc_required")
		s.do(t, "POST", "/v1/wallets/"+w.ID+"/debit", `{"amount":"50.01"}`).expect(t, 422, "kyc_required")
		s.wantMoney(t, w.ID, "100.00/0.00/100.00")
	})
	s.do(t, "POST", "/v1/wallets/"+w.ID+"/debit", `{"amount":"50"}`).expect(t, 201, "")

	r = s.do(t, "PUT", "/v1/wallets/"+w.ID+"/kyc", `{"status":"verified"}`)
	r.expect(t, 200, "")
	if !strings.Contains(string(r.Data), `"wallet_id":"`+w.ID+`","kyc_status":"verified","seq":`) {
		t.Fatalf("set KYC %s", r.Data)
	}
	s.do(t, "POST", "/v1/wallets/"+w.ID+"/withdrawals", `{"amount":"45","method":"bank"}`).expect(t, 201, "")
	s.wantMoney(t, w.ID, "50.00/45.00/5.00")
	if wal := s.do(t, "GET", "/v1/wallets/"+w.ID, ""); !strings.Contains(string(wal.Data), `"kyc_status":"verified"`) {
		t.Fatalf("verified wallet %s", wal.Data)
	}

	writer := s.bearer(t, walletd.ScopeWalletsWrite)
	cases := append(jsonCases("PUT", "/v1/wallets/"+w.ID+"/kyc", "status"), jsonCases("PUT", "/v1/settings/kyc", "threshold")...)
	cases = append(cases, amountCases("PUT", "/v1/settings/kyc", `{"threshold":"%AMOUNT%"}`)...)
	cases = append(cases,
		badCase{name: "BadStatus", method: "PUT", path: "/v1/wallets/" + w.ID + "/kyc", body: `{"status":"approved"}`, status: 400, code: "invalid_request"},
		badCase{name: "UnknownWallet", method: "PUT", path: "/v1/wallets/wal_nope/kyc", body: `{"status":"verified"}`, status: 404, code: "not_found"},
		badCase{name: "BadCurrency", method: "PUT", path: "/v1/settings/kyc", body: `{"threshold":"5","currency":"XXX"}`, status: 400, code: "invalid_currency"},
		badCase{name: "ScopeKYC", method: "PUT", path: "/v1/wallets/" + w.ID + "/kyc", body: `{"status":"verified"}`, status: 403, code: "forbidden", headers: []string{"Authorization", writer}},
		badCase{name: "ScopeSettings", method: "PUT", path: "/v1/settings/kyc", body: `{"threshold":"5"}`, status: 403, code: "forbidden", headers: []string{"Authorization", writer}},
		badCase{name: "ScopeSettingsGet", method: "GET", path: "/v1/settings/kyc", status: 403, code: "forbidden", headers: []string{"Authorization", writer}},
	)
	runBad(t, s, cases, w.ID)
	s.verifies(t)
}

func TestSetKYC_Unchanged(t *testing.T) {
	s := mustServer(t)
	w := s.mustWallet(t, "u1", "USD")
	path := "/v1/wallets/" + w.ID + "/kyc"

	t.Run("NeverSet", func(t *testing.T) {
		// A wallet whose status was never set is "none".
		open := lastEntry(t, s, w.ID)
		want := fmt.Sprintf(`{"wallet_id":%q,"kyc_status":"none","seq":%d,"ledger_hash":%q}`, w.ID, open.Seq, open.LedgerHash)
		wantSettingUnchanged(t, s, "PUT", path, `{"status":"none"}`, w.ID, want, "", "k-kyc-none")
	})
	set := s.do(t, "PUT", path, `{"status":"verified"}`)
	set.expect(t, 200, "")
	t.Run("SameStatus", func(t *testing.T) {
		wantSettingUnchanged(t, s, "PUT", path, `{"status":"verified"}`, w.ID, string(set.Data), "", "k-kyc", "k-kyc")
	})
	t.Run("AfterOtherEntries", func(t *testing.T) {
		e := s.mustCredit(t, w.ID, "5.00")
		wantSettingUnchanged(t, s, "PUT", path, `{"status":"verified"}`, w.ID, withWritten(t, set.Data, e), "")
	})
	t.Run("Changed", func(t *testing.T) {
		r := s.do(t, "PUT", path, `{"status":"pending"}`)
		r.expect(t, 200, "")
		if !strings.Contains(string(r.Data), fmt.Sprintf(`"kyc_status":"pending","seq":%d,`, s.wallet(t, w.ID).LastSeq)) {
			t.Fatalf("change %s", r.Data)
		}
	})
	s.verifies(t)
}
