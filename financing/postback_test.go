package financing_test

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/financing"
)

func signed(ts, user string, body []byte, pass string) http.Header {
	h := http.Header{}
	h.Set(financing.HeaderTimestamp, ts)
	h.Set(financing.HeaderSignature, financing.Sign(ts, user, body, pass))
	return h
}

func TestSign(t *testing.T) {
	// hex(SHA-256("1700000000" + "user" + "{}" + "pass")), computed with
	// sha256sum: printf '1700000000user{}pass' | sha256sum
	const want = "baff7acfa61a593a983224c9d36ba014e779f08db854caaf895916fbc8fcdafb"
	if got := financing.Sign("1700000000", "user", []byte("{}"), "pass"); got != want {
		t.Fatalf("Sign = %q, want %q", got, want)
	}
}

func TestVerifySignature(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"version":"1.9","request_token":"abc","merchant_transaction_id":"1","updates":{"status":"approved"}}`)
	ts := strconv.FormatInt(now.Unix(), 10)
	ok := signed(ts, "u", body, "p")
	if err := financing.VerifySignature(ok, body, "u", "p", now, time.Minute); err != nil {
		t.Fatal(err)
	}
	upper := ok.Clone()
	upper.Set(financing.HeaderSignature, strings.ToUpper(ok.Get(financing.HeaderSignature)))
	if err := financing.VerifySignature(upper, body, "u", "p", now, time.Minute); err != nil {
		t.Fatalf("upper-case hex: %v", err)
	}
	two := ok.Clone()
	two.Add(financing.HeaderSignature, ok.Get(financing.HeaderSignature))
	old := strconv.FormatInt(now.Add(-2*time.Minute).Unix(), 10)
	future := strconv.FormatInt(now.Add(2*time.Minute).Unix(), 10)
	for name, c := range map[string]struct {
		h    http.Header
		body []byte
		user string
		pass string
	}{
		"NoHeaders":       {http.Header{}, body, "u", "p"},
		"NoSignature":     {http.Header{financing.HeaderTimestamp: {ts}}, body, "u", "p"},
		"NoTimestamp":     {http.Header{financing.HeaderSignature: {ok.Get(financing.HeaderSignature)}}, body, "u", "p"},
		"TwoSignatures":   {two, body, "u", "p"},
		"TamperedBody":    {ok, []byte(strings.Replace(string(body), "approved", "rejected", 1)), "u", "p"},
		"WrongPassword":   {ok, body, "u", "other"},
		"WrongUser":       {ok, body, "other", "p"},
		"TooOld":          {signed(old, "u", body, "p"), body, "u", "p"},
		"InTheFuture":     {signed(future, "u", body, "p"), body, "u", "p"},
		"TimestampMillis": {signed(ts+"000", "u", body, "p"), body, "u", "p"},
		"TimestampSigned": {signed("-"+ts, "u", body, "p"), body, "u", "p"},
		"TimestampSpaces": {signed(" "+ts, "u", body, "p"), body, "u", "p"},
		"ShortSignature":  {http.Header{financing.HeaderTimestamp: {ts}, financing.HeaderSignature: {"abcd"}}, body, "u", "p"},
		"NotHex":          {http.Header{financing.HeaderTimestamp: {ts}, financing.HeaderSignature: {strings.Repeat("zz", 32)}}, body, "u", "p"},
		"HMACNotSHA":      {http.Header{financing.HeaderTimestamp: {ts}, financing.HeaderSignature: {strings.Repeat("00", 32)}}, body, "u", "p"},
	} {
		t.Run(name, func(t *testing.T) {
			err := financing.VerifySignature(c.h, c.body, c.user, c.pass, now, time.Minute)
			if !errors.Is(err, financing.ErrSignature) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestParsePostback(t *testing.T) {
	t.Run("V19", func(t *testing.T) {
		p, err := financing.ParsePostback([]byte(`{"version":"1.9","request_token":"abc","merchant_transaction_id":"12","updates":{"status":"refund","amount":"10.50"}}`))
		if err != nil || p.Status != "refund" || p.Amount != "10.50" || p.RequestToken != "abc" || p.MerchantTransactionID != "12" || len(p.EventID) != 64 {
			t.Fatalf("%+v %v", p, err)
		}
		if d := financing.Decide(p); d.Action != financing.ActRefund || d.OrderID != 12 || d.Amount != "10.50" {
			t.Fatalf("%+v", d)
		}
	})
	t.Run("GuideShape", func(t *testing.T) {
		p, err := financing.ParsePostback([]byte(`{"request_token":"abc","merchant_transaction_id":"top_2ab","status":"Approved","approved_amount":499,"version":"1.9"}`))
		if err != nil || p.Status != "approved" || p.Amount != "499" {
			t.Fatalf("%+v %v", p, err)
		}
		if d := financing.Decide(p); d.Action != financing.ActApprove || d.TopupID != "top_2ab" || d.OrderID != 0 {
			t.Fatalf("%+v", d)
		}
	})
	t.Run("RejectionWithoutReference", func(t *testing.T) {
		p, err := financing.ParsePostback([]byte(`{"request_token":"abc","updates":{"status":"rejected"}}`))
		if err != nil {
			t.Fatal(err)
		}
		if d := financing.Decide(p); d.Action != financing.ActReject || d.OrderID != 0 || d.TopupID != "" || d.RequestToken != "abc" {
			t.Fatalf("%+v", d)
		}
	})
	t.Run("UnknownStatusIsRecorded", func(t *testing.T) {
		p, err := financing.ParsePostback([]byte(`{"request_token":"abc","updates":{"status":"on_hold"}}`))
		if err != nil || financing.Decide(p).Action != financing.ActNone {
			t.Fatalf("%+v %v", p, err)
		}
		p, _ = financing.ParsePostback([]byte(`{"request_token":"abc","status":"canceled"}`))
		if financing.Decide(p).Action != financing.ActCancel {
			t.Fatalf("%+v", p)
		}
	})
	for name, body := range map[string]string{
		"Empty":          ``,
		"NotJSON":        `status=approved`,
		"Array":          `[]`,
		"NoStatus":       `{"request_token":"abc"}`,
		"NoReference":    `{"updates":{"status":"approved"}}`,
		"DuplicateKeys":  `{"request_token":"a","request_token":"b","status":"approved"}`,
		"Trailing":       `{"request_token":"a","status":"approved"} x`,
		"ObjectToken":    `{"request_token":{},"status":"approved"}`,
		"BoolStatus":     `{"request_token":"a","status":true}`,
		"ControlChar":    `{"request_token":"a\u0000","status":"approved"}`,
		"BadUTF8":        "{\"request_token\":\"a\xff\",\"status\":\"approved\"}",
		"LongToken":      `{"request_token":"` + strings.Repeat("a", 300) + `","status":"approved"}`,
		"UpdatesNotObj":  `{"request_token":"a","updates":"approved"}`,
		"Huge":           `{"request_token":"a","status":"approved","pad":"` + strings.Repeat("x", financing.MaxPostbackBytes) + `"}`,
		"UnpairedEscape": `{"request_token":"\ud800","status":"approved"}`,
	} {
		t.Run(name, func(t *testing.T) {
			if p, err := financing.ParsePostback([]byte(body)); walletd.ErrorCode(err) != walletd.EInvalid {
				t.Fatalf("%+v %v", p, err)
			}
		})
	}
}

func TestParseReference(t *testing.T) {
	for in, want := range map[string]struct {
		id  int64
		top string
	}{
		"12": {12, ""}, "012": {}, "0": {}, "-1": {}, "1e3": {}, "top_2ab": {0, "top_2ab"}, "top_": {}, "top_a/b": {},
		"9007199254740992": {}, "ORDER-123": {},
	} {
		if id, top := financing.ParseReference(in); id != want.id || top != want.top {
			t.Errorf("ParseReference(%q) = %d, %q", in, id, top)
		}
	}
}

func TestParseAnswer(t *testing.T) {
	a, err := financing.ParseAnswer([]byte(`{"href":"https://app.wegetfinancing.com/checkout?token=abc123","request_token":"abc123def456"}`))
	if err != nil || a.RequestToken != "abc123def456" || a.Href != "https://app.wegetfinancing.com/checkout?token=abc123" {
		t.Fatalf("%+v %v", a, err)
	}
	a, err = financing.ParseAnswer([]byte(`{"inv_id":12345,"href":"https://app.wegetfinancing.com/x","amount":"499.00"}`))
	if err != nil || a.RequestToken != "12345" || a.Amount != "499.00" {
		t.Fatalf("%+v %v", a, err)
	}
	for _, bad := range []string{`{}`, `{"href":"https://x"}`, `{"request_token":"a"}`, `{"request_token":"a","href":"javascript:alert(1)"}`,
		`{"request_token":"a","href":"http://evil.example/x"}`, `{"request_token":"a","href":"/relative"}`, `nope`, `{"request_token":"a","request_token":"b","href":"https://x"}`} {
		if a, err := financing.ParseAnswer([]byte(bad)); err == nil {
			t.Errorf("%s: %+v", bad, a)
		}
	}
}

func TestParseProviderError(t *testing.T) {
	pe, ok := financing.ParseProviderError([]byte(`{"type":"error","error":"missing_parameters","code":400,"message":"Missing\nparameters: phone"}`))
	if !ok || pe.Error != "missing_parameters" || pe.Message != "Missing parameters: phone" || pe.Code != "400" {
		t.Fatalf("%+v %v", pe, ok)
	}
	if _, ok := financing.ParseProviderError([]byte(`<html>bad gateway</html>`)); ok {
		t.Fatal("html read as an error body")
	}
	pe, _ = financing.ParseProviderError([]byte(`{"error":"x","message":"` + strings.Repeat("é", 400) + `"}`))
	if len(pe.Message) > 310 {
		t.Fatalf("message of %d bytes", len(pe.Message))
	}
}
