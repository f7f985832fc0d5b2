package http

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/walletd/walletd"
)

// encodingJSON is what writeJSON makes of v.
func encodingJSON(t testing.TB, v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// checkEntryAnswer compares the appended answer of e with encoding/json's
// rendering of entryToJSON, byte for byte, through writeData.
func checkEntryAnswer(t testing.TB, e *walletd.Entry) {
	t.Helper()
	want := encodingJSON(t, okBody{Success: true, Data: entryToJSON(e)})
	rec := httptest.NewRecorder()
	writeData(rec, 201, entryAnswer{e})
	if got := rec.Body.Bytes(); !bytes.Equal(got, want) {
		t.Fatalf("appended answer differs:\n got %s\nwant %s", got, want)
	}
	if rec.Code != 201 || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("got %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if m, err := (entryAnswer{e}).MarshalJSON(); err != nil || !bytes.Equal(m, encodingJSON(t, entryToJSON(e))[:len(m)]) {
		t.Fatalf("MarshalJSON: %s %v", m, err)
	}
}

var awkwardText = []string{
	"", "plain", `quote " and \ backslash`, "<html> & 'x'", "\b\f\n\r\t\x00\x01\x1f\x7f",
	"ünïcødé €", "emoji 😀", "\u2028 and \u2029", "bad \xff utf-8 \xc3", "\xed\xa0\x80 surrogate",
	"/slash", "\u00e9\u0301", "\x7f",
}

func TestEntryAnswer_MatchesEncodingJSON(t *testing.T) {
	e := benchEntry()
	checkEntryAnswer(t, e)
	e.Hash[0], e.PrevHash[31] = 0xab, 0x01
	checkEntryAnswer(t, e)
	for _, s := range awkwardText {
		for _, set := range []func(*walletd.Entry, string){
			func(e *walletd.Entry, s string) { e.Reason = s },
			func(e *walletd.Entry, s string) { e.Email = s },
			func(e *walletd.Entry, s string) { e.OrderID = s },
			func(e *walletd.Entry, s string) { e.TransferID, e.Counterparty = s, s },
			func(e *walletd.Entry, s string) { e.IdempotencyKey, e.RequestHash = s, s },
			func(e *walletd.Entry, s string) { e.Type, e.UserID, e.WalletID, e.ID = s, s, s, s },
			func(e *walletd.Entry, s string) {
				m, _ := json.Marshal(map[string]string{s: s, "b": "2", "a": s})
				e.Metadata = string(m)
			},
		} {
			e := benchEntry()
			set(e, s)
			checkEntryAnswer(t, e)
		}
	}
	e = benchEntry()
	e.Metadata = `{"z":"1","a":"2","m":"\u0000"}`
	checkEntryAnswer(t, e)
	e.Metadata = `not json`
	checkEntryAnswer(t, e)
	e.BalanceAfter, e.HeldAfter = "", ""
	e.CreatedAt = time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	checkEntryAnswer(t, e)
}

func FuzzEntryAnswer(f *testing.F) {
	for _, s := range awkwardText {
		f.Add(s, `{"k":"v"}`, int64(0))
	}
	f.Add("r", `{"a":"1","b":"\u2028"}`, int64(1e15))
	f.Fuzz(func(t *testing.T, text, meta string, ns int64) {
		e := benchEntry()
		e.Reason, e.Email, e.OrderID, e.Metadata = text, text, text, meta
		e.CreatedAt = time.Unix(0, ns)
		checkEntryAnswer(t, e)
	})
}

func TestHotWalletPath(t *testing.T) {
	for p, want := range map[string]string{
		"/v1/wallets/wal_1/credit": "wal_1 credit", "/v1/wallets/w/debit": "w debit",
		"/v1/wallets/w/freeze": "w freeze", "/v1/wallets//credit": "", "/v1/wallets/./credit": "",
		"/v1/wallets/../credit": "", "/v1/wallets/w/credit/": "", "/v1/wallets/w/x/credit": "",
		"/v1/wallets/w": "", "/v1/wallets": "", "/v2/wallets/w/credit": "",
	} {
		id, op, ok := hotWalletPath(p)
		got := ""
		if ok {
			got = id + " " + op
		}
		if got != want {
			t.Errorf("%s: got %q, want %q", p, got, want)
		}
	}
}

func TestHotRouter_ServesTheRegisteredHandlers(t *testing.T) {
	k, token, err := walletd.NewAPIKey("t", []string{walletd.ScopeAdmin}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: "127.0.0.1:0", Writer: benchSubmitter{benchEntry()}, APIKeys: benchKeys{k}, Logger: quietTestLogger()}
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.hot.credit == nil || s.hot.debit == nil {
		t.Fatal("the hot routes are not registered")
	}
	for path, want := range map[string]int{
		"/v1/wallets/wal_1/credit": 201, "/v1/wallets/wal_1/debit": 201,
		"/v1/wallets/./credit": 301, // the router's clean-path redirect, as before
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", path, strings.NewReader(`{"amount":"1.00"}`))
		req.Header.Set("Authorization", "Bearer "+token)
		s.Handler().ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("%s: got %d %s, want %d", path, rec.Code, rec.Body, want)
		}
	}
}

func quietTestLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
