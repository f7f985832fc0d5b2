package main_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/walletd/walletd/walletdtest"
)

// TestNATSUser: the embedded server refuses anonymous connections; an
// identity made with `walletd nats-user create` on a running serve reads
// its subjects and cannot publish on walletd.>; `revoke` cuts it off on
// the running server.
func TestNATSUser(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	p := startServe(t, dir)
	url := p.natsURL(t)
	ctx := context.Background()

	t.Run("ErrAnonymous", func(t *testing.T) {
		nc, err := nats.Connect(url, nats.MaxReconnects(0))
		if err == nil {
			nc.Close()
			t.Fatal("an anonymous connection was accepted")
		}
		if !strings.Contains(strings.ToLower(err.Error()), "authorization violation") {
			t.Fatalf("anonymous: %v", err)
		}
	})
	for _, f := range []string{"users.json", "walletd.nk", "projector.nk", "dispatcher.nk"} {
		mustMode(t, filepath.Join(dir, "nats-auth", f), 0o600)
	}

	natsUser := func(args ...string) (string, error) {
		out, err := exec.Command(binary, append([]string{"nats-user"}, append(args, "--data-dir", dir)...)...).CombinedOutput()
		return string(out), err
	}
	out, err := natsUser("create", "erp", "--subjects", "walletd.w.*.*.wallet.credited,walletd.sys.>", "--url", url)
	if err != nil || !strings.Contains(out, "created NATS identity erp") {
		t.Fatalf("create: %v\n%s", err, out)
	}
	seed, ctxFile := filepath.Join(dir, "nats-auth", "subscribers", "erp.nk"), filepath.Join(dir, "nats-auth", "subscribers", "erp.json")
	mustMode(t, seed, 0o600)
	mustMode(t, ctxFile, 0o600)
	var nctx struct {
		URL         string `json:"url"`
		NKey        string `json:"nkey"`
		InboxPrefix string `json:"inbox_prefix"`
	}
	b, _ := os.ReadFile(ctxFile)
	if err := json.Unmarshal(b, &nctx); err != nil || nctx.URL != url || nctx.NKey == "" || nctx.InboxPrefix == "" {
		t.Fatalf("context file %s: %v", b, err)
	}

	// Connect as the NATS CLI would from the context file.
	var mu sync.Mutex
	var asyncErrs []string
	opt, err := nats.NkeyOptionFromSeed(nctx.NKey)
	if err != nil {
		t.Fatal(err)
	}
	var sub *nats.Conn
	walletdtest.CheckFor(t, 10*time.Second, 100*time.Millisecond, func() error { // serve reloads the identities
		sub, err = nats.Connect(nctx.URL, opt, nats.CustomInboxPrefix(nctx.InboxPrefix), nats.MaxReconnects(0),
			nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
				mu.Lock()
				asyncErrs = append(asyncErrs, err.Error())
				mu.Unlock()
			}))
		return err
	})
	defer sub.Close()
	live, err := sub.SubscribeSync("walletd.w.*.*.wallet.credited")
	if err != nil {
		t.Fatal(err)
	}
	sub.Flush()

	var w struct{ ID string }
	if _, err := p.call("POST", "/v1/wallets", `{"user_id":"103","email":"jane@example.com","currency":"USD"}`, "", &w); err != nil {
		t.Fatal(err)
	}
	if _, err := p.call("POST", "/v1/wallets/"+w.ID+"/credit", `{"amount":"5.00"}`, "", nil); err != nil {
		t.Fatal(err)
	}
	if m, err := live.NextMsg(10 * time.Second); err != nil || !strings.HasSuffix(m.Subject, "."+w.ID+".wallet.credited") {
		t.Fatalf("the subscriber's event: %v", err)
	}

	t.Run("ErrPublish", func(t *testing.T) {
		pub := p.natsConnect(t)
		defer pub.Close()
		pjs, _ := jetstream.New(pub)
		stream, err := pjs.Stream(ctx, "WALLETD")
		if err != nil {
			t.Fatal(err)
		}
		before := stream.CachedInfo().State.Msgs
		m := nats.NewMsg("walletd.w.0." + w.ID + ".wallet.credited")
		m.Data = []byte(`{"event":"wallet.credited","data":{"amount":"1000000.00"}}`)
		m.Header.Set("Walletd-Seq", "999999")
		if err := sub.PublishMsg(m); err != nil {
			t.Fatal(err)
		}
		sub.Flush()
		walletdtest.CheckFor(t, 5*time.Second, 20*time.Millisecond, func() error {
			mu.Lock()
			defer mu.Unlock()
			for _, e := range asyncErrs {
				if strings.Contains(e, "Permissions Violation for Publish") {
					return nil
				}
			}
			return errors.New("no permissions violation")
		})
		info, err := stream.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Msgs != before {
			t.Fatalf("the stream went from %d to %d messages", before, info.State.Msgs)
		}
	})

	t.Run("List", func(t *testing.T) {
		out, err := natsUser("list")
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"walletd  ", "publisher", "projector", "dispatcher", "erp", "subscriber", "walletd.sys.>"} {
			if !strings.Contains(out, want) {
				t.Fatalf("list lacks %q:\n%s", want, out)
			}
		}
		for _, f := range []string{seed, filepath.Join(dir, "nats-auth", "walletd.nk")} {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(out, strings.TrimSpace(string(b))) {
				t.Fatalf("list shows the seed of %s:\n%s", f, out)
			}
		}
	})

	t.Run("Refused", func(t *testing.T) {
		for _, args := range [][]string{
			{"create", "Bad Name"},
			{"create", strings.Repeat("a", 100)},
			{"create", "walletd"},
			{"create", "erp"},
			{"create", "x", "--subjects", "walletd..x"},
			{"create", "x", "--subjects", "$JS.API.>"},
			{"create", "x", "--subjects", "walletd.>.x"},
			{"revoke", "nobody"},
			{"revoke", "projector"},
			{"create"},
			{"frobnicate"},
		} {
			if out, err := natsUser(args...); err == nil {
				t.Fatalf("%v succeeded:\n%s", args, out)
			} else if len(out) > 1000 {
				t.Fatalf("%v: the message echoes the input:\n%s", args, out)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "nats-auth", "subscribers", "x.nk")); !os.IsNotExist(err) {
			t.Fatalf("a refused create left a seed: %v", err)
		}
	})

	t.Run("Revoke", func(t *testing.T) {
		out, err := natsUser("revoke", "erp")
		if err != nil {
			t.Fatalf("revoke: %v\n%s", err, out)
		}
		walletdtest.CheckFor(t, 10*time.Second, 50*time.Millisecond, func() error {
			if sub.IsConnected() {
				return errors.New("the revoked identity is still connected")
			}
			return nil
		})
		if nc, err := nats.Connect(url, opt, nats.MaxReconnects(0)); err == nil {
			nc.Close()
			t.Fatal("the revoked identity connected again")
		}
		if _, err := os.Stat(seed); !os.IsNotExist(err) {
			t.Fatalf("the revoked seed is still in the data dir: %v", err)
		}
		// walletd goes on.
		if _, err := p.call("POST", "/v1/wallets/"+w.ID+"/credit", `{"amount":"1.00"}`, "", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := p.call("GET", "/readyz", "", "", nil); err != nil {
			t.Fatalf("readyz after the revocation: %v", err)
		}
	})
	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
}

