package bus_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	neturl "net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
	"github.com/walletd/walletd/events/bus"
	"github.com/walletd/walletd/walletdtest"
)

// identity is an identity and its key pair, for tests.
type identity struct {
	bus.Identity
	kp nkeys.KeyPair
}

func newIdentity(tb testing.TB, name string, role bus.Role, subjects ...string) *identity {
	tb.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		tb.Fatal(err)
	}
	pub, _ := kp.PublicKey()
	return &identity{Identity: bus.Identity{Name: name, Role: role, PublicKey: pub, Subjects: subjects, CreatedAt: time.Now()}, kp: kp}
}

// errs collects a connection's asynchronous errors (permission
// violations arrive that way).
type errs struct {
	mu  sync.Mutex
	all []error
}

func (e *errs) handler(_ *nats.Conn, _ *nats.Subscription, err error) {
	e.mu.Lock()
	e.all = append(e.all, err)
	e.mu.Unlock()
}

func (e *errs) has(text string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, err := range e.all {
		if strings.Contains(err.Error(), text) {
			return nil
		}
	}
	return errors.New("no error containing " + text)
}

// connect connects as id (nil: anonymously), failing fast.
func connect(url string, id *identity, extra ...nats.Option) (*nats.Conn, *errs, error) {
	e := &errs{}
	opts := append([]nats.Option{nats.ErrorHandler(e.handler), nats.MaxReconnects(0), nats.Timeout(2 * time.Second)}, extra...)
	if id != nil {
		opts = append(opts, nats.Nkey(id.PublicKey, id.kp.Sign), nats.CustomInboxPrefix(bus.InboxPrefix(id.Name)))
	}
	nc, err := nats.Connect(url, opts...)
	return nc, e, err
}

