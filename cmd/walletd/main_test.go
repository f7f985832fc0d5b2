package main_test

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
	"github.com/nats-io/nats.go"
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
	dir   string // the data dir
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
	p := &proc{cmd: cmd, dir: dataDir, done: make(chan error, 1), logs: &strings.Builder{}}
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

// natsConnect connects to the embedded NATS server as walletd's publisher
// identity (the only one that may read every message by sequence).
func (p *proc) natsConnect(tb testing.TB) *nats.Conn {
	tb.Helper()
	opt, err := nats.NkeyOptionFromSeed(filepath.Join(p.dir, "nats-auth", "walletd.nk"))
	if err != nil {
		tb.Fatal(err)
	}
	nc, err := nats.Connect(p.natsURL(tb), opt, nats.CustomInboxPrefix("_INBOX_walletd"))
	if err != nil {
		tb.Fatal(err)
	}
	return nc
}

// natsSubscriber creates a read-only subscriber identity on subjects with
// `walletd nats-user create`, as docs/operations.md tells an operator,
// and connects with it once serve has reloaded its identities.
func (p *proc) natsSubscriber(tb testing.TB, name, subjects string) *nats.Conn {
	tb.Helper()
	url := p.natsURL(tb)
	out, err := exec.Command(binary, "nats-user", "create", name, "--subjects", subjects, "--url", url, "--data-dir", p.dir).CombinedOutput()
	if err != nil {
		tb.Fatalf("nats-user create: %v\n%s", err, out)
	}
	var nctx struct {
		NKey        string `json:"nkey"`
		InboxPrefix string `json:"inbox_prefix"`
	}
	b, err := os.ReadFile(filepath.Join(p.dir, "nats-auth", "subscribers", name+".json"))
	if err != nil {
		tb.Fatal(err)
	} else if err := json.Unmarshal(b, &nctx); err != nil {
		tb.Fatal(err)
	}
	opt, err := nats.NkeyOptionFromSeed(nctx.NKey)
	if err != nil {
		tb.Fatal(err)
	}
	var nc *nats.Conn
	walletdtest.CheckFor(tb, 10*time.Second, 100*time.Millisecond, func() error {
		nc, err = nats.Connect(url, opt, nats.CustomInboxPrefix(nctx.InboxPrefix), nats.MaxReconnects(0))
		return err
	})
	return nc
}
