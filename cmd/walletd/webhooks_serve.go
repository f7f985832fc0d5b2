package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/walletd/walletd"
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
	fs.BoolVar(&c.Enabled, "webhooks", true, "run the outbound webhook dispatcher and senders (false: the /v1/webhook-endpoints API answers 503)")
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

// startWebhooks opens <dataDir>/webhooks.db (sealing secrets with
// <dataDir>/webhooks.key, created on first start), starts the senders and
// the dispatcher consuming stream from js, and returns the service for the
// HTTP server (nil when --webhooks=false) and a function that stops
// everything: the dispatcher, then the senders (attempts in flight are
// cancelled and sent again at the next start), then the database. stop may
// be called more than once.
func startWebhooks(ctx context.Context, c *webhookConfig, dataDir string, js jetstream.JetStream, stream, prefix string,
	reg *prometheus.Registry, logger *slog.Logger) (walletd.WebhookService, func(), error) {
	if !c.Enabled {
		logger.Info("outbound webhooks are off (--webhooks=false)")
		return nil, func() {}, nil
	}
	schedule, err := webhooks.ParseSchedule(c.RetrySchedule)
	if err != nil {
		return nil, nil, fmt.Errorf("--webhook-retry-schedule: %w", err)
	}
	allow, err := webhooks.ParseCIDRs(c.AllowCIDRs)
	if err != nil {
		return nil, nil, fmt.Errorf("--webhook-allow-cidrs: %w", err)
	}
	if len(allow) > 0 {
		logger.Warn("webhooks may reach non-public addresses, over plain http too: --webhook-allow-cidrs is for development and tests", "allow_cidrs", c.AllowCIDRs)
	}
	key, err := webhooks.LoadOrCreateKey(filepath.Join(dataDir, "webhooks.key"))
	if err != nil {
		return nil, nil, err
	}
	db, err := webhooks.Open(ctx, filepath.Join(dataDir, "webhooks.db"), key)
	if err != nil {
		return nil, nil, err
	}
	var metrics *webhooks.Metrics
	if reg != nil {
		metrics = webhooks.NewMetrics(reg)
	}
	svc := &webhooks.Service{
		DB:            db,
		SiteURL:       c.SiteURL,
		Schedule:      schedule,
		Allow:         allow,
		Workers:       c.Workers,
		PerEndpoint:   c.PerEndpoint,
		Timeout:       c.Timeout,
		RotationGrace: c.RotationGrace,
		Retention:     c.Retention,
		Metrics:       metrics,
		Logger:        logger,
	}
	if err := svc.Open(ctx); err != nil {
		db.Close()
		return nil, nil, err
	}
	d := &webhooks.Dispatcher{Service: svc, JS: js, Stream: stream, Prefix: prefix, Consumer: c.Consumer, Logger: logger}
	dctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := d.Run(dctx); err != nil {
			logger.Error("webhook dispatcher stopped", "error", err)
		}
	}()
	logger.Info("outbound webhooks started", "retry_schedule", webhooks.FormatSchedule(schedule), "workers", c.Workers,
		"endpoint_concurrency", c.PerEndpoint)
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			<-done
			svc.Close()
			if err := db.Close(); err != nil {
				logger.Warn("close webhooks.db", "error", err)
			}
		})
	}
	return svc, stop, nil
}
