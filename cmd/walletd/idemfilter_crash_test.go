package main_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/walletd/walletd/walletdtest"
)

// TestServe_ReplayAfterCrashWithABackgroundKeyFilter kills walletd with
// SIGKILL under load and restarts it with a key filter that start-up
// leaves to the background (--idempotency-filter-startup-rows 1): every
// acknowledged key retried at once after the restart, and again once the
// filter is built, answers the original transaction, and no key is
// applied twice. (A build of a few hundred keys may end before the first
// retry: TestWriter_KeyFilterBuildsInBackground holds one at a gate.)
func TestServe_ReplayAfterCrashWithABackgroundKeyFilter(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	flags := []string{"--idempotency-filter-startup-rows", "1"}
	p := startServe(t, dir, flags...)
	wallets := make([]string, 4)
	for i := range wallets {
		var w struct{ ID string }
		if _, err := p.call("POST", "/v1/wallets", fmt.Sprintf(`{"user_id":"f%d","email":"f%d@example.com","currency":"USD"}`, i, i), "", &w); err != nil {
			t.Fatal(err)
		}
		wallets[i] = w.ID
	}
	type ack struct{ key, txn, wallet string }
	var mu sync.Mutex
	var acked []ack
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				key, wal := fmt.Sprintf("filter-%d-%d", g, i), wallets[(g+i)%len(wallets)]
				var e struct {
					TransactionID string `json:"transaction_id"`
				}
				if st, err := p.call("POST", "/v1/wallets/"+wal+"/credit", `{"amount":"1.00","type":"topup"}`, key, &e); err != nil || st != 201 {
					continue // the process may have died mid-request
				}
				mu.Lock()
				acked = append(acked, ack{key, e.TransactionID, wal})
				mu.Unlock()
			}
		}()
	}
	walletdtest.CheckFor(t, 30*time.Second, 10*time.Millisecond, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(acked) < 300 {
			return fmt.Errorf("only %d acknowledged writes", len(acked))
		}
		return nil
	})
	p.cmd.Process.Kill()
	<-p.done
	cancel()
	wg.Wait()

	p2 := startServe(t, dir, flags...)
	steps := p2.logRecords("start-up: build the idempotency key filter")
	if len(steps) != 1 || steps[0]["in_background"] != true || steps[0]["rows_read"] != 0.0 {
		t.Fatalf("start-up's key filter step: %v", steps)
	}
	replay := func(when string, as []ack) {
		t.Helper()
		var rwg sync.WaitGroup
		errs := make(chan error, len(as))
		for g := range 8 {
			rwg.Add(1)
			go func() {
				defer rwg.Done()
				for i := g; i < len(as); i += 8 {
					a := as[i]
					var e struct {
						TransactionID string `json:"transaction_id"`
					}
					if _, err := p2.call("POST", "/v1/wallets/"+a.wallet+"/credit", `{"amount":"1.00","type":"topup"}`, a.key, &e); err != nil || e.TransactionID != a.txn {
						errs <- fmt.Errorf("%s: replay of %s (%s): %q, %w", when, a.key, a.txn, e.TransactionID, err)
						return
					}
				}
			}()
		}
		rwg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	replay("right after the restart", acked)
	walletdtest.CheckFor(t, 30*time.Second, 20*time.Millisecond, func() error {
		if len(p2.logRecords("idempotency key filter: built")) == 0 {
			return fmt.Errorf("the key filter is not built yet")
		}
		return nil
	})
	replay("after the build", acked[:50])
	type ent struct {
		IdempotencyKey string `json:"idempotency_key"`
	}
	perKey := map[string]int{}
	for _, e := range ledgerEntries[ent](t, p2) {
		if e.IdempotencyKey != "" {
			perKey[e.IdempotencyKey]++
		}
	}
	for _, a := range acked {
		if perKey[a.key] != 1 {
			t.Fatalf("acknowledged %s is present %d times", a.key, perKey[a.key])
		}
	}
	for k, n := range perKey {
		if n != 1 {
			t.Fatalf("key %s applied %d times", k, n)
		}
	}
	if err := p2.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
}

// TestServe_IdempotencyFilterStartupRowsFlag: a count below 1 or not a
// number is refused before anything is opened.
func TestServe_IdempotencyFilterStartupRowsFlag(t *testing.T) {
	for _, v := range []string{"0", "-5", "abc", "1e9", ""} {
		dir := filepath.Join(t.TempDir(), "data")
		out, err := exec.Command(binary, "serve", "--data-dir", dir, "--http-addr", "127.0.0.1:0", "--nats-addr", "127.0.0.1:0",
			"--idempotency-filter-startup-rows", v).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "idempotency-filter-startup-rows") {
			t.Errorf("%q: %v\n%s", v, err, out)
		}
		if _, err := os.Stat(filepath.Join(dir, "ledger.db")); !os.IsNotExist(err) {
			t.Errorf("%q: ledger.db made: %v", v, err)
		}
	}
}

// Financing's postbacks are inbound webhooks: serve refuses financing
// without the inbound pipeline, before it makes anything.
func TestServe_FinancingNeedsInbound(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	out, err := exec.Command(binary, "serve", "--data-dir", dir, "--http-addr", "127.0.0.1:0", "--nats-addr", "127.0.0.1:0",
		"--inbound=false").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--financing needs --inbound") {
		t.Errorf("%v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "ledger.db")); !os.IsNotExist(err) {
		t.Errorf("ledger.db made: %v", err)
	}
}
