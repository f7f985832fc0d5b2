package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/walletd/walletd/events"
	"github.com/walletd/walletd/walletdtest"
)

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
		nc := p.natsConnect(t)
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
