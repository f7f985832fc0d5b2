package main_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/walletd/walletd/walletdtest"
)

// TestServe_SplitProjectorAndDispatcher runs walletd as three processes
// on one data dir, as for scale-out: serve --projector=false
// --webhooks=false (HTTP, the writer, the relay and the endpoint API),
// walletd projector and walletd dispatcher. An endpoint created through
// serve's API gets its ping, a wallet.credited event of a credit made
// through serve, and a test event queued through serve, all sent by the
// dispatcher; the history comes from the projector.
func TestServe_SplitProjectorAndDispatcher(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	var mu sync.Mutex
	got := map[string]int{}
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		for _, ev := range []string{"ping", "wallet.credited", "wallet.debited"} {
			if strings.Contains(string(b), `"event":"`+ev+`"`) {
				got[ev]++
			}
		}
	}))
	defer rc.Close()
	count := func(ev string) int {
		mu.Lock()
		defer mu.Unlock()
		return got[ev]
	}
	received := func() string {
		mu.Lock()
		defer mu.Unlock()
		return fmt.Sprint(got)
	}

	p := startServe(t, dir, "--projector=false", "--webhooks=false", "--webhook-allow-cidrs", "127.0.0.0/8")
	if !strings.Contains(p.Logs(), "--webhooks=false") {
		t.Fatalf("serve does not say the webhooks are sent elsewhere:\n%s", p.Logs())
	}
	natsURL := p.natsURL(t)
	var ep struct{ ID string }
	if code, err := p.call("POST", "/v1/webhook-endpoints", `{"url":"`+rc.URL+`/hook","events":["wallet.credited","wallet.debited"]}`, "", &ep); err != nil || ep.ID == "" {
		t.Fatalf("create endpoint: %d %v", code, err)
	}
	var w struct{ ID string }
	if _, err := p.call("POST", "/v1/wallets", `{"user_id":"105","email":"ann@example.com","currency":"USD"}`, "", &w); err != nil {
		t.Fatal(err)
	}
	if _, err := p.call("POST", "/v1/wallets/"+w.ID+"/credit", `{"amount":"2.50","type":"topup"}`, "", nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if n := count("ping") + count("wallet.credited"); n != 0 {
		t.Fatalf("serve --webhooks=false sent %d webhooks", n)
	}

	start := func(args ...string) func() {
		cmd := exec.Command(binary, args...)
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		return func() {
			cmd.Process.Signal(syscall.SIGTERM)
			if err := <-done; err != nil {
				t.Errorf("%s exit: %v", args[0], err)
			}
		}
	}
	stopProjector := start("projector", "--nats-url", natsURL, "--data-dir", dir, "--consumer", "projections")
	stopDispatcher := start("dispatcher", "--nats-url", natsURL, "--data-dir", dir, "--webhook-allow-cidrs", "127.0.0.0/8")

	walletdtest.CheckFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		if count("ping") != 1 || count("wallet.credited") != 1 {
			return fmt.Errorf("received %s", received())
		}
		return nil
	})
	if code, err := p.call("POST", "/v1/webhook-endpoints/"+ep.ID+"/test", `{"event":"wallet.debited"}`, "", nil); err != nil {
		t.Fatalf("test event: %d %v", code, err)
	}
	walletdtest.CheckFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		if count("wallet.debited") != 1 {
			return fmt.Errorf("received %s", received())
		}
		var hist struct {
			Items []struct {
				BalanceAfter string `json:"balance_after"`
			} `json:"items"`
		}
		if _, err := p.call("GET", "/v1/wallets/"+w.ID+"/transactions", "", "", &hist); err != nil {
			return err
		}
		if len(hist.Items) != 1 || hist.Items[0].BalanceAfter != "2.50" {
			return fmt.Errorf("history %+v", hist.Items)
		}
		return nil
	})
	stopDispatcher()
	stopProjector()
	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v\n%s", err, p.Logs())
	}
	mu.Lock()
	defer mu.Unlock()
	if got["ping"] != 1 || got["wallet.credited"] != 1 || got["wallet.debited"] != 1 {
		t.Fatalf("received %v, want each once", got)
	}
}
