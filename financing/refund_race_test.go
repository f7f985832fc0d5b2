package financing_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/walletd/walletd/financing"
	"github.com/walletd/walletd/financing/financingtest"
)

// The inbound pipeline applies postbacks with several workers. Refunds of
// one top-up applied at the same moment never add up to more than the
// top-up: 8 refunds of 60.00 of a 250.00 top-up, at once, debit four.
func TestApply_ConcurrentRefundsKeepTheCap(t *testing.T) {
	e := newEnv(t, envOptions{})
	wal := e.l.MustWallet(t, "ann", "USD")
	d := e.mustDo(t, "POST", "/v1/wallets/"+wal+"/topups", `{"amount": "250.00", "method": "wegetfinancing", "billing": {"first_name": "Ann", "last_name": "Lee"}}`, http.StatusCreated)
	fin := d["financing"].(map[string]any)
	tok := fin["request_token"].(string)
	e.postback(t, tok, financing.StatusApproved, "")
	e.waitState(t, financing.StateApplied)
	e.mustDo(t, "POST", "/v1/wallets/"+wal+"/credit", `{"amount": "1000.00", "reason": "so that every debit could pass"}`, http.StatusCreated)
	ref := d["id"].(string)

	a := &financing.LedgerApplier{Service: e.svc}
	amounts := []string{"60.00", "60.01", "60.02", "60.03", "60.04", "60.05", "60.06", "60.07"}
	outs := make([]financing.Outcome, len(amounts))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, amount := range amounts {
		pb, err := financing.ParsePostback(financingtest.PostbackBody(tok, ref, financing.StatusRefund, amount))
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out, err := a.Apply(context.Background(), pb)
			if err != nil {
				t.Error(err)
			}
			outs[i] = out
		}()
	}
	close(start)
	wg.Wait()
	applied := 0
	for _, o := range outs {
		if o.State == financing.StateApplied {
			applied++
		}
	}
	if applied != 4 {
		t.Errorf("%d refunds applied, want 4: %+v", applied, outs)
	}
	bal := e.mustDo(t, "GET", "/v1/wallets/"+wal, "", http.StatusOK)["balance"].(string)
	if bal < "1009.00" || bal > "1010.00" { // 1250.00 less four refunds of 60.00 – 60.07
		t.Errorf("balance %s after four refunds of a 250.00 top-up", bal)
	}
}
