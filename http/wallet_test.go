package http_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestWallets_Create(t *testing.T) {
	s := mustServer(t)
	r := s.do(t, "POST", "/v1/wallets", `{"user_id":"u1","email":"u1@example.com","currency":"USD"}`)
	r.expect(t, 201, "")
	var w wallet
	r.data(t, &w)
	if !strings.HasPrefix(w.ID, "wal_") || w.UserID != "u1" || w.Email != "u1@example.com" || w.Currency != "USD" ||
		w.Balance != "0.00" || w.Held != "0.00" || w.Available != "0.00" || w.Status != "active" {
		t.Fatalf("unexpected wallet %+v", w)
	}
	if got := s.wallet(t, w.ID); got.ID != w.ID || got.Balance != "0.00" {
		t.Fatalf("GET: %+v", got)
	}
	if r.Header.Get("X-Request-Id") == "" {
		t.Fatal("no X-Request-Id")
	}

	t.Run("ErrWalletExists", func(t *testing.T) {
		s.do(t, "POST", "/v1/wallets", `{"user_id":"u1","email":"u1@example.com","currency":"USD"}`).expect(t, 409, "wallet_exists")
		// Another currency for the same user is fine.
		s.do(t, "POST", "/v1/wallets", `{"user_id":"u1","email":"u1@example.com","currency":"EUR"}`).expect(t, 201, "")
	})
	bad := []struct{ name, body, status, code string }{
		{"MalformedJSON", `{"user_id":`, "400", "invalid_json"},
		{"NotAnObject", `[1,2]`, "400", "invalid_json"},
		{"WrongType", `{"user_id":"x","email":5,"currency":"USD"}`, "400", "invalid_json"},
		{"UserIDFraction", `{"user_id":5.5,"email":"a@b.c","currency":"USD"}`, "400", "invalid_request"},
		{"UnknownField", `{"user_id":"x","email":"a@b.c","currency":"USD","admin":true}`, "400", "invalid_json"},
		{"TrailingData", `{"user_id":"x","email":"a@b.c","currency":"USD"} {}`, "400", "invalid_json"},
		{"EmptyBody", ``, "400", "invalid_json"},
		{"MissingUser", `{"email":"a@b.c","currency":"USD"}`, "400", "invalid_request"},
		{"BadEmail", `{"user_id":"x","email":"nope","currency":"USD"}`, "400", "invalid_request"},
		{"UnknownCurrency", `{"user_id":"x","email":"a@b.c","currency":"XXX"}`, "400", "invalid_currency"},
		{"LowerCurrency", `{"user_id":"x","email":"a@b.c","currency":"usd"}`, "400", "invalid_currency"},
		{"ControlChars", `{"user_id":"x\u0000y","email":"a@b.c","currency":"USD"}`, "400", "invalid_request"},
	}
	for _, tc := range bad {
		t.Run("Err"+tc.name, func(t *testing.T) {
			r := s.do(t, "POST", "/v1/wallets", tc.body)
			r.expect(t, atoi(tc.status), tc.code)
		})
	}
	t.Run("ErrBodyTooLarge", func(t *testing.T) {
		big := `{"user_id":"` + strings.Repeat("a", 2<<20) + `","email":"a@b.c","currency":"USD"}`
		s.do(t, "POST", "/v1/wallets", big).expect(t, 413, "body_too_large")
	})
	t.Run("NothingChangedByBadInput", func(t *testing.T) {
		r := s.do(t, "GET", "/v1/wallets?user_id=x", "")
		r.expect(t, 200, "")
		var page struct{ Items []wallet }
		r.data(t, &page)
		if len(page.Items) != 0 {
			t.Fatalf("bad input created wallets: %+v", page.Items)
		}
	})
}

func atoi(s string) int {
	var n int
	fmt.Sscan(s, &n)
	return n
}

