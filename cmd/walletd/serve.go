package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/walletd/walletd"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/walletd/walletd/events/bus"
	whttp "github.com/walletd/walletd/http"
	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/ledger/sqlite"
	"github.com/walletd/walletd/projections"
)

// serveConfig is everything `walletd serve` is configured with.
type serveConfig struct {
	DataDir            string
	HTTPAddr           string
	LogLevel           string
	LogFormat          string
	CheckpointEvery    uint64
	CheckpointInterval time.Duration
	MaxBatch           int
	Currencies         string
	ShutdownTimeout    time.Duration
	// PublicURL is the address walletd is reached at (--public-url,
	// resolved and validated by Open): the site_url of every event, and
	// the base of the links walletd hands out (payment links, postback
	// URLs).
	PublicURL       string
	Public          publicURLConfig // the flags behind PublicURL
	PprofAddr       string
	InsecureDataDir bool // --insecure-data-dir-permissions: see checkDataDir
	AdoptUnsigned   bool // --adopt-unsigned-stream: see unsignedThrough
	NATS            natsConfig
	NATSServer      natsServerConfig // the embedded server's TLS
	Webhooks        webhookConfig
	Features        featureConfig
	Checkout        checkoutConfig
	Plugin          pluginConfig
	GC              gcConfig
	// Projector runs the projector in serve (--projector); false leaves
	// projections.db to a `walletd projector` process on the same data
	// dir, whose read models serve still answers from.
	Projector bool
	Financing financingConfig
	Inbound   inboundConfig
	Readiness readinessConfig
	// IdempotencyWindow is how long Idempotency-Keys are remembered
	// (--idempotency-window).
	IdempotencyWindow time.Duration
	// WalletCache bounds the wallets the writer keeps in memory
	// (--wallet-cache).
	WalletCache int
	// IdempotencyFilterStartupRows is how many entries of the window the
	// writer reads for its key filter before it opens; more are read in
	// the background (ledger.WriterConfig).
	IdempotencyFilterStartupRows int
}

// natsConfig says where events go: an embedded server (default) or an
// external one.
type natsConfig struct {
	Addr    string // embedded server's client address
	URL     string // external server; when set no server is embedded
	Creds   string
	NKey    string // nkey seed file (the embedded server's identities)
	TLSCA   string
	TLSCert string
	TLSKey  string
	Stream  string
	Prefix  string
	// Partitions is the N of the stream's partition(N, wallet) transform
	// (serve only: the stream is serve's to set up).
	Partitions int
	Replicas   int
	DupWindow  time.Duration
	// MaxAge and MaxBytes bound the stream (serve only; 0: no limit).
	MaxAge   time.Duration
	MaxBytes int64
}

func natsFlags(fs *flag.FlagSet, c *natsConfig) {
	fs.StringVar(&c.Addr, "nats-addr", "127.0.0.1:4222", "client address of the embedded NATS server")
	fs.StringVar(&c.URL, "nats-url", "", "external NATS server or cluster (nats://…); when set, none is embedded")
	fs.StringVar(&c.Creds, "nats-creds", "", "NATS credentials file (with --nats-url)")
	fs.StringVar(&c.NKey, "nats-nkey", "", "nkey seed file of this process's identity on walletd serve's embedded NATS server (see walletd nats-user)")
	fs.StringVar(&c.TLSCA, "nats-tls-ca", "", "CA certificate to verify the NATS server (with --nats-url)")
	fs.StringVar(&c.TLSCert, "nats-tls-cert", "", "client certificate for NATS (with --nats-tls-key)")
	fs.StringVar(&c.TLSKey, "nats-tls-key", "", "client key for NATS")
	fs.StringVar(&c.Stream, "nats-stream", "WALLETD", "JetStream stream name")
	fs.StringVar(&c.Prefix, "nats-prefix", "walletd", "subject prefix: events go to <prefix>.w.<partition>.<wallet id>.<event key> and <prefix>.sys.<event key>")
	fs.IntVar(&c.Replicas, "nats-replicas", 1, "stream replicas (3 for a cluster)")
	fs.DurationVar(&c.DupWindow, "nats-dup-window", bus.DefaultDuplicates, "JetStream duplicate window for Nats-Msg-Id (the relay's expected-sequence check gives exactly-once; this is a second guard)")
}

