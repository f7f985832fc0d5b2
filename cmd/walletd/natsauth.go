package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
	"github.com/walletd/walletd/events/bus"
	"github.com/walletd/walletd/keyfile"
	"github.com/walletd/walletd/projections"
	"github.com/walletd/walletd/webhooks"
)

// The identities of the embedded NATS server live in the data directory:
//
//	nats-auth/users.json          every identity: name, role, public key, subjects, revoked_at (0600)
//	nats-auth/<name>.nk           the seed of each of walletd's own identities (0600)
//	nats-auth/subscribers/<name>.nk, <name>.json
//	                              a subscriber's seed and NATS CLI context (0600), for the admin to hand over
//
// serve reads users.json at start and again whenever it changes, so that
// `walletd nats-user create|revoke` takes effect on the running server.

// walletd's own identities.
const (
	identityServe     = "walletd"    // serve: the publisher
	identityProjector = "projector"  // walletd projector, projections rebuild
	identityDispatch  = "dispatcher" // a dispatcher of its own
)

// builtinIdentities are walletd's own identities and their roles.
var builtinIdentities = []struct {
	Name string
	Role bus.Role
}{
	{identityServe, bus.RolePublisher},
	{identityProjector, bus.RoleConsumer},
	{identityDispatch, bus.RoleConsumer},
}

// natsAuth is the nats-auth directory of a data directory.
type natsAuth struct{ Dir string }

func natsAuthDir(dataDir string) natsAuth { return natsAuth{Dir: filepath.Join(dataDir, "nats-auth")} }

func (a natsAuth) usersFile() string { return filepath.Join(a.Dir, "users.json") }

// Seed returns the path of one of walletd's own identities' seed.
func (a natsAuth) Seed(name string) string { return filepath.Join(a.Dir, name+".nk") }

// subscriberFiles returns the paths of a subscriber's seed and context.
func (a natsAuth) subscriberFiles(name string) (seed, context string) {
	d := filepath.Join(a.Dir, "subscribers")
	return filepath.Join(d, name+".nk"), filepath.Join(d, name+".json")
}

// usersFile is the JSON form of users.json.
type usersFile struct {
	Identities []bus.Identity `json:"identities"`
}

// Load reads the identities; a missing file is none.
func (a natsAuth) Load() ([]bus.Identity, error) {
	b, err := os.ReadFile(a.usersFile())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("nats identities: %w", err)
	}
	var f usersFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("nats identities: parse %s: %w", a.usersFile(), err)
	}
	for i := range f.Identities {
		if err := f.Identities[i].Check(); err != nil {
			return nil, fmt.Errorf("%s: %w", a.usersFile(), err)
		}
	}
	return f.Identities, nil
}

// Save writes the identities, atomically and 0600.
func (a natsAuth) Save(ids []bus.Identity) error {
	if err := os.MkdirAll(a.Dir, 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(usersFile{Identities: ids}, "", "  ")
	if err != nil {
		return err
	}
	return keyfile.WriteAtomic(a.usersFile(), append(b, '\n'), 0o600)
}

// newSeed makes a user key pair and writes its seed to path (0600).
func newSeed(path string) (string, error) {
	kp, err := nkeys.CreateUser()
	if err != nil {
		return "", fmt.Errorf("nats identity: %w", err)
	}
	seed, err := kp.Seed()
	if err != nil {
		return "", err
	}
	pub, err := kp.PublicKey()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	if err := keyfile.WriteAtomic(path, append(seed, '\n'), 0o600); err != nil {
		return "", err
	}
	return pub, nil
}

// seedPublicKey reads a seed file and returns its public key.
func seedPublicKey(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("nats identity: %w", err)
	}
	kp, err := nkeys.FromSeed(bytes.TrimSpace(b))
	if err != nil {
		return "", fmt.Errorf("nats identity: %s: %w", path, err)
	}
	return kp.PublicKey()
}

