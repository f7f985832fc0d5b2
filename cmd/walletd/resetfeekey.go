package main

import (
	"bytes"
	"context"
	"encoding/json"
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

const resetFeeKeyUsage = `Usage: walletd reset-fee-key VERB [flags]

Manage the secret keys of the reset-fee endpoint (docs/reset-fee.md)
through the admin API of a running walletd:

  create [--name N]      create a key; prints its secret once (give it to the backend)
  list                   the keys, active and revoked (never their secrets)
  revoke <id>            revoke a key: requests with it get 401 from now on

Every verb takes --url (the walletd API, default http://127.0.0.1:8080),
--token (default: the contents of <data-dir>/admin.key), --data-dir and
--json (print the API's data as JSON).
`

// runResetFeeKey is `walletd reset-fee-key`.
func runResetFeeKey(ctx context.Context, args []string) error {
	return resetFeeKeyMain(ctx, args, os.Stdout, os.Stderr)
}

func resetFeeKeyMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, resetFeeKeyUsage)
		if len(args) == 0 {
			return exitError(2)
		}
		return nil
	}
	verb, rest := args[0], args[1:]
	fs := flag.NewFlagSet("reset-fee-key "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := dataDirFlag(fs)
	base := fs.String("url", "http://127.0.0.1:8080", "base URL of the walletd API")
	token := fs.String("token", "", "admin API token (default: <data-dir>/admin.key)")
	asJSON := fs.Bool("json", false, "print the API's data as JSON")
	name := fs.String("name", "", "a label for the key (create)")
	pos, err := parseInterspersed(fs, rest)
	if err != nil {
		return err
	}
	if *token == "" {
		if *token, err = readToken(dataPaths(*dataDir).AdminKey); err != nil {
			return fmt.Errorf("no --token and no admin key: %w", err)
		}
	}
	call := func(method, path string, body any, out any) error {
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(*base, "/")+path, rd)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+*token)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
		var env struct {
			Success bool            `json:"success"`
			Code    string          `json:"code"`
			Message string          `json:"message"`
			Data    json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(raw, &env); err != nil {
			return fmt.Errorf("%s %s: %d, not walletd's answer", method, path, resp.StatusCode)
		} else if !env.Success {
			return fmt.Errorf("%s %s: %d %s: %s", method, path, resp.StatusCode, env.Code, env.Message)
		}
		if *asJSON {
			var buf bytes.Buffer
			json.Indent(&buf, env.Data, "", "  ")
			fmt.Fprintln(stdout, buf.String())
			return nil
		}
		return json.Unmarshal(env.Data, out)
	}
	type key struct {
		ID        string `json:"id"`
		Name      string `json:"name"`
		Prefix    string `json:"prefix"`
		Status    string `json:"status"`
		SecretKey string `json:"secret_key"`
		CreatedAt string `json:"created_at"`
		RevokedAt string `json:"revoked_at"`
	}
	need := func(n int) error {
		if len(pos) != n {
			return fmt.Errorf("reset-fee-key %s: want %d argument(s), got %d", verb, n, len(pos))
		}
		return nil
	}
	switch verb {
	case "create":
		if err := need(0); err != nil {
			return err
		}
		var k key
		if err := call("POST", "/v1/reset-fee/keys", map[string]string{"name": *name}, &k); err != nil || *asJSON {
			return err
		}
		fmt.Fprintf(stdout, "id:         %s\nsecret_key: %s\n\nThe secret is shown only now: give it to the backend that calls the reset-fee endpoint.\n", k.ID, k.SecretKey)
		return nil
	case "list":
		if err := need(0); err != nil {
			return err
		}
		// Every page (1000 keys each), following next_cursor; --json
		// prints them as one list.
		printJSON := *asJSON
		*asJSON = false
		var items []json.RawMessage
		for cursor := ""; ; {
			var page struct {
				Items      []json.RawMessage `json:"items"`
				NextCursor string            `json:"next_cursor"`
			}
			if err := call("GET", "/v1/reset-fee/keys?cursor="+url.QueryEscape(cursor), nil, &page); err != nil {
				return err
			}
			items = append(items, page.Items...)
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		if printJSON {
			b, err := json.MarshalIndent(map[string]any{"items": items}, "", "  ")
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(stdout, string(b))
			return err
		}
		var list struct{ Items []key }
		for _, raw := range items {
			var k key
			if err := json.Unmarshal(raw, &k); err != nil {
				return err
			}
			list.Items = append(list.Items, k)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tPREFIX\tSTATUS\tCREATED\tREVOKED")
		for _, k := range list.Items {
			fmt.Fprintf(tw, "%s\t%s\t%s…\t%s\t%s\t%s\n", k.ID, k.Name, k.Prefix, k.Status, k.CreatedAt, k.RevokedAt)
		}
		return tw.Flush()
	case "revoke":
		if err := need(1); err != nil {
			return err
		}
		var k key
		if err := call("DELETE", "/v1/reset-fee/keys/"+url.PathEscape(pos[0]), nil, &k); err != nil || *asJSON {
			return err
		}
		fmt.Fprintf(stdout, "revoked %s\n", k.ID)
		return nil
	}
	fmt.Fprintf(stderr, "walletd reset-fee-key: unknown verb %q\n\n%s", verb, resetFeeKeyUsage)
	return exitError(2)
}
