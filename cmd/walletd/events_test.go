package main_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/walletd/walletd/events"
	"github.com/walletd/walletd/events/bus"
	"github.com/walletd/walletd/walletdtest"
)

// TestServe_EventsAndProjections: a write is visible in the history read
// with min_seq, a second process (`walletd projector`) against the same
// stream builds the same daily totals, and `walletd projections rebuild`
// leaves the history (the ledger's) as it was.
func TestServe_EventsAndProjections(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	p := startServe(t, dir)
	var w struct{ ID string }
	if _, err := p.call("POST", "/v1/wallets", `{"user_id":"103","email":"jane@example.com","currency":"USD"}`, "", &w); err != nil {
		t.Fatal(err)
	}
	var last struct {
		Seq uint64 `json:"seq"`
	}
	for i := 0; i < 5; i++ {
		if _, err := p.call("POST", "/v1/wallets/"+w.ID+"/credit", `{"amount":"2.50","type":"topup"}`, "", &last); err != nil {
			t.Fatal(err)
		}
	}
	type page struct {
		Items []struct {
			Seq          uint64 `json:"seq"`
			BalanceAfter string `json:"balance_after"`
		} `json:"items"`
	}
	var hist page
	if _, err := p.call("GET", fmt.Sprintf("/v1/wallets/%s/transactions?min_seq=%d", w.ID, last.Seq), "", "", &hist); err != nil {
		t.Fatal(err)
	}
	if len(hist.Items) != 5 || hist.Items[0].Seq != last.Seq || hist.Items[0].BalanceAfter != "12.50" {
		t.Fatalf("history right after the write: %+v", hist.Items)
	}

	// The embedded NATS URL, from the serve log.
	natsURL := ""
	for _, line := range strings.Split(p.Logs(), "\n") {
		var rec struct {
			Msg string `json:"msg"`
			URL string `json:"nats_url"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "embedded NATS server started" {
			natsURL = rec.URL
		}
	}
	if natsURL == "" {
		t.Fatalf("no NATS URL in the logs:\n%s", p.Logs())
	}

	projDir := filepath.Join(t.TempDir(), "proj")
	proj := exec.Command(binary, "projector", "--nats-url", natsURL, "--data-dir", projDir, "--consumer", "test-projector",
		"--nats-nkey", filepath.Join(dir, "nats-auth", "projector.nk"), "--relay-key", filepath.Join(dir, "relay.key"))
	proj.Stdout, proj.Stderr = io.Discard, io.Discard
	if err := proj.Start(); err != nil {
		t.Fatal(err)
	}
	projDone := make(chan error, 1)
	go func() { projDone <- proj.Wait() }()
	walletdtest.CheckFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		pdb, err := sql.Open("sqlite3", "file:"+filepath.Join(projDir, "projections.db")+"?mode=ro")
		if err != nil {
			return err
		}
		defer pdb.Close()
		var got int
		if err := pdb.QueryRow(`SELECT COALESCE(SUM(count), 0) FROM daily_totals WHERE currency = 'USD' AND kind = 'credit'
			AND type = 'topup'`).Scan(&got); err != nil {
			return err
		}
		if got != 5 {
			return fmt.Errorf("second projector's daily totals count %d credits", got)
		}
		return nil
	})
	proj.Process.Signal(syscall.SIGTERM)
	if err := <-projDone; err != nil {
		t.Fatalf("projector exit: %v", err)
	}

	out, err := exec.Command(binary, "projections", "rebuild", "--data-dir", dir, "--nats-url", natsURL).CombinedOutput()
	if err != nil {
		t.Fatalf("rebuild: %v\n%s", err, out)
	}
	var again page
	if _, err := p.call("GET", fmt.Sprintf("/v1/wallets/%s/transactions?min_seq=%d", w.ID, last.Seq), "", "", &again); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(again.Items) != fmt.Sprint(hist.Items) {
		t.Fatalf("after rebuild %+v, before %+v", again.Items, hist.Items)
	}
	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v\n%s", err, p.Logs())
	}
}

// TestServe_Webhooks: an endpoint created over the API receives the ping
// and a live wallet.credited event, signed as the WalletPro seed says and
// verified here by an independent implementation of its algorithm.
func TestServe_Webhooks(t *testing.T) {
	type got struct {
		event string
		ok    bool
	}
	var mu sync.Mutex
	var secret string
	var received []got
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		m := regexp.MustCompile(`^t=(\d+),v1=([a-f0-9]+)$`).FindStringSubmatch(r.Header.Get("X-WalletPro-Signature"))
		ok := false
		if m != nil && secret != "" {
			ts, _ := strconv.ParseInt(m[1], 10, 64)
			mac := hmac.New(sha256.New, []byte(secret))
			mac.Write([]byte(m[1] + "." + string(body)))
			ok = hmac.Equal([]byte(hex.EncodeToString(mac.Sum(nil))), []byte(m[2])) && time.Now().Unix()-ts <= 300
		}
		var env struct{ Event string }
		json.Unmarshal(body, &env)
		received = append(received, got{env.Event, ok})
	}))
	defer recv.Close()

	dir := filepath.Join(t.TempDir(), "data")
	p := startServe(t, dir, "--webhook-allow-cidrs", "127.0.0.0/8")
	var ep struct{ ID, Secret string }
	mu.Lock()
	if _, err := p.call("POST", "/v1/webhook-endpoints", `{"name":"erp","url":"`+recv.URL+`/hook","events":["wallet.credited"]}`, "", &ep); err != nil {
		mu.Unlock()
		t.Fatal(err)
	}
	secret = ep.Secret
	mu.Unlock()
	var w struct{ ID string }
	if _, err := p.call("POST", "/v1/wallets", `{"user_id":"103","email":"jane@example.com","currency":"USD"}`, "", &w); err != nil {
		t.Fatal(err)
	}
	if _, err := p.call("POST", "/v1/wallets/"+w.ID+"/credit", `{"amount":"25.00","type":"cashback"}`, "", nil); err != nil {
		t.Fatal(err)
	}
	walletdtest.CheckFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		mu.Lock()
		defer mu.Unlock()
		for _, g := range received {
			if g.event == "wallet.credited" && g.ok {
				return nil
			}
		}
		return fmt.Errorf("received %+v", received)
	})
	mu.Lock()
	for _, g := range received {
		if !g.ok {
			t.Errorf("a delivery failed verification: %+v", g)
		}
		if g.event != "wallet.credited" && g.event != "ping" {
			t.Errorf("the filter let %q through", g.event)
		}
	}
	mu.Unlock()
	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v\n%s", err, p.Logs())
	}
}

// TestServe_MigratesLegacySubjects: a data dir whose stream was written
// with the earlier subjects (walletd.<event key>) starts under the new
// scheme and loses nothing: the stream is updated in place, the relay
// goes on after its last message on the new subjects, a projections.db
// rebuilt from the mixed stream has every transaction, and the webhook
// dispatcher goes on delivering.
func TestServe_MigratesLegacySubjects(t *testing.T) {
	var mu sync.Mutex
	var delivered []string
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var env events.Envelope
		json.NewDecoder(r.Body).Decode(&env)
		if env.Event == "wallet.credited" { // not the creation ping
			mu.Lock()
			delivered = append(delivered, env.Event)
			mu.Unlock()
		}
	}))
	defer recv.Close()

	dir := filepath.Join(t.TempDir(), "data")
	p := startServe(t, dir, "--webhook-allow-cidrs", "127.0.0.0/8", "--public-url", "https://shop.example")
	if _, err := p.call("POST", "/v1/webhook-endpoints", `{"name":"erp","url":"`+recv.URL+`/hook","events":["wallet.credited"]}`, "", nil); err != nil {
		t.Fatal(err)
	}
	var w struct{ ID string }
	if _, err := p.call("POST", "/v1/wallets", `{"user_id":"103","email":"jane@example.com","currency":"USD"}`, "", &w); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		if _, err := p.call("POST", "/v1/wallets/"+w.ID+"/credit", `{"amount":"2.00"}`, "", nil); err != nil {
			t.Fatal(err)
		}
	}
	// Every event is in the stream, and the four credits were delivered.
	walletdtest.CheckFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(delivered) != 4 {
			return fmt.Errorf("delivered %v", delivered)
		}
		return nil
	})
	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}

	// Make the stream what an earlier walletd left: the same messages on
	// walletd.<event key>, in a stream without the transform.
	n := rewriteStream(t, dir, func(_ int, m *jetstream.RawStreamMsg) *nats.Msg {
		key, ok := events.KeyFromSubject("walletd", m.Subject)
		if !ok {
			t.Fatalf("subject %s", m.Subject)
		}
		old := nats.NewMsg("walletd." + key)
		old.Header, old.Data = m.Header, m.Data
		return old
	})
	// The read models are rebuilt from the stream, old subjects included.
	for _, f := range []string{"projections.db", "projections.db-wal", "projections.db-shm"} {
		os.Remove(filepath.Join(dir, f))
	}

	p2 := startServe(t, dir, "--webhook-allow-cidrs", "127.0.0.0/8", "--public-url", "https://shop.example")
	if len(p2.logRecords("nats: stream subjects migrated")) != 1 {
		t.Fatalf("no migration logged:\n%s", p2.Logs())
	}
	var last struct {
		Seq uint64 `json:"seq"`
	}
	for i := 0; i < 3; i++ {
		if _, err := p2.call("POST", "/v1/wallets/"+w.ID+"/credit", `{"amount":"2.00"}`, "", &last); err != nil {
			t.Fatal(err)
		}
	}
	var hist struct {
		Items []struct {
			BalanceAfter string `json:"balance_after"`
		} `json:"items"`
	}
	if _, err := p2.call("GET", fmt.Sprintf("/v1/wallets/%s/transactions?min_seq=%d", w.ID, last.Seq), "", "", &hist); err != nil {
		t.Fatal(err)
	}
	if len(hist.Items) != 7 || hist.Items[0].BalanceAfter != "14.00" || hist.Items[6].BalanceAfter != "2.00" {
		t.Fatalf("history after the migration: %+v", hist.Items)
	}
	walletdtest.CheckFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(delivered) != 7 {
			return fmt.Errorf("delivered %v", delivered)
		}
		return nil
	})
	// The stream: the old messages as they were, then the new subjects.
	ctx := context.Background()
	nc2 := p2.natsConnect(t)
	defer nc2.Close()
	js2, _ := jetstream.New(nc2)
	walletdtest.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		s, err := js2.Stream(ctx, "WALLETD")
		if err != nil {
			return err
		}
		info, err := s.Info(ctx)
		if err != nil {
			return err
		}
		if info.State.Msgs < uint64(n)+3 {
			return fmt.Errorf("%d messages", info.State.Msgs)
		}
		for seq := uint64(1); seq <= info.State.LastSeq; seq++ {
			m, err := s.GetMsg(ctx, seq)
			if err != nil {
				return err
			}
			sp, ok := events.ParseSubject("walletd", m.Subject)
			if !ok || sp.Legacy != (seq <= uint64(n)) || m.Header.Get(nats.MsgIdHdr) == "" {
				return fmt.Errorf("message %d on %s", seq, m.Subject)
			}
		}
		return nil
	})
	if err := p2.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
}

// rewriteStream makes the WALLETD stream of the stopped instance in dir
// what an earlier walletd left: every message read back, the stream made
// again without the subject transform, and each message published anew as
// old makes it (old's i is the message's index, from 0). It returns how
// many messages the stream holds.
func rewriteStream(t *testing.T, dir string, old func(i int, m *jetstream.RawStreamMsg) *nats.Msg) int {
	t.Helper()
	ctx := context.Background()
	srv := &bus.Server{Addr: "127.0.0.1:0", StoreDir: filepath.Join(dir, "nats"), NoAuth: true}
	if err := srv.Open(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	s, err := js.Stream(ctx, "WALLETD")
	if err != nil {
		t.Fatal(err)
	}
	var msgs []*jetstream.RawStreamMsg
	for seq := uint64(1); seq <= s.CachedInfo().State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	if err := js.DeleteStream(ctx, "WALLETD"); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "WALLETD", Subjects: []string{"walletd.>"}, Storage: jetstream.FileStorage,
		Duplicates: 2 * time.Minute, Retention: jetstream.LimitsPolicy, Discard: jetstream.DiscardOld}); err != nil {
		t.Fatal(err)
	}
	for i, m := range msgs {
		if _, err := js.PublishMsg(ctx, old(i, m), jetstream.WithExpectLastSequence(uint64(i))); err != nil {
			t.Fatal(err)
		}
	}
	return len(msgs)
}
