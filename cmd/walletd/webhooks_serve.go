package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/walletd/walletd"
	"github.com/walletd/walletd/events/bus"
	"github.com/walletd/walletd/webhooks"
)

// webhookConfig configures the outbound webhooks of `walletd serve`.
type webhookConfig struct {
	Enabled       bool
	RetrySchedule string
	AllowCIDRs    string
	Workers       int
	PerEndpoint   int
	Timeout       time.Duration
	RotationGrace time.Duration
	Retention     time.Duration
	Consumer      string
	// SiteURL is the site_url of test and ping envelopes and the
	// X-WC-Webhook-Source of the woocommerce format. serve sets it (it is
	// the same as the events' site_url); it has no flag of its own.
	SiteURL string
}

// webhookFlags registers the --webhook-* flags.
func webhookFlags(fs *flag.FlagSet, c *webhookConfig) {
	fs.BoolVar(&c.Enabled, "webhooks", true, "run the outbound webhook dispatcher and senders (false: serve only the /v1/webhook-endpoints API and run walletd dispatcher on this data dir)")
	webhookSendFlags(fs, c)
}

// webhookSendFlags registers the --webhook-* flags that serve and walletd
// dispatcher share.
func webhookSendFlags(fs *flag.FlagSet, c *webhookConfig) {
	fs.StringVar(&c.RetrySchedule, "webhook-retry-schedule", webhooks.FormatSchedule(webhooks.DefaultSchedule),
		"delays before each retry of a failed delivery; when the last retry fails the endpoint is suspended")
	fs.StringVar(&c.AllowCIDRs, "webhook-allow-cidrs", "",
		"addresses webhooks may reach although they are not public, also over plain http (development and tests only), e.g. 127.0.0.0/8,::1/128")
	fs.IntVar(&c.Workers, "webhook-workers", 256, "most webhook attempts in flight overall")
	fs.IntVar(&c.PerEndpoint, "webhook-endpoint-concurrency", 4, "most webhook attempts in flight per endpoint")
	fs.DurationVar(&c.Timeout, "webhook-timeout", 10*time.Second, "timeout of one webhook attempt; a slower answer is a failure")
	fs.DurationVar(&c.RotationGrace, "webhook-rotation-grace", 24*time.Hour, "how long the standard format also signs with a rotated-out secret")
	fs.DurationVar(&c.Retention, "webhook-retention", 7*24*time.Hour, "how long finished deliveries are kept once no log row refers to them")
	fs.StringVar(&c.Consumer, "webhook-consumer", webhooks.DefaultConsumer, "durable JetStream consumer name of the webhook dispatcher")
}

// outboundWebhooks is the outbound webhooks of `walletd serve`:
// <DataDir>/webhooks.db (its secrets sealed with <DataDir>/webhooks.key,
// created on first start), the Service that sends deliveries and the
// Dispatcher that records them from the stream. Set the fields, then
// Open; Close stops it.
type outboundWebhooks struct {
	Config     *webhookConfig
	DataDir    string
	JS         jetstream.JetStream
	Stream     string
	Prefix     string
	Registerer prometheus.Registerer // nil: no metrics
	Logger     *slog.Logger
	RelayKey   []byte // bus.Relay.Key: messages without its MAC are refused
	// UnsignedThrough is the adopted stream's mark (unsigned.go).
	UnsignedThrough uint64
	// Follow makes the Service look for changes another process made to
	// webhooks.db (webhooks/follow.go): walletd dispatcher sets it, and
	// serve with --webhooks=false, which serves only the endpoint API.
	Follow bool
	// Ledger and Recoveries: the dispatcher's recovery from the ledger
	// (webhooks.Dispatcher.Ledger).
	Ledger     bus.Source
	Recoveries prometheus.Counter

	db         *webhooks.DB
	service    *webhooks.Service
	dispatcher *webhooks.Dispatcher
}

// followEvery is how often a Service shared by two processes looks for the
// other's changes (one read of a one-row table).
const followEvery = time.Second