// authServer runs an embedded server with the given identities.
func authServer(tb testing.TB, g bus.Grants, ids ...*identity) *bus.Server {
	tb.Helper()
	users, err := g.Users(plain(ids))
	if err != nil {
		tb.Fatal(err)
	}
	s := &bus.Server{Addr: "127.0.0.1:0", StoreDir: filepath.Join(tb.TempDir(), "nats"), Users: users}
	if err := s.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func plain(ids []*identity) []bus.Identity {
	out := make([]bus.Identity, len(ids))
	for i, id := range ids {
		out[i] = id.Identity
	}
	return out
}

// TestServer_Auth runs the embedded server with walletd's roles and checks
// what each identity can and cannot do.
func TestServer_Auth(t *testing.T) {
	ctx := context.Background()
	g := bus.Grants{Stream: "WALLETD", Prefix: "walletd", Protected: []string{"projections"}}
	pub := newIdentity(t, "walletd", bus.RolePublisher)
	cons := newIdentity(t, "projector", bus.RoleConsumer)
	sub := newIdentity(t, "erp", bus.RoleSubscriber, "walletd.sys.>")
	s := authServer(t, g, pub, cons, sub)
	url := s.ClientURL()

	pnc, _, err := connect(url, pub)
	if err != nil {
		t.Fatalf("publisher: %v", err)
	}
	defer pnc.Close()
	pjs, _ := jetstream.New(pnc)
	stream, err := bus.EnsureStream(ctx, pjs, bus.StreamConfig{})
	if err != nil {
		t.Fatalf("the publisher sets up the stream: %v", err)
	}
	publish := func(subject string) {
		t.Helper()
		if _, err := pjs.Publish(ctx, subject, []byte(`{}`)); err != nil {
			t.Fatalf("the publisher publishes on %s: %v", subject, err)
		}
	}
	msgs := func() uint64 {
		t.Helper()
		info, err := stream.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return info.State.Msgs
	}
	publish("walletd.sys.ledger.checkpoint")
	publish("walletd.w.3.wal_1.wallet.credited")
	// A protected durable consumer, as the projector makes it.
	if _, err := pjs.CreateOrUpdateConsumer(ctx, "WALLETD", jetstream.ConsumerConfig{Durable: "projections", AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
		t.Fatal(err)
	}

	t.Run("ErrAnonymous", func(t *testing.T) {
		if nc, _, err := connect(url, nil); err == nil || !strings.Contains(strings.ToLower(err.Error()), "authorization violation") {
			if nc != nil {
				nc.Close()
			}
			t.Fatalf("an anonymous connection: %v, want an authorization violation", err)
		}
	})
	t.Run("ErrUnknownKey", func(t *testing.T) {
		stranger := newIdentity(t, "stranger", bus.RolePublisher)
		if nc, _, err := connect(url, stranger); err == nil {
			nc.Close()
			t.Fatal("an unknown key connected")
		}
	})
	t.Run("ErrStolenName", func(t *testing.T) {
		// The key decides, not the name: a new key with a known name is
		// a stranger.
		impostor := newIdentity(t, "walletd", bus.RolePublisher)
		if nc, _, err := connect(url, impostor); err == nil {
			nc.Close()
			t.Fatal("a new key with the publisher's name connected")
		}
	})

	for _, who := range []*identity{cons, sub} {
		t.Run("ErrPublish/"+string(who.Role), func(t *testing.T) {
			nc, e, err := connect(url, who)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			before := msgs()
			for _, subj := range []string{"walletd.w.3.wal_1.wallet.credited", "walletd.sys.ledger.checkpoint", "walletd.x"} {
				m := nats.NewMsg(subj)
				m.Data = []byte(`{"forged":true}`)
				m.Header.Set(bus.HeaderSeq, "1")
				if err := nc.PublishMsg(m); err != nil {
					t.Fatal(err)
				}
			}
			nc.Flush()
			walletdtest.CheckFor(t, 5*time.Second, 20*time.Millisecond, func() error { return e.has("Permissions Violation for Publish") })
			js, _ := jetstream.New(nc, jetstream.WithDefaultTimeout(time.Second))
			if _, err := js.Publish(ctx, "walletd.sys.ledger.checkpoint", []byte(`{}`)); err == nil {
				t.Fatal("a JetStream publish was acknowledged")
			}
			if got := msgs(); got != before {
				t.Fatalf("the stream went from %d to %d messages", before, got)
			}
			// Nor may it change the stream.
			if err := js.DeleteStream(ctx, "WALLETD"); err == nil {
				t.Fatal("the stream was deleted")
			}
			if err := stream.Purge(ctx); err != nil { // the publisher may
				t.Fatal(err)
			}
			publish("walletd.sys.ledger.checkpoint")
			publish("walletd.w.3.wal_1.wallet.credited")
		})
	}

	t.Run("ConsumerReads", func(t *testing.T) {
		nc, _, err := connect(url, cons)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		js, _ := jetstream.New(nc, jetstream.WithDefaultTimeout(time.Second))
		c, err := js.CreateOrUpdateConsumer(ctx, "WALLETD", jetstream.ConsumerConfig{Durable: "projector-b", AckPolicy: jetstream.AckExplicitPolicy})
		if err != nil {
			t.Fatalf("the consumer role makes a durable consumer: %v", err)
		}
		batch, err := c.Fetch(2, jetstream.FetchMaxWait(3*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for m := range batch.Messages() {
			if err := m.Ack(); err != nil {
				t.Fatal(err)
			}
			n++
		}
		if n != 2 {
			t.Fatalf("fetched %d messages, want 2 (%v)", n, batch.Error())
		}
	})

	t.Run("SubscriberReadsGrantedOnly", func(t *testing.T) {
		nc, e, err := connect(url, sub)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		// Live: the granted subject, not another.
		live, err := nc.SubscribeSync("walletd.sys.>")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := nc.SubscribeSync("walletd.w.>"); err != nil {
			t.Fatal(err)
		}
		nc.Flush()
		walletdtest.CheckFor(t, 5*time.Second, 20*time.Millisecond, func() error { return e.has("Permissions Violation for Subscription") })
		publish("walletd.sys.ledger.checkpoint")
		if _, err := live.NextMsg(3 * time.Second); err != nil {
			t.Fatalf("the granted subject: %v", err)
		}
		// From the stream: its consumer, filtered to the granted subject.
		js, _ := jetstream.New(nc, jetstream.WithDefaultTimeout(time.Second))
		c, err := js.CreateOrUpdateConsumer(ctx, "WALLETD", jetstream.ConsumerConfig{Name: "erp", FilterSubject: "walletd.sys.>", AckPolicy: jetstream.AckNonePolicy})
		if err != nil {
			t.Fatal(err)
		}
		m, err := c.Next(jetstream.FetchMaxWait(3 * time.Second))
		if err != nil {
			t.Fatalf("its consumer on the granted subject: %v", err)
		}
		if !strings.HasPrefix(m.Subject(), "walletd.sys.") {
			t.Fatalf("got %s", m.Subject())
		}
		if err := js.DeleteConsumer(ctx, "WALLETD", "erp"); err != nil {
			t.Fatal(err)
		}
		for name, cfg := range map[string]jetstream.ConsumerConfig{
			"OtherSubject": {Name: "erp", FilterSubject: "walletd.w.>"},
			"NoFilter":     {Name: "erp"},
			"Everything":   {Name: "erp", FilterSubject: "walletd.>"},
			"Protected":    {Durable: "projections", FilterSubject: "walletd.sys.>"},
			"Unnamed":      {FilterSubject: "walletd.sys.>"},
		} {
			if _, err := js.CreateConsumer(ctx, "WALLETD", cfg); err == nil {
				t.Fatalf("%s: the subscriber made a consumer %+v", name, cfg)
			}
		}
		// Nor may it take messages from, or delete, walletd's consumers.
		if err := js.DeleteConsumer(ctx, "WALLETD", "projections"); err == nil {
			t.Fatal("the subscriber deleted the projector's consumer")
		}
		if _, err := nc.Request("$JS.API.CONSUMER.MSG.NEXT.WALLETD.projections", []byte(`{"batch":1}`), time.Second); err == nil {
			t.Fatal("the subscriber pulled from the projector's consumer")
		}
		if _, err := nc.Request("$JS.API.STREAM.MSG.GET.WALLETD", []byte(`{"seq":1}`), time.Second); err == nil {
			t.Fatal("the subscriber read a message by sequence")
		}
		// Nor read another identity's inbox.
		if _, err := nc.SubscribeSync("_INBOX_walletd.>"); err != nil {
			t.Fatal(err)
		}
		if _, err := nc.SubscribeSync("_INBOX.>"); err != nil {
			t.Fatal(err)
		}
		nc.Flush()
		walletdtest.CheckFor(t, 5*time.Second, 20*time.Millisecond, func() error {
			e.mu.Lock()
			defer e.mu.Unlock()
			n := 0
			for _, err := range e.all {
				if strings.Contains(err.Error(), "_INBOX") {
					n++
				}
			}
			if n < 2 {
				return errors.New("the inbox subscriptions were not refused")
			}
			return nil
		})
	})

	t.Run("RevokedIsCutOff", func(t *testing.T) {
		nc, _, err := connect(url, sub)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		users, err := g.Users(plain([]*identity{pub, cons}))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.ReloadUsers(users); err != nil {
			t.Fatal(err)
		}
		walletdtest.CheckFor(t, 5*time.Second, 20*time.Millisecond, func() error {
			if nc.IsConnected() {
				return errors.New("still connected")
			}
			return nil
		})
		if nc2, _, err := connect(url, sub); err == nil {
			nc2.Close()
			t.Fatal("a revoked identity connected again")
		}
		if !pnc.IsConnected() {
			t.Fatal("the reload cut off the publisher")
		}
		publish("walletd.sys.ledger.checkpoint")
	})
}

// TestServer_Exposure: the server refuses to start without identities,
// and beyond loopback without TLS; with TLS, a client that trusts the
// certificate connects with its nkey.
func TestServer_Exposure(t *testing.T) {
	g := bus.Grants{Stream: "WALLETD", Prefix: "walletd"}
	pub := newIdentity(t, "walletd", bus.RolePublisher)
	users, err := g.Users(plain([]*identity{pub}))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("ErrNoIdentities", func(t *testing.T) {
		s := &bus.Server{Addr: "127.0.0.1:0", StoreDir: t.TempDir()}
		if err := s.Open(); err == nil || !strings.Contains(err.Error(), "authentication") {
			s.Close()
			t.Fatalf("Open without identities: %v", err)
		}
	})
	t.Run("ErrBeyondLoopbackWithoutTLS", func(t *testing.T) {
		for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0"} {
			s := &bus.Server{Addr: addr, StoreDir: t.TempDir(), Users: users}
			if err := s.Open(); err == nil || !strings.Contains(err.Error(), "TLS") {
				s.Close()
				t.Fatalf("Open on %s without TLS: %v", addr, err)
			}
		}
	})
	t.Run("ErrOpenBeyondLoopback", func(t *testing.T) {
		cert, key, _ := selfSigned(t)
		s := &bus.Server{Addr: "0.0.0.0:0", StoreDir: t.TempDir(), NoAuth: true, TLS: &bus.ServerTLS{CertFile: cert, KeyFile: key}}
		if err := s.Open(); err == nil || !strings.Contains(err.Error(), "authentication") {
			s.Close()
			t.Fatalf("an open server beyond loopback: %v", err)
		}
	})
	t.Run("TLS", func(t *testing.T) {
		cert, key, pool := selfSigned(t)
		s := &bus.Server{Addr: "0.0.0.0:0", StoreDir: t.TempDir(), Users: users, TLS: &bus.ServerTLS{CertFile: cert, KeyFile: key}}
		if err := s.Open(); err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		u, err := neturl.Parse(s.ClientURL())
		if err != nil || u.Scheme != "tls" {
			t.Fatalf("client URL %q: %v", s.ClientURL(), err)
		}
		port := u.Port()
		url := "tls://127.0.0.1:" + port
		nc, _, err := connect(url, pub, nats.Secure(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}))
		if err != nil {
			t.Fatalf("a TLS client with its nkey: %v", err)
		}
		nc.Close()
		if nc, _, err := connect("nats://127.0.0.1:"+port, pub); err == nil {
			nc.Close()
			t.Fatal("a plain-text client connected to the TLS port")
		}
		// The process's own clients connect in-process, with no
		// certificate of their own.
		nc, _, err = connect("nats://in-process", pub, s.InProcess())
		if err != nil {
			t.Fatalf("in-process: %v", err)
		}
		nc.Close()
	})
}

// selfSigned writes a self-signed certificate for 127.0.0.1 and returns
// the files and a pool that trusts it.
func selfSigned(tb testing.TB) (certFile, keyFile string, pool *x509.CertPool) {
	tb.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "walletd test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		tb.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(k)
	dir := tb.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	c, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(c)
	return certFile, keyFile, pool
}

// TestGrants_Users checks the identities the server accepts.
func TestGrants_Users(t *testing.T) {
	g := bus.Grants{Stream: "WALLETD", Prefix: "walletd"}
	ok := newIdentity(t, "erp", bus.RoleSubscriber, "walletd.w.*.*.wallet.credited")
	if _, err := g.Users([]bus.Identity{ok.Identity}); err != nil {
		t.Fatal(err)
	}
	revoked := newIdentity(t, "old", bus.RoleSubscriber, "walletd.>")
	now := time.Now()
	revoked.RevokedAt = &now
	if users, err := g.Users([]bus.Identity{ok.Identity, revoked.Identity}); err != nil || len(users) != 1 {
		t.Fatalf("a revoked identity: %d users, %v", len(users), err)
	}
	bad := func(mut func(id *bus.Identity)) bus.Identity {
		id := newIdentity(t, "x", bus.RoleSubscriber, "walletd.>").Identity
		mut(&id)
		return id
	}
	for name, ids := range map[string][]bus.Identity{
		"ErrName":          {bad(func(id *bus.Identity) { id.Name = "Bad Name" })},
		"ErrLongName":      {bad(func(id *bus.Identity) { id.Name = strings.Repeat("a", 64) })},
		"ErrRole":          {bad(func(id *bus.Identity) { id.Role = "admin" })},
		"ErrKey":           {bad(func(id *bus.Identity) { id.PublicKey = "not-a-key" })},
		"ErrSeedNotKey":    {bad(func(id *bus.Identity) { id.PublicKey = "SUAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" })},
		"ErrNoSubjects":    {bad(func(id *bus.Identity) { id.Subjects = nil })},
		"ErrWildcardToken": {bad(func(id *bus.Identity) { id.Subjects = []string{"walletd.w*"} })},
		"ErrTailMiddle":    {bad(func(id *bus.Identity) { id.Subjects = []string{"walletd.>.x"} })},
		"ErrEmptyToken":    {bad(func(id *bus.Identity) { id.Subjects = []string{"walletd..x"} })},
		"ErrSpace":         {bad(func(id *bus.Identity) { id.Subjects = []string{"walletd. x"} })},
		"ErrSystem":        {bad(func(id *bus.Identity) { id.Subjects = []string{"$JS.API.>"} })},
		"ErrDuplicate":     {ok.Identity, ok.Identity},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := g.Users(ids); err == nil {
				t.Fatalf("accepted %+v", ids)
			}
		})
	}
}
