package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/time/rate"

	"github.com/walletd/walletd"
	whttp "github.com/walletd/walletd/http"
	"github.com/walletd/walletd/http/plugin"
	"github.com/walletd/walletd/keyfile"
)

// The plugin order API's command line: `walletd plugin-key` (create, list,
// revoke the keys storefront plugins use), `walletd keys
// rotate-plugin-jwt-key`, and serve's --plugin-* flags.

// pluginJWTFile is the JWT signing keys' file in the data dir (0600).
const pluginJWTFile = "plugin-jwt.json"

const pluginKeyUsage = `Usage:
  walletd plugin-key create --plugin-name NAME [--data-dir D]
      create a plugin key for the storefront plugin NAME (the plugin_name it
      sends) and print the key once
  walletd plugin-key list [--data-dir D]
      list plugin keys (never their secrets)
  walletd plugin-key revoke ID [--data-dir D]
      revoke a key: it generates no more tokens, and its tokens and refresh
      tokens stop working
`

func runPluginKey(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, pluginKeyUsage)
		return exitError(2)
	}
	verb, rest := args[0], args[1:]
	fs := flag.NewFlagSet("plugin-key "+verb, flag.ContinueOnError)
	dataDir := dataDirFlag(fs)
	switch verb {
	case "create":
		name := fs.String("plugin-name", "", "the plugin's name, as it sends it in plugin_name")
		if err := parseFlags(fs, rest); err != nil {
			return err
		}
		return pluginKeyCreate(ctx, dataPaths(*dataDir), *name)
	case "list":
		if err := parseFlags(fs, rest); err != nil {
			return err
		}
		return pluginKeyList(ctx, dataPaths(*dataDir))
	case "revoke":
		// The id may come before the flags or after them.
		var id []string
		if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
			id, rest = rest[:1], rest[1:]
		}
		if err := parseFlags(fs, rest); err != nil {
			return err
		}
		id = append(id, fs.Args()...)
		if len(id) != 1 {
			fmt.Fprint(os.Stderr, pluginKeyUsage)
			return exitError(2)
		}
		return pluginKeyRevoke(ctx, dataPaths(*dataDir), id[0])
	}
	fmt.Fprintf(os.Stderr, "walletd plugin-key: unknown verb %q\n\n%s", verb, pluginKeyUsage)
	return exitError(2)
}

func pluginKeyCreate(ctx context.Context, p paths, name string) error {
	k, key, err := walletd.NewPluginKey(name, time.Now())
	if err != nil {
		return fmt.Errorf("%s", walletd.ErrorMessage(err))
	}
	db, err := openExisting(ctx, p)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.CreatePluginKey(ctx, k); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "created plugin key %s for plugin %q; the key is shown only now:\n", k.ID, k.PluginName)
	fmt.Println(key)
	return nil
}

func pluginKeyList(ctx context.Context, p paths) error {
	db, err := openExisting(ctx, p)
	if err != nil {
		return err
	}
	defer db.Close()
	keys, err := db.PluginKeys(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPLUGIN\tCREATED\tREVOKED")
	for _, k := range keys {
		revoked := "-"
		if k.RevokedAt != nil {
			revoked = k.RevokedAt.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.ID, k.PluginName, k.CreatedAt.Format(time.RFC3339), revoked)
	}
	return tw.Flush()
}

func pluginKeyRevoke(ctx context.Context, p paths, id string) error {
	db, err := openExisting(ctx, p)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.RevokePluginKey(ctx, id, time.Now()); err != nil {
		if walletd.ErrorCode(err) == walletd.ENotFound {
			return errors.New(walletd.ErrorMessage(err))
		}
		return err
	}
	fmt.Fprintf(os.Stderr, "revoked plugin key %s\n", id)
	return nil
}

// rotatePluginJWTKey adds a JWT signing key and makes it active. A
// serving walletd reads the file again within a second; tokens signed by
// the previous key keep verifying until they expire (the previous keys
// are kept for the longest token lifetime).
func rotatePluginJWTKey(p paths) error {
	path := filepath.Join(p.Dir, pluginJWTFile)
	set, err := keyfile.LoadOrCreateJWTKeys(path, time.Now())
	if err != nil {
		return err
	}
	old := set.Active
	if err := set.Rotate(time.Now(), plugin.MaxTokenHours*time.Hour); err != nil {
		return err
	}
	if err := keyfile.SaveJWTKeys(path, set); err != nil {
		return err
	}
	fmt.Printf("rotated plugin JWT key: %s → %s (%s); tokens signed by %s stay valid until they expire\n", old, set.Active, path, old)
	return nil
}

// pluginConfig is serve's --plugin-* flags.
type pluginConfig struct {
	PerIP    float64
	IPBurst  int
	PerKey   float64
	KeyBurst int
	FailCost int
}

func pluginFlags(fs *flag.FlagSet, c *pluginConfig) {
	fs.Float64Var(&c.PerIP, "plugin-rate-ip", 1, "plugin API: requests per second per client IP")
	fs.IntVar(&c.IPBurst, "plugin-burst-ip", 30, "plugin API: burst per client IP")
	fs.Float64Var(&c.PerKey, "plugin-rate-key", 2, "plugin API: requests per second per plugin key")
	fs.IntVar(&c.KeyBurst, "plugin-burst-key", 60, "plugin API: burst per plugin key")
	fs.IntVar(&c.FailCost, "plugin-fail-cost", 4, "plugin API: extra requests a failed key or token check costs the client IP")
}

func (c pluginConfig) limits() plugin.Limits {
	return plugin.Limits{PerIP: rate.Limit(c.PerIP), IPBurst: c.IPBurst, PerKey: rate.Limit(c.PerKey), KeyBurst: c.KeyBurst, FailCost: c.FailCost}
}

// pluginHealth is the services the plugin API's health reports.
func (s *server) pluginHealth() []plugin.Check {
	return []plugin.Check{
		{Name: "ledger", Check: s.db.Ping},
		{Name: "nats", Check: func(context.Context) error {
			if !s.nc.IsConnected() {
				return fmt.Errorf("nats: %s", s.nc.Status())
			}
			return nil
		}},
		{Name: "event_relay", Check: func(context.Context) error { return s.relay.Alert() }},
		{Name: "projections", Check: s.pdb.Ping},
	}
}

// openPlugin makes the plugin API of serve: its JWT keys from the data
// dir (created at the first start), the ledger database as its store and
// the writer.
func (s *server) openPlugin(siteURL string, currencies *walletd.Currencies) (*plugin.API, error) {
	path := filepath.Join(s.cfg.DataDir, pluginJWTFile)
	if _, err := keyfile.LoadOrCreateJWTKeys(path, time.Now()); err != nil {
		return nil, err
	}
	return plugin.New(plugin.Config{
		Store: s.db, Writer: s.writer, Currencies: currencies, Keys: &keyfile.JWTKeyFile{Path: path},
		Issuer: siteURL, BaseURL: siteURL, Health: s.pluginHealth(), Limits: s.cfg.Plugin.limits(),
		OpenAPI: whttp.OpenAPIYAML, Logger: s.logger,
	}), nil
}