// natsOptions turns the credential and TLS flags into client options.
func (c *natsConfig) options() []nats.Option {
	var opts []nats.Option
	if c.Creds != "" {
		opts = append(opts, nats.UserCredentials(c.Creds))
	}
	if c.TLSCA != "" {
		opts = append(opts, nats.RootCAs(c.TLSCA))
	}
	if c.TLSCert != "" {
		opts = append(opts, nats.ClientCert(c.TLSCert, c.TLSKey))
	}
	return opts
}

func (c *natsConfig) streamConfig() bus.StreamConfig {
	sc := bus.StreamConfig{Name: c.Stream, Prefix: c.Prefix, Replicas: c.Replicas, Duplicates: c.DupWindow, Partitions: c.Partitions}
	c.limits(&sc)
	return sc
}

func serveFlags(fs *flag.FlagSet) *serveConfig {
	c := &serveConfig{}
	fs.StringVar(&c.DataDir, "data-dir", "./data", "directory of the databases and keys")
	fs.StringVar(&c.HTTPAddr, "http-addr", serveDefaultHTTPAddr, "address the HTTP API listens on")
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", "json", "json or text")
	fs.Uint64Var(&c.CheckpointEvery, "checkpoint-every", 1000, "sign a checkpoint every N entries (0: never by count)")
	fs.DurationVar(&c.CheckpointInterval, "checkpoint-interval", time.Minute, "sign a checkpoint when the head moved and this much time passed (0: never by time)")
	fs.IntVar(&c.MaxBatch, "max-batch", 1000, "most commands in one group commit")
	fs.StringVar(&c.Currencies, "currencies", "", "extra currencies as CODE:SCALE,… (ISO 4217 ones are built in)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 15*time.Second, "how long shutdown waits for requests in flight")
	publicURLFlags(fs, &c.Public)
	fs.IntVar(&c.NATS.Partitions, "nats-partitions", bus.DefaultPartitions, "partitions of wallets in the stream, 1 to 1024: the N of partition(N, wallet id) in wallet events' subjects")
	fs.StringVar(&c.PprofAddr, "pprof-addr", "", "serve Go's net/http/pprof profiles on this address (off when empty; keep it on loopback)")
	fs.BoolVar(&c.InsecureDataDir, insecureDataDirFlag, false, "use a data dir that group or others may write to (logs a warning; by default serve refuses it)")
	natsFlags(fs, &c.NATS)
	natsServerFlags(fs, &c.NATSServer)
	streamLimitFlags(fs, &c.NATS)
	fs.BoolVar(&c.AdoptUnsigned, "adopt-unsigned-stream", false, "once, after an upgrade: check the stream's unsigned messages (written before walletd signed them) against the ledger and accept them (docs/operations.md)")
	webhookFlags(fs, &c.Webhooks)
	featureFlags(fs, &c.Features)
	checkoutFlags(fs, &c.Checkout)
	pluginFlags(fs, &c.Plugin)
	gcFlags(fs, &c.GC)
	fs.BoolVar(&c.Projector, "projector", true, "run the projector in this process (false: run `walletd projector` on the same data dir; the read models are still served here)")
	financingFlags(fs, &c.Financing)
	inboundFlags(fs, &c.Inbound)
	readinessFlags(fs, &c.Readiness)
	fs.DurationVar(&c.IdempotencyWindow, "idempotency-window", 24*time.Hour, "how long an Idempotency-Key is remembered after its request committed: a repeat inside it answers the original, after it is a new request (0: forever; the key filter is then built from every key, in the background)")
	fs.IntVar(&c.WalletCache, "wallet-cache", 50000, "how many wallets the ledger writer keeps in memory (least recently used beyond it are read again from ledger.db when needed; 0: no bound)")
	fs.IntVar(&c.IdempotencyFilterStartupRows, "idempotency-filter-startup-rows", 100000, "how many entries of the idempotency window start-up reads for the key filter; a larger window is read in the background, every key looked up in ledger.db meanwhile")
	return c
}

func runServe(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg := serveFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if cfg.WalletCache < 0 {
		return fmt.Errorf("--wallet-cache %d: want 0 (no bound) or more", cfg.WalletCache)
	}
	if cfg.IdempotencyFilterStartupRows < 1 {
		return fmt.Errorf("--idempotency-filter-startup-rows %d: want 1 or more", cfg.IdempotencyFilterStartupRows)
	}
	if cfg.Financing.Enabled && !cfg.Inbound.Enabled {
		// The provider's postbacks arrive through the inbound pipeline:
		// without it, financing would send requests whose approvals are
		// never applied.
		return errors.New("--financing needs --inbound: the financing postbacks are inbound webhooks (or pass --financing=false)")
	}
	logger, err := newLogger(cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return err
	}
	return serve(ctx, cfg, logger)
}

func newLogger(level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: %w", level, err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want json or text", format)
}

