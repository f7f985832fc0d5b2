package events_test

import (
	"encoding/json"
	"testing"

	"github.com/walletd/walletd/events"
)

func TestStorefrontID_MarshalJSON(t *testing.T) {
	for id, want := range map[events.StorefrontID]string{
		"1204":                `1204`,
		"0":                   `0`,
		"9223372036854775807": `9223372036854775807`,
		"":                    `null`,
		"9223372036854775808": `"9223372036854775808"`, // above int64: a string
		"01204":               `"01204"`,               // would not read back the same
		"+5":                  `"+5"`,
		"-1":                  `"-1"`,
		"cus_1042":            `"cus_1042"`,
		"1204 ":               `"1204 "`,
		"12e3":                `"12e3"`,
	} {
		b, err := json.Marshal(id)
		if err != nil || string(b) != want {
			t.Errorf("%q: %s, %v; want %s", id, b, err, want)
			continue
		}
		var back events.StorefrontID
		if err := json.Unmarshal(b, &back); err != nil || back != id {
			t.Errorf("%q: reads back as %q, %v", id, back, err)
		}
	}
	var d events.TransactionData
	if err := json.Unmarshal([]byte(`{"order_id":1.5}`), &d); err == nil {
		t.Error("a fraction read as an order id")
	}
	// omitempty leaves an empty id out; without it, it is null.
	b, _ := json.Marshal(events.FlowData{TransactionData: events.TransactionData{UserID: "103"}})
	var m map[string]any
	json.Unmarshal(b, &m)
	if _, ok := m["referrer_user_id"]; ok || m["order_id"] != nil || m["user_id"] != float64(103) {
		t.Fatalf("flow data %s", b)
	}
	if _, ok := m["order_id"]; !ok {
		t.Fatalf("no order_id in %s", b)
	}
}
