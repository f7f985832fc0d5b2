package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/http/client"
)

const webhookUsage = `Usage: walletd webhook VERB [flags]

Manage outbound webhook endpoints through the admin API of a running
walletd (the verbs of WalletPro's "wp wallet webhook"):

  list                                 endpoints with their status and event filters
  get <id>                             one endpoint's configuration
  create <endpoint-url> [--events=<list>] [--name N] [--format F] [--status S] [--secret S]
                                       register an endpoint; prints its secret once
  update <id> [--endpoint-url U] [--events L] [--name N] [--status active|disabled] [--format F] [--secret S]
                                       change the fields given (--events "" means every event)
  delete <id>                          delete an endpoint and its delivery log
  rotate-secret <id> [--grace 24h]     new secret, used at once; prints it once
  test --endpoint=<id> --event=<key>   send a test event ("test": true)
  logs <id> [--limit 50]               the last delivery attempts, newest first
  retry <id> <delivery-id>             send a delivery again, same payload and event id
  enable <id> [--deliver-held]         re-enable a suspended endpoint; deliver (or discard) what was held

Formats: walletpro (default), standard, woocommerce. Every verb takes
--url (the walletd API, default http://127.0.0.1:8080), --token (default:
the contents of <data-dir>/admin.key), --data-dir and --json (print the
API's data as JSON).
`

// webhookCLI is one invocation of `walletd webhook`.
type webhookCLI struct {
	svc       *client.WebhookService
	json      bool
	out, errw io.Writer
}

// runWebhook is `walletd webhook`.
func runWebhook(ctx context.Context, args []string) error {
	return webhookMain(ctx, args, os.Stdout, os.Stderr)
}

func webhookMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, webhookUsage)
		if len(args) == 0 {
			return exitError(2)
		}
		return nil
	}
	verb, rest := args[0], args[1:]
	fs := flag.NewFlagSet("webhook "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, webhookUsage+"\nFlags of "+verb+":\n"); fs.PrintDefaults() }
	c := &webhookCLI{out: stdout, errw: stderr}
	cl := &client.Client{}
	dataDir := dataDirFlag(fs)
	fs.StringVar(&cl.BaseURL, "url", "http://127.0.0.1:8080", "base URL of the walletd API")
	fs.StringVar(&cl.Token, "token", "", "admin API token (default: <data-dir>/admin.key)")
	fs.BoolVar(&c.json, "json", false, "print the API's data as JSON")

	// Verb flags. Only those given are sent by update.
	var (
		endpointURL = fs.String("endpoint-url", "", "the endpoint's URL (https)")
		events      = fs.String("events", "", "comma-separated event keys; empty: every event")
		name        = fs.String("name", "", "a label for the endpoint")
		format      = fs.String("format", "", "walletpro, standard or woocommerce")
		status      = fs.String("status", "", "active or disabled")
		secret      = fs.String("secret", "", "your own secret (default: generated)")
		endpoint    = fs.String("endpoint", "", "endpoint id (test)")
		event       = fs.String("event", "wallet.credited", "event key of the test event")
		limit       = fs.Int("limit", 50, "log rows to print (at most 100)")
		grace       = fs.Duration("grace", -1, "how long the standard format also signs with the old secret (default: the server's)")
		deliverHeld = fs.Bool("deliver-held", false, "deliver the events held while suspended (default: discard them)")
	)
	pos, err := parseInterspersed(fs, rest)
	if err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if cl.Token == "" {
		if cl.Token, err = readToken(dataPaths(*dataDir).AdminKey); err != nil {
			return fmt.Errorf("no --token and no admin key: %w", err)
		}
	}
	c.svc = cl.WebhookService()
	need := func(n int, what string) error {
		if len(pos) != n {
			return fmt.Errorf("webhook %s: want %s, got %d argument(s)", verb, what, len(pos))
		}
		return nil
	}
	switch verb {
	case "list":
		if err := need(0, "no arguments"); err != nil {
			return err
		}
		eps, err := c.svc.Endpoints(ctx)
		if err != nil {
			return err
		}
		items := make([]client.WebhookEndpointJSON, 0, len(eps))
		for _, e := range eps {
			items = append(items, client.NewWebhookEndpointJSON(e, ""))
		}
		if c.json {
			return c.printJSON(map[string]any{"items": items})
		}
		tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tSTATUS\tFORMAT\tEVENTS\tURL")
		for _, e := range items {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.ID, e.Name, e.Status, e.Format, endpointEvents(&e), e.URL)
		}
		return tw.Flush()
	case "get":
		if err := need(1, "<id>"); err != nil {
			return err
		}
		e, err := c.svc.Endpoint(ctx, pos[0])
		if err != nil {
			return err
		}
		return c.printEndpoint(client.NewWebhookEndpointJSON(e, ""))
	case "create":
		if len(pos) == 1 && *endpointURL == "" {
			*endpointURL = pos[0]
		} else if len(pos) != 0 {
			return fmt.Errorf("webhook create: want <endpoint-url> or --endpoint-url")
		}
		e, sec, err := c.svc.CreateEndpoint(ctx, walletd.WebhookEndpointInput{URL: *endpointURL, Events: splitList(*events),
			Name: *name, Format: *format, Status: *status, Secret: *secret})
		if err != nil {
			return err
		}
		j := client.NewWebhookEndpointJSON(e, sec)
		if c.json {
			return c.printJSON(j)
		}
		printEndpoint(c.out, &j)
		fmt.Fprintf(c.out, "secret:       %s\n", j.Secret)
		fmt.Fprintln(c.errw, "Store the secret now: it is not shown again. A ping event was sent to the endpoint (see: walletd webhook logs "+j.ID+").")
		return nil
	case "update":
		if err := need(1, "<id>"); err != nil {
			return err
		}
		var up walletd.WebhookEndpointUpdate
		for flagName, field := range map[string]**string{"endpoint-url": &up.URL, "name": &up.Name, "format": &up.Format,
			"status": &up.Status, "secret": &up.Secret} {
			if set[flagName] {
				v := fs.Lookup(flagName).Value.String()
				*field = &v
			}
		}
		if set["events"] {
			evs := splitList(*events)
			if evs == nil {
				evs = []string{} // every event; null would mean "unchanged"
			}
			up.Events = &evs
		}
		if up == (walletd.WebhookEndpointUpdate{}) {
			return errors.New("webhook update: nothing to change (give --endpoint-url, --events, --name, --status, --format or --secret)")
		}
		e, err := c.svc.UpdateEndpoint(ctx, pos[0], up)
		if err != nil {
			return err
		}
		return c.printEndpoint(client.NewWebhookEndpointJSON(e, ""))
	case "delete":
		if err := need(1, "<id>"); err != nil {
			return err
		}
		if err := c.svc.DeleteEndpoint(ctx, pos[0]); err != nil {
			return err
		}
		if c.json {
			return c.printJSON(map[string]any{"id": pos[0], "deleted": true})
		}
		fmt.Fprintf(c.out, "deleted %s and its delivery log\n", pos[0])
		return nil
	case "rotate-secret":
		if err := need(1, "<id>"); err != nil {
			return err
		}
		// --grace: unset (-1) leaves the grace period to the server; 0
		// asks for none, which the options spell as negative.
		opt := walletd.WebhookRotateOptions{Secret: *secret, Grace: *grace}
		if *grace < 0 {
			opt.Grace = 0
		} else if *grace == 0 {
			opt.Grace = -1
		}
		e, sec, err := c.svc.RotateSecret(ctx, pos[0], opt)
		if err != nil {
			return err
		}
		if c.json {
			return c.printJSON(client.NewWebhookEndpointJSON(e, sec))
		}
		fmt.Fprintf(c.errw, "New secret of %s, used from now on and not shown again:\n", e.ID)
		fmt.Fprintln(c.out, sec)
		return nil
	case "test":
		id := *endpoint
		if len(pos) == 1 && id == "" {
			id = pos[0]
		} else if len(pos) != 0 || id == "" {
			return errors.New("webhook test: want --endpoint=<id> --event=<key>")
		}
		d, err := c.svc.SendTest(ctx, id, *event)
		if err != nil {
			return err
		}
		if c.json {
			return c.printJSON(client.NewWebhookDeliveryJSON(d))
		}
		fmt.Fprintf(c.out, "queued test event %s (id %s, delivery %s) to %s; see: walletd webhook logs %s\n", d.Event, d.EventID, d.ID, id, id)
		return nil
	case "logs":
		if err := need(1, "<id>"); err != nil {
			return err
		}
		if *limit < 1 || *limit > 100 {
			return errors.New("webhook logs: --limit must be from 1 to 100")
		}
		as, err := c.svc.Attempts(ctx, pos[0], *limit)
		if err != nil {
			return err
		}
		if c.json {
			items := make([]client.WebhookAttemptJSON, 0, len(as))
			for _, a := range as {
				items = append(items, client.NewWebhookAttemptJSON(a))
			}
			return c.printJSON(map[string]any{"items": items})
		}
		tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TIME (UTC)\tEVENT\tEVENT ID\tDELIVERY ID\tSTATUS\tMS\tATTEMPT\tRESULT\tERROR")
		for _, a := range as {
			st := fmt.Sprint(a.HTTPStatus)
			if a.HTTPStatus == 0 {
				st = "-"
			}
			attempt := fmt.Sprint(a.Attempt)
			if a.Manual {
				attempt += " (manual)"
			}
			ev := a.Event
			if a.Kind == "test" {
				ev += " (test)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", a.At.UTC().Format("2006-01-02 15:04:05"), ev, a.EventID, a.DeliveryID,
				st, a.ResponseMS, attempt, a.Result, oneLine(a.Error))
		}
		return tw.Flush()
	case "retry":
		if err := need(2, "<id> <delivery-id>"); err != nil {
			return err
		}
		d, err := c.svc.RetryDelivery(ctx, pos[0], pos[1])
		if err != nil {
			return err
		}
		if c.json {
			return c.printJSON(client.NewWebhookDeliveryJSON(d))
		}
		fmt.Fprintf(c.out, "queued delivery %s of %s (event id %s) again; see: walletd webhook logs %s\n", d.ID, d.Event, d.EventID, pos[0])
		return nil
	case "enable":
		if err := need(1, "<id>"); err != nil {
			return err
		}
		e, held, err := c.svc.EnableEndpoint(ctx, pos[0], *deliverHeld)
		if err != nil {
			return err
		}
		if c.json {
			return c.printJSON(client.WebhookEnableJSON{WebhookEndpointJSON: client.NewWebhookEndpointJSON(e, ""), DeliverHeld: *deliverHeld, Held: held})
		}
		what := "discarded (marked failed)"
		if *deliverHeld {
			what = "queued for delivery"
		}
		fmt.Fprintf(c.out, "%s is %s; %d held deliveries %s\n", e.ID, e.Status, held, what)
		return nil
	}
	fmt.Fprintf(stderr, "walletd webhook: unknown verb %q\n\n%s", verb, webhookUsage)
	return exitError(2)
}