// serve runs until ctx is cancelled, then shuts down in the reverse order
// of start.
func serve(ctx context.Context, cfg *serveConfig, logger *slog.Logger) error {
	if err := cfg.GC.apply(logger); err != nil {
		return err
	}
	s := &server{cfg: cfg, logger: logger}
	if err := s.Open(ctx); err != nil {
		if cerr := s.Close(); cerr != nil {
			logger.Warn("shutdown after a failed start", "error", cerr)
		}
		return err
	}
	logger.Info("walletd serving", "http_addr", s.http.URL(), "public_url", cfg.PublicURL, "data_dir", cfg.DataDir, "ledger_id", s.db.LedgerID(), "version", version)
	<-ctx.Done()
	logger.Info("shutting down")
	if err := s.Close(); err != nil {
		return err
	}
	logger.Info("stopped")
	return nil
}

// server is everything `walletd serve` runs. Open starts the parts in
// order, each able to use those before it; Close stops them in the
// reverse order: HTTP, the consumers, the writer (the final sync: it
// commits the batch in flight), the relay, NATS, the databases.
type server struct {
	cfg    *serveConfig
	logger *slog.Logger

	unlock    func() // releases the data dir's lock
	db        *sqlite.DB
	history   *sqlite.DB // ledger.db read-only: history and statements (their own pool)
	metrics   *whttp.Metrics
	nats      *bus.Server // nil with --nats-url
	natsAuth  *authReloader
	nc        *nats.Conn
	consumers []*nats.Conn // the projector's and the dispatcher's, embedded only
	relay     *bus.Relay
	writer    *ledger.Writer
	pdb       *projections.DB
	projector *projections.Projector
	webhooks  *outboundWebhooks
	financing *financingPart
	inbound   *inboundWebhooks
	http      *whttp.Server
	pprof     *sideServer // nil without --pprof-addr
	expirer   *ledger.LinkExpirer
}

