package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/walletd/walletd/walletdtest"
)

// TestServe_ProjectorOutOfProcess: serve --projector=false answers the
// transaction history from the read models a `walletd projector` process
// on the same data dir keeps.
func TestServe_ProjectorOutOfProcess(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	p := startServe(t, dir, "--projector=false")
	var w struct{ ID string }
	if _, err := p.call("POST", "/v1/wallets", `{"user_id":"104","email":"joe@example.com","currency":"USD"}`, "", &w); err != nil {
		t.Fatal(err)
	}
	var last struct {
		Seq       uint64 `json:"seq"`
		CreatedAt string `json:"created_at"`
	}
	for range 3 {
		if _, err := p.call("POST", "/v1/wallets/"+w.ID+"/credit", `{"amount":"1.25","type":"topup"}`, "", &last); err != nil {
			t.Fatal(err)
		}
	}
	natsURL := ""
	for _, line := range strings.Split(p.Logs(), "\n") {
		var rec struct {
			Msg string `json:"msg"`
			URL string `json:"nats_url"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "embedded NATS server started" {
			natsURL = rec.URL
		}
	}
	if natsURL == "" {
		t.Fatalf("no NATS URL in the logs:\n%s", p.Logs())
	}
	if !strings.Contains(p.Logs(), "--projector=false") {
		t.Fatalf("serve does not say the projector runs elsewhere:\n%s", p.Logs())
	}
	proj := exec.Command(binary, "projector", "--nats-url", natsURL, "--data-dir", dir, "--consumer", "projections")
	var projLog bytes.Buffer
	proj.Stdout, proj.Stderr = &projLog, &projLog
	if err := proj.Start(); err != nil {
		t.Fatal(err)
	}
	projDone := make(chan error, 1)
	go func() { projDone <- proj.Wait() }()
	// History is the ledger's: current at once, whatever the projector does.
	var hist struct {
		Items []struct {
			BalanceAfter string `json:"balance_after"`
		} `json:"items"`
	}
	if _, err := p.call("GET", "/v1/wallets/"+w.ID+"/transactions", "", "", &hist); err != nil {
		t.Fatal(err)
	}
	if len(hist.Items) != 3 || hist.Items[0].BalanceAfter != "3.75" {
		t.Fatalf("history %+v", hist.Items)
	}
	// The daily report is the projector's, built in its own process.
	if len(last.CreatedAt) < 10 {
		t.Fatalf("credit created_at %q", last.CreatedAt)
	}
	walletdtest.CheckFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		var report struct {
			Items []struct {
				Count int64  `json:"count"`
				Total string `json:"total"`
			} `json:"items"`
		}
		if _, err := p.call("GET", fmt.Sprintf("/v1/reports/daily?date=%s&min_seq=%d", last.CreatedAt[:10], last.Seq), "", "", &report); err != nil {
			return err
		}
		var n int64
		for _, it := range report.Items {
			n += it.Count
		}
		if n != 3 {
			return fmt.Errorf("daily report %+v", report.Items)
		}
		return nil
	})
	proj.Process.Signal(syscall.SIGTERM)
	if err := <-projDone; err != nil {
		t.Fatalf("projector exit: %v", err)
	}
	// Its projections.db was new and the ledger had entries: it built from
	// ledger.db (opened read-only beside serve) before following the stream.
	if !strings.Contains(projLog.String(), "projections: building from the ledger") {
		t.Errorf("the projector did not build from the ledger:\n%s", projLog.String())
	}
	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v\n%s", err, p.Logs())
	}
}
