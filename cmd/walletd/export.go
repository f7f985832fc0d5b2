package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/ledger/export"
)

const exportUsage = `Usage:
  walletd export --out FILE [--data-dir D]
      write every entry and every checkpoint of <D>/ledger.db as JSON Lines
      (format walletd.export.v1, see docs/auditing.md); --out - writes to
      stdout. walletd verify --export checks the file.
`

// runExport is `walletd export`.
func runExport(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), exportUsage+"\nFlags:\n"); fs.PrintDefaults() }
	dataDir := dataDirFlag(fs)
	out := fs.String("out", "", "the file to write, or - for stdout (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	} else if fs.NArg() > 0 {
		return fmt.Errorf("export: unexpected argument %q", fs.Arg(0))
	} else if *out == "" {
		return errors.New("export: --out is required (- for stdout)")
	}
	p := dataPaths(*dataDir)
	start := time.Now()
	if _, err := readLedgerID(ctx, p.LedgerDB); err != nil {
		return err
	}
	db, err := openExisting(ctx, p)
	if err != nil {
		return err
	}
	defer db.Close()

	var w io.Writer = os.Stdout
	var tmp *os.File
	if *out != "-" {
		// Write beside the target and rename at the end, so that the
		// file at --out is never a half-written export.
		if tmp, err = os.CreateTemp(filepath.Dir(*out), "."+filepath.Base(*out)+".tmp*"); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		defer os.Remove(tmp.Name())
		defer tmp.Close()
		// Entries carry user ids and emails: keep the file private.
		if err := tmp.Chmod(0o600); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		w = tmp
	}

	// Checkpoints are read first: the entries read next then reach at
	// least as far as every checkpoint in the file.
	cps, err := db.Checkpoints(ctx, 0, 0)
	if err != nil {
		return err
	}
	ew, err := export.NewWriter(w, db.LedgerID(), time.Now())
	if err != nil {
		return err
	}
	it, err := db.IterateEntries(ctx)
	if err != nil {
		return err
	}
	defer it.Close()
	var e walletd.Entry
	var first, last uint64
	for {
		ok, err := it.Next(&e)
		if err != nil {
			return fmt.Errorf("export: after seq %d: %w", last, err)
		} else if !ok {
			break
		}
		if err := ew.WriteEntry(&e); err != nil {
			return err
		}
		if first == 0 {
			first = e.Seq
		}
		last = e.Seq
	}
	for _, cp := range cps {
		if err := ew.WriteCheckpoint(cp); err != nil {
			return err
		}
	}
	if err := ew.Close(); err != nil {
		return err
	}
	dest := "stdout"
	if tmp != nil {
		if err := tmp.Sync(); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		if err := tmp.Close(); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		if err := os.Rename(tmp.Name(), *out); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		dest = *out
	}
	n, m := ew.Counts()
	fmt.Fprintf(os.Stderr, "exported %d entries (seq %d..%d) and %d checkpoints of ledger %s to %s in %s\n",
		n, first, last, m, db.LedgerID(), dest, time.Since(start).Round(time.Millisecond))
	return nil
}
