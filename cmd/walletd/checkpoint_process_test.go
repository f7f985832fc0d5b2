package main_test

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestCheckpointFetch runs the auditor's routine against a real walletd
// serve: fetch the latest checkpoint, then, after the operator cut the
// ledger's tail together with its checkpoint rows, show that verify alone
// passes and verify --checkpoint does not.
func TestCheckpointFetch(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	p := startServe(t, dir, "--checkpoint-every", "4")
	var w struct{ ID string }
	if _, err := p.call("POST", "/v1/wallets", `{"user_id":"u1","email":"u1@example.com","currency":"USD"}`, "", &w); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 15; i++ { // 16 entries: checkpoints at 4, 8, 12, 16
		if _, err := p.call("POST", "/v1/wallets/"+w.ID+"/credit", `{"amount":"1.00"}`, fmt.Sprintf("c%d", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	audit := t.TempDir()
	saved := filepath.Join(audit, "checkpoint.json")
	walletd := func(args ...string) (string, error) {
		out, err := exec.Command(binary, args...).CombinedOutput()
		return string(out), err
	}
	out, err := walletd("checkpoint", "fetch", "--url", p.URL, "--token", p.Token, "--out", saved)
	if err != nil {
		t.Fatalf("fetch: %v\n%s", err, out)
	} else if !strings.Contains(out, "saved the checkpoint at seq 16 of ledger ldg_") || !strings.Contains(out, "signature checked with the public key the server serves") {
		t.Fatalf("fetch said %q", out)
	}
	if fi, err := os.Stat(saved); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("saved file: %v %v", fi, err)
	}
	var item struct {
		Seq     uint64 `json:"seq"`
		Message string `json:"message"`
	}
	b, _ := os.ReadFile(saved)
	if err := json.Unmarshal(b, &item); err != nil || item.Seq != 16 || !strings.HasPrefix(item.Message, "walletd.checkpoint.v1\n") {
		t.Fatalf("saved %s: %v", b, err)
	}

	// With a public key the auditor keeps, and to stdout.
	pinned := filepath.Join(audit, "checkpoint.pub")
	pub, err := os.ReadFile(filepath.Join(dir, "checkpoint.pub"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(pinned, pub, 0o644)
	cmd := exec.Command(binary, "checkpoint", "fetch", "--url", p.URL, "--token", p.Token, "--checkpoint-pubkey", pinned)
	stdout, err := cmd.Output()
	if err != nil || string(stdout) != string(b) {
		t.Fatalf("fetch to stdout: %v\n%s\nwant\n%s", err, stdout, b)
	}
	// A key that is not the ledger's: nothing is saved.
	other := filepath.Join(audit, "other.pub")
	os.WriteFile(other, []byte(otherPublicKey), 0o644)
	out, err = walletd("checkpoint", "fetch", "--url", p.URL, "--token", p.Token, "--checkpoint-pubkey", other, "--out", filepath.Join(audit, "x.json"))
	if err == nil || !strings.Contains(out, "does not verify with "+other) {
		t.Fatalf("fetch with another key: %v %s", err, out)
	}
	if _, err := os.Stat(filepath.Join(audit, "x.json")); !os.IsNotExist(err) {
		t.Fatalf("a checkpoint that does not verify was saved: %v", err)
	}
	// The API's whole answer, saved as it came, is accepted too.
	answer := filepath.Join(audit, "answer.json")
	req, _ := http.NewRequest("GET", p.URL+"/v1/ledger/checkpoints", nil)
	req.Header.Set("Authorization", "Bearer "+p.Token)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	os.WriteFile(answer, body, 0o600)

	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v\n%s", err, p.Logs())
	}
	if out, err := walletd("verify", "--data-dir", dir, "--checkpoint", saved, "--checkpoint", answer, "--checkpoint-pubkey", pinned); err != nil ||
		!strings.Contains(out, "ok entries=16 ") || !strings.Contains(out, " external_checkpoints=5 ") {
		t.Fatalf("verify of the untouched ledger: %v\n%s", err, out)
	}

	// The operator deletes the last entries and the checkpoints that
	// covered them.
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "ledger.db")+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DELETE FROM entries WHERE seq > 10; DELETE FROM checkpoints WHERE seq > 10`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if out, err := walletd("verify", "--data-dir", dir); err != nil || !strings.HasPrefix(out, "ok entries=10 head_seq=10 ") {
		t.Fatalf("verify without --checkpoint should not see the cut: %v\n%s", err, out)
	}
	out, err = walletd("verify", "--data-dir", dir, "--checkpoint", saved, "--checkpoint-pubkey", pinned)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("verify --checkpoint: %v\n%s", err, out)
	}
	if want := "FAIL first_bad_seq=11: the ledger ends at seq 10 but checkpoint " + saved + " signs seq 16: entries were removed\n"; out != want {
		t.Fatalf("verify --checkpoint said\n%q, want\n%q", out, want)
	}
}

// otherPublicKey is an Ed25519 public key that signs no walletd ledger
// (the seed 0x40 … 0x5f of the test vectors).
const otherPublicKey = `-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAJUO5L/EJVRFHatyDadtt3JM2ZaEZeN2hQE7hBmypVZ0=
-----END PUBLIC KEY-----
`
