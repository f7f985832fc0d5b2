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

	_ "github.com/mattn/go-sqlite3"
	"github.com/walletd/walletd/walletdtest"
)

func TestServe_FirstStart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	p := startServe(t, dir)
	for _, f := range []string{"admin.key", "keyring.json", "checkpoint.key"} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f, st.Mode().Perm())
		}
	}
	var w struct{ ID string }
	if _, err := p.call("POST", "/v1/wallets", `{"user_id":"u1","email":"u1@example.com","currency":"USD"}`, "", &w); err != nil {
		t.Fatal(err)
	}
	if _, err := p.call("POST", "/v1/wallets/"+w.ID+"/credit", `{"amount":"10.00"}`, "", nil); err != nil {
		t.Fatal(err)
	}
	t.Run("SecondProcessRefused", func(t *testing.T) {
		out, err := exec.Command(binary, "serve", "--data-dir", dir, "--http-addr", "127.0.0.1:0", "--nats-addr", "127.0.0.1:0").CombinedOutput()
		if err == nil || !strings.Contains(string(out), "in use") {
			t.Fatalf("a second serve on the same data dir: err=%v\n%s", err, out)
		}
	})
	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: exit %v\n%s", err, p.Logs())
	}
	// The admin key is kept, not re-created, on the next start.
	p2 := startServe(t, dir)
	if p2.Token != p.Token {
		t.Fatal("the admin key changed on restart")
	}
	var got struct{ Balance string }
	if _, err := p2.call("GET", "/v1/wallets/"+w.ID, "", "", &got); err != nil || got.Balance != "10.00" {
		t.Fatalf("after restart: %+v %v", got, err)
	}
	if err := p2.stop(t, os.Interrupt); err != nil {
		t.Fatalf("SIGINT: exit %v", err)
	}
	out, err := exec.Command(binary, "verify", "--data-dir", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("verify: %v\n%s", err, out)
	}
}

// TestServe_CrashUnderLoad kills walletd with SIGKILL while clients are
// writing. After a restart every acknowledged operation is present exactly
// once, nothing unacknowledged is present twice, balances match the
// entries, and the chain verifies.
func TestServe_CrashUnderLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	p := startServe(t, dir)
	const nWallets = 10
	wallets := make([]string, nWallets)
	for i := range wallets {
		var w struct{ ID string }
		if _, err := p.call("POST", "/v1/wallets", fmt.Sprintf(`{"user_id":"u%d","email":"u%d@example.com","currency":"USD"}`, i, i), "", &w); err != nil {
			t.Fatal(err)
		}
		wallets[i] = w.ID
	}

	type ack struct{ key, txn, wallet string }
	var mu sync.Mutex
	var acked []ack
	sent := map[string]bool{}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				key := fmt.Sprintf("crash-%d-%d", g, i)
				mu.Lock()
				sent[key] = true
				mu.Unlock()
				var e struct {
					TransactionID string `json:"transaction_id"`
				}
				st, err := p.call("POST", "/v1/wallets/"+wallets[(g+i)%nWallets]+"/credit", `{"amount":"1.00","type":"topup"}`, key, &e)
				if err != nil || st != 201 {
					continue // outcome unknown: the process may have died mid-request
				}
				mu.Lock()
				acked = append(acked, ack{key, e.TransactionID, wallets[(g+i)%nWallets]})
				mu.Unlock()
			}
		}(g)
	}
	walletdtest.CheckFor(t, 20*time.Second, 10*time.Millisecond, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(acked) < 500 {
			return fmt.Errorf("only %d acknowledged writes", len(acked))
		}
		return nil
	})
	p.cmd.Process.Kill() // SIGKILL, mid-load
	<-p.done
	cancel()
	wg.Wait()
	t.Logf("%d writes acknowledged before SIGKILL, %d sent", len(acked), len(sent))

	p2 := startServe(t, dir)
	type ent struct {
		TransactionID  string `json:"transaction_id"`
		Seq            uint64 `json:"seq"`
		WalletID       string `json:"wallet_id"`
		Kind           string `json:"kind"`
		Amount         string `json:"amount"`
		IdempotencyKey string `json:"idempotency_key"`
	}
	byKey := map[string][]ent{}
	credits := map[string]int{}
	for _, e := range ledgerEntries[ent](t, p2) {
		if e.IdempotencyKey != "" {
			byKey[e.IdempotencyKey] = append(byKey[e.IdempotencyKey], e)
		}
		if e.Kind == "credit" {
			credits[e.WalletID]++
		}
	}
	for _, a := range acked {
		es := byKey[a.key]
		if len(es) != 1 || es[0].TransactionID != a.txn {
			t.Fatalf("acknowledged %s (%s) is present %d times: %+v", a.key, a.txn, len(es), es)
		}
	}
	for k, es := range byKey {
		if len(es) != 1 {
			t.Fatalf("key %s applied %d times", k, len(es))
		}
		if !sent[k] {
			t.Fatalf("entry for a key never sent: %s", k)
		}
	}
	for _, id := range wallets {
		var w struct{ Balance string }
		if _, err := p2.call("GET", "/v1/wallets/"+id, "", "", &w); err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("%d.00", credits[id]); w.Balance != want {
			t.Fatalf("wallet %s balance %s, entries say %s", id, w.Balance, want)
		}
	}
	var rep struct {
		OK      bool   `json:"ok"`
		Entries uint64 `json:"entries"`
	}
	if _, err := p2.call("GET", "/v1/ledger/verify", "", "", &rep); err != nil || !rep.OK {
		t.Fatalf("verify after crash: %+v %v", rep, err)
	}
	// A retry of an acknowledged key after the crash replays, never re-applies.
	var e struct {
		TransactionID string `json:"transaction_id"`
	}
	if _, err := p2.call("POST", "/v1/wallets/"+acked[0].wallet+"/credit", `{"amount":"1.00","type":"topup"}`, acked[0].key, &e); err != nil || e.TransactionID != acked[0].txn {
		t.Fatalf("replay after crash: %+v %v", e, err)
	}
	if err := p2.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	if out, err := exec.Command(binary, "verify", "--data-dir", dir).CombinedOutput(); err != nil {
		t.Fatalf("walletd verify: %v\n%s", err, out)
	}
}

