package main_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/walletd/walletd/events/bus"
	"github.com/walletd/walletd/walletdtest"
)

// TestServe_AdoptUnsignedStream upgrades a data dir whose stream was
// written before walletd signed its messages: serve without the flag
// says what to do and is not ready (the relay proves nothing there);
// serve --adopt-unsigned-stream checks the old messages against the
// ledger, records the mark (0600) and goes on; read models rebuilt from
// the stream have the old events and the new ones; the mark holds across
// restarts.
func TestServe_AdoptUnsignedStream(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	p := startServe(t, dir)
	var w struct{ ID string }
	if _, err := p.call("POST", "/v1/wallets", `{"user_id":"103","email":"jane@example.com","currency":"USD"}`, "", &w); err != nil {
		t.Fatal(err)
	}
	for _, amount := range []string{"1.00", "2.00"} {
		if _, err := p.call("POST", "/v1/wallets/"+w.ID+"/credit", `{"amount":"`+amount+`"}`, "", nil); err != nil {
			t.Fatal(err)
		}
	}
	walletdtest.CheckFor(t, 10*time.Second, 50*time.Millisecond, func() error { return streamMsgs(t, p, 3) })
	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}

	// What an earlier walletd left: the same messages without the MAC.
	rewriteStream(t, dir, func(_ int, m *jetstream.RawStreamMsg) *nats.Msg {
		old := nats.NewMsg(m.Subject)
		for _, k := range []string{nats.MsgIdHdr, bus.HeaderSeq, bus.HeaderIndex} {
			old.Header.Set(k, m.Header.Get(k))
		}
		old.Data = m.Data
		return old
	})

	p = startServe(t, dir)
	if len(p.logRecords("--adopt-unsigned-stream")) == 0 {
		t.Fatalf("serve does not say what to do:\n%s", p.Logs())
	}
	walletdtest.CheckFor(t, 10*time.Second, 50*time.Millisecond, func() error {
		if code, _ := p.call("GET", "/readyz", "", "", nil); code != http.StatusServiceUnavailable {
			return fmt.Errorf("/readyz %d before the adoption", code)
		}
		return nil
	})
	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}

	// Adopt, with read models rebuilt from the stream.
	for _, f := range []string{"projections.db", "projections.db-wal", "projections.db-shm"} {
		os.Remove(filepath.Join(dir, f))
	}
	p = startServe(t, dir, "--adopt-unsigned-stream")
	if len(p.logRecords("adopted the stream's unsigned messages")) != 1 {
		t.Fatalf("no adoption logged:\n%s", p.Logs())
	}
	mustMode(t, filepath.Join(dir, "relay-unsigned.json"), 0o600)
	var last struct {
		Seq uint64 `json:"seq"`
	}
	if _, err := p.call("POST", "/v1/wallets/"+w.ID+"/credit", `{"amount":"4.00"}`, "", &last); err != nil {
		t.Fatal(err)
	}
	wantHistory := func(p *proc) {
		t.Helper()
		var hist struct {
			Items []struct {
				BalanceAfter string `json:"balance_after"`
			} `json:"items"`
		}
		if _, err := p.call("GET", fmt.Sprintf("/v1/wallets/%s/transactions?min_seq=%d", w.ID, last.Seq), "", "", &hist); err != nil {
			t.Fatal(err)
		}
		if len(hist.Items) != 3 || hist.Items[0].BalanceAfter != "7.00" || hist.Items[2].BalanceAfter != "1.00" {
			t.Fatalf("history %+v", hist.Items)
		}
		if code, err := p.call("GET", "/readyz", "", "", nil); code != http.StatusOK {
			t.Fatalf("/readyz %d: %v", code, err)
		}
	}
	wantHistory(p)
	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p = startServe(t, dir) // the mark stays
	wantHistory(p)
	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
}

// streamMsgs fails unless the stream of p holds at least n messages.
func streamMsgs(tb testing.TB, p *proc, n uint64) error {
	nc := p.natsConnect(tb)
	defer nc.Close()
	js, _ := jetstream.New(nc)
	s, err := js.Stream(context.Background(), "WALLETD")
	if err != nil {
		return err
	}
	if got := s.CachedInfo().State.Msgs; got < n {
		return fmt.Errorf("%d messages in the stream", got)
	}
	return nil
}