// Open starts everything; on an error the caller calls Close, which stops
// what was started.
func (s *server) Open(ctx context.Context) error {
	cfg, logger := s.cfg, s.logger
	currencies := walletd.DefaultCurrencies()
	if err := currencies.ParseSpec(cfg.Currencies); err != nil {
		return fmt.Errorf("--currencies: %w", err)
	}
	limitLocation, err := cfg.Features.resolve(currencies)
	if err != nil {
		return err
	}
	if err := cfg.Checkout.check(); err != nil {
		return err
	}
	if cfg.PublicURL, err = cfg.Public.resolve(cfg.HTTPAddr, logger); err != nil {
		return err
	}
	siteURL := cfg.PublicURL
	if err := checkNATSExposure(&cfg.NATS, &cfg.NATSServer); err != nil {
		return err
	}
	p := dataPaths(cfg.DataDir)
	if err := checkDataDir(cfg.DataDir, cfg.InsecureDataDir, logger); err != nil {
		return err
	}
	unlock, err := prepareDataDir(p)
	if err != nil {
		return err
	}
	s.unlock = unlock

	// The ledger: its database, keys and first admin key.
	if s.db, err = sqlite.OpenPipelined(ctx, p.LedgerDB); err != nil {
		return err
	}
	head, err := sqlite.NewOutbox(s.db, "").Head(ctx)
	if err != nil {
		return err
	}
	keyring, priv, pubPEM, err := loadOrCreateKeys(p, head > 0, logger)
	if err != nil {
		return err
	}
	if err := ensureAdminKey(ctx, s.db, p, logger); err != nil {
		return err
	}
	s.metrics = whttp.NewMetrics()
	reg := s.metrics.Registry

	// NATS: the embedded server unless --nats-url, and the stream.
	natsURL := cfg.NATS.URL
	if natsURL == "" {
		if s.nats, s.natsAuth, err = openEmbeddedNATS(cfg, logger); err != nil {
			return err
		}
		natsURL = s.nats.ClientURL()
		logger.Info("embedded NATS server started", "nats_url", natsURL)
		s.nc, err = embeddedClient(s.nats, cfg.DataDir, identityServe)
	} else {
		s.nc, err = bus.Connect(natsURL, "walletd", cfg.NATS.options()...)
	}
	if err != nil {
		return err
	}
	js, err := jetstream.New(s.nc)
	if err != nil {
		return fmt.Errorf("nats: jetstream: %w", err)
	}
	// The consumers read with identities of their own on the embedded
	// server: they cannot publish on the stream.
	projectorJS, dispatcherJS, err := s.consumerStreams(js)
	if err != nil {
		return err
	}
	ensureStream := func(ctx context.Context) error {
		sc := cfg.NATS.streamConfig()
		sc.Logger = logger
		_, err := bus.EnsureStream(ctx, js, sc)
		return err
	}
	if s.nats != nil {
		// In-process: a stream that cannot be set up is an error now, not
		// a warning repeated forever. An external server may be away at
		// start: the relay sets the stream up when it is back.
		if err := ensureStream(ctx); err != nil {
			return err
		}
	}

	// The relay, then the writer that wakes it after every commit.
	relayKey, err := loadOrCreateRelayKey(cfg.DataDir)
	if err != nil {
		return err
	}
	outbox := sqlite.NewOutbox(s.db, siteURL) // one cache of wallet owners for the relay and the consumers
	unsigned, err := unsignedThrough(ctx, cfg.DataDir, js, cfg.NATS.Stream, cfg.NATS.Prefix, outbox, cfg.AdoptUnsigned, logger)
	if err != nil {
		return err
	}
	s.relay = &bus.Relay{
		Key:     relayKey,
		JS:      js,
		Stream:  cfg.NATS.Stream,
		Prefix:  cfg.NATS.Prefix,
		Source:  outbox,
		Logger:  logger,
		Setup:   ensureStream,
		Metrics: bus.NewRelayMetrics(reg),
		Gated:   true, // the writer offers each batch once durable (Sync, OnDurable)
	}
	s.relay.PositionFile = relayPositionFile(cfg.DataDir)
	s.relay.UnsignedThrough = unsigned
	if err := s.relay.Open(); err != nil {
		return err
	}
	writerMetrics := ledger.NewMetrics(reg)
	s.writer, err = ledger.NewWriter(ctx, ledger.WriterConfig{
		Store:              s.db,
		Lookup:             s.db.LookupIdempotencyKey,
		Keyring:            keyring,
		Currencies:         currencies,
		CheckpointKey:      priv,
		CheckpointEvery:    cfg.CheckpointEvery,
		CheckpointInterval: cfg.CheckpointInterval,
		MaxBatch:           cfg.MaxBatch,
		LimitLocation:      limitLocation,
		DefaultCurrency:    cfg.Features.DefaultCurrency,
		IdempotencyWindow:  cfg.IdempotencyWindow,
		WalletCache:        cfg.WalletCache,
		OnCommit:           writerMetrics.OnCommit,
		Sync:               s.db.Sync,
		OnDurable:          s.relay.Offer,
		Logger:             logger,

		IdempotencyFilterStartupRows: cfg.IdempotencyFilterStartupRows,
	})
	if err != nil {
		return err
	}
	ledger.RegisterWalletCacheMetrics(reg, s.writer)
	ledger.RegisterKeyFilterMetrics(reg, s.writer)
	s.writer.Open()
	checkout, err := s.openCheckout(ctx)
	if err != nil {
		return err
	}

	// The consumers of the stream: the projections and the webhooks.
	if s.pdb, err = openProjections(ctx, cfg.DataDir, cfg.Currencies); err != nil {
		return err
	}
	s.projector = &projections.Projector{DB: s.pdb, JS: projectorJS, Stream: cfg.NATS.Stream, Prefix: cfg.NATS.Prefix,
		Consumer: projections.DefaultConsumer, Logger: logger, Metrics: projections.NewMetrics(reg), Key: relayKey}
	s.projector.UnsignedThrough = unsigned
	recoveries := bus.NewRecoveryMetrics(reg)
	// What the consumers recover from the ledger is what the relay may
	// publish: durable entries only.
	s.projector.Ledger, s.projector.Recoveries = s.relay.DurableSource(), recoveries.WithLabelValues("projector")
	if !cfg.Projector {
		s.projector = nil
		logger.Info("the projector is not run here (--projector=false): run walletd projector on this data dir")
	} else if err := s.projector.Open(); err != nil {
		return err
	}
	cfg.Webhooks.SiteURL = siteURL
	s.webhooks = &outboundWebhooks{Config: &cfg.Webhooks, DataDir: cfg.DataDir, JS: dispatcherJS, Stream: cfg.NATS.Stream,
		Prefix: cfg.NATS.Prefix, Registerer: reg, Logger: logger, RelayKey: relayKey}
	s.webhooks.UnsignedThrough = unsigned
	s.webhooks.Ledger, s.webhooks.Recoveries = s.relay.DurableSource(), recoveries.WithLabelValues("webhooks")
	if err := s.webhooks.Open(); err != nil {
		return err
	}

	s.financing = &financingPart{Config: &cfg.Financing, DataDir: cfg.DataDir, PublicURL: cfg.PublicURL, Writer: s.writer, Ledger: s.db,
		Currencies: currencies, Registerer: reg, Logger: logger}
	if err := s.financing.Open(); err != nil {
		return err
	}

	s.inbound = &inboundWebhooks{Config: &cfg.Inbound, DataDir: cfg.DataDir, PublicURL: siteURL, Writer: s.writer, Ledger: s.db,
		Currencies: currencies, Registerer: reg, Logger: logger, Financing: s.financing.Service()}
	if err := s.inbound.Open(); err != nil {
		return err
	}

	pluginAPI, err := s.openPlugin(siteURL, currencies)
	if err != nil {
		return err
	}

	// HTTP.
	if s.history, err = sqlite.OpenReadOnlyConns(ctx, p.LedgerDB, 4); err != nil {
		return err
	}
	pub := priv.Public().(ed25519.PublicKey)
	db := s.db
	s.http = &whttp.Server{
		Addr:                cfg.HTTPAddr,
		Writer:              s.writer,
		Ledger:              db,
		APIKeys:             db,
		Currencies:          currencies,
		CheckpointPublicKey: pubPEM,
		Projections:         &whttp.Projections{Reader: s.pdb, History: sqlite.NewHistory(s.history, currencies)},
		Webhooks:            s.webhooks.Service(),
		Inbound:             s.inbound.Pipeline(),
		Alert:               s.relay.Alert,
		Metrics:             s.metrics,
		Logger:              logger,
		ShutdownTimeout:     cfg.ShutdownTimeout,
		LimitLocation:       limitLocation,
		DefaultCurrency:     cfg.Features.DefaultCurrency,
		Checkout:            checkout,
		Plugin:              pluginAPI,
		PluginKeys:          db,
		Verify: func(ctx context.Context) (*ledger.VerifyReport, error) {
			return verifyDB(ctx, db, keyring, pub)
		},
	}
	if fs := s.financing.Service(); fs != nil {
		s.http.Financing = fs
		checkout.Methods = append(checkout.Methods, &whttp.FinancingMethod{Service: fs})
	}
	s.http.Lag = s.lagChecker()
	reg.MustRegister(s.http.Lag)
	if err := s.http.Open(); err != nil {
		return err
	}
	if cfg.PprofAddr != "" {
		s.pprof = &sideServer{Name: "pprof", Addr: cfg.PprofAddr, Handler: pprofHandler(), Logger: logger}
		if err := s.pprof.Open(); err != nil {
			return err
		}
	}
	return nil
}

