package main_test

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"flag"
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

// binary is the walletd program built once for the process tests.
var binary string

func TestMain(m *testing.M) {
	// A fuzzing run (and each of its workers, which restart often) runs
	// only the fuzz target: it needs no binary, and building one per worker
	// start would leave no time to fuzz.
	flag.Parse()
	if fuzzing() {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "walletd-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "walletd")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// fuzzing reports whether the test binary runs a fuzz target.
func fuzzing() bool {
	for _, name := range []string{"test.fuzz", "test.fuzzworker"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" && f.Value.String() != "false" {
			return true
		}
	}
	return false
}

// proc is a running `walletd serve`.
type proc struct {
	cmd   *exec.Cmd
	URL   string
	Token string
	done  chan error
	logs  *strings.Builder
	mu    sync.Mutex
}

// startServe runs walletd serve on a random loopback port in dataDir and
// waits until it serves.
func startServe(tb testing.TB, dataDir string, extra ...string) *proc {
	tb.Helper()
	args := append([]string{"serve", "--data-dir", dataDir, "--http-addr", "127.0.0.1:0", "--nats-addr", "127.0.0.1:0", "--checkpoint-every", "100"}, extra...)
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "WALLETD_LOG_LEVEL=info")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	p := &proc{cmd: cmd, done: make(chan error, 1), logs: &strings.Builder{}}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			if p.logs.Len() < 1<<20 {
				p.logs.WriteString(line + "\n")
			}
			p.mu.Unlock()
			var rec struct {
				Msg  string `json:"msg"`
				Addr string `json:"http_addr"`
			}
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "walletd serving" {
				addr <- rec.Addr
			}
		}
	}()
	go func() { p.done <- cmd.Wait() }()
	select {
	case p.URL = <-addr:
	case err := <-p.done:
		tb.Fatalf("walletd serve exited early: %v\n%s", err, p.Logs())
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		tb.Fatalf("walletd serve did not start\n%s", p.Logs())
	}
	tok, err := os.ReadFile(filepath.Join(dataDir, "admin.key"))
	if err != nil {
		tb.Fatal(err)
	}
	p.Token = strings.TrimSpace(string(tok))
	tb.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

func (p *proc) Logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

// stop sends sig and waits for the exit status.
func (p *proc) stop(tb testing.TB, sig os.Signal) error {
	tb.Helper()
	p.cmd.Process.Signal(sig)
	select {
	case err := <-p.done:
		return err
	case <-time.After(30 * time.Second):
		tb.Fatalf("walletd did not exit after %v\n%s", sig, p.Logs())
	}
	return nil
}

var client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

// call sends a JSON request and decodes data into out (if not nil).
func (p *proc) call(method, path, body, idemKey string, out any) (int, error) {
	req, err := http.NewRequest(method, p.URL+path, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+p.Token)
	req.Header.Set("Content-Type", "application/json")
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if out != nil && resp.StatusCode < 300 {
		var env struct {
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(raw, &env); err != nil {
			return resp.StatusCode, err
		}
		return resp.StatusCode, json.Unmarshal(env.Data, out)
	}
	if resp.StatusCode >= 300 {
		return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode, nil
}

func TestServe_FirstStart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	p := startServe(t, dir)
	for _, f := range []string{"admin.key", "keyring.json", "checkpoint.key"} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f, st.Mode().Perm())
		}
	}
	var w struct{ ID string }
	if _, err := p.call("POST", "/v1/wallets", `{"user_id":"u1","email":"u1@example.com","currency":"USD"}`, "", &w); err != nil {
		t.Fatal(err)
	}
	if _, err := p.call("POST", "/v1/wallets/"+w.ID+"/credit", `{"amount":"10.00"}`, "", nil); err != nil {
		t.Fatal(err)
	}
	t.Run("SecondProcessRefused", func(t *testing.T) {
		out, err := exec.Command(binary, "serve", "--data-dir", dir, "--http-addr", "127.0.0.1:0", "--nats-addr", "127.0.0.1:0").CombinedOutput()
		if err == nil || !strings.Contains(string(out), "in use") {
			t.Fatalf("a second serve on the same data dir: err=%v\n%s", err, out)
		}
	})
	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: exit %v\n%s", err, p.Logs())
	}
	// The admin key is kept, not re-created, on the next start.
	p2 := startServe(t, dir)
	if p2.Token != p.Token {
		t.Fatal("the admin key changed on restart")
	}
	var got struct{ Balance string }
	if _, err := p2.call("GET", "/v1/wallets/"+w.ID, "", "", &got); err != nil || got.Balance != "10.00" {
		t.Fatalf("after restart: %+v %v", got, err)
	}
	if err := p2.stop(t, os.Interrupt); err != nil {
		t.Fatalf("SIGINT: exit %v", err)
	}
	out, err := exec.Command(binary, "verify", "--data-dir", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("verify: %v\n%s", err, out)
	}
}

