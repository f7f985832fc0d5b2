package ledger

import (
	"encoding/json"
	"testing"

	"github.com/walletd/walletd"
)

// TestCompactItems_RawText shows that items kept as raw JSON are checked
// like every other text, whoever submits the command (issue 18 item 2).
func TestCompactItems_RawText(t *testing.T) {
	for _, raw := range []string{"[\"a\xffb\"]", `["\ud800"]`, `[{"k":1,"k":2}]`} {
		if _, err := compactItems(json.RawMessage(raw)); walletd.ErrorCode(err) != walletd.EInvalid {
			t.Errorf("compactItems(%q) = %v, want EInvalid", raw, err)
		}
	}
	if got, err := compactItems(json.RawMessage(`[ {"sku": "A", "qty": 1} ]`)); err != nil || string(got) != `[{"sku":"A","qty":1}]` {
		t.Errorf("compactItems(valid) = %s, %v", got, err)
	}
}
