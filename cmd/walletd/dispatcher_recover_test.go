package main_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/walletd/walletd/events"
	"github.com/walletd/walletd/ledger/sqlite"
	"github.com/walletd/walletd/walletdtest"
)

// TestDispatcher_OutOfProcessRecoversFromTheLedger: serve --webhooks=false
// with a stream of 4 KiB, and walletd dispatcher as a process of its own.
// While the dispatcher is stopped the stream drops events it had not
// recorded; at its restart it reads them from ledger.db (read-only, beside
// serve) and every wallet.credited event reaches the endpoint once, its
// body byte for byte the envelope serve's relay publishes (the same
// --public-url), and walletd_consumer_recoveries_total{consumer="webhooks"}
// counts the recovery.
func TestDispatcher_OutOfProcessRecoversFromTheLedger(t *testing.T) {
	const publicURL = "https://wallet.example.com/shop"
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	var mu sync.Mutex
	var bodies []string
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
	}))
	defer rc.Close()
	// received returns the bodies of the events named ev, by event id.
	received := func(ev string) map[string][]string {
		mu.Lock()
		defer mu.Unlock()
		out := map[string][]string{}
		for _, b := range bodies {
			var env struct{ ID, Event string }
			if json.Unmarshal([]byte(b), &env) == nil && env.Event == ev {
				out[env.ID] = append(out[env.ID], b)
			}
		}
		return out
	}

	p := startServe(t, dir, "--webhooks=false", "--webhook-allow-cidrs", "127.0.0.0/8", "--nats-max-bytes", "4KiB", "--public-url", publicURL)
	natsURL := p.natsURL(t)
	nc := p.natsConnect(t)
	defer nc.Close()
	js, _ := jetstream.New(nc)
	stream := func() jetstream.StreamState {
		t.Helper()
		s, err := js.Stream(ctx, "WALLETD")
		if err != nil {
			t.Fatal(err)
		}
		info, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return info.State
	}
	var ep struct{ ID string }
	if code, err := p.call("POST", "/v1/webhook-endpoints", `{"url":"`+rc.URL+`/hook","events":["wallet.credited"]}`, "", &ep); err != nil || ep.ID == "" {
		t.Fatalf("create endpoint: %d %v", code, err)
	}
	var w struct{ ID string }
	if _, err := p.call("POST", "/v1/wallets", `{"user_id":"106","email":"kim@example.com","currency":"USD"}`, "", &w); err != nil {
		t.Fatal(err)
	}
	credit := func(amount string) {
		t.Helper()
		if code, err := p.call("POST", "/v1/wallets/"+w.ID+"/credit", `{"amount":"`+amount+`","type":"topup"}`, "", nil); err != nil {
			t.Fatalf("credit: %d %v", code, err)
		}
	}
	waitCredited := func(n int) {
		t.Helper()
		walletdtest.CheckFor(t, 30*time.Second, 50*time.Millisecond, func() error {
			if got := received(events.WalletCredited); len(got) != n {
				return fmt.Errorf("%d wallet.credited events received, want %d", len(got), n)
			}
			return nil
		})
	}

	d := startDispatcher(t, "--nats-url", natsURL, "--data-dir", dir, "--webhook-allow-cidrs", "127.0.0.0/8",
		"--public-url", publicURL, "--metrics-addr", "127.0.0.1:0")
	credit("1.00")
	waitCredited(1)
	d.stop(t)
	if !strings.Contains(d.logs(), `"recovers_from_ledger":true`) {
		t.Fatalf("the dispatcher does not say it recovers from the ledger:\n%s", d.logs())
	}
	after := stream().LastSeq

	// With the dispatcher stopped, enough events that the 4 KiB stream
	// drops those after its position.
	for i := 2; i <= 12; i++ {
		credit(fmt.Sprintf("%d.00", i))
	}
	walletdtest.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		if st := stream(); st.FirstSeq <= after+1 || st.LastSeq < after+11 {
			return fmt.Errorf("stream first seq %d, last %d: want the messages after %d dropped", st.FirstSeq, st.LastSeq, after)
		}
		return nil
	})

	d = startDispatcher(t, "--nats-url", natsURL, "--data-dir", dir, "--webhook-allow-cidrs", "127.0.0.0/8",
		"--metrics-addr", "127.0.0.1:0", "--public-url", publicURL)
	waitCredited(12)
	credit("13.00") // from the stream again
	waitCredited(13)
	time.Sleep(300 * time.Millisecond) // room for a duplicate to arrive
	metrics := d.get(t, "/metrics")
	if !strings.Contains(metrics, `walletd_consumer_recoveries_total{consumer="webhooks"} 1`) {
		t.Errorf("recoveries not counted:\n%s", grepLines(metrics, "walletd_consumer_recoveries_total"))
	}
	if !strings.Contains(d.logs(), "recovered from the ledger") {
		t.Errorf("the dispatcher does not log its recovery:\n%s", d.logs())
	}

	// The envelopes serve's relay published (those the stream still holds)
	// and the ledger's, with serve's --public-url, are the bodies received,
	// one per event.
	ldb, err := sqlite.OpenReadOnly(ctx, filepath.Join(dir, "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer ldb.Close()
	recs, err := sqlite.NewOutbox(ldb, publicURL).After(ctx, 0, -1, 1000)
	if err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(ctx, "WALLETD")
	if err != nil {
		t.Fatal(err)
	}
	got := received(events.WalletCredited)
	credited, inStream := 0, 0
	for _, rec := range recs {
		if rec.Key() != events.WalletCredited {
			continue
		}
		credited++
		if b := got[rec.Envelope.ID]; len(b) != 1 || b[0] != string(rec.Body()) {
			t.Errorf("event %s (seq %d): received %d times %q, want once\n%s", rec.Envelope.ID, rec.Seq, len(b), b, rec.Body())
		}
		m, err := s.GetLastMsgForSubject(ctx, "walletd.w.*."+w.ID+".wallet.credited")
		if err != nil {
			t.Fatal(err)
		}
		if m.Header.Get("Nats-Msg-Id") == rec.Envelope.ID {
			inStream++
			if !bytes.Equal(m.Data, rec.Body()) {
				t.Errorf("serve published event %s as\n%s\nthe ledger's envelope is\n%s", rec.Envelope.ID, m.Data, rec.Body())
			}
		}
	}
	if credited != 13 || len(got) != 13 || inStream != 1 {
		t.Fatalf("%d credits in the ledger, %d events received, %d compared with the stream; want 13, 13, 1", credited, len(got), inStream)
	}
	d.stop(t)
	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v\n%s", err, p.Logs())
	}
}

