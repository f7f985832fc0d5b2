// Package bus carries walletd's events over NATS JetStream: the embedded
// server, the stream, the outbox relay and subscriber helpers.
package bus

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// EmbeddedConfig configures the NATS server walletd runs in-process.
type EmbeddedConfig struct {
	Addr     string // host:port for clients; port -1 or 0 picks a free one
	StoreDir string // JetStream file storage
}

// Embedded is an in-process NATS server with JetStream.
type Embedded struct {
	Server *server.Server
}

// StartEmbedded starts a NATS server with JetStream on cfg.Addr and waits
// until it accepts connections.
func StartEmbedded(cfg EmbeddedConfig) (*Embedded, error) {
	host, portS, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("nats: addr %q: %w", cfg.Addr, err)
	}
	port, err := strconv.Atoi(portS)
	if err != nil {
		return nil, fmt.Errorf("nats: addr %q: %w", cfg.Addr, err)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	opts := &server.Options{
		ServerName: "walletd",
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   cfg.StoreDir,
		NoSigs:     true,
		NoLog:      true,
		MaxPayload: 8 << 20,
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("nats: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(30 * time.Second) {
		s.Shutdown()
		return nil, errors.New("nats: embedded server did not become ready")
	}
	return &Embedded{Server: s}, nil
}

// ClientURL returns the URL clients connect to.
func (e *Embedded) ClientURL() string { return e.Server.ClientURL() }

// Close shuts the server down and waits for it.
func (e *Embedded) Close() {
	e.Server.Shutdown()
	e.Server.WaitForShutdown()
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

// StreamConfig describes walletd's stream.
type StreamConfig struct {
	Name       string        // default "WALLETD"
	Prefix     string        // subject prefix, default "walletd"
	Replicas   int           // 1 for a single server; 3 for a cluster
	Duplicates time.Duration // Nats-Msg-Id de-duplication window, default 2m
	Storage    jetstream.StorageType
}

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
		c.Duplicates = 2 * time.Minute
	}
}

// EnsureStream creates the stream or updates it to cfg.
func EnsureStream(ctx context.Context, js jetstream.JetStream, cfg StreamConfig) (jetstream.Stream, error) {
	cfg.defaults()
	s, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:       cfg.Name,
		Subjects:   []string{cfg.Prefix + ".>"},
		Storage:    cfg.Storage,
		Replicas:   cfg.Replicas,
		Duplicates: cfg.Duplicates,
		Retention:  jetstream.LimitsPolicy,
		Discard:    jetstream.DiscardOld,
	})
	if err != nil {
		return nil, fmt.Errorf("nats: stream %s: %w", cfg.Name, err)
	}
	return s, nil
}
