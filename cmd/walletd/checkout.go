package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/walletd/walletd"

	whttp "github.com/walletd/walletd/http"
	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/webhooks/inbound"
)

// checkoutConfig configures the reset-fee payment links.
type checkoutConfig struct {
	LinkTTL       time.Duration // --payment-link-ttl
	StripeKeyFile string        // --stripe-secret-key-file
	StripeAPIURL  string        // --stripe-api-url
}

func checkoutFlags(fs *flag.FlagSet, c *checkoutConfig) {
	fs.DurationVar(&c.LinkTTL, "payment-link-ttl", walletd.DefaultLinkTTL,
		fmt.Sprintf("lifetime of a reset-fee payment link and its page, %s to %s: an order still unpaid then is cancelled", walletd.MinLinkTTL, walletd.MaxLinkTTL))
	fs.StringVar(&c.StripeKeyFile, "stripe-secret-key-file", "", "file holding the Stripe secret key (sk_… or rk_…): the payment page then offers \"Pay by card\" (Stripe Checkout)")
	fs.StringVar(&c.StripeAPIURL, "stripe-api-url", "", "Stripe's API base URL (default https://api.stripe.com; a test server's for development)")
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
	if s.cfg.Checkout.StripeKeyFile != "" {
		b, err := os.ReadFile(s.cfg.Checkout.StripeKeyFile)
		if err != nil {
			return nil, fmt.Errorf("--stripe-secret-key-file: %w", err)
		}
		key := strings.TrimSpace(string(b))
		if !strings.HasPrefix(key, "sk_") && !strings.HasPrefix(key, "rk_") || strings.ContainsAny(key, " \t\r\n") {
			return nil, fmt.Errorf("--stripe-secret-key-file %s: not a Stripe secret key (sk_… or rk_…)", s.cfg.Checkout.StripeKeyFile)
		}
		cs := walletd.DefaultCurrencies()
		if err := cs.ParseSpec(s.cfg.Currencies); err != nil {
			return nil, err
		}
		co.Methods = append(co.Methods, &whttp.StripeMethod{Checkout: &inbound.Checkout{SecretKey: key, APIBase: s.cfg.Checkout.StripeAPIURL, Currencies: cs}})
		s.logger.Info("the payment page offers cards (Stripe Checkout)")
	}
	return co, nil
}
