package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/http/client"
)

const financingUsage = `Usage: walletd financing settings VERB [flags]

Configure consumer financing (a WeGetFinancing-compatible provider,
docs/financing.md) through the admin API of a running walletd:

  settings show                        the settings (never the password) and the postback URL
                                       to enter in the provider's portal
  settings set --api-url U --merchant-id M --username N (--password-file F | --password P)
               [--min-amount A] [--max-amount A] [--currency C] [--success-url U] [--failure-url U]
                                       set them; without a password the stored one is kept

--password is visible to other users of the machine (ps): prefer
--password-file or the WALLETD_PASSWORD environment variable. Every verb
takes --url (the walletd API, default http://127.0.0.1:8080), --token
(default: the contents of <data-dir>/admin.key), --data-dir and --json.
`

// runFinancing is `walletd financing`.
func runFinancing(ctx context.Context, args []string) error {
	return financingMain(ctx, args, os.Stdout, os.Stderr)
}

func financingMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) < 2 || args[0] != "settings" || (args[1] != "show" && args[1] != "set") {
		fmt.Fprint(stderr, financingUsage)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			return nil
		}
		return exitError(2)
	}
	verb, rest := args[1], args[2:]
	fs := flag.NewFlagSet("financing settings "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, financingUsage+"\nFlags:\n"); fs.PrintDefaults() }
	cl := &client.Client{}
	dataDir := dataDirFlag(fs)
	fs.StringVar(&cl.BaseURL, "url", "http://127.0.0.1:8080", "base URL of the walletd API")
	fs.StringVar(&cl.Token, "token", "", "admin API token (default: <data-dir>/admin.key)")
	asJSON := fs.Bool("json", false, "print the API's data as JSON")
	var in walletd.FinancingSettingsInput
	fs.StringVar(&in.APIURL, "api-url", "", "the provider's API base URL (https://api.sandbox.wegetfinancing.com, https://api.wegetfinancing.com)")
	fs.StringVar(&in.MerchantID, "merchant-id", "", "your merchant id")
	fs.StringVar(&in.Username, "username", "", "the API username")
	fs.StringVar(&in.Password, "password", "", "the API password (visible in ps: prefer --password-file or WALLETD_PASSWORD)")
	passwordFile := fs.String("password-file", "", "a file holding the API password")
	fs.StringVar(&in.MinAmount, "min-amount", "", "smallest amount offered financing")
	fs.StringVar(&in.MaxAmount, "max-amount", "", "largest amount offered financing")
	fs.StringVar(&in.Currency, "currency", "", "the currency financed (default USD)")
	fs.StringVar(&in.SuccessURL, "success-url", "", "where the customer returns after a completed application (default: walletd's page)")
	fs.StringVar(&in.FailureURL, "failure-url", "", "where the customer returns after a declined one (default: walletd's page)")
	pos, err := parseInterspersed(fs, rest)
	if err != nil {
		return err
	} else if len(pos) != 0 {
		return fmt.Errorf("financing settings %s: unexpected arguments %q", verb, pos)
	}
	if cl.Token == "" {
		if cl.Token, err = readToken(dataPaths(*dataDir).AdminKey); err != nil {
			return fmt.Errorf("no --token and no admin key: %w", err)
		}
	}
	svc := cl.FinancingService()
	var st *walletd.FinancingSettings
	if verb == "show" {
		st, err = svc.Settings(ctx)
	} else {
		if *passwordFile != "" {
			b, err := os.ReadFile(*passwordFile)
			if err != nil {
				return fmt.Errorf("--password-file: %w", err)
			}
			in.Password = strings.TrimRight(string(b), "\r\n")
		}
		st, err = svc.SetSettings(ctx, in)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(st); err != nil {
			return err
		}
		_, err := stdout.Write(buf.Bytes())
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	for _, row := range [][2]string{{"api_url", st.APIURL}, {"merchant_id", st.MerchantID}, {"username", st.Username},
		{"password_set", fmt.Sprint(st.PasswordSet)}, {"currency", st.Currency}, {"min_amount", st.MinAmount}, {"max_amount", st.MaxAmount},
		{"success_url", st.SuccessURL}, {"failure_url", st.FailureURL}, {"postback_url", st.PostbackURL}} {
		fmt.Fprintf(tw, "%s:\t%s\n", row[0], row[1])
	}
	return tw.Flush()
}
