package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/walletd/walletd/events/bus"
	"github.com/walletd/walletd/ledger/sqlite"
)

// runEvents handles `walletd events republish`.
func runEvents(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "republish" {
		fmt.Fprint(os.Stderr, "Usage:\n  walletd events republish --from-seq N [--to-seq M] [walletd serve's flags]\n      with walletd serve stopped: publish the ledger's events of seq N..M (M: the head)\n      into the stream again, for subscribers that want history (docs/operations.md)\n")
		return exitError(2)
	}
	fs := flag.NewFlagSet("events republish", flag.ContinueOnError)
	cfg := serveFlags(fs) // serve's flags and WALLETD_* variables: the same data dir, stream and site URL
	from := fs.Uint64("from-seq", 0, "first ledger seq to publish again (required, 1 or more)")
	to := fs.Uint64("to-seq", 0, "last ledger seq to publish again (0: the ledger's head)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *from == 0 {
		return fmt.Errorf("events republish: --from-seq is required (1 or more)")
	}
	if *to != 0 && *to < *from {
		return fmt.Errorf("events republish: --to-seq %d is before --from-seq %d", *to, *from)
	}
	logger, err := newLogger("warn", "text")
	if err != nil {
		return err
	}
	siteURL, err := cfg.Public.resolve(cfg.HTTPAddr, logger)
	if err != nil {
		return err
	}
	p := dataPaths(cfg.DataDir)
	if !fileExists(p.LedgerDB) {
		return fmt.Errorf("events republish: no ledger at %s", p.LedgerDB)
	}
	// The relay must not publish meanwhile (bus.Republish): take the data
	// dir's lock, which walletd serve holds while it runs.
	unlock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("events republish: %w (stop walletd serve first)", err)
	}
	defer unlock()
	key, err := loadRelayKey(filepath.Join(cfg.DataDir, relayKeyFile))
	if err != nil {
		return fmt.Errorf("events republish: %w (the messages carry the relay's MAC)", err)
	}
	db, err := sqlite.Open(ctx, p.LedgerDB)
	if err != nil {
		return err
	}
	defer db.Close()
	src := sqlite.NewOutbox(db, siteURL)
	head, err := src.Head(ctx)
	if err != nil {
		return err
	}
	if *from > head {
		return fmt.Errorf("events republish: --from-seq %d is after the ledger's head %d", *from, head)
	}
	last := *to
	if last == 0 || last > head {
		last = head
	}
	var nc *nats.Conn
	if cfg.NATS.URL == "" {
		srv, auth, err := openEmbeddedNATS(cfg, logger)
		if err != nil {
			return err
		}
		defer srv.Close()
		defer auth.Close()
		nc, err = embeddedClient(srv, cfg.DataDir, identityServe)
		if err != nil {
			return err
		}
	} else if nc, err = bus.Connect(cfg.NATS.URL, "walletd-republish", cfg.NATS.options()...); err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("nats: jetstream: %w", err)
	}
	// The stream serve made keeps its configuration: creating it here
	// with this command's flags is for a stream that is gone, never an
	// update of serve's limits.
	if _, err := js.Stream(ctx, cfg.NATS.Stream); errors.Is(err, jetstream.ErrStreamNotFound) {
		sc := cfg.NATS.streamConfig()
		sc.Logger = logger
		if _, err := bus.EnsureStream(ctx, js, sc); err != nil {
			return err
		}
	} else if err != nil {
		return fmt.Errorf("nats: stream %s: %w", cfg.NATS.Stream, err)
	}
	start, lastReport := time.Now(), time.Now()
	n, dups, err := bus.Republish(ctx, js, cfg.NATS.Stream, cfg.NATS.Prefix, key, src, *from, last, relayPositionFile(cfg.DataDir), func(n int, seq uint64) {
		if time.Since(lastReport) >= 2*time.Second {
			lastReport = time.Now()
			fmt.Fprintf(os.Stderr, "republish: %d events, up to seq %d of %d..%d (%.0f events/s)\n",
				n, seq, *from, last, float64(n)/time.Since(start).Seconds())
		}
	})
	if err != nil {
		return fmt.Errorf("events republish: after %d events: %w", n+dups, err)
	}
	fmt.Printf("republished %d events of ledger seq %d..%d into stream %s in %s (%d more were in the stream's duplicate window: not stored again)\n",
		n, *from, last, cfg.NATS.Stream, time.Since(start).Round(time.Millisecond), dups)
	return nil
}