func TestWallets_List(t *testing.T) {
	s := mustServer(t)
	for _, c := range []string{"USD", "EUR", "GBP", "JPY", "KWD"} {
		s.mustWallet(t, "alice", c)
	}
	s.mustWallet(t, "bob", "USD")
	var seen []string
	cursor := ""
	for i := 0; i < 10; i++ {
		r := s.do(t, "GET", "/v1/wallets?user_id=alice&limit=2&cursor="+cursor, "")
		r.expect(t, 200, "")
		var page struct {
			Items      []wallet `json:"items"`
			NextCursor string   `json:"next_cursor"`
		}
		r.data(t, &page)
		for _, w := range page.Items {
			if w.UserID != "alice" {
				t.Fatalf("other user's wallet: %+v", w)
			}
			seen = append(seen, w.Currency)
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if len(seen) != 5 {
		t.Fatalf("paged through %v, want 5 wallets", seen)
	}
	t.Run("ErrBadLimit", func(t *testing.T) {
		s.do(t, "GET", "/v1/wallets?limit=0", "").expect(t, 400, "invalid_request")
		s.do(t, "GET", "/v1/wallets?limit=abc", "").expect(t, 400, "invalid_request")
		s.do(t, "GET", "/v1/wallets?limit=100000", "").expect(t, 400, "invalid_request")
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		s.do(t, "GET", "/v1/wallets/wal_nope", "").expect(t, 404, "not_found")
	})
}

func TestWallets_CreditDebit(t *testing.T) {
	s := mustServer(t)
	w := s.mustWallet(t, "u1", "USD")
	jpy := s.mustWallet(t, "u1", "JPY")
	kwd := s.mustWallet(t, "u1", "KWD")

	r := s.do(t, "POST", "/v1/wallets/"+w.ID+"/credit", `{"amount":"49.25","type":"topup","reason":"card","order_id":"1204","metadata":{"src":"test"}}`)
	r.expect(t, 201, "")
	var e entry
	r.data(t, &e)
	if !strings.HasPrefix(e.TransactionID, "txn_") || e.Seq == 0 || len(e.LedgerHash) != 64 || e.BalanceAfter != "49.25" ||
		e.Amount != "49.25" || e.Type != "topup" || e.OrderID != "1204" || e.Metadata["src"] != "test" {
		t.Fatalf("unexpected entry %+v", e)
	}
	r = s.do(t, "POST", "/v1/wallets/"+w.ID+"/debit", `{"amount":"9.25","type":"order_payment","reason":"order"}`)
	r.expect(t, 201, "")
	var d entry
	r.data(t, &d)
	if d.BalanceAfter != "40.00" || d.PrevHash != e.LedgerHash || d.Seq != e.Seq+1 {
		t.Fatalf("debit %+v does not chain on %+v", d, e)
	}
	s.mustCredit(t, jpy.ID, "500")
	s.mustCredit(t, kwd.ID, "0.001")

	t.Run("DefaultType", func(t *testing.T) {
		r := s.do(t, "POST", "/v1/wallets/"+w.ID+"/credit", `{"amount":"1"}`)
		r.expect(t, 201, "")
		var e entry
		r.data(t, &e)
		if e.Type != "manual_credit" || e.Amount != "1.00" {
			t.Fatalf("%+v", e)
		}
	})

	bad := []struct {
		name, wallet, op, body string
		status                 int
		code                   string
	}{
		{"Exponent", w.ID, "credit", `{"amount":"1e400"}`, 400, "invalid_amount"},
		{"NegativeZero", w.ID, "credit", `{"amount":"-0"}`, 400, "invalid_amount"},
		{"Negative", w.ID, "debit", `{"amount":"-5.00"}`, 400, "invalid_amount"},
		{"TooPrecise", w.ID, "credit", `{"amount":"0.001"}`, 400, "invalid_amount"},
		{"TooPreciseJPY", jpy.ID, "credit", `{"amount":"1.5"}`, 400, "invalid_amount"},
		{"TooPreciseKWD", kwd.ID, "credit", `{"amount":"0.0001"}`, 400, "invalid_amount"},
		{"NaN", w.ID, "credit", `{"amount":"NaN"}`, 400, "invalid_amount"},
		{"Infinity", w.ID, "credit", `{"amount":"Infinity"}`, 400, "invalid_amount"},
		{"Zero", w.ID, "credit", `{"amount":"0.00"}`, 400, "invalid_amount"},
		{"Empty", w.ID, "credit", `{"amount":""}`, 400, "invalid_amount"},
		{"Huge", w.ID, "credit", `{"amount":"10000000000000000"}`, 400, "invalid_amount"},
		{"NumberNotString", w.ID, "credit", `{"amount":25.00}`, 400, "invalid_json"},
		{"BadType", w.ID, "credit", `{"amount":"1.00","type":"Top Up"}`, 400, "invalid_request"},
		{"ReservedType", w.ID, "credit", `{"amount":"1.00","type":"transfer_in"}`, 400, "invalid_request"},
		{"MetadataNotStrings", w.ID, "credit", `{"amount":"1.00","metadata":{"n":true}}`, 400, "invalid_request"},
		{"MetadataArray", w.ID, "credit", `{"amount":"1.00","metadata":[1]}`, 400, "invalid_json"},
		{"Malformed", w.ID, "credit", `{"amount":"1.00"`, 400, "invalid_json"},
		{"UnknownWallet", "wal_nope", "credit", `{"amount":"1.00"}`, 404, "not_found"},
		{"InsufficientFunds", w.ID, "debit", `{"amount":"1000.00"}`, 422, "insufficient_funds"},
	}
	for _, tc := range bad {
		t.Run("Err"+tc.name, func(t *testing.T) {
			before := s.wallet(t, w.ID)
			s.do(t, "POST", "/v1/wallets/"+tc.wallet+"/"+tc.op, tc.body).expect(t, tc.status, tc.code)
			if after := s.wallet(t, w.ID); after != before {
				t.Fatalf("bad request changed the wallet: %+v → %+v", before, after)
			}
		})
	}
	t.Run("ErrMethodNotAllowed", func(t *testing.T) {
		s.do(t, "GET", "/v1/wallets/"+w.ID+"/credit", "").expect(t, 405, "method_not_allowed")
	})
	t.Run("ErrUnknownRoute", func(t *testing.T) {
		s.do(t, "GET", "/v1/nope", "").expect(t, 404, "not_found")
	})
}

func TestWallets_Freeze(t *testing.T) {
	s := mustServer(t)
	w := s.mustWallet(t, "u1", "USD")
	s.mustCredit(t, w.ID, "10.00")
	r := s.do(t, "POST", "/v1/wallets/"+w.ID+"/freeze", `{"reason":"fraud review"}`)
	r.expect(t, 201, "")
	if got := s.wallet(t, w.ID); got.Status != "frozen" {
		t.Fatalf("status %q", got.Status)
	}
	s.do(t, "POST", "/v1/wallets/"+w.ID+"/debit", `{"amount":"1.00"}`).expect(t, 422, "wallet_frozen")
	s.do(t, "POST", "/v1/wallets/"+w.ID+"/freeze", ``).expect(t, 409, "conflict")
	// A blank body is no body: the reason may be left out.
	s.do(t, "POST", "/v1/wallets/"+w.ID+"/freeze", " \n").expect(t, 409, "conflict")
	s.mustCredit(t, w.ID, "1.00") // credits still land
	s.do(t, "POST", "/v1/wallets/"+w.ID+"/unfreeze", ``).expect(t, 201, "")
	s.do(t, "POST", "/v1/wallets/"+w.ID+"/debit", `{"amount":"11.00"}`).expect(t, 201, "")
	s.do(t, "POST", "/v1/wallets/wal_nope/freeze", ``).expect(t, 404, "not_found")
}

func TestIdempotency(t *testing.T) {
	s := mustServer(t)
	w := s.mustWallet(t, "u1", "USD")
	body := `{"amount":"5.00","type":"topup"}`
	r1 := s.do(t, "POST", "/v1/wallets/"+w.ID+"/credit", body, "Idempotency-Key", "key-1")
	r1.expect(t, 201, "")
	r2 := s.do(t, "POST", "/v1/wallets/"+w.ID+"/credit", body, "Idempotency-Key", "key-1")
	r2.expect(t, 201, "")
	if string(r1.Data) != string(r2.Data) || r2.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay differs:\n%s\n%s", r1.Data, r2.Data)
	}
	if got := s.wallet(t, w.ID).Balance; got != "5.00" {
		t.Fatalf("balance %s after a replay, want 5.00", got)
	}
	t.Run("ErrConflict", func(t *testing.T) {
		s.do(t, "POST", "/v1/wallets/"+w.ID+"/credit", `{"amount":"6.00","type":"topup"}`, "Idempotency-Key", "key-1").expect(t, 409, "idempotency_conflict")
		s.do(t, "POST", "/v1/wallets/"+w.ID+"/debit", body, "Idempotency-Key", "key-1").expect(t, 409, "idempotency_conflict")
	})
	t.Run("CreateWalletReplay", func(t *testing.T) {
		b := `{"user_id":"u2","email":"u2@example.com","currency":"USD"}`
		a1 := s.do(t, "POST", "/v1/wallets", b, "Idempotency-Key", "w-1")
		a2 := s.do(t, "POST", "/v1/wallets", b, "Idempotency-Key", "w-1")
		a1.expect(t, 201, "")
		a2.expect(t, 201, "")
		if string(a1.Data) != string(a2.Data) {
			t.Fatalf("replay differs:\n%s\n%s", a1.Data, a2.Data)
		}
	})
	t.Run("ErrBadKey", func(t *testing.T) {
		s.do(t, "POST", "/v1/wallets/"+w.ID+"/credit", body, "Idempotency-Key", strings.Repeat("k", 300)).expect(t, 400, "invalid_request")
	})
	t.Run("ConcurrentSameKey", func(t *testing.T) {
		var wg sync.WaitGroup
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := s.do(t, "POST", "/v1/wallets/"+w.ID+"/credit", `{"amount":"1.00"}`, "Idempotency-Key", "same")
				if r.Status != 201 {
					t.Errorf("status %d: %s", r.Status, r.Raw)
				}
			}()
		}
		wg.Wait()
		if got := s.wallet(t, w.ID).Balance; got != "6.00" {
			t.Fatalf("balance %s, want 6.00: a key was applied more than once", got)
		}
	})
}

