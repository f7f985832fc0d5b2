package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/walletd/walletd"
	"github.com/walletd/walletd/events"
)

// Server is a NATS server with JetStream that walletd runs in-process, on
// file storage. Set the fields, then Open; Close shuts it down.
//
// Open after Close starts it again on the address it listened on before
// and the same storage: what a restart of the process would do.
type Server struct {
	Addr     string // host:port for clients; port 0 or -1 picks a free one
	StoreDir string // JetStream file storage
	// ReadyTimeout is how long Open waits for the server to accept
	// connections (default 30 s).
	ReadyTimeout time.Duration
	// Users are the identities that may connect (see auth.go); Open
	// refuses to start without any unless NoAuth is set.
	Users []*server.NkeyUser
	// NoAuth lets anyone connect and publish: for tests that open the bus
	// deliberately. walletd serve never sets it.
	NoAuth bool
	// TLS is the client port's TLS (see ServerTLS); required when Addr
	// listens beyond loopback.
	TLS *ServerTLS

	opts *server.Options // as last opened, for ReloadUsers

	mu    sync.Mutex
	srv   *server.Server
	bound string // the address the last Open listened on
}

// Open starts the server and waits until it accepts connections. It fails
// on a bad address, an address in use, or storage it cannot use.
func (s *Server) Open() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return errors.New("nats: open: already open")
	}
	addr := s.Addr
	if s.bound != "" {
		addr = s.bound
	}
	host, portS, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("nats: addr %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portS)
	if err != nil {
		return fmt.Errorf("nats: addr %q: %w", addr, err)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	} else if port > 0 {
		// The server only reports a listen error by never becoming ready:
		// try the address first, to fail at once when it is in use.
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("nats: listen %s: %w", addr, err)
		}
		ln.Close()
	}
	opts := &server.Options{
		ServerName: "walletd",
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   s.StoreDir,
		NoSigs:     true,
		NoLog:      true,
		MaxPayload: 8 << 20,
	}
	if err := s.secure(opts); err != nil {
		return err
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return fmt.Errorf("nats: %w", err)
	}
	go srv.Start()
	timeout := s.ReadyTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	if !srv.ReadyForConnections(timeout) {
		srv.Shutdown()
		srv.WaitForShutdown()
		return fmt.Errorf("nats: the embedded server on %s did not become ready within %v", addr, timeout)
	}
	if a, ok := srv.Addr().(*net.TCPAddr); ok {
		s.bound = a.String()
	}
	s.srv = srv
	s.opts = opts
	return nil
}

// ClientURL returns the URL clients connect to, or "" when the server is
// not open.
func (s *Server) ClientURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		return ""
	}
	return s.srv.ClientURL()
}

// Close shuts the server down and waits for it. Closing twice, or a server
// never opened, is harmless.
func (s *Server) Close() error {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
	}
	return nil
}

// Connect dials url with options fit for a long-lived service: reconnect
// forever, buffer while disconnected.
func Connect(url, name string, extra ...nats.Option) (*nats.Conn, error) {
	opts := append([]nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.RetryOnFailedConnect(true),
		nats.ReconnectBufSize(-1), // the outbox, not the client, buffers
	}, extra...)
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("nats: connect %s: %w", url, err)
	}
	return nc, nil
}

// DefaultPartitions is the number of partitions of a stream whose
// StreamConfig gives none.
const DefaultPartitions = 8

// DefaultDuplicates is the Nats-Msg-Id de-duplication window of a stream
// whose StreamConfig gives none. The relay does not rely on it for
// exactly-once: every publish carries the stream sequence it must follow
// (Nats-Expected-Last-Sequence), so a message published again after its
// ack was lost is refused by that check, and after any error the relay
// resumes from the stream's last message. The window is a second guard for
// the publishes in flight around a reconnect, which settle in seconds.
// JetStream keeps one map entry per message in the window: at 20,000
// events a second, a 2-minute window held 2.4 million ids (about 60 MB of
// pointer-rich maps that every GC cycle scans); 5 seconds holds 100,000.
const DefaultDuplicates = 5 * time.Second

// StreamConfig describes walletd's stream.
type StreamConfig struct {
	Name       string        // default "WALLETD"
	Prefix     string        // subject prefix, default "walletd"
	Replicas   int           // 1 for a single server; 3 for a cluster
	Duplicates time.Duration // Nats-Msg-Id de-duplication window, default DefaultDuplicates
	Storage    jetstream.StorageType
	// Partitions is the number of partitions wallets' events are stored
	// in (default DefaultPartitions, at most events.MaxPartitions): the N
	// of the stream's subject transform partition(N, wallet id).
	Partitions int
	// MaxAge and MaxBytes bound the stream (default DefaultMaxAge and
	// DefaultMaxBytes; negative: no limit); the oldest messages are
	// discarded first. The ledger is the source of truth: the relay and
	// the consumers recover what the stream dropped from it
	// (relay_resume.go, recover.go).
	MaxAge   time.Duration
	MaxBytes int64
	// MaxMsgs bounds the number of messages (0 or negative: no limit); for
	// tests that need a stream to drop messages at once.
	MaxMsgs int64
	Logger  *slog.Logger // default slog.Default()
}

