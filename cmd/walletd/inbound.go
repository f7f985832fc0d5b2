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

	"github.com/walletd/walletd/http/client"
)

const inboundUsage = `Usage: walletd inbound VERB [flags]

Manage the payment gateways' inbound webhooks (Stripe, PayPal, generic)
through the admin API of a running walletd:

  gateways                             the gateways, their URLs, status and success rate
  gateway <gateway> [--secret S | --secret-file F] [--webhook-id ID] [--cert-hosts L]
          [--allow-cidrs L] [--rate-per-minute N] [--burst N] [--burst-window N]
          [--disabled]                 configure a gateway (the secret is never printed)
  logs <gateway> [--status success|error|pending] [--limit 20]
                                       the newest receptions, refused ones included
  test <gateway> --order <id>          run a signed sample payment for an order through the pipeline
  dlq list [--gateway G] [--limit 50]  the dead-letter queue
  dlq show <id>                        one event, with its outcome and raw body
  dlq redrive <id>                     process a dead letter again
  dlq discard <id>                     take a dead letter out of the queue

Every verb takes --url (the walletd API, default http://127.0.0.1:8080),
--token (default: the contents of <data-dir>/admin.key), --data-dir and
--json (print the API's data as JSON). --secret also reads
WALLETD_SECRET; prefer it or --secret-file to a secret on the command line.
`

// runInbound is `walletd inbound`.
func runInbound(ctx context.Context, args []string) error {
	return inboundMain(ctx, args, os.Stdout, os.Stderr)
}

func inboundMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, inboundUsage)
		if len(args) == 0 {
			return exitError(2)
		}
		return nil
	}
	verb, rest := args[0], args[1:]
	if verb == "dlq" {
		if len(rest) == 0 {
			fmt.Fprint(stderr, inboundUsage)
			return exitError(2)
		}
		verb, rest = "dlq "+rest[0], rest[1:]
	}
	fs := flag.NewFlagSet("inbound "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, inboundUsage+"\nFlags of "+verb+":\n"); fs.PrintDefaults() }
	cl := &client.Client{}
	dataDir := dataDirFlag(fs)
	fs.StringVar(&cl.BaseURL, "url", "http://127.0.0.1:8080", "base URL of the walletd API")
	fs.StringVar(&cl.Token, "token", "", "admin API token (default: <data-dir>/admin.key)")
	asJSON := fs.Bool("json", false, "print the API's data as JSON")
	var (
		secret      = fs.String("secret", "", "Stripe's whsec_… signing secret or the generic shared secret")
		secretFile  = fs.String("secret-file", "", "read the secret from this file")
		webhookID   = fs.String("webhook-id", "", "PayPal's webhook id")
		certHosts   = fs.String("cert-hosts", "", "hosts PayPal's certificates may come from (comma-separated)")
		allowCIDRs  = fs.String("allow-cidrs", "", "client addresses or CIDRs allowed (comma-separated; empty: all)")
		ratePerMin  = fs.Int("rate-per-minute", 0, "requests a minute (default 100)")
		burst       = fs.Int("burst", 0, "requests in the burst window (default 10)")
		burstWindow = fs.Int("burst-window", 0, "the burst window in seconds (default 10)")
		disabled    = fs.Bool("disabled", false, "refuse every delivery to the gateway")
		status      = fs.String("status", "", "log status: success, error or pending")
		limit       = fs.Int("limit", 0, "rows to print")
		gateway     = fs.String("gateway", "", "only this gateway's dead letters")
		order       = fs.String("order", "", "the order a test payment is for")
	)
	pos, err := parseInterspersed(fs, rest)
	if err != nil {
		return err
	}
	if cl.Token == "" {
		if cl.Token, err = readToken(dataPaths(*dataDir).AdminKey); err != nil {
			return fmt.Errorf("no --token and no admin key: %w", err)
		}
	}
	svc := cl.InboundService()
	need := func(n int, what string) error {
		if len(pos) != n {
			return fmt.Errorf("inbound %s: want %s, got %d argument(s)", verb, what, len(pos))
		}
		return nil
	}
	orDefault := func(n, def int) int {
		if n <= 0 {
			return def
		}
		return n
	}
	var data json.RawMessage
	switch verb {
	case "gateways":
		if err := need(0, "no arguments"); err != nil {
			return err
		}
		if data, err = svc.Gateways(ctx); err != nil || *asJSON {
			return printRaw(stdout, data, err)
		}
		var v struct {
			Endpoints []struct {
				Gateway      string   `json:"gateway"`
				URL          string   `json:"url"`
				Status       string   `json:"status"`
				LastReceived *string  `json:"last_received"`
				SuccessRate  *float64 `json:"success_rate"`
			} `json:"endpoints"`
		}
		if err := json.Unmarshal(data, &v); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "GATEWAY\tSTATUS\tLAST RECEIVED\tSUCCESS %\tURL")
		for _, e := range v.Endpoints {
			last, rate := "-", "-"
			if e.LastReceived != nil {
				last = *e.LastReceived
			}
			if e.SuccessRate != nil {
				rate = fmt.Sprintf("%.1f", *e.SuccessRate)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.Gateway, e.Status, last, rate, e.URL)
		}
		return tw.Flush()
	case "gateway":
		if err := need(1, "<gateway>"); err != nil {
			return err
		}
		body := map[string]any{}
		if *secretFile != "" {
			b, err := os.ReadFile(*secretFile)
			if err != nil {
				return fmt.Errorf("--secret-file: %w", err)
			}
			*secret = strings.TrimSpace(string(b))
		}
		for k, v := range map[string]string{"secret": *secret, "webhook_id": *webhookID} {
			if v != "" {
				body[k] = v
			}
		}
		for k, v := range map[string]string{"cert_hosts": *certHosts, "allow_cidrs": *allowCIDRs} {
			if l := splitList(v); l != nil {
				body[k] = l
			}
		}
		for k, v := range map[string]int{"rate_per_minute": *ratePerMin, "burst": *burst, "burst_window_seconds": *burstWindow} {
			if v != 0 {
				body[k] = v
			}
		}
		body["enabled"] = !*disabled
		if data, err = svc.PutGateway(ctx, pos[0], body); err != nil || *asJSON {
			return printRaw(stdout, data, err)
		}
		fmt.Fprintf(stdout, "configured %s\n", pos[0])
		return nil
	case "logs":
		if err := need(1, "<gateway>"); err != nil {
			return err
		}
		if data, err = svc.Logs(ctx, pos[0], *status, orDefault(*limit, 20)); err != nil || *asJSON {
			return printRaw(stdout, data, err)
		}
		var v struct {
			Logs []struct {
				ID        string `json:"id"`
				Timestamp string `json:"timestamp"`
				EventType string `json:"event_type"`
				Status    string `json:"status"`
				Outcome   string `json:"outcome"`
				HTTP      int    `json:"http_status"`
				OrderID   *int64 `json:"order_id"`
				Error     string `json:"error_message"`
			} `json:"logs"`
			Total int64 `json:"total"`
		}
		if err := json.Unmarshal(data, &v); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tTIME\tEVENT\tSTATUS\tOUTCOME\tHTTP\tORDER\tERROR")
		for _, l := range v.Logs {
			order := "-"
			if l.OrderID != nil {
				order = fmt.Sprint(*l.OrderID)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", l.ID, l.Timestamp, l.EventType, l.Status, l.Outcome, l.HTTP, order, l.Error)
		}
		fmt.Fprintf(tw, "(%d of %d)\n", len(v.Logs), v.Total)
		return tw.Flush()
	case "test":
		if err := need(1, "<gateway>"); err != nil {
			return err
		} else if *order == "" {
			return fmt.Errorf("inbound test: --order is required")
		}
		data, err = svc.Test(ctx, pos[0], map[string]any{"order_id": *order})
		return printRaw(stdout, data, err)
	case "dlq list":
		if err := need(0, "no arguments"); err != nil {
			return err
		}
		if data, err = svc.DeadLetters(ctx, *gateway, orDefault(*limit, 50)); err != nil || *asJSON {
			return printRaw(stdout, data, err)
		}
		var v struct {
			DeadLetters []struct {
				ID         int64  `json:"id"`
				Gateway    string `json:"gateway"`
				ProviderID string `json:"provider_event_id"`
				EventType  string `json:"event_type"`
				Attempts   int    `json:"attempts"`
				ReceivedAt string `json:"received_at"`
				DeadReason string `json:"dead_reason"`
			} `json:"dead_letters"`
		}
		if err := json.Unmarshal(data, &v); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tGATEWAY\tEVENT ID\tTYPE\tATTEMPTS\tRECEIVED\tREASON")
		for _, d := range v.DeadLetters {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\n", d.ID, d.Gateway, d.ProviderID, d.EventType, d.Attempts, d.ReceivedAt, d.DeadReason)
		}
		return tw.Flush()
	case "dlq show", "dlq redrive", "dlq discard":
		if err := need(1, "<id>"); err != nil {
			return err
		}
		switch verb {
		case "dlq show":
			data, err = svc.DeadLetter(ctx, pos[0])
		case "dlq redrive":
			data, err = svc.Redrive(ctx, pos[0])
		default:
			data, err = svc.Discard(ctx, pos[0])
		}
		return printRaw(stdout, data, err)
	}
	fmt.Fprintf(stderr, "walletd inbound: unknown verb %q\n\n%s", verb, inboundUsage)
	return exitError(2)
}

// printRaw prints the API's data indented, or returns err.
func printRaw(w io.Writer, data json.RawMessage, err error) error {
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, data, "", "  "); err != nil {
		return err
	}
	buf.WriteByte('\n')
	_, err = w.Write(buf.Bytes())
	return err
}
