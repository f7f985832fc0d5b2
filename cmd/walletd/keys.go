package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/keyfile"
	"github.com/walletd/walletd/ledger/sqlite"
)

const keysUsage = `Usage:
  walletd keys create --scope SCOPE[,SCOPE…] [--name NAME] [--data-dir D]
      create an API key (scopes: admin, wallets:read, wallets:write) and print its token once
  walletd keys list [--data-dir D]
      list API keys (never their secrets)
  walletd keys rotate-ledger-key [--data-dir D]
      add a new HMAC key to the ledger keyring and make it active; old entries
      keep verifying with their own key. Run it while walletd serve is stopped.
  walletd keys rotate-plugin-jwt-key [--data-dir D]
      add a new signing key for the plugin API's JWTs and make it active;
      tokens signed by the previous key stay valid until they expire. A
      running walletd serve picks it up within a second.
`

func runKeys(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, keysUsage)
		return exitError(2)
	}
	verb, rest := args[0], args[1:]
	fs := flag.NewFlagSet("keys "+verb, flag.ContinueOnError)
	dataDir := dataDirFlag(fs)
	switch verb {
	case "create":
		scope := fs.String("scope", "", "comma-separated scopes")
		name := fs.String("name", "", "a label for the key")
		if err := parseFlags(fs, rest); err != nil {
			return err
		}
		return keysCreate(ctx, dataPaths(*dataDir), *name, splitList(*scope))
	case "list":
		if err := parseFlags(fs, rest); err != nil {
			return err
		}
		return keysList(ctx, dataPaths(*dataDir))
	case "rotate-ledger-key":
		if err := parseFlags(fs, rest); err != nil {
			return err
		}
		return rotateLedgerKey(dataPaths(*dataDir))
	case "rotate-plugin-jwt-key":
		if err := parseFlags(fs, rest); err != nil {
			return err
		}
		return rotatePluginJWTKey(dataPaths(*dataDir))
	}
	fmt.Fprintf(os.Stderr, "walletd keys: unknown verb %q\n\n%s", verb, keysUsage)
	return exitError(2)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func openExisting(ctx context.Context, p paths) (*sqlite.DB, error) {
	if _, err := os.Stat(p.LedgerDB); err != nil {
		return nil, fmt.Errorf("no ledger at %s (run walletd serve once first): %w", p.LedgerDB, err)
	}
	return sqlite.Open(ctx, p.LedgerDB)
}

func keysCreate(ctx context.Context, p paths, name string, scopes []string) error {
	k, token, err := walletd.NewAPIKey(name, scopes, time.Now())
	if err != nil {
		return fmt.Errorf("%s", walletd.ErrorMessage(err))
	}
	db, err := openExisting(ctx, p)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.CreateAPIKey(ctx, k); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "created API key %s with scopes %s; the token is shown only now:\n", k.ID, strings.Join(k.Scopes, ","))
	fmt.Println(token)
	return nil
}

func keysList(ctx context.Context, p paths) error {
	db, err := openExisting(ctx, p)
	if err != nil {
		return err
	}
	defer db.Close()
	keys, err := db.APIKeys(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSCOPES\tCREATED\tREVOKED")
	for _, k := range keys {
		revoked := "-"
		if k.RevokedAt != nil {
			revoked = k.RevokedAt.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, strings.Join(k.Scopes, ","), k.CreatedAt.Format(time.RFC3339), revoked)
	}
	return tw.Flush()
}

// rotateLedgerKey adds a key to the keyring. It takes the data-dir lock,
// so it refuses to run beside a serving walletd (whose writer holds the
// active key in memory).
func rotateLedgerKey(p paths) error {
	unlock, err := lockDataDir(p.Dir)
	if err != nil {
		return fmt.Errorf("%w (stop walletd serve before rotating the ledger key)", err)
	}
	defer unlock()
	kr, err := keyfile.LoadKeyring(p.Keyring)
	if err != nil {
		return err
	}
	old := kr.Active
	if err := kr.Rotate(time.Now()); err != nil {
		return err
	}
	if err := keyfile.SaveKeyring(p.Keyring, kr); err != nil {
		return err
	}
	fmt.Printf("rotated ledger key: %s → %s (keyring %s); new entries use %s\n", old, kr.Active, p.Keyring, kr.Active)
	return nil
}
