package bus_test

import (
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/walletd/walletd/events/bus"
)

// FuzzIdentityInput feeds the outside input of walletd nats-user create (a
// name, a --subjects list and a --consumers list) to the checks: an
// accepted subject is one NATS itself takes as a subscription subject,
// never a system subject; an accepted name, or consumer name, is a single
// token; errors quote at most walletd.MaxQuotedInput bytes of it (escaped).
func FuzzIdentityInput(f *testing.F) {
	for _, s := range []string{"walletd.>", "walletd.w.*.*.wallet.credited", "walletd.sys.>", "a..b", ">.x", "$JS.API.>",
		"walletd.w*", " ", "", "walletd.\u202e", strings.Repeat("a.", 200), "erp", "Bad Name", "x-1_2", "ERP-Live_2", "a.b", "*", "-x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if err := bus.CheckSubject(s); err == nil {
			if !server.IsValidSubject(s) || strings.HasPrefix(s, "$") {
				t.Fatalf("accepted subject %q", s)
			}
		} else if len(err.Error()) > 600 {
			t.Fatalf("error quotes too much: %d bytes", len(err.Error()))
		}
		if err := bus.CheckConsumerName(s); err == nil {
			subj := "$JS.API.CONSUMER.INFO.WALLETD." + s
			if strings.ContainsAny(s, ".*> \t/\\%") || s == "" || len(s) > 64 || !server.IsValidLiteralSubject(subj) || strings.Count(subj, ".") != 5 {
				t.Fatalf("accepted consumer name %q", s)
			}
		} else if len(err.Error()) > 600 {
			t.Fatalf("error quotes too much: %d bytes", len(err.Error()))
		}
		if err := bus.CheckIdentityName(s); err == nil {
			if strings.ContainsAny(s, ".*> \t/\\") || s == "" || len(s) > 63 || !server.IsValidLiteralSubject("_INBOX_"+s) {
				t.Fatalf("accepted name %q", s)
			}
		} else if len(err.Error()) > 600 {
			t.Fatalf("error quotes too much: %d bytes", len(err.Error()))
		}
	})
}
