package http_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/walletd/walletd"
)

// TestText holds the API to the rules of caller-supplied text: invalid
// UTF-8, control, bidirectional and invisible characters in any free-text
// field are a 400 that names the field, and no error message quotes more
// than walletd.MaxQuotedInput bytes of an input.
func TestText(t *testing.T) {
	s := mustServer(t)
	w := s.mustWallet(t, "u1", "USD")
	to := s.mustWallet(t, "u2", "USD")
	s.mustCredit(t, w.ID, "100.00")

	t.Run("ErrFreeText", func(t *testing.T) {
		for _, tc := range []struct {
			name, method, path, body, field string
		}{
			{"CreditReason", "POST", "/v1/wallets/" + w.ID + "/credit", `{"amount":"1","type":"topup","reason":%s}`, "reason"},
			{"DebitOrderID", "POST", "/v1/wallets/" + w.ID + "/debit", `{"amount":"1","order_id":%s}`, "order_id"},
			{"FreezeReason", "POST", "/v1/wallets/" + w.ID + "/freeze", `{"reason":%s}`, "reason"},
			{"TransferNote", "POST", "/v1/transfers", `{"from_wallet_id":"` + w.ID + `","to_wallet_id":"` + to.ID + `","amount":"1","note":%s}`, "note"},
			{"WalletUserID", "POST", "/v1/wallets", `{"user_id":%s,"email":"a@example.com","currency":"USD"}`, "user_id"},
			{"WalletEmail", "POST", "/v1/wallets", `{"user_id":"u9","email":%s,"currency":"USD"}`, "email"},
			{"TopupExternalRef", "POST", "/v1/wallets/" + w.ID + "/topups", `{"amount":"1","method":"card","external_ref":%s}`, "external_ref"},
			{"WithdrawalDestination", "POST", "/v1/wallets/" + w.ID + "/withdrawals", `{"amount":"1","method":"bank","destination":%s}`, "destination"},
			{"MilestoneName", "POST", "/v1/milestones", `{"name":%s,"metric":"order_count","threshold":"2","reward":"1"}`, "name"},
			{"APIKeyName", "POST", "/v1/api-keys", `{"name":%s,"scopes":["wallets:read"]}`, "name"},
			{"CreditMetadataValue", "POST", "/v1/wallets/" + w.ID + "/credit", `{"amount":"1","metadata":{"note":%s}}`, `metadata value of "note"`},
			{"DebitMetadataKey", "POST", "/v1/wallets/" + w.ID + "/debit", `{"amount":"1","metadata":{%s:"x"}}`, "metadata key"},
		} {
			for _, bad := range []struct{ name, text, says string }{
				{"RLO", "a\u202Eb@example.com", "bidirectional formatting character U+202E"},
				{"LRI", "a\u2066b@example.com", "bidirectional formatting character U+2066"},
				{"RLM", "a\u200Fb@example.com", "bidirectional formatting character U+200F"},
				{"ZeroWidthSpace", "a\u200Bb@example.com", "invisible character U+200B"},
				{"Tag", "a\U000E0041b@example.com", "invisible character U+E0041"},
				{"C1Control", "a\u009Bb@example.com", "control character U+009B"},
			} {
				t.Run(tc.name+"/"+bad.name, func(t *testing.T) {
					body := fmt.Sprintf(tc.body, mustJSON(bad.text))
					r := s.do(t, tc.method, tc.path, body)
					r.expect(t, 400, "invalid_request")
					if !strings.HasPrefix(r.Message, tc.field+" contains the ") || !strings.Contains(r.Message, bad.says) {
						t.Fatalf("message %q, want %s and %s", r.Message, tc.field, bad.says)
					}
				})
			}
			t.Run(tc.name+"/InvalidUTF8", func(t *testing.T) {
				r := s.do(t, tc.method, tc.path, fmt.Sprintf(tc.body, "\"a\xffb\""))
				if r.Status != 400 || !strings.Contains(r.Message, "not valid UTF-8") {
					t.Fatalf("got %d %s", r.Status, r.Raw)
				}
			})
		}
		s.wantMoney(t, w.ID, "100.00/0.00/100.00")
	})

	t.Run("OKJoiners", func(t *testing.T) {
		// Joiners that scripts and emoji need pass, and come back as sent.
		reason := "می\u200Cخواهم 👩\u200D💻"
		r := s.do(t, "POST", "/v1/wallets/"+w.ID+"/credit", mustJSON(map[string]string{"amount": "1", "type": "topup", "reason": reason}))
		r.expect(t, 201, "")
		if !strings.Contains(string(r.Raw), reason) {
			t.Fatalf("credit %s", r.Raw)
		}
	})

	t.Run("ErrLongID", func(t *testing.T) {
		// A long id is quoted in part in the 404, not echoed whole. (A
		// path is at most what MaxHeaderBytes lets through, 64 KB.)
		long := strings.Repeat("x", 32<<10)
		for _, tc := range []struct{ method, path, body string }{
			{"GET", "/v1/wallets/" + long, ""},
			{"GET", "/v1/wallets/" + long + "/limits", ""},
			{"PUT", "/v1/wallets/" + long + "/limits", `{}`},
			{"PUT", "/v1/wallets/" + long + "/kyc", `{"status":"verified"}`},
			{"PUT", "/v1/wallets/" + long + "/auto-reload", `{"threshold":"1","amount":"5"}`},
			{"POST", "/v1/wallets/" + long + "/credit", `{"amount":"1"}`},
			{"POST", "/v1/wallets/" + long + "/freeze", ``},
			{"GET", "/v1/topups/" + long, ""},
			{"POST", "/v1/topups/" + long + "/complete", ""},
			{"GET", "/v1/withdrawals/" + long, ""},
			{"POST", "/v1/withdrawals/" + long + "/approve", ""},
			{"GET", "/v1/redemption-codes/" + long, ""},
			{"DELETE", "/v1/api-keys/" + long, ""},
			{"POST", "/v1/transfers", `{"from_wallet_id":"` + w.ID + `","to_wallet_id":"` + long + `","amount":"1"}`},
		} {
			t.Run(tc.method+strings.ReplaceAll(strings.ReplaceAll(tc.path, long, "{long}"), "/", "_"), func(t *testing.T) {
				r := s.do(t, tc.method, tc.path, tc.body)
				r.expect(t, 404, "not_found")
				if len(r.Message) > walletd.MaxQuotedInput+100 || !strings.Contains(r.Message, fmt.Sprintf("… (%d bytes)", len(long))) {
					t.Fatalf("message of %d bytes: %.300s", len(r.Message), r.Message)
				}
			})
		}
	})

	t.Run("ErrLongInput", func(t *testing.T) {
		// So is any other input a message names.
		long := strings.Repeat("A", 100<<10)
		for _, tc := range []struct{ name, method, path, body string }{
			{"Currency", "POST", "/v1/wallets", `{"user_id":"u8","email":"u8@example.com","currency":"` + long + `"}`},
			{"Scope", "POST", "/v1/api-keys", `{"name":"k","scopes":["` + long + `"]}`},
			{"Percent", "POST", "/v1/cashback-rules", `{"percent":"` + long + `"}`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := s.do(t, tc.method, tc.path, tc.body)
				if r.Status != 400 || len(r.Message) > walletd.MaxQuotedInput+200 {
					t.Fatalf("got %d, message of %d bytes: %.300s", r.Status, len(r.Message), r.Message)
				}
			})
		}
	})
	t.Run("ErrIdempotencyConflict", func(t *testing.T) {
		key := strings.Repeat("k", walletd.MaxIdempotencyLen)
		s.do(t, "POST", "/v1/wallets/"+w.ID+"/credit", `{"amount":"1","type":"topup"}`, "Idempotency-Key", key).expect(t, 201, "")
		r := s.do(t, "POST", "/v1/wallets/"+w.ID+"/credit", `{"amount":"2","type":"topup"}`, "Idempotency-Key", key)
		r.expect(t, 409, "idempotency_conflict")
		if strings.Contains(r.Message, key) || !strings.Contains(r.Message, fmt.Sprintf("… (%d bytes)", len(key))) {
			t.Fatalf("message %q", r.Message)
		}
	})
	s.verifies(t)
}
