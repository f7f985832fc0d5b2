package main_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDocs_InboundWalkThrough runs the walk-through of
// docs/inbound-webhooks.md (its last ```sh block) with bash against a real
// server and checks what it did.
func TestDocs_InboundWalkThrough(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "openssl", "php"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "inbound-webhooks.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, walk, ok := strings.Cut(string(doc), "## Walk-through")
	if !ok {
		t.Fatal("no walk-through section")
	}
	_, script, ok := strings.Cut(walk, "```sh\n")
	script, _, ok2 := strings.Cut(script, "```")
	if !ok || !ok2 {
		t.Fatal("no sh block in the walk-through")
	}
	dir := filepath.Join(t.TempDir(), "data")
	p := startServe(t, dir)
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
	cmd.Env = append(os.Environ(), "API="+p.URL, "TOKEN="+p.Token)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("walk-through: %v\n%s", err, out)
	}
	text := string(out)
	for _, want := range []string{
		`{"success":true,"message":"Webhook processed successfully","data":{"actions_executed":["complete_order"],"event_id":"evt_1ABC123","order_id":1,"rules_triggered":1}}`,
		`"status":"processing"`,
		"\n401\n",
		`"event_id":"sha256:`,
		`"endpoints":[`,
		`"logs":[`,
		`"dead_letters":[]`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("walk-through output lacks %s:\n%s", want, text)
		}
	}
	if strings.Count(text, `"event_id":"evt_1ABC123"`) != 2 {
		t.Errorf("the redelivery did not answer the first outcome:\n%s", text)
	}
	for _, id := range []int{1, 2} {
		var o struct {
			Status   string
			Payments []struct{ Method string }
		}
		if _, err := p.call("GET", fmt.Sprintf("/v1/orders/%d", id), "", "", &o); err != nil {
			t.Fatal(err)
		}
		if o.Status != "processing" || len(o.Payments) != 1 {
			t.Errorf("order %d: %+v", id, o)
		}
	}
}
