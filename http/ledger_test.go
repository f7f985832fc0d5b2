package http_test

import (
	"fmt"
	"testing"

	"github.com/walletd/walletd/ledger"
)

func TestLedgerEndpoints(t *testing.T) {
	s := mustServer(t)
	a, b := s.mustWallet(t, "a", "USD"), s.mustWallet(t, "b", "USD")
	for i := 0; i < 120; i++ {
		s.mustCredit(t, a.ID, "1.00")
	}
	s.do(t, "POST", "/v1/transfers", mustJSON(map[string]string{"from_wallet_id": a.ID, "to_wallet_id": b.ID, "amount": "3.00"})).expect(t, 201, "")

	r := s.do(t, "GET", "/v1/ledger/verify", "")
	r.expect(t, 200, "")
	var rep ledger.VerifyReport
	r.data(t, &rep)
	if !rep.OK || rep.Entries != 124 || rep.HeadSeq != 124 || len(rep.HeadHash) != 64 {
		t.Fatalf("verify: %+v", rep)
	}

	var all []entry
	after := "0"
	for {
		r := s.do(t, "GET", "/v1/ledger/entries?limit=50&after_seq="+after, "")
		r.expect(t, 200, "")
		var page struct {
			Items        []entry `json:"items"`
			NextAfterSeq uint64  `json:"next_after_seq"`
		}
		r.data(t, &page)
		if len(page.Items) == 0 {
			break
		}
		all = append(all, page.Items...)
		after = fmt.Sprint(page.NextAfterSeq)
	}
	if len(all) != 124 || all[123].LedgerHash != rep.HeadHash {
		t.Fatalf("paged %d entries", len(all))
	}
	s.do(t, "GET", "/v1/ledger/entries?after_seq=-1", "").expect(t, 400, "invalid_request")
	s.do(t, "GET", "/v1/ledger/entries?limit=5000", "").expect(t, 400, "invalid_request")

	r = s.do(t, "GET", "/v1/ledger/checkpoints", "")
	r.expect(t, 200, "")
	var cps struct {
		Items []struct {
			Seq      uint64 `json:"seq"`
			HeadHash string `json:"head_hash"`
		} `json:"items"`
	}
	r.data(t, &cps)
	if len(cps.Items) != 1 || cps.Items[0].Seq != 100 || cps.Items[0].HeadHash != all[99].LedgerHash {
		t.Fatalf("checkpoints: %+v", cps.Items)
	}
}