// TestServe_CrashUnderLoad kills walletd with SIGKILL while clients are
// writing. After a restart every acknowledged operation is present exactly
// once, nothing unacknowledged is present twice, balances match the
// entries, and the chain verifies.
func TestServe_CrashUnderLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	p := startServe(t, dir)
	const nWallets = 10
	wallets := make([]string, nWallets)
	for i := range wallets {
		var w struct{ ID string }
		if _, err := p.call("POST", "/v1/wallets", fmt.Sprintf(`{"user_id":"u%d","email":"u%d@example.com","currency":"USD"}`, i, i), "", &w); err != nil {
			t.Fatal(err)
		}
		wallets[i] = w.ID
	}

	type ack struct{ key, txn, wallet string }
	var mu sync.Mutex
	var acked []ack
	sent := map[string]bool{}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				key := fmt.Sprintf("crash-%d-%d", g, i)
				mu.Lock()
				sent[key] = true
				mu.Unlock()
				var e struct {
					TransactionID string `json:"transaction_id"`
				}
				st, err := p.call("POST", "/v1/wallets/"+wallets[(g+i)%nWallets]+"/credit", `{"amount":"1.00","type":"topup"}`, key, &e)
				if err != nil || st != 201 {
					continue // outcome unknown: the process may have died mid-request
				}
				mu.Lock()
				acked = append(acked, ack{key, e.TransactionID, wallets[(g+i)%nWallets]})
				mu.Unlock()
			}
		}(g)
	}
	walletdtest.CheckFor(t, 20*time.Second, 10*time.Millisecond, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(acked) < 500 {
			return fmt.Errorf("only %d acknowledged writes", len(acked))
		}
		return nil
	})
	p.cmd.Process.Kill() // SIGKILL, mid-load
	<-p.done
	cancel()
	wg.Wait()
	t.Logf("%d writes acknowledged before SIGKILL, %d sent", len(acked), len(sent))

	p2 := startServe(t, dir)
	type ent struct {
		TransactionID  string `json:"transaction_id"`
		Seq            uint64 `json:"seq"`
		WalletID       string `json:"wallet_id"`
		Kind           string `json:"kind"`
		Amount         string `json:"amount"`
		IdempotencyKey string `json:"idempotency_key"`
	}
	byKey := map[string][]ent{}
	credits := map[string]int{}
	for _, e := range ledgerEntries[ent](t, p2) {
		if e.IdempotencyKey != "" {
			byKey[e.IdempotencyKey] = append(byKey[e.IdempotencyKey], e)
		}
		if e.Kind == "credit" {
			credits[e.WalletID]++
		}
	}
	for _, a := range acked {
		es := byKey[a.key]
		if len(es) != 1 || es[0].TransactionID != a.txn {
			t.Fatalf("acknowledged %s (%s) is present %d times: %+v", a.key, a.txn, len(es), es)
		}
	}
	for k, es := range byKey {
		if len(es) != 1 {
			t.Fatalf("key %s applied %d times", k, len(es))
		}
		if !sent[k] {
			t.Fatalf("entry for a key never sent: %s", k)
		}
	}
	for _, id := range wallets {
		var w struct{ Balance string }
		if _, err := p2.call("GET", "/v1/wallets/"+id, "", "", &w); err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("%d.00", credits[id]); w.Balance != want {
			t.Fatalf("wallet %s balance %s, entries say %s", id, w.Balance, want)
		}
	}
	var rep struct {
		OK      bool   `json:"ok"`
		Entries uint64 `json:"entries"`
	}
	if _, err := p2.call("GET", "/v1/ledger/verify", "", "", &rep); err != nil || !rep.OK {
		t.Fatalf("verify after crash: %+v %v", rep, err)
	}
	// A retry of an acknowledged key after the crash replays, never re-applies.
	var e struct {
		TransactionID string `json:"transaction_id"`
	}
	if _, err := p2.call("POST", "/v1/wallets/"+acked[0].wallet+"/credit", `{"amount":"1.00","type":"topup"}`, acked[0].key, &e); err != nil || e.TransactionID != acked[0].txn {
		t.Fatalf("replay after crash: %+v %v", e, err)
	}
	if err := p2.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	if out, err := exec.Command(binary, "verify", "--data-dir", dir).CombinedOutput(); err != nil {
		t.Fatalf("walletd verify: %v\n%s", err, out)
	}
}