// Close stops what Open started, in the reverse order. Errors are logged;
// it returns the ledger database's, which would mean the last commit may
// not be on disk.
func (s *server) Close() error {
	warn := func(what string, err error) {
		if err != nil {
			s.logger.Warn(what, "error", err)
		}
	}
	if s.pprof != nil {
		warn("pprof shutdown", s.pprof.Close())
	}
	if s.http != nil {
		warn("http shutdown", s.http.Close())
	}
	if s.inbound != nil {
		warn("inbound shutdown", s.inbound.Close())
	}
	if s.projector != nil {
		warn("projector stopped", s.projector.Close())
	}
	if s.financing != nil {
		warn("financing shutdown", s.financing.Close())
	}
	if s.webhooks != nil {
		warn("webhooks shutdown", s.webhooks.Close())
	}
	if s.expirer != nil {
		warn("payment link expiries", s.expirer.Close())
	}
	if s.writer != nil {
		warn("writer shutdown", s.writer.Close())
	}
	if s.relay != nil {
		warn("relay shutdown", s.relay.Close())
	}
	for _, nc := range s.consumers {
		nc.Close()
	}
	if s.nc != nil {
		s.nc.Close()
	}
	if s.natsAuth != nil {
		warn("nats identities", s.natsAuth.Close())
	}
	if s.nats != nil {
		warn("nats shutdown", s.nats.Close())
	}
	if s.pdb != nil {
		warn("close projections.db", s.pdb.Close())
	}
	if s.history != nil {
		warn("close ledger.db's history pool", s.history.Close())
	}
	var err error
	if s.db != nil {
		if cerr := s.db.Close(); cerr != nil {
			err = fmt.Errorf("close ledger: %w", cerr)
		}
	}
	if s.unlock != nil {
		s.unlock()
	}
	return err
}

// verifyDB runs the full verifier over an open ledger database.
func verifyDB(ctx context.Context, db *sqlite.DB, kr *walletd.Keyring, pub ed25519.PublicKey) (*ledger.VerifyReport, error) {
	cps, err := db.Checkpoints(ctx, 0, 0)
	if err != nil {
		return nil, err
	}
	it, err := db.IterateEntries(ctx)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	return ledger.Verify(ctx, it, cps, ledger.VerifyOptions{Keyring: kr, PublicKey: pub, LedgerID: db.LedgerID()})
}
