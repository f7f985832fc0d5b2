package main

import (
	"context"
	"flag"
	"fmt"
)

// runDispatcher runs the outbound webhooks' dispatcher and senders in a
// process of its own (`walletd dispatcher`), beside a `walletd serve
// --webhooks=false` that serves the endpoint API on the same data dir:
// both use <data-dir>/webhooks.db and webhooks.key, and each sees the
// other's changes (webhooks/follow.go). It reads the stream as the
// "dispatcher" identity of serve's embedded NATS server.
func runDispatcher(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("dispatcher", flag.ContinueOnError)
	dataDir := dataDirFlag(fs)
	var nc natsConfig
	natsFlags(fs, &nc)
	cfg := webhookConfig{Enabled: true}
	webhookSendFlags(fs, &cfg)
	publicURL := fs.String("public-url", "", "walletd serve's --public-url: the X-WC-Webhook-Source of the woocommerce format")
	metricsAddr := fs.String("metrics-addr", "", "serve Prometheus metrics on this address (off when empty)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	relayKey := relayKeyFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *publicURL != "" {
		u, err := parsePublicURL(*publicURL)
		if err != nil {
			return fmt.Errorf("--public-url %q: %w", *publicURL, err)
		}
		cfg.SiteURL = u
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
	logger, err := newLogger(*logLevel, "json")
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
	if err := w.Open(); err != nil {
		return err
	}
	logger.Info("walletd dispatcher running", "nats_url", nc.URL, "consumer", cfg.Consumer, "data_dir", *dataDir)
	select {
	case <-ctx.Done():
	case <-w.dispatcher.Done(): // stopped by itself: Close says why
	}
	err = w.Close()
	logger.Info("dispatcher stopped")
	return err
}
