package main

import (
	"context"
	"flag"
	"log/slog"

	"github.com/walletd/walletd/events/bus"
	"github.com/walletd/walletd/ledger/sqlite"
)

// runDispatcher runs the outbound webhooks' dispatcher and senders in a
// process of its own (`walletd dispatcher`), beside a `walletd serve
// --webhooks=false` that serves the endpoint API on the same data dir:
// both use <data-dir>/webhooks.db and webhooks.key, and each sees the
// other's changes (webhooks/follow.go). It reads the stream as the
// "dispatcher" identity of serve's embedded NATS server, and, as serve's
// dispatcher does, recovers from <data-dir>/ledger.db (read-only) the
// events the bounded stream dropped before it recorded them; their bodies
// carry its --public-url, which must be serve's.
func runDispatcher(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("dispatcher", flag.ContinueOnError)
	dataDir := dataDirFlag(fs)
	var nc natsConfig
	natsFlags(fs, &nc)
	cfg := webhookConfig{Enabled: true}
	webhookSendFlags(fs, &cfg)
	var public publicURLConfig
	publicURLFlags(fs, &public) // give serve's: see dispatcherSiteURL
	metricsAddr := fs.String("metrics-addr", "", "serve Prometheus metrics on this address (off when empty)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	relayKey := relayKeyFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	logger, err := newLogger(*logLevel, "json")
	if err != nil {
		return err
	}
	if cfg.SiteURL, err = dispatcherSiteURL(&public, logger); err != nil {
		return err
	}
	if nc.NKey == "" && nc.Creds == "" {
		if seed := natsAuthDir(*dataDir).Seed(identityDispatch); fileExists(seed) {
			nc.NKey = seed
		}
	}
	key, unsigned, err := consumerIdentity(&nc, *dataDir, *relayKey)
	if err != nil {
		return err
	}
	if nc.URL == "" {
		nc.URL = "nats://" + nc.Addr
	}
	conn, js, err := dialNATS(&nc, "walletd-"+identityDispatch, true)
	if err != nil {
		return err
	}
	defer conn.Close()
	metrics, closeMetrics, err := openMetrics(*metricsAddr, logger)
	if err != nil {
		return err
	}
	defer closeMetrics()
	w := &outboundWebhooks{Config: &cfg, DataDir: *dataDir, JS: js, Stream: nc.Stream, Prefix: nc.Prefix,
		Registerer: metrics.Registry, Logger: logger, RelayKey: key, UnsignedThrough: unsigned, Follow: true}
	// As serve's dispatcher: what the bounded stream dropped before this
	// one recorded it comes from ledger.db, read-only, with the envelopes
	// the relay published (serve's site URL: --public-url).
	ldb, err := openLedgerReadOnly(ctx, *dataDir)
	if err != nil {
		return err
	}
	if ldb != nil {
		defer ldb.Close()
		w.Ledger = sqlite.NewOutbox(ldb, cfg.SiteURL)
		w.Recoveries = bus.NewRecoveryMetrics(metrics.Registry).WithLabelValues("webhooks")
	} else {
		logger.Warn("walletd dispatcher: no ledger.db in the data dir: events the stream drops before this dispatcher records them are not delivered; run it on serve's data dir",
			"data_dir", *dataDir)
	}
	if err := w.Open(); err != nil {
		return err
	}
	logger.Info("walletd dispatcher running", "nats_url", nc.URL, "consumer", cfg.Consumer, "data_dir", *dataDir,
		"public_url", cfg.SiteURL, "recovers_from_ledger", ldb != nil)
	select {
	case <-ctx.Done():
	case <-w.dispatcher.Done(): // stopped by itself: Close says why
	}
	err = w.Close()
	logger.Info("dispatcher stopped")
	return err
}

// serveDefaultHTTPAddr is the default of serve's --http-addr: without
// --public-url, serve's events carry http://<it> as their site_url.
const serveDefaultHTTPAddr = "127.0.0.1:8080"

// dispatcherSiteURL resolves the dispatcher's --public-url as serve
// resolves its own (same flags, env WALLETD_PUBLIC_URL, validation and
// warning). It is the site_url of the events the dispatcher recovers from
// the ledger and of ping and test events, and the X-WC-Webhook-Source of
// the woocommerce format, so it must be serve's for those bodies to be
// the ones serve's dispatcher would send. Unset, it is serve's fallback
// with its default --http-addr, right only for a serve that has neither
// flag; the dispatcher says so.
func dispatcherSiteURL(c *publicURLConfig, logger *slog.Logger) (string, error) {
	u, err := c.resolve(serveDefaultHTTPAddr, logger)
	if err != nil {
		return "", err
	}
	if c.URL == "" && c.SiteURL == "" {
		logger.Warn("walletd dispatcher: events recovered from the ledger, ping and test events carry site_url "+u+
			" (serve's when it runs without --public-url on its default --http-addr); give this dispatcher serve's --public-url",
			"public_url", u)
	}
	return u, nil
}