// Defaults of StreamConfig.MaxAge and MaxBytes: a week of events, at most
// 1 GiB on disk (about 1.4 million events at 745 bytes each).
const (
	DefaultMaxAge   = 7 * 24 * time.Hour
	DefaultMaxBytes = 1 << 30
)

func (c *StreamConfig) defaults() {
	if c.Name == "" {
		c.Name = "WALLETD"
	}
	if c.Prefix == "" {
		c.Prefix = "walletd"
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.Duplicates == 0 {
		c.Duplicates = DefaultDuplicates
	}
	if c.Partitions == 0 {
		c.Partitions = DefaultPartitions
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.MaxAge == 0 {
		c.MaxAge = DefaultMaxAge
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultMaxBytes
	}
}

// limits returns the stream's MaxAge, MaxBytes and MaxMsgs as JetStream
// takes them: 0 age and -1 for no limit.
func (c *StreamConfig) limits() (time.Duration, int64, int64) {
	age, bytes, msgs := c.MaxAge, c.MaxBytes, c.MaxMsgs
	if age < 0 {
		age = 0
	}
	if bytes <= 0 {
		bytes = -1
	}
	if msgs <= 0 {
		msgs = -1
	}
	return age, bytes, msgs
}

// EnsureStream creates the stream or updates it to cfg, in place (its
// limits included: a stream made before them gets them at the next
// start, and drops what is beyond them then): its
// subjects are every subject under the prefix, and its subject transform
// stores each wallet event with the wallet's partition
// (events.PartitionTransform). Messages already in the stream keep their
// subjects; walletd's readers read every form (events.ParseSubject).
//
// A stream that gets the transform for the first time, or another number
// of partitions, is logged with the stream sequence the change starts
// after. EnsureStream fails when the server does not keep the transform
// (nats-server before 2.10).
func EnsureStream(ctx context.Context, js jetstream.JetStream, cfg StreamConfig) (jetstream.Stream, error) {
	cfg.defaults()
	if cfg.Partitions < 1 || cfg.Partitions > events.MaxPartitions {
		return nil, fmt.Errorf("nats: stream %s: %d partitions: want 1 to %d", cfg.Name, cfg.Partitions, events.MaxPartitions)
	}
	src, dst := events.PartitionTransform(cfg.Prefix, cfg.Partitions)
	var before *jetstream.StreamInfo
	if s, err := js.Stream(ctx, cfg.Name); err == nil {
		before = s.CachedInfo()
	} else if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, fmt.Errorf("nats: stream %s: %w", cfg.Name, err)
	}
	maxAge, maxBytes, maxMsgs := cfg.limits()
	s, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:             cfg.Name,
		Subjects:         []string{events.StreamSubjects(cfg.Prefix)},
		SubjectTransform: &jetstream.SubjectTransformConfig{Source: src, Destination: dst},
		Storage:          cfg.Storage,
		Replicas:         cfg.Replicas,
		Duplicates:       cfg.Duplicates,
		Retention:        jetstream.LimitsPolicy,
		Discard:          jetstream.DiscardOld,
		MaxAge:           maxAge,
		MaxBytes:         maxBytes,
		MaxMsgs:          maxMsgs,
	})
	if err != nil {
		return nil, fmt.Errorf("nats: stream %s: %w", cfg.Name, err)
	}
	if tr := s.CachedInfo().Config.SubjectTransform; tr == nil || tr.Source != src || tr.Destination != dst {
		return nil, fmt.Errorf("nats: stream %s: the server did not keep the subject transform that partitions wallets (it needs nats-server 2.10 or later)", cfg.Name)
	}
	if c := before; c != nil && (c.Config.MaxAge != maxAge || c.Config.MaxBytes != maxBytes || c.Config.MaxMsgs != maxMsgs) {
		cfg.Logger.Info("nats: stream limits set", walletd.LogStream, cfg.Name, "max_age", maxAge, "max_bytes", maxBytes, "max_msgs", maxMsgs,
			"was_max_age", c.Config.MaxAge, "was_max_bytes", c.Config.MaxBytes, "was_max_msgs", c.Config.MaxMsgs)
	}
	if before != nil && before.State.Msgs > 0 {
		switch tr := before.Config.SubjectTransform; {
		case tr == nil:
			cfg.Logger.Info("nats: stream subjects migrated: messages up to the stream seq logged keep their <prefix>.<event key> subjects, later ones are on the wallet and sys branches",
				walletd.LogStream, cfg.Name, walletd.LogStreamLastSeq, before.State.LastSeq, "partitions", cfg.Partitions)
		case tr.Source != src || tr.Destination != dst:
			cfg.Logger.Warn("nats: stream partitions changed: messages after the stream seq logged are in the new partitions; partitioned consumers must switch there",
				walletd.LogStream, cfg.Name, walletd.LogStreamLastSeq, before.State.LastSeq, "from", tr.Destination, "to", dst)
		}
	}
	return s, nil
}
