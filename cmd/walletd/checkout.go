package main

import (
	"context"
	"flag"
	"fmt"

	"time"

	"github.com/walletd/walletd"

	whttp "github.com/walletd/walletd/http"
	"github.com/walletd/walletd/ledger"
)

// checkoutConfig configures the reset-fee payment links.
type checkoutConfig struct {
	LinkTTL time.Duration // --payment-link-ttl
}

func checkoutFlags(fs *flag.FlagSet, c *checkoutConfig) {
	fs.DurationVar(&c.LinkTTL, "payment-link-ttl", walletd.DefaultLinkTTL,
		fmt.Sprintf("lifetime of a reset-fee payment link and its page, %s to %s: an order still unpaid then is cancelled", walletd.MinLinkTTL, walletd.MaxLinkTTL))
}

// check refuses a lifetime outside the seed's 5 to 10 minutes.
func (c *checkoutConfig) check() error {
	if c.LinkTTL < walletd.MinLinkTTL || c.LinkTTL > walletd.MaxLinkTTL {
		return fmt.Errorf("--payment-link-ttl %s: the reset-fee seed asks for links that expire within %s to %s", c.LinkTTL, walletd.MinLinkTTL, walletd.MaxLinkTTL)
	}
	return nil
}

// openCheckout starts the expiry of payment links (restoring the pending
// ones) and returns the HTTP server's Checkout.
func (s *server) openCheckout(ctx context.Context) (*whttp.Checkout, error) {
	co := &whttp.Checkout{PublicURL: s.cfg.PublicURL, LinkTTL: s.cfg.Checkout.LinkTTL}
	s.expirer = &ledger.LinkExpirer{Writer: s.writer, Reader: s.db, Logger: s.logger, OnExpired: co.OnLinkExpired}
	if err := s.expirer.Open(ctx); err != nil {
		return nil, fmt.Errorf("payment links: %w", err)
	}
	if n := s.expirer.Pending(); n > 0 {
		s.logger.Info("payment link expiries restored", "pending", n)
	}
	co.Expirer = s.expirer
	return co, nil
}
