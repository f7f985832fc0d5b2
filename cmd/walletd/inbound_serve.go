package main

import (
	"context"
	"crypto/x509"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/walletd/walletd"
	"github.com/walletd/walletd/financing"
	"github.com/walletd/walletd/financing/gateway"
	"github.com/walletd/walletd/webhooks"
	"github.com/walletd/walletd/webhooks/inbound"
)

// inboundConfig configures the inbound payment-gateway webhooks of
// `walletd serve`.
type inboundConfig struct {
	Enabled        bool
	TrustedProxies string
	MaxAttempts    int
	RetryBase      time.Duration
	Wait           time.Duration
	Workers        int
	BlockAfter     int
	BlockFor       time.Duration
	PayPalRoots    string
	PayPalCertName string
	PayPalWindow   time.Duration
}

// inboundFlags registers the --inbound-* and --paypal-* flags.
func inboundFlags(fs *flag.FlagSet, c *inboundConfig) {
	fs.BoolVar(&c.Enabled, "inbound", true, "receive payment gateways' webhooks (false: the /v1/inbound and /wp-json/odcm routes answer 503)")
	fs.StringVar(&c.TrustedProxies, "inbound-trusted-proxies", "", "proxies (CIDRs) whose X-Forwarded-For gives a gateway's client address, e.g. 10.0.0.0/8")
	fs.IntVar(&c.MaxAttempts, "inbound-max-attempts", 3, "attempts at an inbound event that fails in a way that may pass, before it is dead-lettered")
	fs.DurationVar(&c.RetryBase, "inbound-retry-base", time.Hour, "delay before the first retry of an inbound event; each next one is four times longer")
	fs.DurationVar(&c.Wait, "inbound-wait", 10*time.Second, "how long a delivery waits for its event's outcome before it is answered 500 (the event is still processed)")
	fs.IntVar(&c.Workers, "inbound-workers", 4, "inbound events processed at once")
	fs.IntVar(&c.BlockAfter, "inbound-block-after", 10, "signature failures from one address within 10 minutes that block it (0: the default, -1: never)")
	fs.DurationVar(&c.BlockFor, "inbound-block-for", 15*time.Minute, "how long an address stays blocked")
	fs.StringVar(&c.PayPalRoots, "paypal-cert-roots", "", "PEM file of the roots PayPal's certificate chains must lead to (default: the system's)")
	fs.StringVar(&c.PayPalCertName, "paypal-cert-name", "messageverificationcerts.paypal.com", "DNS name PayPal's signing certificate must be valid for")
	fs.DurationVar(&c.PayPalWindow, "paypal-window", 10*time.Minute, "how far a PayPal transmission time may be from now")
}

// inboundWebhooks is the inbound side of `walletd serve`: its own
// connections to <DataDir>/webhooks.db (gateway secrets sealed with
// <DataDir>/webhooks.key) and the pipeline. Set the fields, then Open;
// Close stops it.
type inboundWebhooks struct {
	Config     *inboundConfig
	DataDir    string
	PublicURL  string
	Writer     walletd.Submitter
	Ledger     walletd.LedgerReader
	Currencies *walletd.Currencies
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	// Financing, when not nil, adds the wegetfinancing gateway: its
	// postbacks go through the pipeline, and its requests are logged in
	// the pipeline's log.
	Financing *financing.Service

	db       *inbound.DB
	pipeline *inbound.Pipeline
}

// Open opens the database and starts the pipeline, which first processes
// the events a stop or a crash left pending. With --inbound=false it
// starts nothing.
func (w *inboundWebhooks) Open() (err error) {
	c := w.Config
	if !c.Enabled {
		w.Logger.Info("inbound gateway webhooks are off (--inbound=false)")
		return nil
	}
	trusted, err := webhooks.ParseCIDRs(c.TrustedProxies)
	if err != nil {
		return fmt.Errorf("--inbound-trusted-proxies: %w", err)
	}
	var roots *x509.CertPool
	if c.PayPalRoots != "" {
		pem, err := os.ReadFile(c.PayPalRoots)
		if err != nil {
			return fmt.Errorf("--paypal-cert-roots: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return fmt.Errorf("--paypal-cert-roots %s: no PEM certificate", c.PayPalRoots)
		}
	}
	seal, err := dataDirSealer(w.DataDir)
	if err != nil {
		return err
	}
	if w.db, err = inbound.OpenDB(context.Background(), filepath.Join(w.DataDir, "webhooks.db"), seal); err != nil {
		return err
	}
	var metrics *inbound.Metrics
	if w.Registerer != nil {
		metrics = inbound.NewMetrics(w.Registerer)
	}
	adapters := inbound.NewAdapters(inbound.AdapterOptions{Currencies: w.Currencies,
		PayPal: inbound.PayPalOptions{Roots: roots, CertName: c.PayPalCertName, Window: c.PayPalWindow}})
	if w.Financing != nil {
		adapters[financing.GatewayName] = gateway.NewAdapter(w.Financing)
		w.Financing.Inbound = gateway.Log{DB: w.db}
	}
	w.pipeline = &inbound.Pipeline{
		DB: w.db, Writer: w.Writer, Ledger: w.Ledger, Metrics: metrics, Logger: w.Logger, PublicURL: w.PublicURL,
		Adapters:       adapters,
		TrustedProxies: trusted, MaxAttempts: c.MaxAttempts, RetryBase: c.RetryBase, Wait: c.Wait, Workers: c.Workers,
		BlockAfter: c.BlockAfter, BlockFor: c.BlockFor,
	}
	if err := w.pipeline.Open(); err != nil {
		w.db.Close()
		return err
	}
	return nil
}

// Pipeline is the running pipeline, nil when off.
func (w *inboundWebhooks) Pipeline() *inbound.Pipeline { return w.pipeline }

// Close stops the pipeline (attempts in flight finish) and closes the
// database.
func (w *inboundWebhooks) Close() error {
	var err error
	if w.pipeline != nil {
		err = w.pipeline.Close()
	}
	if w.db != nil {
		if cerr := w.db.Close(); err == nil {
			err = cerr
		}
	}
	return err
}
