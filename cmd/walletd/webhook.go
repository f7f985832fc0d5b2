package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"
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
	url, token string
	json       bool
	client     *http.Client
	out, errw  io.Writer
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
	dataDir := dataDirFlag(fs)
	fs.StringVar(&c.url, "url", "http://127.0.0.1:8080", "base URL of the walletd API")
	fs.StringVar(&c.token, "token", "", "admin API token (default: <data-dir>/admin.key)")
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
	if c.token == "" {
		if c.token, err = readToken(dataPaths(*dataDir).AdminKey); err != nil {
			return fmt.Errorf("no --token and no admin key: %w", err)
		}
	}
	c.url = strings.TrimSuffix(c.url, "/")
	c.client = &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	need := func(n int, what string) error {
		if len(pos) != n {
			return fmt.Errorf("webhook %s: want %s, got %d argument(s)", verb, what, len(pos))
		}
		return nil
	}
	base := "/v1/webhook-endpoints"
	switch verb {
	case "list":
		if err := need(0, "no arguments"); err != nil {
			return err
		}
		var data struct{ Items []webhookEndpoint }
		raw, err := c.do(ctx, "GET", base, nil, &data)
		if err != nil || c.json {
			return c.printJSON(raw, err)
		}
		tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tSTATUS\tFORMAT\tEVENTS\tURL")
		for _, e := range data.Items {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.ID, e.Name, e.Status, e.Format, e.events(), e.URL)
		}
		return tw.Flush()
	case "get":
		if err := need(1, "<id>"); err != nil {
			return err
		}
		var e webhookEndpoint
		raw, err := c.do(ctx, "GET", base+"/"+url.PathEscape(pos[0]), nil, &e)
		if err != nil || c.json {
			return c.printJSON(raw, err)
		}
		e.print(c.out)
		return nil
	case "create":
		if len(pos) == 1 && *endpointURL == "" {
			*endpointURL = pos[0]
		} else if len(pos) != 0 {
			return fmt.Errorf("webhook create: want <endpoint-url> or --endpoint-url")
		}
		body := map[string]any{"url": *endpointURL, "events": splitList(*events)}
		for k, v := range map[string]string{"name": *name, "format": *format, "status": *status, "secret": *secret} {
			if v != "" {
				body[k] = v
			}
		}
		var e webhookEndpoint
		raw, err := c.do(ctx, "POST", base, body, &e)
		if err != nil || c.json {
			return c.printJSON(raw, err)
		}
		e.print(c.out)
		fmt.Fprintf(c.out, "secret:       %s\n", e.Secret)
		fmt.Fprintln(c.errw, "Store the secret now: it is not shown again. A ping event was sent to the endpoint (see: walletd webhook logs "+e.ID+").")
		return nil
	case "update":
		if err := need(1, "<id>"); err != nil {
			return err
		}
		body := map[string]any{}
		for flagName, field := range map[string]string{"endpoint-url": "url", "name": "name", "format": "format", "status": "status", "secret": "secret"} {
			if set[flagName] {
				body[field] = fs.Lookup(flagName).Value.String()
			}
		}
		if set["events"] {
			evs := splitList(*events)
			if evs == nil {
				evs = []string{} // every event; null would mean "unchanged"
			}
			body["events"] = evs
		}
		if len(body) == 0 {
			return errors.New("webhook update: nothing to change (give --endpoint-url, --events, --name, --status, --format or --secret)")
		}
		var e webhookEndpoint
		raw, err := c.do(ctx, "PATCH", base+"/"+url.PathEscape(pos[0]), body, &e)
		if err != nil || c.json {
			return c.printJSON(raw, err)
		}
		e.print(c.out)
		return nil
	case "delete":
		if err := need(1, "<id>"); err != nil {
			return err
		}
		raw, err := c.do(ctx, "DELETE", base+"/"+url.PathEscape(pos[0]), nil, nil)
		if err != nil || c.json {
			return c.printJSON(raw, err)
		}
		fmt.Fprintf(c.out, "deleted %s and its delivery log\n", pos[0])
		return nil
	case "rotate-secret":
		if err := need(1, "<id>"); err != nil {
			return err
		}
		body := map[string]any{}
		if *grace >= 0 {
			body["grace_period_seconds"] = int64(grace.Seconds())
		}
		if *secret != "" {
			body["secret"] = *secret
		}
		var e webhookEndpoint
		raw, err := c.do(ctx, "POST", base+"/"+url.PathEscape(pos[0])+"/rotate-secret", body, &e)
		if err != nil || c.json {
			return c.printJSON(raw, err)
		}
		fmt.Fprintf(c.errw, "New secret of %s, used from now on and not shown again:\n", e.ID)
		fmt.Fprintln(c.out, e.Secret)
		return nil
	case "test":
		id := *endpoint
		if len(pos) == 1 && id == "" {
			id = pos[0]
		} else if len(pos) != 0 || id == "" {
			return errors.New("webhook test: want --endpoint=<id> --event=<key>")
		}
		var d webhookDelivery
		raw, err := c.do(ctx, "POST", base+"/"+url.PathEscape(id)+"/test", map[string]any{"event": *event}, &d)
		if err != nil || c.json {
			return c.printJSON(raw, err)
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
		var data struct{ Items []webhookAttempt }
		raw, err := c.do(ctx, "GET", fmt.Sprintf("%s/%s/deliveries?limit=%d", base, url.PathEscape(pos[0]), *limit), nil, &data)
		if err != nil || c.json {
			return c.printJSON(raw, err)
		}
		tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TIME (UTC)\tEVENT\tEVENT ID\tDELIVERY ID\tSTATUS\tMS\tATTEMPT\tRESULT\tERROR")
		for _, a := range data.Items {
			t, _ := time.Parse(time.RFC3339Nano, a.AttemptedAt)
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
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", t.UTC().Format("2006-01-02 15:04:05"), ev, a.EventID, a.DeliveryID,
				st, a.ResponseMS, attempt, a.Result, oneLine(a.Error))
		}
		return tw.Flush()
	case "retry":
		if err := need(2, "<id> <delivery-id>"); err != nil {
			return err
		}
		var d webhookDelivery
		raw, err := c.do(ctx, "POST", base+"/"+url.PathEscape(pos[0])+"/deliveries/"+url.PathEscape(pos[1])+"/retry", nil, &d)
		if err != nil || c.json {
			return c.printJSON(raw, err)
		}
		fmt.Fprintf(c.out, "queued delivery %s of %s (event id %s) again; see: walletd webhook logs %s\n", d.ID, d.Event, d.EventID, pos[0])
		return nil
	case "enable":
		if err := need(1, "<id>"); err != nil {
			return err
		}
		var e struct {
			webhookEndpoint
			Held int64 `json:"held"`
		}
		raw, err := c.do(ctx, "POST", base+"/"+url.PathEscape(pos[0])+"/enable", map[string]any{"deliver_held": *deliverHeld}, &e)
		if err != nil || c.json {
			return c.printJSON(raw, err)
		}
		what := "discarded (marked failed)"
		if *deliverHeld {
			what = "queued for delivery"
		}
		fmt.Fprintf(c.out, "%s is %s; %d held deliveries %s\n", e.ID, e.Status, e.Held, what)
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