// TestDispatcher_PublicURL: walletd dispatcher takes serve's --public-url
// flags, WALLETD_PUBLIC_URL and validation; without them it warns that
// what it recovers carries serve's default site_url, and warns again when
// the stream's events carry another.
func TestDispatcher_PublicURL(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	for _, bad := range []string{"ftp://wallet.example.com", "wallet.example.com", "https://u:p@wallet.example.com", "https://wallet.example.com/?a=1", "https://"} {
		cmd := exec.Command(binary, "dispatcher", "--data-dir", dir, "--public-url", bad)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), `--public-url "`+bad+`"`) {
			t.Errorf("--public-url %q: %v\n%s", bad, err, out)
		}
	}
	out, err := exec.Command(binary, "dispatcher", "--data-dir", dir, "--public-url", "https://a.example.com", "--site-url", "https://b.example.com").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "disagree") {
		t.Errorf("--public-url and --site-url that disagree: %v\n%s", err, out)
	}

	// serve with a --public-url, the dispatcher without: it warns at start,
	// and again when the stream's first event names serve's.
	p := startServe(t, dir, "--webhooks=false", "--public-url", "https://wallet.example.com")
	natsURL := p.natsURL(t)
	var w struct{ ID string }
	if _, err := p.call("POST", "/v1/wallets", `{"user_id":"107","email":"lee@example.com","currency":"USD"}`, "", &w); err != nil {
		t.Fatal(err)
	}
	credit := func() {
		t.Helper()
		if code, err := p.call("POST", "/v1/wallets/"+w.ID+"/credit", `{"amount":"1.00","type":"topup"}`, "", nil); err != nil {
			t.Fatalf("credit: %d %v", code, err)
		}
	}
	const mismatch = "the stream's events carry another site_url"
	d := startDispatcher(t, "--nats-url", natsURL, "--data-dir", dir)
	credit()
	walletdtest.CheckFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		if !strings.Contains(d.logs(), mismatch) {
			return fmt.Errorf("no warning of the stream's site_url")
		}
		return nil
	})
	d.stop(t)
	if !strings.Contains(d.logs(), "--public-url is not set") || !strings.Contains(d.logs(), `"public_url":"http://127.0.0.1:8080"`) ||
		!strings.Contains(d.logs(), "give this dispatcher serve's --public-url") ||
		!strings.Contains(d.logs(), `"stream_site_url":"https://wallet.example.com"`) {
		t.Errorf("no warning without --public-url:\n%s", d.logs())
	}
	d = startDispatcher(t, "WALLETD_PUBLIC_URL=https://wallet.example.com/", "--nats-url", natsURL, "--data-dir", dir)
	credit()
	// It read that credit from the stream: its stored position reached the
	// stream's last message.
	nc := p.natsConnect(t)
	defer nc.Close()
	js, _ := jetstream.New(nc)
	wdb, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "webhooks.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer wdb.Close()
	walletdtest.CheckFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		s, err := js.Stream(context.Background(), "WALLETD")
		if err != nil {
			return err
		}
		info, err := s.Info(context.Background())
		if err != nil {
			return err
		}
		var recorded uint64
		if err := wdb.QueryRow(`SELECT COALESCE((SELECT value FROM meta WHERE key = 'dispatch_stream_seq'), '0')`).Scan(&recorded); err != nil {
			return err
		}
		if recorded < info.State.LastSeq {
			return fmt.Errorf("the dispatcher is at stream seq %d, the stream at %d", recorded, info.State.LastSeq)
		}
		return nil
	})
	d.stop(t)
	if strings.Contains(d.logs(), "--public-url is not set") || strings.Contains(d.logs(), mismatch) ||
		!strings.Contains(d.logs(), `"public_url":"https://wallet.example.com"`) {
		t.Errorf("WALLETD_PUBLIC_URL not taken:\n%s", d.logs())
	}
	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v\n%s", err, p.Logs())
	}
}

