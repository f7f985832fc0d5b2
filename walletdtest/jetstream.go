package walletdtest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/walletd/walletd/events/bus"
)

// JetStream is an embedded NATS server with JetStream for one test, a
// client connection to it and the WALLETD stream (subjects walletd.>).
type JetStream struct {
	Server *bus.Server
	Conn   *nats.Conn
	JS     jetstream.JetStream
}

// RunJetStream starts an embedded NATS server with JetStream on a free
// loopback port, storing in tb.TempDir(), connects to it (reconnecting
// forever, as walletd does) and creates the WALLETD stream. tb.Cleanup
// closes the connection and shuts the server down. It is nats-server's
// RunBasicJetStreamServer with walletd's stream.
func RunJetStream(tb testing.TB) *JetStream {
	tb.Helper()
	j := &JetStream{Server: &bus.Server{Addr: "127.0.0.1:0", StoreDir: filepath.Join(tb.TempDir(), "nats"), NoAuth: true}}
	if err := j.Server.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { j.Server.Close() })
	nc, err := bus.Connect(j.Server.ClientURL(), tb.Name())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	j.Conn = nc
	if j.JS, err = jetstream.New(nc); err != nil {
		tb.Fatal(err)
	}
	if _, err := bus.EnsureStream(context.Background(), j.JS, bus.StreamConfig{}); err != nil {
		tb.Fatal(err)
	}
	return j
}

// StoreDir returns the server's JetStream storage directory.
func (j *JetStream) StoreDir() string { return j.Server.StoreDir }

// Stop shuts the server down; the connection waits to reconnect.
func (j *JetStream) Stop(tb testing.TB) {
	tb.Helper()
	if err := j.Server.Close(); err != nil {
		tb.Fatal(err)
	}
}

// Start starts the server again, on the same address and storage.
func (j *JetStream) Start(tb testing.TB) {
	tb.Helper()
	if err := j.Server.Open(); err != nil {
		tb.Fatal(err)
	}
}
