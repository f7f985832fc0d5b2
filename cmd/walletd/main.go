// Command walletd is the wallet ledger service and its tools: serve,
// migrate, verify, export, keys and bench.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// usage is printed for `walletd help` and unknown commands.
const usage = `walletd: an event-sourced wallet ledger with an HMAC-chained audit trail.

Usage:
  walletd serve     [flags]   run the service (HTTP API, writer, checkpoints)
  walletd migrate   [flags]   apply database migrations and exit
  walletd verify    [flags]   verify a ledger (--data-dir) or an export (--export)
  walletd export    [flags]   write the ledger as JSONL (--out)
  walletd checkpoint fetch    save the latest signed checkpoint, for verify --checkpoint
  walletd keys      VERB      create | rotate-ledger-key | rotate-plugin-jwt-key
  walletd plugin-key VERB     create | list | revoke: the keys of storefront plugins
  walletd bench     [flags]   drive a running server with load and report ops/s and latency
  walletd webhook   VERB      list | get | create | update | delete | rotate-secret | test | logs | retry | enable
  walletd reset-fee-key VERB  create | list | revoke: the reset-fee endpoint's secret keys
  walletd inbound   VERB      gateways | gateway | logs | test | dlq list|show|redrive|discard
  walletd projector [flags]   run only the projections (read models), against a NATS stream
  walletd financing settings  show | set: the consumer-financing provider
  walletd projections rebuild rebuild the read models from the stream
  walletd dispatcher [flags]  send outbound webhooks beside a walletd serve --webhooks=false
  walletd events republish    publish ledger events of --from-seq N [--to-seq M] into the stream again
  walletd nats-user VERB      create | list | revoke: read-only identities on the embedded NATS server
  walletd version             print the version

Every flag also reads a WALLETD_* environment variable (for example
--data-dir reads WALLETD_DATA_DIR). Run 'walletd COMMAND -h' for its flags.
`

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			os.Exit(int(ee))
		}
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "walletd:", err)
		}
		os.Exit(2)
	}
}

// exitError ends the program with a status but prints nothing more: the
// command has already said what went wrong (verify uses it for exit 1).
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return exitError(2)
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return runServe(ctx, rest)
	case "migrate":
		return runMigrate(ctx, rest)
	case "verify":
		return runVerify(ctx, rest)
	case "export":
		return runExport(ctx, rest)
	case "checkpoint":
		return runCheckpoint(ctx, rest)
	case "keys":
		return runKeys(ctx, rest)
	case "plugin-key":
		return runPluginKey(ctx, rest)
	case "bench":
		return runBench(ctx, rest)
	case "webhook":
		return runWebhook(ctx, rest)
	case "reset-fee-key":
		return runResetFeeKey(ctx, rest)
	case "financing":
		return runFinancing(ctx, rest)
	case "inbound":
		return runInbound(ctx, rest)
	case "projector":
		return runProjector(ctx, rest)
	case "projections":
		return runProjections(ctx, rest)
	case "dispatcher":
		return runDispatcher(ctx, rest)
	case "events":
		return runEvents(ctx, rest)
	case "nats-user":
		return runNATSUser(ctx, rest, os.Stdout)
	case "version":
		fmt.Println("walletd", version)
		return nil
	case "help", "-h", "--help":
		fmt.Print(usage)
		return nil
	}
	fmt.Fprintf(os.Stderr, "walletd: unknown command %q\n\n%s", cmd, usage)
	return exitError(2)
}