// dispatcherProc is a running walletd dispatcher.
type dispatcherProc struct {
	cmd     *exec.Cmd
	done    chan error
	mu      sync.Mutex
	log     bytes.Buffer
	metrics string // its --metrics-addr, once it serves
}

// startDispatcher starts walletd dispatcher with args (those of the form
// NAME=VALUE before the first flag are its environment) and waits until
// it runs.
func startDispatcher(tb testing.TB, args ...string) *dispatcherProc {
	tb.Helper()
	var env []string
	for len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		env, args = append(env, args[0]), args[1:]
	}
	d := &dispatcherProc{cmd: exec.Command(binary, append([]string{"dispatcher"}, args...)...), done: make(chan error, 1)}
	d.cmd.Env = append(d.cmd.Environ(), env...)
	stderr, err := d.cmd.StderrPipe()
	if err != nil {
		tb.Fatal(err)
	}
	d.cmd.Stdout = io.Discard
	if err := d.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	running := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var rec struct{ Msg, Addr string }
			json.Unmarshal(sc.Bytes(), &rec)
			d.mu.Lock()
			d.log.WriteString(sc.Text() + "\n")
			if rec.Msg == "metrics serving" {
				d.metrics = rec.Addr
			}
			d.mu.Unlock()
			if rec.Msg == "walletd dispatcher running" {
				close(running)
			}
		}
		d.done <- d.cmd.Wait()
	}()
	select {
	case <-running:
	case err := <-d.done:
		tb.Fatalf("walletd dispatcher exited early: %v\n%s", err, d.logs())
	case <-time.After(30 * time.Second):
		d.cmd.Process.Kill()
		tb.Fatalf("walletd dispatcher did not start\n%s", d.logs())
	}
	tb.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			d.cmd.Process.Kill()
		}
	})
	return d
}

func (d *dispatcherProc) logs() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.log.String()
}

// stop sends SIGTERM and wants exit status 0.
func (d *dispatcherProc) stop(tb testing.TB) {
	tb.Helper()
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		if err != nil {
			tb.Fatalf("walletd dispatcher exit: %v\n%s", err, d.logs())
		}
	case <-time.After(20 * time.Second):
		d.cmd.Process.Kill()
		tb.Fatalf("walletd dispatcher did not stop\n%s", d.logs())
	}
}

// get reads path from the dispatcher's metrics server.
func (d *dispatcherProc) get(tb testing.TB, path string) string {
	tb.Helper()
	d.mu.Lock()
	addr := d.metrics
	d.mu.Unlock()
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