// do sends a request to the API and decodes data into out. It returns the
// raw data, and the API's error as an error.
func (c *webhookCLI) do(ctx context.Context, method, path string, body any, out any) (json.RawMessage, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.url+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	var env struct {
		Success bool            `json:"success"`
		Code    string          `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return nil, fmt.Errorf("%s %s: HTTP %d, not a walletd answer", method, path, resp.StatusCode)
	}
	if resp.StatusCode >= 300 || !env.Success {
		return nil, fmt.Errorf("%s (HTTP %d %s)", env.Message, resp.StatusCode, env.Code)
	}
	if out != nil {
		if err := json.Unmarshal(env.Data, out); err != nil {
			return nil, err
		}
	}
	return env.Data, nil
}

func (c *webhookCLI) printJSON(raw json.RawMessage, err error) error {
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if json.Indent(&buf, raw, "", "  ") != nil {
		buf.Reset()
		buf.Write(raw)
	}
	buf.WriteByte('\n')
	_, err = c.out.Write(buf.Bytes())
	return err
}

// webhookEndpoint is an endpoint as the API answers it.
type webhookEndpoint struct {
	ID                      string   `json:"id"`
	Name                    string   `json:"name"`
	URL                     string   `json:"url"`
	Events                  []string `json:"events"`
	Status                  string   `json:"status"`
	StatusReason            string   `json:"status_reason"`
	APIVersion              string   `json:"api_version"`
	Format                  string   `json:"format"`
	CreatedAt               string   `json:"created_at"`
	UpdatedAt               string   `json:"updated_at"`
	SecretRotatedAt         string   `json:"secret_rotated_at"`
	PreviousSecretExpiresAt string   `json:"previous_secret_expires_at"`
	Secret                  string   `json:"secret"`
}

func (e *webhookEndpoint) events() string {
	if len(e.Events) == 0 {
		return "(all)"
	}
	return strings.Join(e.Events, ",")
}

func (e *webhookEndpoint) print(w io.Writer) {
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "%-13s %s\n", k+":", v)
		}
	}
	row("id", e.ID)
	row("name", e.Name)
	row("url", e.URL)
	row("events", e.events())
	row("status", e.Status)
	row("reason", e.StatusReason)
	row("format", e.Format)
	row("api_version", e.APIVersion)
	row("created_at", e.CreatedAt)
	row("updated_at", e.UpdatedAt)
	row("rotated_at", e.SecretRotatedAt)
	row("old secret until", e.PreviousSecretExpiresAt)
}

// webhookDelivery is a delivery as the API answers it.
type webhookDelivery struct {
	ID      string `json:"id"`
	EventID string `json:"event_id"`
	Event   string `json:"event"`
	State   string `json:"state"`
}

// webhookAttempt is one row of the delivery log.
type webhookAttempt struct {
	AttemptedAt string `json:"attempted_at"`
	Event       string `json:"event"`
	EventID     string `json:"event_id"`
	DeliveryID  string `json:"delivery_id"`
	HTTPStatus  int    `json:"http_status"`
	ResponseMS  int64  `json:"response_ms"`
	Attempt     int    `json:"attempt"`
	Result      string `json:"result"`
	Error       string `json:"error"`
	Kind        string `json:"kind"`
	Manual      bool   `json:"manual"`
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}