// TestServe_NATSExposure: serve refuses an embedded NATS server beyond
// loopback without TLS, naming the flags, before it writes anything.
func TestServe_NATSExposure(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":4222", "[::]:0"} {
		dir := filepath.Join(t.TempDir(), "data")
		out, err := exec.Command(binary, "serve", "--data-dir", dir, "--http-addr", "127.0.0.1:0", "--nats-addr", addr).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "--nats-server-tls-cert") || !strings.Contains(string(out), "beyond loopback") {
			t.Fatalf("--nats-addr %s: %v\n%s", addr, err, out)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Fatalf("the data dir was made: %v", err)
		}
	}
	out, err := exec.Command(binary, "serve", "--data-dir", filepath.Join(t.TempDir(), "data"), "--http-addr", "127.0.0.1:0",
		"--nats-addr", "127.0.0.1:0", "--nats-server-tls-cert", "x.pem").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "go together") {
		t.Fatalf("a certificate without its key: %v\n%s", err, out)
	}
}

// mustMode fails unless path has mode perm.
func mustMode(tb testing.TB, path string, perm os.FileMode) {
	tb.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		tb.Fatal(err)
	}
	if fi.Mode().Perm() != perm {
		tb.Fatalf("%s has mode %v, want %v", path, fi.Mode().Perm(), perm)
	}
}
