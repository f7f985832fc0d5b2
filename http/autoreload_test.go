package http_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/walletd/walletd"
)

func TestAutoReload(t *testing.T) {
	s := mustServer(t)
	w := s.mustWallet(t, "u1", "USD")
	s.mustCredit(t, w.ID, "30.00")

	r := s.do(t, "PUT", "/v1/wallets/"+w.ID+"/auto-reload", `{"threshold":"20","amount":"50","method":"card"}`)
	r.expect(t, 200, "")
	if !strings.Contains(string(r.Data), `"auto_reload":{"enabled":true,"threshold":"20.00","amount":"50.00","method":"card"}`) {
		t.Fatalf("set auto-reload %s", r.Data)
	}
	if wal := s.do(t, "GET", "/v1/wallets/"+w.ID, ""); !strings.Contains(string(wal.Data), `"auto_reload":{"enabled":true,"threshold":"20.00"`) {
		t.Fatalf("wallet %s", wal.Data)
	}

	// A debit below the threshold starts a pending top-up.
	s.do(t, "POST", "/v1/wallets/"+w.ID+"/debit", `{"amount":"15"}`).expect(t, 201, "")
	r = s.do(t, "GET", "/v1/wallets/"+w.ID+"/auto-reload", "")
	r.expect(t, 200, "")
	var ar struct {
		PendingTopupID string `json:"pending_topup_id"`
	}
	r.data(t, &ar)
	if !strings.HasPrefix(ar.PendingTopupID, "top_") {
		t.Fatalf("no pending top-up: %s", r.Data)
	}
	var top topupData
	s.do(t, "GET", "/v1/topups/"+ar.PendingTopupID, "").data(t, &top)
	if top.Status != "pending" || top.Origin != "auto_reload" || top.Amount != "50.00" || top.Method != "card" || top.WalletID != w.ID {
		t.Fatalf("reload top-up %+v", top)
	}
	// Another debit while it is pending starts no second one.
	s.do(t, "POST", "/v1/wallets/"+w.ID+"/debit", `{"amount":"1"}`).expect(t, 201, "")
	s.do(t, "POST", "/v1/topups/"+top.ID+"/complete", ``).expect(t, 200, "")
	s.wantMoney(t, w.ID, "64.00/0.00/64.00")
	if r := s.do(t, "GET", "/v1/wallets/"+w.ID+"/auto-reload", ""); strings.Contains(string(r.Data), "pending_topup_id") {
		t.Fatalf("still pending after completion: %s", r.Data)
	}

	r = s.do(t, "DELETE", "/v1/wallets/"+w.ID+"/auto-reload", "")
	r.expect(t, 200, "")
	if !strings.Contains(string(r.Data), `"auto_reload":{"enabled":false}`) {
		t.Fatalf("removed auto-reload %s", r.Data)
	}
	s.do(t, "DELETE", "/v1/wallets/"+w.ID+"/auto-reload", "").expect(t, 404, "not_found")
	s.do(t, "POST", "/v1/wallets/"+w.ID+"/debit", `{"amount":"60"}`).expect(t, 201, "")
	if r := s.do(t, "GET", "/v1/wallets/"+w.ID+"/auto-reload", ""); string(r.Data) != `{"wallet_id":"`+w.ID+`","auto_reload":{"enabled":false}}` {
		t.Fatalf("auto-reload after removal: %s", r.Data)
	}

	reader := s.bearer(t, walletd.ScopeWalletsRead)
	path := "/v1/wallets/" + w.ID + "/auto-reload"
	cases := append(jsonCases("PUT", path, "threshold"), amountCases("PUT", path, `{"threshold":"5","amount":"%AMOUNT%"}`)...)
	cases = append(cases,
		badCase{name: "NoThreshold", method: "PUT", path: path, body: `{"amount":"5"}`, status: 400, code: "invalid_amount"},
		badCase{name: "BadMethod", method: "PUT", path: path, body: `{"threshold":"5","amount":"5","method":"A B"}`, status: 400, code: "invalid_request"},
		badCase{name: "UnknownWallet", method: "PUT", path: "/v1/wallets/wal_nope/auto-reload", body: `{"threshold":"5","amount":"5"}`, status: 404, code: "not_found"},
		badCase{name: "UnknownWalletGet", method: "GET", path: "/v1/wallets/wal_nope/auto-reload", status: 404, code: "not_found"},
		badCase{name: "Scope", method: "PUT", path: path, body: `{"threshold":"5","amount":"5"}`, status: 403, code: "forbidden", headers: []string{"Authorization", reader}},
		badCase{name: "ScopeDelete", method: "DELETE", path: path, status: 403, code: "forbidden", headers: []string{"Authorization", reader}},
	)
	runBad(t, s, cases, w.ID)
	s.verifies(t)
}

func TestSetAutoReload_Unchanged(t *testing.T) {
	s := mustServer(t)
	w := s.mustWallet(t, "u1", "USD")
	path := "/v1/wallets/" + w.ID + "/auto-reload"
	set := s.do(t, "PUT", path, `{"threshold":"20","amount":"50","method":"card"}`)
	set.expect(t, 200, "")

	t.Run("SameAutoReload", func(t *testing.T) {
		wantSettingUnchanged(t, s, "PUT", path, `{"threshold":"20.00","amount":"50","method":"card"}`, w.ID, string(set.Data), "", "k-reload", "k-reload")
	})
	t.Run("AfterOtherEntries", func(t *testing.T) {
		e := s.mustCredit(t, w.ID, "5.00")
		wantSettingUnchanged(t, s, "PUT", path, `{"threshold":"20","amount":"50","method":"card"}`, w.ID, withWritten(t, set.Data, e), "")
	})
	t.Run("Changed", func(t *testing.T) {
		// Without the method it is another auto-reload.
		r := s.do(t, "PUT", path, `{"threshold":"20","amount":"50"}`)
		r.expect(t, 200, "")
		if !strings.Contains(string(r.Data), fmt.Sprintf(`"auto_reload":{"enabled":true,"threshold":"20.00","amount":"50.00"},"seq":%d,`, s.wallet(t, w.ID).LastSeq)) {
			t.Fatalf("change %s", r.Data)
		}
	})
	t.Run("ErrRemoveNone", func(t *testing.T) {
		// DELETE names something to remove: twice is not found.
		s.do(t, "DELETE", path, "").expect(t, 200, "")
		s.do(t, "DELETE", path, "").expect(t, 404, "not_found")
	})
	s.verifies(t)
}