func TestWallets_FeatureFields(t *testing.T) {
	s := mustServer(t)
	r := s.do(t, "POST", "/v1/wallets", `{"user_id":"u1","email":"u1@example.com","currency":"USD"}`)
	r.expect(t, 201, "")
	const want = `"kyc_status":"none","limits":{},"auto_reload":{"enabled":false}}`
	if !strings.HasSuffix(string(r.Data), want) {
		t.Fatalf("created wallet %s", r.Data)
	}
	var w wallet
	r.data(t, &w)
	if got := s.do(t, "GET", "/v1/wallets/"+w.ID, ""); !strings.HasSuffix(string(got.Data), want) {
		t.Fatalf("wallet %s", got.Data)
	}
	if got := s.do(t, "GET", "/v1/wallets?user_id=u1", ""); !strings.Contains(string(got.Data), want) {
		t.Fatalf("wallet list %s", got.Data)
	}
}

// badIDs are the values every storefront id field (an order id, a user
// id) refuses, and what the message calls each.
var badIDs = []struct{ name, json, says string }{
	{"Fraction", `1.5`, "a number with a fraction"},
	{"Negative", `-1`, "a negative number"},
	{"Boolean", `true`, "a JSON boolean"},
	{"Exponent", `1e3`, "a number with an exponent"},
	{"EmptyString", `""`, "an empty string"},
	{"LongString", `"` + strings.Repeat("x", 200) + `"`, "a string of 200 bytes"},
	{"AboveInt64", `99999999999999999999`, "a number above 9223372036854775807"},
	{"Object", `{"id":1}`, "a JSON object"},
	{"Array", `[1204]`, "a JSON array"},
	{"Padded", `" 1204"`, "a string with white space at an end"},
}

