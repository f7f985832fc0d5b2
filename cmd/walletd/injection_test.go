package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
	"github.com/walletd/walletd/events/bus"
	"github.com/walletd/walletd/walletdtest"
)

// TestServe_Injection repeats, against a whole walletd serve whose bus
// permissions were deliberately opened (an extra identity allowed to
// publish on walletd.>, as a leaked publisher key would be), the three
// injections the adversarial review made: a forged wallet.credited of
// 1,000,000.00 with the next seq's headers, a message with a huge
// Walletd-Seq, and one without walletd's headers. Each raises the alert
// (metric, /readyz 503, log); the relay goes on publishing the real
// events; no forged event reaches a webhook endpoint or the read models.
func TestServe_Injection(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
	}))
	defer recv.Close()
	received := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), bodies...)
	}

	dir := filepath.Join(t.TempDir(), "data")
	p := startServe(t, dir, "--webhook-allow-cidrs", "127.0.0.0/8", "--public-url", "https://shop.example")
	if _, err := p.call("POST", "/v1/webhook-endpoints", `{"name":"erp","url":"`+recv.URL+`/hook"}`, "", nil); err != nil {
		t.Fatal(err)
	}
	var w struct{ ID string }
	if _, err := p.call("POST", "/v1/wallets", `{"user_id":"103","email":"jane@example.com","currency":"USD"}`, "", &w); err != nil {
		t.Fatal(err)
	}
	var first struct {
		Seq uint64 `json:"seq"`
	}
	if _, err := p.call("POST", "/v1/wallets/"+w.ID+"/credit", `{"amount":"2.00"}`, "", &first); err != nil {
		t.Fatal(err)
	}
	credited := func(amount string) func() error {
		return func() error {
			for _, b := range received() {
				if strings.Contains(b, `"wallet.credited"`) && strings.Contains(b, `"`+amount+`"`) {
					return nil
				}
			}
			return fmt.Errorf("no wallet.credited of %s delivered", amount)
		}
	}
	walletdtest.CheckFor(t, 20*time.Second, 50*time.Millisecond, credited("2.00"))

	// Open the permissions: a second publisher identity, written into
	// users.json as an operator's mistake (or a stolen key) would.
	kp, _ := nkeys.CreateUser()
	pub, _ := kp.PublicKey()
	usersPath := filepath.Join(dir, "nats-auth", "users.json")
	var users struct {
		Identities []bus.Identity `json:"identities"`
	}
	b, err := os.ReadFile(usersPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &users); err != nil {
		t.Fatal(err)
	}
	users.Identities = append(users.Identities, bus.Identity{Name: "intruder", Role: bus.RolePublisher, PublicKey: pub, CreatedAt: time.Now()})
	b, _ = json.Marshal(users)
	if err := os.WriteFile(usersPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	var nc *nats.Conn
	walletdtest.CheckFor(t, 10*time.Second, 100*time.Millisecond, func() error {
		nc, err = nats.Connect(p.natsURL(t), nats.Nkey(pub, kp.Sign), nats.CustomInboxPrefix(bus.InboxPrefix("intruder")), nats.MaxReconnects(0))
		return err
	})
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx := context.Background()

	// The three injections, published through JetStream so that each is
	// certainly stored.
	var part string
	{
		s, err := js.Stream(ctx, "WALLETD")
		if err != nil {
			t.Fatal(err)
		}
		m, err := s.GetLastMsgForSubject(ctx, "walletd.w.*."+w.ID+".wallet.credited")
		if err != nil {
			t.Fatal(err)
		}
		part = strings.Split(m.Subject, ".")[2]
		forged := nats.NewMsg(m.Subject)
		forged.Data = []byte(strings.ReplaceAll(strings.ReplaceAll(string(m.Data), `"2.00"`, `"1000000.00"`), m.Header.Get(nats.MsgIdHdr), "wph_forged"))
		forged.Header.Set(nats.MsgIdHdr, "wph_forged")
		forged.Header.Set(bus.HeaderSeq, strconv.FormatUint(first.Seq+1, 10))
		forged.Header.Set(bus.HeaderIndex, "0")
		forged.Header.Set(bus.HeaderMAC, m.Header.Get(bus.HeaderMAC)) // a real MAC, of another message
		if _, err := js.PublishMsg(ctx, forged); err != nil {
			t.Fatal(err)
		}
	}
	huge := nats.NewMsg("walletd.sys.wallet.credited")
	huge.Data = []byte(`{"id":"wph_huge","event":"wallet.credited","data":{"amount":"5.00"}}`)
	huge.Header.Set(bus.HeaderSeq, strconv.FormatUint(1<<62, 10))
	huge.Header.Set(bus.HeaderIndex, "0")
	if _, err := js.PublishMsg(ctx, huge); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "walletd.w."+part+"."+w.ID+".wallet.credited", []byte(`{"id":"wph_bare","event":"wallet.credited","data":{"wallet_id":"`+w.ID+`","amount":"7.00"}}`)); err != nil {
		t.Fatal(err)
	}

	// Real writes go on and reach the stream, the webhook and the reads.
	var last struct {
		Seq uint64 `json:"seq"`
	}
	for _, amount := range []string{"3.00", "4.00"} {
		if _, err := p.call("POST", "/v1/wallets/"+w.ID+"/credit", `{"amount":"`+amount+`"}`, "", &last); err != nil {
			t.Fatal(err)
		}
	}
	walletdtest.CheckFor(t, 20*time.Second, 50*time.Millisecond, credited("4.00"))
	var hist struct {
		Items []struct {
			Amount       string `json:"amount"`
			BalanceAfter string `json:"balance_after"`
		} `json:"items"`
	}
	if _, err := p.call("GET", fmt.Sprintf("/v1/wallets/%s/transactions?min_seq=%d", w.ID, last.Seq), "", "", &hist); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range hist.Items {
		got = append(got, it.Amount+"→"+it.BalanceAfter)
	}
	if strings.Join(got, " ") != "4.00→9.00 3.00→5.00 2.00→2.00" {
		t.Fatalf("history %v", got)
	}

	// The alert: /readyz, the metrics, the log.
	walletdtest.CheckFor(t, 10*time.Second, 50*time.Millisecond, func() error {
		if code, _ := p.call("GET", "/readyz", "", "", nil); code != http.StatusServiceUnavailable {
			return fmt.Errorf("/readyz %d", code)
		}
		return nil
	})
	metrics := func() string {
		resp, err := http.Get(p.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	metric := func(text, name string) float64 {
		m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindStringSubmatch(text)
		if m == nil {
			return -1
		}
		v, _ := strconv.ParseFloat(m[1], 64)
		return v
	}
	walletdtest.CheckFor(t, 10*time.Second, 50*time.Millisecond, func() error {
		text := metrics()
		for name, least := range map[string]float64{
			"walletd_relay_alert":                     1,
			"walletd_relay_forged_messages_total":     1,
			"walletd_projection_events_refused_total": 3,
			"walletd_webhook_events_refused_total":    3,
		} {
			if v := metric(text, name); v < least {
				return fmt.Errorf("%s = %v, want at least %v", name, v, least)
			}
		}
		return nil
	})
	if len(p.logRecords("ALERT")) == 0 {
		t.Fatalf("no alert in the log:\n%s", p.Logs())
	}
	for _, body := range received() {
		for _, forged := range []string{"1000000.00", "wph_forged", "wph_huge", "wph_bare", `"7.00"`} {
			if strings.Contains(body, forged) {
				t.Fatalf("a forged event reached the webhook endpoint: %s", body)
			}
		}
	}
	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
}
