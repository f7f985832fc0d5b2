package main_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stripe/stripe-go/v82/webhook"
)

// TestCLI_Inbound drives `walletd inbound` against a running server: a
// gateway configured from a secret file, the list (which never shows the
// secret), the log, and the dead-letter verbs.
func TestCLI_Inbound(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	p := startServe(t, dir)
	cli := func(args ...string) (string, error) {
		out, err := exec.Command(binary, append(append([]string{"inbound"}, args...), "--url", p.URL, "--data-dir", dir)...).CombinedOutput()
		return string(out), err
	}
	const secret = "whsec_cli_test_0123456789abcdef"
	secretFile := filepath.Join(t.TempDir(), "stripe.secret")
	os.WriteFile(secretFile, []byte(secret+"\n"), 0o600)
	if out, err := cli("gateway", "stripe", "--secret-file", secretFile, "--allow-cidrs", "127.0.0.0/8,::1"); err != nil || !strings.Contains(out, "configured stripe") {
		t.Fatalf("gateway: %v %s", err, out)
	}
	if out, err := cli("gateway", "stripe", "--secret", "short"); err == nil || !strings.Contains(out, "at least 16") {
		t.Fatalf("short secret: %v %s", err, out)
	}
	out, err := cli("gateways", "--json")
	if err != nil || strings.Contains(out, secret) || !strings.Contains(out, `"secret_set": true`) || !strings.Contains(out, "/wp-json/odcm/v1/webhooks/stripe") {
		t.Fatalf("gateways: %v %s", err, out)
	}
	if out, err = cli("gateways"); err != nil || !strings.Contains(out, "configured") {
		t.Fatalf("gateways table: %v %s", err, out)
	}

	var o struct{ ID int64 }
	if _, err := p.call("POST", "/v1/orders", `{"currency": "USD", "total": "10.00"}`, "", &o); err != nil {
		t.Fatal(err)
	}
	b := fmt.Sprintf(`{"id":"evt_cli_1","object":"event","type":"payment_intent.succeeded","data":{"object":{"id":"pi_cli_1","amount":999,"currency":"usd","metadata":{"order_id":"%d"}}}}`, o.ID)
	req, _ := http.NewRequest("POST", p.URL+"/v1/inbound/stripe", strings.NewReader(b))
	req.Header.Set("Stripe-Signature", webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(b), Secret: secret}).Header)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 422 {
		t.Fatalf("mismatch: %d %s", resp.StatusCode, raw)
	}

	out, err = cli("dlq", "list", "--json")
	var dl struct {
		DeadLetters []struct {
			ID int64 `json:"id"`
		} `json:"dead_letters"`
	}
	if err != nil || json.Unmarshal([]byte(out), &dl) != nil || len(dl.DeadLetters) != 1 {
		t.Fatalf("dlq list: %v %s", err, out)
	}
	id := fmt.Sprint(dl.DeadLetters[0].ID)
	if out, err = cli("dlq", "list"); err != nil || !strings.Contains(out, "evt_cli_1") || !strings.Contains(out, "does not match") {
		t.Fatalf("dlq list table: %v %s", err, out)
	}
	if out, err = cli("dlq", "show", id); err != nil || !strings.Contains(out, `pi_cli_1`) {
		t.Fatalf("dlq show: %v %s", err, out)
	}
	if out, err = cli("dlq", "redrive", id); err != nil || !strings.Contains(out, `"state": "dead"`) {
		t.Fatalf("dlq redrive: %v %s", err, out)
	}
	if out, err = cli("dlq", "discard", id); err != nil || !strings.Contains(out, `"state": "discarded"`) {
		t.Fatalf("dlq discard: %v %s", err, out)
	}
	if out, err = cli("dlq", "discard", id); err == nil || !strings.Contains(out, "409") && !strings.Contains(out, "discarded") {
		t.Fatalf("dlq discard again: %v %s", err, out)
	}
	if out, err = cli("dlq", "show", "999"); err == nil {
		t.Fatalf("dlq show unknown: %s", out)
	}
	if out, err = cli("logs", "stripe"); err != nil || !strings.Contains(out, "payment_intent.succeeded") || !strings.Contains(out, "(1 of 1)") {
		t.Fatalf("logs: %v %s", err, out)
	}
	if out, err = cli("test", "stripe", "--order", fmt.Sprint(o.ID)); err != nil || !strings.Contains(out, `"test_event_sent": true`) {
		t.Fatalf("test: %v %s", err, out)
	}
	if out, err = cli("bogus"); err == nil {
		t.Fatalf("unknown verb: %s", out)
	}
}