// parseInterspersed parses flags that may come before, between or after
// the positional arguments, then applies the environment.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	return pos, applyEnv(fs)
}

// printJSON prints v, the API's data, indented, as the API encodes it
// (no HTML escaping).
func (c *webhookCLI) printJSON(v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := c.out.Write(buf.Bytes())
	return err
}

// printEndpoint prints e as JSON with --json, else as rows.
func (c *webhookCLI) printEndpoint(e client.WebhookEndpointJSON) error {
	if c.json {
		return c.printJSON(e)
	}
	printEndpoint(c.out, &e)
	return nil
}

// endpointEvents returns the event filter of e for people: "(all)" when
// it has none.
func endpointEvents(e *client.WebhookEndpointJSON) string {
	if len(e.Events) == 0 {
		return "(all)"
	}
	return strings.Join(e.Events, ",")
}

// printEndpoint prints the fields of e that are set, one per row.
func printEndpoint(w io.Writer, e *client.WebhookEndpointJSON) {
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "%-13s %s\n", k+":", v)
		}
	}
	row("id", e.ID)
	row("name", e.Name)
	row("url", e.URL)
	row("events", endpointEvents(e))
	row("status", e.Status)
	row("reason", e.StatusReason)
	row("format", e.Format)
	row("api_version", e.APIVersion)
	row("created_at", e.CreatedAt)
	row("updated_at", e.UpdatedAt)
	row("rotated_at", e.SecretRotatedAt)
	row("old secret until", e.PreviousSecretExpiresAt)
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}
