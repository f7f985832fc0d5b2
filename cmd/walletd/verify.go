package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"time"

	"github.com/walletd/walletd/keyfile"
	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/ledger/sqlite"
	"github.com/walletd/walletd/sqlitedb"
)

const verifyUsage = `Usage:
  walletd verify [--data-dir D] [--keyring K] [--checkpoint-pubkey P] [--checkpoint FILE]… [--json]
      verify <D>/ledger.db with <D>/keyring.json and <D>/checkpoint.pub
  walletd verify --export FILE --keyring K --checkpoint-pubkey P [--checkpoint FILE]… [--json]
      verify an export written by walletd export

Verify checks every link, every HMAC (with the key each entry names) and
every signed checkpoint, and stops at the first problem. It runs with a
soft memory limit of 128 MiB (GOMEMLIMIT overrides it). Exit status: 0 the
ledger verifies, 1 it does not (the first bad seq is printed), 2 verify
could not run (missing file, bad flag, unreadable checkpoint file).

The checkpoints stored in a ledger cannot show that its tail was cut off
together with them. --checkpoint (repeatable) holds the ledger against
checkpoints kept elsewhere: saved from NATS or a webhook (the
ledger.checkpoint event), from GET /v1/ledger/checkpoints or by walletd
checkpoint fetch. Each must be signed by the public key, name this ledger,
and the ledger must reach its seq with the same hash there.
`

// verifyMemoryLimit is verify's soft memory limit (debug.SetMemoryLimit)
// unless GOMEMLIMIT is set: 1M wallets' books (84 MB, ledger/verify_books.go)
// and the entry iterator's read-ahead with room to spare, so that peak RSS
// stays below 200 MB at 10M entries / 1M wallets (176 MB measured,
// docs/benchmarks.md).
const verifyMemoryLimit = 128 << 20

// runVerify is `walletd verify`.
func runVerify(ctx context.Context, args []string) error {
	return verifyMain(ctx, args, os.Stdout)
}

// verifyMain runs verify and prints its result to stdout.
func verifyMain(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), verifyUsage+"\nFlags:\n"); fs.PrintDefaults() }
	dataDir := dataDirFlag(fs)
	exportPath := fs.String("export", "", "verify this export (JSONL) instead of the ledger in --data-dir")
	keyringPath := fs.String("keyring", "", "the ledger keyring (default <data-dir>/keyring.json; required with --export)")
	pubPath := fs.String("checkpoint-pubkey", "", "the checkpoint public key, PEM (default <data-dir>/checkpoint.pub; required with --export)")
	var checkpointFiles fileList
	fs.Var(&checkpointFiles, "checkpoint", "a checkpoint kept outside the ledger (JSON, one or more; repeatable): the ledger must reach it and agree with it")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	} else if fs.NArg() > 0 {
		return fmt.Errorf("verify: unexpected argument %q", fs.Arg(0))
	}
	p := dataPaths(*dataDir)
	if *exportPath != "" {
		if *keyringPath == "" || *pubPath == "" {
			return errors.New("verify --export needs --keyring and --checkpoint-pubkey: an export carries no keys")
		}
	} else {
		if *keyringPath == "" {
			*keyringPath = p.Keyring
		}
		if *pubPath == "" {
			*pubPath = p.CheckpointPub
		}
	}
	kr, err := keyfile.LoadKeyring(*keyringPath)
	if err != nil {
		return err
	}
	pub, err := keyfile.LoadCheckpointPublicKey(*pubPath)
	if err != nil {
		return err
	}
	external, err := readCheckpointFiles(checkpointFiles)
	if err != nil {
		return err
	}
	// A verify run allocates a great deal of short-lived memory over a
	// small live heap; collecting less often makes it markedly faster. A
	// soft memory limit keeps that from growing the process with the
	// ledger: the live heap is one small book per wallet (docs/scale.md).
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(400))
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(verifyMemoryLimit))
	}
	opt := ledger.VerifyOptions{Keyring: kr, PublicKey: pub, External: external}

	start := time.Now()
	var rep *ledger.VerifyReport
	source := *exportPath
	if source != "" {
		rep, err = verifyExportFile(ctx, source, opt)
	} else {
		source = p.LedgerDB
		rep, err = verifyLedgerFile(ctx, source, opt)
	}
	elapsed := time.Since(start)
	if err != nil {
		return err
	}
	if *asJSON {
		out := struct {
			*ledger.VerifyReport
			Source    string  `json:"source"`
			ElapsedMS float64 `json:"elapsed_ms"`
		}{rep, source, float64(elapsed.Microseconds()) / 1000}
		b, _ := json.MarshalIndent(out, "", "  ")
		fmt.Fprintf(stdout, "%s\n", b)
	} else if rep.OK {
		var ext string
		if rep.ExternalCheckpoints > 0 {
			ext = fmt.Sprintf(" external_checkpoints=%d", rep.ExternalCheckpoints)
		}
		fmt.Fprintf(stdout, "ok entries=%d head_seq=%d head_hash=%s checkpoints=%d%s elapsed=%s rate=%.0f/s\n",
			rep.Entries, rep.HeadSeq, rep.HeadHash, rep.Checkpoints, ext, elapsed.Round(time.Millisecond),
			float64(rep.Entries)/elapsed.Seconds())
	} else if rep.FirstBadSeq == 0 {
		fmt.Fprintf(stdout, "FAIL: %s\n", rep.Problem) // a damaged export header
	} else {
		fmt.Fprintf(stdout, "FAIL first_bad_seq=%d: %s\n", rep.FirstBadSeq, rep.Problem)
	}
	if !rep.OK {
		return exitError(1)
	}
	return nil
}

// verifyLedgerFile verifies a ledger.db. It refuses a path that is not a
// walletd ledger instead of creating or migrating one.
func verifyLedgerFile(ctx context.Context, path string, opt ledger.VerifyOptions) (*ledger.VerifyReport, error) {
	ledgerID, err := readLedgerID(ctx, path)
	if err != nil {
		return nil, err
	}
	// Read-only: verify neither migrates nor writes the file. The entries
	// are read over read-only connections of their own (IterateEntries).
	db, err := sqlite.OpenReadOnly(ctx, path)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	opt.LedgerID = ledgerID
	cps, err := db.Checkpoints(ctx, 0, 0)
	if err != nil {
		return nil, err
	}
	it, err := db.IterateEntries(ctx)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	return ledger.Verify(ctx, it, cps, opt)
}

// readLedgerID opens path read-only and returns its ledger id; an error if
// the file is missing or is not a walletd ledger.
func readLedgerID(ctx context.Context, path string) (string, error) {
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("no ledger at %s: %w", path, err)
	}
	db, err := sqlitedb.OpenReadOnly(path, 1)
	if err != nil {
		return "", err
	}
	defer db.Close()
	var id string
	if err := db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'ledger_id'`).Scan(&id); err != nil {
		return "", fmt.Errorf("%s is not a walletd ledger: %w", path, err)
	}
	return id, nil
}

// verifyExportFile verifies an export file, reading it twice. A file whose
// header cannot be read gives a failed report, like any other damage.
func verifyExportFile(ctx context.Context, path string, opt ledger.VerifyOptions) (*ledger.VerifyReport, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rep, _, err := ledger.VerifyExport(ctx, f, opt)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return &ledger.VerifyReport{Problem: err.Error()}, nil
	}
	return rep, nil
}
