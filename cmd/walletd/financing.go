package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/walletd/walletd"
	"github.com/walletd/walletd/financing"
)

// financingConfig configures consumer financing in `walletd serve`. The
// provider's settings are not flags: an admin sets them through the API
// (walletd financing settings set).
type financingConfig struct {
	Enabled bool
	Timeout time.Duration
	Window  time.Duration
}

// financingFlags registers the --financing-* flags.
func financingFlags(fs *flag.FlagSet, c *financingConfig) {
	fs.BoolVar(&c.Enabled, "financing", true, "serve consumer financing (false: its routes answer 503)")
	fs.DurationVar(&c.Timeout, "financing-timeout", financing.DefaultTimeout, "timeout of one call of the financing provider")
	fs.DurationVar(&c.Window, "financing-window", financing.DefaultWindow, "how far a postback's x-timestamp may be from now")
}

// financingPart is consumer financing in `walletd serve`: its tables in
// <DataDir>/webhooks.db (the password sealed with webhooks.key) and the
// Service the HTTP server uses. Its postbacks go through the inbound
// pipeline (inboundWebhooks.Financing), which applies them through the
// writer. Set the fields, then Open; Close closes it.
type financingPart struct {
	Config     *financingConfig
	DataDir    string
	PublicURL  string
	Writer     walletd.Submitter
	Ledger     walletd.LedgerReader
	Currencies *walletd.Currencies
	Registerer prometheus.Registerer // nil: no metrics
	Logger     *slog.Logger

	store   *financing.Store
	service *financing.Service
}

// Open opens the store.
func (f *financingPart) Open() (err error) {
	c := f.Config
	if !c.Enabled {
		f.Logger.Info("financing is off (--financing=false)")
		return nil
	}
	if c.Timeout <= 0 || c.Window <= 0 {
		return fmt.Errorf("--financing-timeout and --financing-window must be above zero")
	}
	seal, err := dataDirSealer(f.DataDir)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	if f.store, err = financing.OpenStore(context.Background(), filepath.Join(f.DataDir, "webhooks.db"), seal); err != nil {
		return err
	}
	var metrics *financing.Metrics
	if f.Registerer != nil {
		metrics = financing.NewMetrics(f.Registerer)
	}
	f.service = &financing.Service{Store: f.store, Writer: f.Writer, Ledger: f.Ledger, Currencies: f.Currencies, PublicURL: f.PublicURL,
		Timeout: c.Timeout, Window: c.Window, Metrics: metrics, Logger: f.Logger}
	return nil
}

// Service returns the financing service for the HTTP server: nil when off.
func (f *financingPart) Service() *financing.Service { return f.service }

// Close closes the store (after the inbound pipeline, which applies the
// postbacks, has stopped).
func (f *financingPart) Close() error {
	var errs []error
	if f.store != nil {
		errs = append(errs, f.store.Close())
		f.store = nil
	}
	return errors.Join(errs...)
}