// TestCLI_KeysAndMigrate: migrate twice is harmless; keys create makes a
// working scoped key; rotate-ledger-key refuses while serving, works when
// stopped, and the chain verifies across the rotation.
func TestCLI_KeysAndMigrate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	for i := 0; i < 2; i++ {
		if out, err := exec.Command(binary, "migrate", "--data-dir", dir).CombinedOutput(); err != nil {
			t.Fatalf("migrate #%d: %v\n%s", i+1, err, out)
		}
	}
	p := startServe(t, dir)
	var w struct{ ID string }
	if _, err := p.call("POST", "/v1/wallets", `{"user_id":"u1","email":"u1@example.com","currency":"USD"}`, "", &w); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(binary, "keys", "create", "--data-dir", dir, "--scope", "wallets:read", "--name", "reader").Output()
	if err != nil {
		t.Fatalf("keys create: %v", err)
	}
	reader := &proc{URL: p.URL, Token: strings.TrimSpace(string(out))}
	if _, err := reader.call("GET", "/v1/wallets/"+w.ID, "", "", nil); err != nil {
		t.Fatalf("read with the new key: %v", err)
	}
	if st, _ := reader.call("POST", "/v1/wallets/"+w.ID+"/credit", `{"amount":"1.00"}`, "", nil); st != 403 {
		t.Fatalf("write with a read key: %d", st)
	}
	if out, err := exec.Command(binary, "keys", "create", "--data-dir", dir, "--scope", "root").CombinedOutput(); err == nil {
		t.Fatalf("keys create with a bad scope succeeded: %s", out)
	}
	if out, err := exec.Command(binary, "keys", "rotate-ledger-key", "--data-dir", dir).CombinedOutput(); err == nil {
		t.Fatalf("rotate while serving succeeded: %s", out)
	}
	if _, err := p.call("POST", "/v1/wallets/"+w.ID+"/credit", `{"amount":"1.00"}`, "", nil); err != nil {
		t.Fatal(err)
	}
	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(binary, "keys", "rotate-ledger-key", "--data-dir", dir).CombinedOutput(); err != nil || !strings.Contains(string(out), "k2") {
		t.Fatalf("rotate: %v\n%s", err, out)
	}
	p2 := startServe(t, dir)
	var e struct {
		KeyID string `json:"key_id"`
	}
	if _, err := p2.call("POST", "/v1/wallets/"+w.ID+"/credit", `{"amount":"2.00"}`, "", &e); err != nil || e.KeyID != "k2" {
		t.Fatalf("entry after rotation uses %q (%v)", e.KeyID, err)
	}
	if err := p2.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(binary, "verify", "--data-dir", dir).CombinedOutput(); err != nil {
		t.Fatalf("verify across the rotation: %v\n%s", err, out)
	}
}