// entryCount returns how many entries the ledger holds.
func (s *testServer) entryCount(tb testing.TB) int {
	tb.Helper()
	es, err := s.L.DB.Entries(context.Background(), 0, 1<<20)
	if err != nil {
		tb.Fatal(err)
	}
	return len(es)
}

// runBadIDs sends tpl with %ID% replaced by each of badIDs and checks that
// each is refused with 400 invalid_request, a message that names field
// and says what was sent, and no new entry.
func runBadIDs(t *testing.T, s *testServer, method, path, field, tpl string) {
	t.Helper()
	for _, b := range badIDs {
		t.Run("ErrID"+b.name, func(t *testing.T) {
			before := s.entryCount(t)
			r := s.do(t, method, path, strings.ReplaceAll(tpl, "%ID%", b.json))
			r.expect(t, 400, "invalid_request")
			if !strings.Contains(r.Message, `Field "`+field+`"`) || !strings.Contains(r.Message, b.says) {
				t.Fatalf("message %q does not name %s or say %q", r.Message, field, b.says)
			}
			if after := s.entryCount(t); after != before {
				t.Fatalf("a refused request wrote %d entries", after-before)
			}
		})
	}
}

// TestWallets_StorefrontIDs checks that credit, debit and create wallet
// take a storefront's ids as JSON integers (WooCommerce's order and
// customer ids) or strings, one canonical id either way, and refuse
// anything else naming the field.
func TestWallets_StorefrontIDs(t *testing.T) {
	s := mustServer(t)
	w := s.mustWallet(t, "u1", "USD")

	r := s.do(t, "POST", "/v1/wallets/"+w.ID+"/credit", `{"amount":"25.00","type":"cashback","order_id":1204}`)
	r.expect(t, 201, "")
	var e entry
	r.data(t, &e)
	if e.OrderID != "1204" || e.BalanceAfter != "25.00" {
		t.Fatalf("credit with an integer order id: %+v", e)
	}
	r = s.do(t, "POST", "/v1/wallets/"+w.ID+"/debit", `{"amount":"5.00","type":"order_payment","order_id":1205,"metadata":{"customer_id":103,"note":"x"}}`)
	r.expect(t, 201, "")
	r.data(t, &e)
	if e.OrderID != "1205" || e.Metadata["customer_id"] != "103" || e.Metadata["note"] != "x" {
		t.Fatalf("debit with integer ids: %+v", e)
	}

	t.Run("LargestAndZero", func(t *testing.T) {
		for body, want := range map[string]string{
			`{"amount":"1.00","order_id":9223372036854775807}`: "9223372036854775807",
			`{"amount":"1.00","order_id":0}`:                   "0",
			`{"amount":"1.00","order_id":"cus-1204"}`:          "cus-1204",
			`{"amount":"1.00","order_id":null}`:                "",
		} {
			r := s.do(t, "POST", "/v1/wallets/"+w.ID+"/credit", body)
			r.expect(t, 201, "")
			var e entry
			r.data(t, &e)
			if e.OrderID != want {
				t.Errorf("%s: order_id %q, want %q", body, e.OrderID, want)
			}
		}
	})
	t.Run("OneIDEitherWay", func(t *testing.T) {
		// 1204 and "1204" are one id: the same request, so the same
		// Idempotency-Key replays instead of conflicting.
		a := s.do(t, "POST", "/v1/wallets/"+w.ID+"/credit", `{"amount":"2.00","order_id":1300}`, "Idempotency-Key", "sid-1")
		b := s.do(t, "POST", "/v1/wallets/"+w.ID+"/credit", `{"amount":"2.00","order_id":"1300"}`, "Idempotency-Key", "sid-1")
		a.expect(t, 201, "")
		b.expect(t, 201, "")
		if string(a.Data) != string(b.Data) || b.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("not a replay:\n%s\n%s", a.Data, b.Data)
		}
	})
	t.Run("CreateWalletIntegerUser", func(t *testing.T) {
		r := s.do(t, "POST", "/v1/wallets", `{"user_id":103,"email":"jane@example.com","currency":"USD"}`)
		r.expect(t, 201, "")
		var got wallet
		r.data(t, &got)
		if got.UserID != "103" {
			t.Fatalf("user_id %q", got.UserID)
		}
		s.do(t, "POST", "/v1/wallets", `{"user_id":"103","email":"jane@example.com","currency":"USD"}`).expect(t, 409, "wallet_exists")
		r = s.do(t, "POST", "/v1/wallets", `{"user_id":null,"email":"jane@example.com","currency":"EUR"}`)
		r.expect(t, 400, "invalid_request")
		if !strings.Contains(r.Message, "user_id") {
			t.Fatalf("message %q", r.Message)
		}
	})
	t.Run("ErrAmountNumber", func(t *testing.T) {
		// Amounts stay strings, whatever the ids are.
		r := s.do(t, "POST", "/v1/wallets/"+w.ID+"/credit", `{"amount":25.00,"order_id":1204}`)
		r.expect(t, 400, "invalid_json")
		if !strings.Contains(r.Message, `Field "amount" must be a string`) {
			t.Fatalf("message %q", r.Message)
		}
	})
	before := s.wallet(t, w.ID)
	runBadIDs(t, s, "POST", "/v1/wallets/"+w.ID+"/credit", "order_id", `{"amount":"1.00","order_id":%ID%}`)
	runBadIDs(t, s, "POST", "/v1/wallets/"+w.ID+"/debit", "order_id", `{"amount":"1.00","order_id":%ID%}`)
	runBadIDs(t, s, "POST", "/v1/wallets", "user_id", `{"user_id":%ID%,"email":"x@example.com","currency":"USD"}`)
	t.Run("ErrMetadataValue", func(t *testing.T) {
		for _, v := range []string{`1.5`, `-1`, `true`, `1e3`, `99999999999999999999`, `{}`, `[]`} {
			r := s.do(t, "POST", "/v1/wallets/"+w.ID+"/credit", `{"amount":"1.00","metadata":{"order_id":`+v+`}}`)
			r.expect(t, 400, "invalid_request")
			if !strings.Contains(r.Message, `Field "metadata"`) {
				t.Fatalf("%s: message %q", v, r.Message)
			}
		}
	})
	if after := s.wallet(t, w.ID); after != before {
		t.Fatalf("refused requests changed the wallet: %+v → %+v", before, after)
	}
	s.verifies(t)
}
