package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
	_ "time/tzdata" // --limits-timezone works on hosts without a zoneinfo database

	"github.com/walletd/walletd"
)

// paths are the files walletd keeps in its data directory.
type paths struct {
	Dir           string
	LedgerDB      string // the ledger database
	Keyring       string // HMAC keys of the chain (0600)
	CheckpointKey string // Ed25519 private key (0600)
	CheckpointPub string // Ed25519 public key, for auditors
	AdminKey      string // the first admin API token (0600)
}

func dataPaths(dir string) paths {
	return paths{
		Dir:           dir,
		LedgerDB:      filepath.Join(dir, "ledger.db"),
		Keyring:       filepath.Join(dir, "keyring.json"),
		CheckpointKey: filepath.Join(dir, "checkpoint.key"),
		CheckpointPub: filepath.Join(dir, "checkpoint.pub"),
		AdminKey:      filepath.Join(dir, "admin.key"),
	}
}

// envName turns a flag name into its environment variable: data-dir →
// WALLETD_DATA_DIR.
func envName(flagName string) string {
	return "WALLETD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// applyEnv sets every flag of fs that was not given on the command line
// from its WALLETD_* variable, so flags win over the environment and the
// environment over defaults. Call it after fs.Parse.
func applyEnv(fs *flag.FlagSet) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		if v, ok := os.LookupEnv(envName(f.Name)); ok {
			err = fs.Set(f.Name, v)
		}
	})
	return err
}

// parseFlags parses args into fs and applies the environment.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	return applyEnv(fs)
}

// dataDirFlag registers the shared --data-dir flag.
func dataDirFlag(fs *flag.FlagSet) *string {
	return fs.String("data-dir", "./data", "directory of the databases and keys (env WALLETD_DATA_DIR)")
}

// featureConfig configures the wallet features: the calendar the spending
// limits count in and the currency of settings made without one.
type featureConfig struct {
	LimitsTimezone  string
	DefaultCurrency string
}

// featureFlags registers --limits-timezone and --default-currency.
func featureFlags(fs *flag.FlagSet, c *featureConfig) {
	fs.StringVar(&c.LimitsTimezone, "limits-timezone", "UTC", "IANA time zone whose calendar days and months the daily and monthly spending limits count in")
	fs.StringVar(&c.DefaultCurrency, "default-currency", "USD", "currency of settings, cashback rules and milestones made without one")
}

// resolve checks the feature flags, the default currency against
// currencies, and returns the limits' time zone.
func (c *featureConfig) resolve(currencies *walletd.Currencies) (*time.Location, error) {
	if c.LimitsTimezone == "" {
		return nil, fmt.Errorf("--limits-timezone is empty: give an IANA time zone such as UTC or Europe/Berlin")
	}
	loc, err := time.LoadLocation(c.LimitsTimezone)
	if err != nil {
		return nil, fmt.Errorf("--limits-timezone %q is not an IANA time zone (such as UTC or Europe/Berlin): %w", c.LimitsTimezone, err)
	}
	if _, err := currencies.Scale(c.DefaultCurrency); err != nil {
		return nil, fmt.Errorf("--default-currency %q: %s", c.DefaultCurrency, walletd.ErrorMessage(err))
	}
	return loc, nil
}

// publicURLConfig is the address walletd is reached at from outside: the
// site_url of every event envelope, and the base of the links walletd
// hands out (payment links, postback URLs). --site-url is its former
// name, kept as a deprecated alias.
type publicURLConfig struct {
	URL     string // --public-url
	SiteURL string // --site-url, deprecated
}

// publicURLFlags registers --public-url and its deprecated alias
// --site-url.
func publicURLFlags(fs *flag.FlagSet, c *publicURLConfig) {
	fs.StringVar(&c.URL, "public-url", "", "absolute http(s) URL walletd is reached at: site_url of every event, base of the links it hands out (unset: http://<http-addr>, with a warning)")
	fs.StringVar(&c.SiteURL, "site-url", "", "deprecated alias of --public-url")
}

// resolve returns the public URL, validated, without a trailing slash.
// It warns when the deprecated --site-url gives it, and when neither flag
// does: then it is http://<httpAddr>, which only this host can reach.
func (c *publicURLConfig) resolve(httpAddr string, logger *slog.Logger) (string, error) {
	u, flagName := c.URL, "--public-url"
	switch {
	case c.URL != "" && c.SiteURL != "" && c.URL != c.SiteURL:
		return "", fmt.Errorf("--public-url %q and --site-url %q disagree: give --public-url only (--site-url is its deprecated alias)", c.URL, c.SiteURL)
	case c.URL == "" && c.SiteURL != "":
		u, flagName = c.SiteURL, "--site-url"
		logger.Warn("--site-url is deprecated: use --public-url (env WALLETD_PUBLIC_URL)", "public_url", c.SiteURL)
	case c.URL == "":
		fallback := "http://" + httpAddr
		logger.Warn("--public-url is not set: events carry site_url "+fallback+", which only this host can reach; set --public-url (env WALLETD_PUBLIC_URL) to the address walletd is reached at",
			"public_url", fallback)
		return fallback, nil
	}
	v, err := parsePublicURL(u)
	if err != nil {
		return "", fmt.Errorf("%s %q: %w", flagName, u, err)
	}
	return v, nil
}

// parsePublicURL accepts an absolute http or https URL with a host, an
// optional port and path, and no user info, query or fragment (links are
// made by appending paths to it). It returns it without a trailing slash.
func parsePublicURL(s string) (string, error) {
	const want = "want an absolute http or https URL such as https://wallet.example.com"
	if strings.ContainsAny(s, "?# \t\r\n") {
		return "", fmt.Errorf("%s, without query, fragment or spaces", want)
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%s: %w", want, err)
	}
	scheme := strings.ToLower(u.Scheme)
	switch {
	case scheme != "http" && scheme != "https", u.Opaque != "", u.Hostname() == "":
		return "", fmt.Errorf("%s", want)
	case u.User != nil:
		return "", fmt.Errorf("%s, without user info: it is published in every event", want)
	}
	return scheme + "://" + u.Host + strings.TrimRight(u.EscapedPath(), "/"), nil
}