// TestServe_EventsAndProjections: a write is visible in the history read
// model with min_seq, a second process (`walletd projector`) against the
// same stream builds the same balances, and `walletd projections rebuild`
// gives the same history.
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
	proj := exec.Command(binary, "projector", "--nats-url", natsURL, "--data-dir", projDir, "--consumer", "test-projector")
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
		var got string
		if err := pdb.QueryRow(`SELECT balance FROM balances WHERE wallet_id = ?`, w.ID).Scan(&got); err != nil {
			return err
		}
		if got != "12.50" {
			return fmt.Errorf("second projector's balance %q", got)
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

// ledgerEntries reads every entry of a running walletd through
// GET /v1/ledger/entries, page by page, decoded as T.
func ledgerEntries[T any](tb testing.TB, p *proc) []T {
	tb.Helper()
	var out []T
	after := uint64(0)
	for {
		var page struct {
			Items        []json.RawMessage `json:"items"`
			NextAfterSeq uint64            `json:"next_after_seq"`
		}
		if _, err := p.call("GET", fmt.Sprintf("/v1/ledger/entries?limit=1000&after_seq=%d", after), "", "", &page); err != nil {
			tb.Fatal(err)
		}
		if len(page.Items) == 0 {
			return out
		}
		for _, raw := range page.Items {
			var e T
			if err := json.Unmarshal(raw, &e); err != nil {
				tb.Fatal(err)
			}
			out = append(out, e)
		}
		after = page.NextAfterSeq
	}
}

// logRecords returns the JSON log records of a process whose message
// contains text.
func (p *proc) logRecords(text string) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(p.Logs(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil {
			if msg, _ := rec["msg"].(string); strings.Contains(msg, text) {
				out = append(out, rec)
			}
		}
	}
	return out
}

// natsURL returns the embedded NATS server's URL, from the serve log.
func (p *proc) natsURL(tb testing.TB) string {
	tb.Helper()
	recs := p.logRecords("embedded NATS server started")
	if len(recs) == 0 {
		tb.Fatalf("no NATS URL in the logs:\n%s", p.Logs())
	}
	return recs[len(recs)-1]["nats_url"].(string)
}

// TestServe_PublicURL: --public-url (or WALLETD_PUBLIC_URL, or the
// deprecated --site-url) is the site_url of the events; without it serve
// warns, naming the flag; a value that is not an absolute http(s) URL
// without query or fragment is refused at start.
func TestServe_PublicURL(t *testing.T) {
	// lastEvent credits a new wallet and returns the stream's last message
	// once it is that credit.
	lastEvent := func(t *testing.T, p *proc) (*jetstream.RawStreamMsg, events.Envelope) {
		t.Helper()
		var w struct{ ID string }
		if _, err := p.call("POST", "/v1/wallets", `{"user_id":"103","email":"jane@example.com","currency":"USD"}`, "", &w); err != nil {
			t.Fatal(err)
		}
		if _, err := p.call("POST", "/v1/wallets/"+w.ID+"/credit", `{"amount":"1.00"}`, "", nil); err != nil {
			t.Fatal(err)
		}
		nc, err := nats.Connect(p.natsURL(t))
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		js, _ := jetstream.New(nc)
		var m *jetstream.RawStreamMsg
		var env events.Envelope
		walletdtest.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
			s, err := js.Stream(context.Background(), "WALLETD")
			if err != nil {
				return err
			}
			if m, err = s.GetLastMsgForSubject(context.Background(), "walletd.w.*."+w.ID+".wallet.credited"); err != nil {
				return err
			}
			return json.Unmarshal(m.Data, &env)
		})
		return m, env
	}
	warnings := func(p *proc) []map[string]any {
		var out []map[string]any
		for _, rec := range p.logRecords("-url") {
			if msg := rec["msg"].(string); rec["level"] == "WARN" && (strings.Contains(msg, "--public-url") || strings.Contains(msg, "--site-url")) {
				out = append(out, rec)
			}
		}
		return out
	}

	t.Run("WarnsWhenUnset", func(t *testing.T) {
		p := startServe(t, filepath.Join(t.TempDir(), "data"))
		ws := warnings(p)
		if len(ws) != 1 || !strings.Contains(ws[0]["msg"].(string), "--public-url is not set") {
			t.Fatalf("want one warning naming --public-url, got %v\n%s", ws, p.Logs())
		}
		_, env := lastEvent(t, p)
		if env.SiteURL != "http://127.0.0.1:0" {
			t.Fatalf("site_url %q, want http://<http-addr>", env.SiteURL)
		}
		if err := p.stop(t, syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("Flag", func(t *testing.T) {
		p := startServe(t, filepath.Join(t.TempDir(), "data"), "--public-url", "https://Wallet.example.com/walletd/")
		if ws := warnings(p); len(ws) != 0 {
			t.Fatalf("warnings with --public-url: %v", ws)
		}
		if rec := p.logRecords("walletd serving"); len(rec) != 1 || rec[0]["public_url"] != "https://Wallet.example.com/walletd" {
			t.Fatalf("serving log %v", rec)
		}
		m, env := lastEvent(t, p)
		if env.SiteURL != "https://Wallet.example.com/walletd" {
			t.Fatalf("site_url %q", env.SiteURL)
		}
		// The event is on its wallet's subject, in its partition.
		if sp, ok := events.ParseSubject("walletd", m.Subject); !ok || sp.Partition != fmt.Sprint(events.Partition(sp.Wallet, 8)) || sp.Key != "wallet.credited" {
			t.Fatalf("subject %s", m.Subject)
		}
		if err := p.stop(t, syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("Env", func(t *testing.T) {
		t.Setenv("WALLETD_PUBLIC_URL", "http://wallet.internal:8080")
		p := startServe(t, filepath.Join(t.TempDir(), "data"))
		if ws := warnings(p); len(ws) != 0 {
			t.Fatalf("warnings with WALLETD_PUBLIC_URL: %v", ws)
		}
		if _, env := lastEvent(t, p); env.SiteURL != "http://wallet.internal:8080" {
			t.Fatalf("site_url %q", env.SiteURL)
		}
		if err := p.stop(t, syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("DeprecatedSiteURL", func(t *testing.T) {
		p := startServe(t, filepath.Join(t.TempDir(), "data"), "--site-url", "https://old.example.com")
		ws := warnings(p)
		if len(ws) != 1 || !strings.Contains(ws[0]["msg"].(string), "--site-url is deprecated: use --public-url") {
			t.Fatalf("want one deprecation warning naming --public-url, got %v", ws)
		}
		if _, env := lastEvent(t, p); env.SiteURL != "https://old.example.com" {
			t.Fatalf("site_url %q", env.SiteURL)
		}
		if err := p.stop(t, syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("Refused", func(t *testing.T) {
		for _, tt := range []struct{ name, value string }{
			{"NoScheme", "wallet.example.com"},
			{"Relative", "/walletd"},
			{"OtherScheme", "ftp://wallet.example.com"},
			{"NoHost", "https://"},
			{"Query", "https://wallet.example.com/?a=1"},
			{"Fragment", "https://wallet.example.com/#top"},
			{"UserInfo", "https://user:secret@wallet.example.com"},
			{"Space", "https://wallet.example.com/a b"},
			{"BadPort", "https://wallet.example.com:http"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				dir := filepath.Join(t.TempDir(), "data")
				out, err := exec.Command(binary, "serve", "--data-dir", dir, "--http-addr", "127.0.0.1:0", "--nats-addr", "127.0.0.1:0",
					"--public-url", tt.value).CombinedOutput()
				if err == nil || !strings.Contains(string(out), "--public-url") || !strings.Contains(string(out), "absolute http or https URL") {
					t.Fatalf("--public-url %q: err=%v\n%s", tt.value, err, out)
				}
				if _, err := os.Stat(dir); !os.IsNotExist(err) {
					t.Fatalf("the data dir was made before the flag was checked: %v", err)
				}
			})
		}
		t.Run("Disagree", func(t *testing.T) {
			out, err := exec.Command(binary, "serve", "--data-dir", filepath.Join(t.TempDir(), "data"), "--http-addr", "127.0.0.1:0",
				"--nats-addr", "127.0.0.1:0", "--public-url", "https://a.example.com", "--site-url", "https://b.example.com").CombinedOutput()
			if err == nil || !strings.Contains(string(out), "disagree") {
				t.Fatalf("err=%v\n%s", err, out)
			}
		})
	})
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
	ctx := context.Background()
	srv := &bus.Server{Addr: "127.0.0.1:0", StoreDir: filepath.Join(dir, "nats")}
	if err := srv.Open(); err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
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
		key, ok := events.KeyFromSubject("walletd", m.Subject)
		if !ok {
			t.Fatalf("subject %s", m.Subject)
		}
		old := nats.NewMsg("walletd." + key)
		old.Header, old.Data = m.Header, m.Data
		if _, err := js.PublishMsg(ctx, old, jetstream.WithExpectLastSequence(uint64(i))); err != nil {
			t.Fatal(err)
		}
	}
	nc.Close()
	srv.Close()
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
	nc2, err := nats.Connect(p2.natsURL(t))
	if err != nil {
		t.Fatal(err)
	}
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
		if info.State.Msgs < uint64(len(msgs))+3 {
			return fmt.Errorf("%d messages", info.State.Msgs)
		}
		for seq := uint64(1); seq <= info.State.LastSeq; seq++ {
			m, err := s.GetMsg(ctx, seq)
			if err != nil {
				return err
			}
			sp, ok := events.ParseSubject("walletd", m.Subject)
			if !ok || sp.Legacy != (seq <= uint64(len(msgs))) || m.Header.Get(nats.MsgIdHdr) == "" {
				return fmt.Errorf("message %d on %s", seq, m.Subject)
			}
		}
		return nil
	})
	if err := p2.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
}
