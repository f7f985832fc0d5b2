package main_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/walletd/walletd/walletdtest"
)

// TestNATSUser_Consumers: subscribers made with `walletd nats-user
// create` on a running serve each have consumers of their own. Connected
// from their NATS CLI context files, as the nats CLI does, each one
// subscribes live, makes its durable, pulls and acknowledges (nats sub,
// nats consumer add, nats consumer next), and cannot read the info of,
// pull from or delete the other's durable, whose name it knows.
func TestNATSUser_Consumers(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	p := startServe(t, dir)
	url := p.natsURL(t)
	ctx := context.Background()
	natsUser := func(args ...string) (string, error) {
		out, err := exec.Command(binary, append([]string{"nats-user"}, append(args, "--data-dir", dir)...)...).CombinedOutput()
		return string(out), err
	}
	if out, err := natsUser("create", "erp", "--subjects", "walletd.w.>", "--url", url); err != nil || !strings.Contains(out, "its consumers (no other): erp\n") {
		t.Fatalf("create erp: %v\n%s", err, out)
	}
	if out, err := natsUser("create", "crm", "--subjects", "walletd.w.>,walletd.sys.>", "--consumers", "crm-live,crm-audit", "--url", url); err != nil ||
		!strings.Contains(out, "its consumers (no other): crm-live, crm-audit\n") {
		t.Fatalf("create crm: %v\n%s", err, out)
	}
	for _, args := range [][]string{
		{"create", "x", "--consumers", "erp"},         // erp's
		{"create", "x", "--consumers", "crm-audit"},   // crm's
		{"create", "x", "--consumers", "projections"}, // walletd's
		{"create", "x", "--consumers", "webhooks"},
		{"create", "x", "--consumers", "a.b"},
		{"create", "x", "--consumers", "a,a"},
		{"create", "x", "--consumers", "*"},
	} {
		if out, err := natsUser(args...); err == nil {
			t.Fatalf("%v succeeded:\n%s", args, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "nats-auth", "subscribers", "x.nk")); !os.IsNotExist(err) {
		t.Fatalf("a refused create left a seed: %v", err)
	}
	// A name that is another's consumer gets the next free one.
	if out, err := natsUser("create", "crm-live"); err != nil || !strings.Contains(out, "its consumers (no other): crm-live-2\n") {
		t.Fatalf("create crm-live: %v\n%s", err, out)
	}

	// connect connects from a context file as the nats CLI does.
	connect := func(name string) jetstream.JetStream {
		t.Helper()
		var c struct {
			URL         string `json:"url"`
			NKey        string `json:"nkey"`
			InboxPrefix string `json:"inbox_prefix"`
		}
		b, err := os.ReadFile(filepath.Join(dir, "nats-auth", "subscribers", name+".json"))
		if err != nil || json.Unmarshal(b, &c) != nil {
			t.Fatalf("context %s: %v", name, err)
		}
		opt, err := nats.NkeyOptionFromSeed(c.NKey)
		if err != nil {
			t.Fatal(err)
		}
		var nc *nats.Conn
		walletdtest.CheckFor(t, 10*time.Second, 100*time.Millisecond, func() error { // serve reloads the identities
			nc, err = nats.Connect(c.URL, opt, nats.CustomInboxPrefix(c.InboxPrefix), nats.MaxReconnects(0))
			return err
		})
		t.Cleanup(nc.Close)
		js, _ := jetstream.New(nc, jetstream.WithDefaultTimeout(2*time.Second))
		return js
	}
	erp, crm := connect("erp"), connect("crm")
	live, err := erp.Conn().SubscribeSync("walletd.w.>") // nats sub
	if err != nil {
		t.Fatal(err)
	}
	erp.Conn().Flush()

	var w struct{ ID string }
	if _, err := p.call("POST", "/v1/wallets", `{"user_id":"7","email":"ann@example.com","currency":"USD"}`, "", &w); err != nil {
		t.Fatal(err)
	}
	if _, err := p.call("POST", "/v1/wallets/"+w.ID+"/credit", `{"amount":"5.00"}`, "", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := live.NextMsg(10 * time.Second); err != nil {
		t.Fatalf("nats sub: %v", err)
	}

	// nats consumer add WALLETD erp --pull --filter 'walletd.w.>' --ack explicit
	durable := func(js jetstream.JetStream, name, filter string) jetstream.Consumer {
		t.Helper()
		c, err := js.CreateOrUpdateConsumer(ctx, "WALLETD", jetstream.ConsumerConfig{Durable: name, FilterSubject: filter,
			AckPolicy: jetstream.AckExplicitPolicy, DeliverPolicy: jetstream.DeliverAllPolicy})
		if err != nil {
			t.Fatalf("consumer add %s: %v", name, err)
		}
		return c
	}
	// nats consumer next WALLETD erp
	next := func(c jetstream.Consumer) {
		t.Helper()
		m, err := c.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatalf("consumer next: %v", err)
		}
		if err := m.DoubleAck(ctx); err != nil {
			t.Fatalf("ack: %v", err)
		}
	}
	ec := durable(erp, "erp", "walletd.w.>")
	next(ec)
	cc := durable(crm, "crm-audit", "walletd.w.>")
	next(cc)
	durable(crm, "crm-live", "walletd.sys.>")

	for who, pair := range map[string]struct {
		js    jetstream.JetStream
		other string
	}{"erp": {erp, "crm-audit"}, "crm": {crm, "erp"}} {
		js, other := pair.js, pair.other
		if _, err := js.Consumer(ctx, "WALLETD", other); err == nil { // nats consumer info
			t.Fatalf("%s read the info of %s", who, other)
		}
		if _, err := js.Conn().Request("$JS.API.CONSUMER.MSG.NEXT.WALLETD."+other, []byte(`{"batch":1,"expires":500000000}`), time.Second); err == nil {
			t.Fatalf("%s pulled from %s", who, other)
		}
		if err := js.DeleteConsumer(ctx, "WALLETD", other); err == nil { // nats consumer rm
			t.Fatalf("%s deleted %s", who, other)
		}
		if _, err := js.CreateOrUpdateConsumer(ctx, "WALLETD", jetstream.ConsumerConfig{Durable: other, FilterSubject: "walletd.w.>"}); err == nil {
			t.Fatalf("%s changed %s", who, other)
		}
		oc, err := js.OrderedConsumer(ctx, "WALLETD", jetstream.OrderedConsumerConfig{FilterSubjects: []string{"walletd.w.>"}})
		if err == nil {
			_, err = oc.Next(jetstream.FetchMaxWait(time.Second))
		}
		if err == nil {
			t.Fatalf("%s read through an ordered consumer (a name no grant holds)", who)
		}
	}
	// Both durables are as their owners left them, and read on.
	if _, err := p.call("POST", "/v1/wallets/"+w.ID+"/credit", `{"amount":"2.00"}`, "", nil); err != nil {
		t.Fatal(err)
	}
	next(ec)
	next(cc)

	t.Run("ReissueRetiresTheConsumers", func(t *testing.T) {
		if out, err := natsUser("revoke", "erp"); err != nil {
			t.Fatalf("revoke: %v\n%s", err, out)
		}
		// The old durable erp still exists with the old key's filter:
		// the new key of the name gets another consumer.
		out, err := natsUser("create", "erp", "--subjects", "walletd.sys.>", "--url", url)
		if err != nil || !strings.Contains(out, "its consumers (no other): erp-2\n") {
			t.Fatalf("create erp again: %v\n%s", err, out)
		}
		if out, err := natsUser("create", "y", "--consumers", "erp"); err == nil {
			t.Fatalf("a retired consumer name was granted again:\n%s", out)
		}
		list, err := natsUser("list")
		if err != nil || !strings.Contains(list, "erp-2") || !strings.Contains(list, "crm-live,crm-audit") {
			t.Fatalf("list: %v\n%s", err, list)
		}
		erp2 := connect("erp")
		if _, err := erp2.Consumer(ctx, "WALLETD", "erp"); err == nil {
			t.Fatal("the new key read the old key's durable")
		}
		durable(erp2, "erp-2", "walletd.sys.>")
	})
	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
}