// TestCLI_KeysAndMigrate: migrate twice is harmless; keys create makes a
// working scoped key; rotate-ledger-key refuses while serving, works when
// stopped, and the chain verifies across the rotation.
func TestCLI_KeysAndMigrate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	for i := 0; i < 2; i++ {
		if out, err := exec.Command(binary, "migrate", "--data-dir", dir).CombinedOutput(); err != nil {
			t.Fatalf("migrate #%d: %v\n%s", i+1, err, out)
		}
	}
	p := startServe(t, dir)
	var w struct{ ID string }
	if _, err := p.call("POST", "/v1/wallets", `{"user_id":"u1","email":"u1@example.com","currency":"USD"}`, "", &w); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(binary, "keys", "create", "--data-dir", dir, "--scope", "wallets:read", "--name", "reader").Output()
	if err != nil {
		t.Fatalf("keys create: %v", err)
	}
	reader := &proc{URL: p.URL, Token: strings.TrimSpace(string(out))}
	if _, err := reader.call("GET", "/v1/wallets/"+w.ID, "", "", nil); err != nil {
		t.Fatalf("read with the new key: %v", err)
	}
	if st, _ := reader.call("POST", "/v1/wallets/"+w.ID+"/credit", `{"amount":"1.00"}`, "", nil); st != 403 {
		t.Fatalf("write with a read key: %d", st)
	}
	if out, err := exec.Command(binary, "keys", "create", "--data-dir", dir, "--scope", "root").CombinedOutput(); err == nil {
		t.Fatalf("keys create with a bad scope succeeded: %s", out)
	}
	if out, err := exec.Command(binary, "keys", "rotate-ledger-key", "--data-dir", dir).CombinedOutput(); err == nil {
		t.Fatalf("rotate while serving succeeded: %s", out)
	}
	if _, err := p.call("POST", "/v1/wallets/"+w.ID+"/credit", `{"amount":"1.00"}`, "", nil); err != nil {
		t.Fatal(err)
	}
	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(binary, "keys", "rotate-ledger-key", "--data-dir", dir).CombinedOutput(); err != nil || !strings.Contains(string(out), "k2") {
		t.Fatalf("rotate: %v\n%s", err, out)
	}
	p2 := startServe(t, dir)
	var e struct {
		KeyID string `json:"key_id"`
	}
	if _, err := p2.call("POST", "/v1/wallets/"+w.ID+"/credit", `{"amount":"2.00"}`, "", &e); err != nil || e.KeyID != "k2" {
		t.Fatalf("entry after rotation uses %q (%v)", e.KeyID, err)
	}
	if err := p2.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(binary, "verify", "--data-dir", dir).CombinedOutput(); err != nil {
		t.Fatalf("verify across the rotation: %v\n%s", err, out)
	}
}