// Ensure makes walletd's own identities on first use (and any that is
// missing or whose seed no longer matches), and returns every identity.
func (a natsAuth) Ensure(logger *slog.Logger) ([]bus.Identity, error) {
	ids, err := a.Load()
	if err != nil {
		return nil, err
	}
	changed := false
	for _, b := range builtinIdentities {
		i := identityIndex(ids, b.Name)
		pub, err := seedPublicKey(a.Seed(b.Name))
		if i >= 0 && err == nil && ids[i].PublicKey == pub && ids[i].RevokedAt == nil && ids[i].Role == b.Role {
			continue
		}
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		if pub, err = newSeed(a.Seed(b.Name)); err != nil {
			return nil, err
		}
		id := bus.Identity{Name: b.Name, Role: b.Role, PublicKey: pub, CreatedAt: time.Now().UTC()}
		if i >= 0 {
			ids[i] = id
		} else {
			ids = append(ids, id)
		}
		changed = true
		logger.Info("created NATS identity", "name", b.Name, "role", b.Role, "seed", a.Seed(b.Name))
	}
	if changed {
		if err := a.Save(ids); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

func identityIndex(ids []bus.Identity, name string) int {
	for i := range ids {
		if ids[i].Name == name {
			return i
		}
	}
	return -1
}

// grants are the permissions' parameters for a stream.
func grants(c *natsConfig) bus.Grants {
	return bus.Grants{Stream: c.Stream, Prefix: c.Prefix, Protected: []string{projections.DefaultConsumer, webhooks.DefaultConsumer}}
}

// nkeyOptions returns the client options of the identity whose seed is at
// path: the nkey signature and the identity's own inbox prefix. The
// identity's name is the file's name without ".nk".
func nkeyOptions(path string) ([]nats.Option, error) {
	opt, err := nats.NkeyOptionFromSeed(path)
	if err != nil {
		return nil, fmt.Errorf("nats identity: %w", err)
	}
	name := strings.TrimSuffix(filepath.Base(path), ".nk")
	return []nats.Option{opt, nats.CustomInboxPrefix(bus.InboxPrefix(name))}, nil
}

// authReloader keeps the running embedded server's identities equal to
// users.json: it reads the file every Every and reloads the server when it
// changed. A file that does not parse keeps the identities in force and is
// logged.
type authReloader struct {
	Auth   natsAuth
	Grants bus.Grants
	Server *bus.Server
	Every  time.Duration // default 1 s
	Logger *slog.Logger

	last   []byte
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Open reads the file once (an error now fails the start) and starts
// watching it.
func (r *authReloader) Open() error {
	if r.Every <= 0 {
		r.Every = time.Second
	}
	if _, err := r.check(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		t := time.NewTicker(r.Every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if changed, err := r.check(); err != nil {
				r.Logger.Error("nats identities: not reloaded; the identities in force stay", "error", err)
			} else if changed {
				r.Logger.Info("nats identities reloaded", "file", r.Auth.usersFile())
			}
		}
	}()
	return nil
}

// check reloads the server when the file changed.
func (r *authReloader) check() (bool, error) {
	b, err := os.ReadFile(r.Auth.usersFile())
	if err != nil {
		return false, err
	}
	if bytes.Equal(b, r.last) {
		return false, nil
	}
	users, err := r.users()
	if err != nil {
		return false, err
	}
	if err := r.Server.ReloadUsers(users); err != nil {
		return false, err
	}
	r.last = b
	return true, nil
}

func (r *authReloader) users() ([]*natsserver.NkeyUser, error) {
	ids, err := r.Auth.Load()
	if err != nil {
		return nil, err
	}
	return r.Grants.Users(ids)
}

// Close stops watching.
func (r *authReloader) Close() error {
	if r.cancel != nil {
		r.cancel()
		r.wg.Wait()
	}
	return nil
}

// natsServerConfig is the embedded server's TLS (serve only).
type natsServerConfig struct {
	TLSCert string
	TLSKey  string
	TLSCA   string
}

// natsServerFlags registers the embedded server's TLS flags.
func natsServerFlags(fs *flag.FlagSet, c *natsServerConfig) {
	fs.StringVar(&c.TLSCert, "nats-server-tls-cert", "", "certificate (PEM) of the embedded NATS server's client port; required when --nats-addr is beyond loopback")
	fs.StringVar(&c.TLSKey, "nats-server-tls-key", "", "key (PEM) of --nats-server-tls-cert")
	fs.StringVar(&c.TLSCA, "nats-server-tls-ca", "", "CA (PEM) whose client certificates the embedded server then requires, besides the nkey")
}

// checkNATSExposure refuses an embedded server that would listen beyond
// loopback without TLS; it runs before anything is written.
func checkNATSExposure(c *natsConfig, sc *natsServerConfig) error {
	if c.URL != "" {
		return nil
	}
	if (sc.TLSCert == "") != (sc.TLSKey == "") {
		return errors.New("--nats-server-tls-cert and --nats-server-tls-key go together")
	}
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return fmt.Errorf("--nats-addr %q: %w", c.Addr, err)
	}
	if !bus.Loopback(host) && sc.TLSCert == "" {
		return fmt.Errorf("--nats-addr %s listens beyond loopback: give --nats-server-tls-cert and --nats-server-tls-key (clients always authenticate with an nkey: see walletd nats-user), or listen on 127.0.0.1", c.Addr)
	}
	return nil
}

// openEmbeddedNATS starts the embedded server with the data dir's
// identities (made on first start) and the watcher that reloads them.
func openEmbeddedNATS(cfg *serveConfig, logger *slog.Logger) (*bus.Server, *authReloader, error) {
	auth := natsAuthDir(cfg.DataDir)
	ids, err := auth.Ensure(logger)
	if err != nil {
		return nil, nil, err
	}
	g := grants(&cfg.NATS)
	if c := cfg.Webhooks.Consumer; c != "" {
		g.Protected = append(g.Protected, c)
	}
	users, err := g.Users(ids)
	if err != nil {
		return nil, nil, err
	}
	srv := &bus.Server{Addr: cfg.NATS.Addr, StoreDir: filepath.Join(cfg.DataDir, "nats"), Users: users}
	if t := cfg.NATSServer; t.TLSCert != "" {
		srv.TLS = &bus.ServerTLS{CertFile: t.TLSCert, KeyFile: t.TLSKey, CAFile: t.TLSCA}
	}
	if err := srv.Open(); err != nil {
		return nil, nil, err
	}
	r := &authReloader{Auth: auth, Grants: g, Server: srv, Logger: logger}
	if err := r.Open(); err != nil {
		srv.Close()
		return nil, nil, err
	}
	return srv, r, nil
}

// embeddedClient connects to the embedded server as one of walletd's own
// identities: in-process when the client port has TLS (the process needs
// no certificate for itself), over loopback otherwise.
func embeddedClient(srv *bus.Server, dataDir, identity string) (*nats.Conn, error) {
	opts, err := nkeyOptions(natsAuthDir(dataDir).Seed(identity))
	if err != nil {
		return nil, err
	}
	url := srv.ClientURL()
	if srv.TLS != nil {
		// In-process connections need no TLS; the tls:// scheme would ask
		// for it.
		url = "nats://in-process"
		opts = append(opts, srv.InProcess())
	}
	name := "walletd"
	if identity != identityServe {
		name += "-" + identity
	}
	return bus.Connect(url, name, opts...)
}

// consumerStreams returns the JetStream contexts of serve's projector and
// dispatcher: on the embedded server, connections of their own identities
// (RoleConsumer); on an external one, the publisher's, whose credentials
// the operator manages.
func (s *server) consumerStreams(js jetstream.JetStream) (projector, dispatcher jetstream.JetStream, err error) {
	if s.nats == nil {
		return js, js, nil
	}
	var out [2]jetstream.JetStream
	for i, id := range []string{identityProjector, identityDispatch} {
		nc, err := embeddedClient(s.nats, s.cfg.DataDir, id)
		if err != nil {
			return nil, nil, err
		}
		s.consumers = append(s.consumers, nc)
		if out[i], err = jetstream.New(nc); err != nil {
			return nil, nil, fmt.Errorf("nats: jetstream: %w", err)
		}
	}
	return out[0], out[1], nil
}

// relayKeyFlag registers --relay-key, for the processes that read the
// stream apart from serve.
func relayKeyFlag(fs *flag.FlagSet) *string {
	return fs.String("relay-key", "", "walletd serve's relay.key, to verify that each message is walletd's (default <data-dir>/relay.key)")
}

// consumerIdentity resolves what a reading process needs: the relay key
// (messages without its MAC are refused, so it is required), the mark of
// an adopted unsigned stream when serve's relay-unsigned.json lies next to
// the key, and, when no --nats-nkey or --nats-creds is given, the
// projector identity's seed in dataDir when it is there.
func consumerIdentity(c *natsConfig, dataDir, relayKeyPath string) ([]byte, uint64, error) {
	if relayKeyPath == "" {
		relayKeyPath = filepath.Join(dataDir, relayKeyFile)
	}
	key, err := loadRelayKey(relayKeyPath)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: a reader of the stream verifies every message's MAC; give --relay-key (walletd serve's <data-dir>/%s)", err, relayKeyFile)
	}
	var through uint64
	mark, err := loadUnsignedMark(filepath.Join(filepath.Dir(relayKeyPath), unsignedMarkFile))
	if err != nil {
		return nil, 0, err
	} else if mark != nil && mark.Stream == c.Stream {
		through = mark.Through
	}
	if c.NKey == "" && c.Creds == "" {
		if seed := natsAuthDir(dataDir).Seed(identityProjector); fileExists(seed) {
			c.NKey = seed
		}
	}
	return key, through, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
