package main_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/walletd/walletd/walletdtest"
)

// TestServe_CrashDuringWithdrawals kills walletd with SIGKILL while clients
// request, approve and reject withdrawals. After a restart (which itself
// checks every wallet row against its last entry) each withdrawal has
// exactly one hold and at most one settle or release, its status agrees
// with them, every acknowledged transition is there, each wallet's held
// amount is what its pending withdrawals hold, and the chain verifies.
func TestServe_CrashDuringWithdrawals(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	p := startServe(t, dir)
	const nWallets = 4
	wallets := make([]string, nWallets)
	for i := range wallets {
		var w struct{ ID string }
		if _, err := p.call("POST", "/v1/wallets", fmt.Sprintf(`{"user_id":"w%d","email":"w%d@example.com","currency":"USD"}`, i, i), "", &w); err != nil {
			t.Fatal(err)
		}
		wallets[i] = w.ID
		if st, err := p.call("POST", "/v1/wallets/"+w.ID+"/credit", `{"amount":"100000.00"}`, "", nil); err != nil || st != 201 {
			t.Fatalf("fund: %d %v", st, err)
		}
	}

	var mu sync.Mutex
	acked := map[string]string{} // withdrawal id → acknowledged final status
	var ackedCount int
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				var d struct{ ID string }
				st, err := p.call("POST", "/v1/wallets/"+wallets[(g+i)%nWallets]+"/withdrawals", `{"amount":"1.00","method":"bank"}`,
					fmt.Sprintf("wd-%d-%d", g, i), &d)
				if err != nil || st != 201 {
					continue
				}
				mu.Lock()
				acked[d.ID] = "pending"
				mu.Unlock()
				verb, status := "approve", "approved"
				if i%3 == 0 {
					verb, status = "reject", "rejected"
				}
				if st, err := p.call("POST", "/v1/withdrawals/"+d.ID+"/"+verb, "", "", nil); err == nil && st == 200 {
					mu.Lock()
					acked[d.ID] = status
					ackedCount++
					mu.Unlock()
				}
			}
		}(g)
	}
	walletdtest.CheckFor(t, 20*time.Second, 10*time.Millisecond, func() error {
		mu.Lock()
		defer mu.Unlock()
		if ackedCount < 300 {
			return fmt.Errorf("only %d acknowledged transitions", ackedCount)
		}
		return nil
	})
	p.cmd.Process.Kill() // SIGKILL, mid-load
	<-p.done
	cancel()
	wg.Wait()

	p2 := startServe(t, dir)
	type ent struct {
		Seq      uint64            `json:"seq"`
		WalletID string            `json:"wallet_id"`
		Kind     string            `json:"kind"`
		Amount   string            `json:"amount"`
		Metadata map[string]string `json:"metadata"`
	}
	steps := map[string]map[string]int{} // withdrawal id → kind → count
	held := map[string]decimal.Decimal{}
	for _, e := range ledgerEntries[ent](t, p2) {
		id := e.Metadata["withdrawal_id"]
		if id == "" {
			continue
		}
		if steps[id] == nil {
			steps[id] = map[string]int{}
		}
		steps[id][e.Kind]++
		amt := decimal.RequireFromString(e.Amount)
		switch e.Kind {
		case "hold":
			held[e.WalletID] = held[e.WalletID].Add(amt)
		case "settle", "release":
			held[e.WalletID] = held[e.WalletID].Sub(amt)
		}
	}
	for id, status := range acked {
		if steps[id]["hold"] != 1 {
			t.Fatalf("acknowledged withdrawal %s has %d holds", id, steps[id]["hold"])
		}
		if status == "approved" && steps[id]["settle"] != 1 || status == "rejected" && steps[id]["release"] != 1 {
			t.Fatalf("withdrawal %s acknowledged %s, entries %v", id, status, steps[id])
		}
	}
	checked := 0
	for id, s := range steps {
		if s["hold"] != 1 || s["settle"]+s["release"] > 1 {
			t.Fatalf("withdrawal %s: entries %v", id, s)
		}
		if checked++; checked > 200 {
			continue // the status of a sample is enough
		}
		var d struct{ Status string }
		if _, err := p2.call("GET", "/v1/withdrawals/"+id, "", "", &d); err != nil {
			t.Fatal(err)
		}
		want := "pending"
		if s["settle"] == 1 {
			want = "approved"
		} else if s["release"] == 1 {
			want = "rejected"
		}
		if d.Status != want {
			t.Fatalf("withdrawal %s is %s, entries say %s", id, d.Status, want)
		}
	}
	for _, id := range wallets {
		var w struct{ Held string }
		if _, err := p2.call("GET", "/v1/wallets/"+id, "", "", &w); err != nil {
			t.Fatal(err)
		}
		if !decimal.RequireFromString(w.Held).Equal(held[id]) {
			t.Fatalf("wallet %s holds %s, its entries %s", id, w.Held, held[id])
		}
	}
	var rep struct{ OK bool }
	if _, err := p2.call("GET", "/v1/ledger/verify", "", "", &rep); err != nil || !rep.OK {
		t.Fatalf("verify after crash: %+v %v", rep, err)
	}
	t.Logf("%d withdrawals in the ledger, %d acknowledged transitions before SIGKILL", len(steps), ackedCount)
}
