package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/walletd/walletd"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/walletd/walletd/events/bus"
	"github.com/walletd/walletd/ledger/sqlite"
	"github.com/walletd/walletd/projections"
)

// runProjector runs only the projections, in a process of its own, against
// the stream of a walletd that may run elsewhere (`walletd projector`).
func runProjector(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("projector", flag.ContinueOnError)
	dataDir := dataDirFlag(fs)
	var nc natsConfig
	natsFlags(fs, &nc)
	host, _ := os.Hostname()
	consumer := fs.String("consumer", "projector-"+host, "durable consumer name; each projections.db needs its own")
	currencies := fs.String("currencies", "", "extra currencies as CODE:SCALE,… (as given to walletd serve)")
	metricsAddr := fs.String("metrics-addr", "", "serve Prometheus metrics on this address (off when empty)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	relayKey := relayKeyFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	key, unsigned, err := consumerIdentity(&nc, *dataDir, *relayKey)
	if err != nil {
		return err
	}
	logger, err := newLogger(*logLevel, "json")
	if err != nil {
		return err
	}
	if nc.URL == "" {
		nc.URL = "nats://" + nc.Addr
	}
	pdb, err := openProjections(ctx, *dataDir, *currencies)
	if err != nil {
		return err
	}
	defer pdb.Close()
	conn, js, err := dialNATS(&nc, "walletd-projector", true)
	if err != nil {
		return err
	}
	defer conn.Close()
	metrics, closeMetrics, err := openMetrics(*metricsAddr, logger)
	if err != nil {
		return err
	}
	defer closeMetrics()
	p := &projections.Projector{DB: pdb, JS: js, Stream: nc.Stream, Prefix: nc.Prefix, Consumer: *consumer,
		Logger: logger, Metrics: projections.NewMetrics(metrics.Registry), Key: key, UnsignedThrough: unsigned}
	// Beside serve on the same data dir, the projector reads the ledger
	// (read-only: no migration, no write) for what the bounded stream
	// does not hold: a new projections.db, or messages dropped while it
	// was stopped (docs/scale.md). On another machine it follows the
	// stream alone.
	if ldb, err := openLedgerReadOnly(ctx, *dataDir); err != nil {
		return err
	} else if ldb != nil {
		defer ldb.Close()
		p.Ledger = sqlite.NewOutbox(ldb, "")
		p.Recoveries = bus.NewRecoveryMetrics(metrics.Registry).WithLabelValues("projector")
	}
	if err := p.Open(); err != nil {
		return err
	}
	logger.Info("walletd projector running", "nats_url", nc.URL, "consumer", *consumer, "data_dir", *dataDir)
	select {
	case <-ctx.Done():
	case <-p.Done(): // stopped by itself: Close says why
	}
	err = p.Close()
	logger.Info("projector stopped")
	return err
}

// runProjections handles `walletd projections rebuild`.
func runProjections(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "rebuild" {
		fmt.Fprint(os.Stderr, "Usage:\n  walletd projections rebuild [--data-dir D] [--nats-url URL]\n      empty the read models and replay them from the ledger and the stream (NATS must be\n      reachable: the embedded server of a running walletd serve, by default)\n")
		return exitError(2)
	}
	fs := flag.NewFlagSet("projections rebuild", flag.ContinueOnError)
	dataDir := dataDirFlag(fs)
	var nc natsConfig
	natsFlags(fs, &nc)
	currencies := fs.String("currencies", "", "extra currencies as CODE:SCALE,…")
	relayKey := relayKeyFlag(fs)
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	key, unsigned, err := consumerIdentity(&nc, *dataDir, *relayKey)
	if err != nil {
		return err
	}
	if nc.URL == "" {
		nc.URL = "nats://" + nc.Addr
	}
	pdb, err := openProjections(ctx, *dataDir, *currencies)
	if err != nil {
		return err
	}
	defer pdb.Close()
	conn, js, err := dialNATS(&nc, "walletd-rebuild", false)
	if err != nil {
		return fmt.Errorf("%w (is walletd serve running? or pass --nats-url)", err)
	}
	defer conn.Close()
	start := time.Now()
	p := &projections.Projector{DB: pdb, JS: js, Stream: nc.Stream, Prefix: nc.Prefix, Ephemeral: true, Key: key, UnsignedThrough: unsigned,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	// As the projector does: what the bounded stream no longer holds comes
	// from ledger.db, read-only, when this data dir has one.
	ldb, err := openLedgerReadOnly(ctx, *dataDir)
	if err != nil {
		return err
	}
	if ldb != nil {
		defer ldb.Close()
		p.Ledger = sqlite.NewOutbox(ldb, "")
	}
	if err := p.Rebuild(ctx); err != nil {
		return err
	}
	pos, err := pdb.Position(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("rebuilt %s up to ledger seq %d (stream seq %d) in %s\n",
		filepath.Join(*dataDir, "projections.db"), pos.LedgerSeq, pos.StreamSeq, time.Since(start).Round(time.Millisecond))
	return nil
}

func openProjections(ctx context.Context, dataDir, currencySpec string) (*projections.DB, error) {
	currencies := walletd.DefaultCurrencies()
	if err := currencies.ParseSpec(currencySpec); err != nil {
		return nil, fmt.Errorf("--currencies: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	pdb, err := projections.Open(ctx, filepath.Join(dataDir, "projections.db"))
	if err != nil {
		return nil, err
	}
	return pdb, nil
}

// dialNATS connects to c.URL. A service (retry) keeps trying while the
// server is away; a one-shot tool fails at once.
func dialNATS(c *natsConfig, name string, retry bool) (*nats.Conn, jetstream.JetStream, error) {
	opts := c.options()
	if c.NKey != "" {
		o, err := nkeyOptions(c.NKey)
		if err != nil {
			return nil, nil, err
		}
		opts = append(opts, o...)
	}
	if !retry {
		opts = append(opts, nats.RetryOnFailedConnect(false), nats.MaxReconnects(0))
	}
	conn, err := bus.Connect(c.URL, name, opts...)
	if err != nil {
		return nil, nil, err
	}
	js, err := jetstream.New(conn)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	return conn, js, nil
}

// openLedgerReadOnly opens dataDir's ledger.db read-only; nil when the data
// dir has none.
func openLedgerReadOnly(ctx context.Context, dataDir string) (*sqlite.DB, error) {
	path := filepath.Join(dataDir, "ledger.db")
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return sqlite.OpenReadOnly(ctx, path)
}