// Open opens webhooks.db, then starts the senders and the dispatcher.
// With --webhooks=false it starts neither: the Service serves the
// endpoint API only, and a `walletd dispatcher` on the same data dir
// sends. It fails on a bad --webhook-* flag or a webhooks.db it cannot
// open; what it opened before failing is closed again.
func (w *outboundWebhooks) Open() (err error) {
	c := w.Config
	apiOnly := !c.Enabled
	schedule, err := webhooks.ParseSchedule(c.RetrySchedule)
	if err != nil {
		return fmt.Errorf("--webhook-retry-schedule: %w", err)
	}
	allow, err := webhooks.ParseCIDRs(c.AllowCIDRs)
	if err != nil {
		return fmt.Errorf("--webhook-allow-cidrs: %w", err)
	}
	if len(allow) > 0 {
		w.Logger.Warn("webhooks may reach non-public addresses, over plain http too: --webhook-allow-cidrs is for development and tests", "allow_cidrs", c.AllowCIDRs)
	}
	key, err := webhooks.LoadOrCreateKey(filepath.Join(w.DataDir, "webhooks.key"))
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			w.Close()
		}
	}()
	if w.db, err = webhooks.Open(context.Background(), filepath.Join(w.DataDir, "webhooks.db"), key); err != nil {
		return err
	}
	var metrics *webhooks.Metrics
	if w.Registerer != nil {
		metrics = webhooks.NewMetrics(w.Registerer)
	}
	w.service = &webhooks.Service{
		DB:            w.db,
		SiteURL:       c.SiteURL,
		Schedule:      schedule,
		Allow:         allow,
		Workers:       c.Workers,
		PerEndpoint:   c.PerEndpoint,
		Timeout:       c.Timeout,
		RotationGrace: c.RotationGrace,
		Retention:     c.Retention,
		Metrics:       metrics,
		Logger:        w.Logger,
		APIOnly:       apiOnly,
	}
	if w.Follow || apiOnly {
		w.service.Follow = followEvery
	}
	if err := w.service.Open(); err != nil {
		return err
	}
	if apiOnly {
		w.Logger.Info("outbound webhooks are not sent here (--webhooks=false): this process serves the endpoint API; run walletd dispatcher on this data dir")
		return nil
	}
	w.dispatcher = &webhooks.Dispatcher{Service: w.service, JS: w.JS, Stream: w.Stream, Prefix: w.Prefix, Consumer: c.Consumer, Logger: w.Logger, Key: w.RelayKey}
	w.dispatcher.UnsignedThrough = w.UnsignedThrough
	w.dispatcher.Ledger, w.dispatcher.Recoveries = w.Ledger, w.Recoveries
	if err := w.dispatcher.Open(); err != nil {
		return err
	}
	w.Logger.Info("outbound webhooks started", "retry_schedule", webhooks.FormatSchedule(schedule), "workers", c.Workers,
		"endpoint_concurrency", c.PerEndpoint)
	return nil
}

// Service returns the endpoint service for the HTTP server: nil when not
// open or off (the webhook API then answers 503).
func (w *outboundWebhooks) Service() walletd.WebhookService {
	if w.service == nil {
		return nil
	}
	return w.service
}

// Close stops the dispatcher, then the senders (attempts in flight are
// cancelled and sent again at the next start), then closes webhooks.db.
// Closing twice is harmless.
func (w *outboundWebhooks) Close() error {
	var errs []error
	if w.dispatcher != nil {
		if err := w.dispatcher.Close(); err != nil {
			errs = append(errs, fmt.Errorf("webhook dispatcher: %w", err))
		}
		w.dispatcher = nil
	}
	if w.service != nil {
		errs = append(errs, w.service.Close())
		w.service = nil
	}
	if w.db != nil {
		if err := w.db.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close webhooks.db: %w", err))
		}
		w.db = nil
	}
	return errors.Join(errs...)
}
