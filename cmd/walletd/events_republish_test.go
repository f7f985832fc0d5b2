package main_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/walletd/walletd/events/bus"
)

// TestEvents_Republish: serve bounds the stream with --nats-max-age and
// --nats-max-bytes and keeps relay.pos (0600); `walletd events republish`
// refuses bad ranges and a running serve, and with serve stopped puts the
// range in the stream again, marked, which the next serve's relay passes
// over: it publishes what comes next once, with no alert.
func TestEvents_Republish(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	p := startServe(t, dir, "--nats-max-age", "48h", "--nats-max-bytes", "64MiB", "--nats-dup-window", "1s")
	var w struct{ ID string }
	if _, err := p.call("POST", "/v1/wallets", `{"user_id":"103","email":"jane@example.com","currency":"USD"}`, "", &w); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		if _, err := p.call("POST", "/v1/wallets/"+w.ID+"/credit", `{"amount":"1.00","type":"topup"}`, "", nil); err != nil {
			t.Fatal(err)
		}
	}
	info := streamOf(t, p)
	if info.Config.MaxAge != 48*time.Hour || info.Config.MaxBytes != 64<<20 {
		t.Fatalf("stream limits: max age %v, max bytes %d", info.Config.MaxAge, info.Config.MaxBytes)
	}
	republish := func(args ...string) (string, error) {
		out, err := exec.Command(binary, append([]string{"events", "republish", "--data-dir", dir, "--nats-addr", "127.0.0.1:0",
			"--http-addr", "127.0.0.1:0", "--nats-dup-window", "1s", "--nats-max-age", "48h", "--nats-max-bytes", "64MiB"}, args...)...).CombinedOutput()
		return string(out), err
	}
	if out, err := republish("--from-seq", "1"); err == nil || !strings.Contains(out, "stop walletd serve first") {
		t.Fatalf("republish while serve runs: %v\n%s", err, out)
	}
	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "relay.pos")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("relay.pos: %v, %v", fi, err)
	}
	for _, bad := range [][]string{{}, {"--from-seq", "0"}, {"--from-seq", "3", "--to-seq", "2"}, {"--from-seq", "999"}, {"--from-seq", "-1"}, {"--from-seq", "1e3"}} {
		if out, err := republish(bad...); err == nil {
			t.Fatalf("republish %v: no error\n%s", bad, out)
		}
	}
	time.Sleep(1100 * time.Millisecond) // past the duplicate window
	out, err := republish("--from-seq", "2", "--to-seq", "3")
	if err != nil || !strings.Contains(out, "republished 2 events of ledger seq 2..3") {
		t.Fatalf("republish: %v\n%s", err, out)
	}

	p = startServe(t, dir, "--nats-max-age", "48h", "--nats-max-bytes", "64MiB", "--nats-dup-window", "1s")
	if _, err := p.call("POST", "/v1/wallets/"+w.ID+"/credit", `{"amount":"1.00","type":"topup"}`, "", nil); err != nil {
		t.Fatal(err)
	}
	var own, again int
	seen := map[string]bool{}
	bodies := map[string]string{}
	deadline := time.Now().Add(10 * time.Second)
	for {
		own, again = 0, 0
		clear(seen)
		info := streamOf(t, p)
		for _, m := range streamMessages(t, p, info) {
			id := m.Header.Get("Nats-Msg-Id")
			if m.Header.Get(bus.HeaderRepublished) != "" {
				if bodies[id] != string(m.Data) {
					t.Fatalf("republished %s:\n%s\nthe relay published\n%s", id, m.Data, bodies[id])
				}
				again++
				continue
			}
			bodies[id] = string(m.Data)
			if seen[id] {
				t.Fatalf("the relay published %s twice", id)
			}
			seen[id] = true
			own++
		}
		if own == 6 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if own != 6 || again != 2 {
		t.Fatalf("the stream holds %d relay messages (want 6: a wallet and 5 credits) and %d republished (want 2)", own, again)
	}
	if strings.Contains(p.Logs(), "ALERT") {
		t.Fatalf("alert after republish:\n%s", p.Logs())
	}
}

func streamOf(tb testing.TB, p *proc) *jetstream.StreamInfo {
	tb.Helper()
	nc := p.natsConnect(tb)
	tb.Cleanup(nc.Close)
	js, err := jetstream.New(nc, jetstream.WithDefaultTimeout(5*time.Second))
	if err != nil {
		tb.Fatal(err)
	}
	s, err := js.Stream(context.Background(), "WALLETD")
	if err != nil {
		tb.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return info
}

func streamMessages(tb testing.TB, p *proc, info *jetstream.StreamInfo) []*jetstream.RawStreamMsg {
	tb.Helper()
	nc := p.natsConnect(tb)
	defer nc.Close()
	js, _ := jetstream.New(nc)
	s, err := js.Stream(context.Background(), "WALLETD")
	if err != nil {
		tb.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for n := info.State.FirstSeq; n <= info.State.LastSeq && info.State.Msgs > 0; n++ {
		m, err := s.GetMsg(context.Background(), n)
		if err != nil {
			tb.Fatal(fmt.Errorf("stream message %d: %w", n, err))
		}
		out = append(out, m)
	}
	return out
}
