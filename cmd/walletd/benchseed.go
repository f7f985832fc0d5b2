package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/ledger/sqlite"
)

const benchSeedUsage = `Usage:
  walletd bench seed --data-dir D --wallets W --entries N [--max-batch B]
                     [--checkpoint-every C] [--currency USD]

Builds a big ledger for measuring: it opens (or creates) the data dir as
walletd serve does - ledger.db, keyring, checkpoint key, admin key - and
writes through the ledger's own writer: W wallets (one "open" entry each),
then credits spread round-robin over them until N entries were added, every
command with its own Idempotency-Key, a signed checkpoint every C entries.
The result is a data dir walletd serve and walletd verify start on. It
appends to a ledger that already has entries. The ledger's own writer is the
only writer: stop walletd serve on the data dir first (the data dir lock
says so otherwise).
`

// seedConfig is what `walletd bench seed` writes.
type seedConfig struct {
	DataDir         string
	Wallets         int
	Entries         int
	MaxBatch        int
	CheckpointEvery uint64
	Currency        string
}

// seedReport is what a seed run did.
type seedReport struct {
	Wallets  int
	Entries  int
	Head     uint64
	Duration time.Duration
}

func benchSeedMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), benchSeedUsage+"\nFlags:\n"); fs.PrintDefaults() }
	c := &seedConfig{}
	dataDir := dataDirFlag(fs)
	fs.IntVar(&c.Wallets, "wallets", 1000, "wallets to create")
	fs.IntVar(&c.Entries, "entries", 10000, "entries to add in all, the wallets' open entries included (at least --wallets)")
	fs.IntVar(&c.MaxBatch, "max-batch", 1000, "commands in one group commit")
	fs.Uint64Var(&c.CheckpointEvery, "checkpoint-every", 1000, "sign a checkpoint every this many entries")
	fs.StringVar(&c.Currency, "currency", "USD", "currency of the wallets")
	if err := parseFlags(fs, args); err != nil {
		return err
	} else if fs.NArg() > 0 {
		return fmt.Errorf("bench seed: unexpected argument %q", fs.Arg(0))
	}
	c.DataDir = *dataDir
	switch {
	case c.Wallets < 1:
		return fmt.Errorf("bench seed: --wallets must be at least 1")
	case c.Entries < c.Wallets:
		return fmt.Errorf("bench seed: --entries (%d) must be at least --wallets (%d): every wallet's open is an entry", c.Entries, c.Wallets)
	case c.MaxBatch < 1:
		return fmt.Errorf("bench seed: --max-batch must be at least 1")
	}
	rep, err := seed(ctx, c, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "seeded %s: %d wallets, %d entries (head seq %d) in %s, %.0f entries/s\n",
		c.DataDir, rep.Wallets, rep.Entries, rep.Head, rep.Duration.Round(time.Millisecond), float64(rep.Entries)/rep.Duration.Seconds())
	return nil
}

// seed writes c's wallets and entries through a ledger.Writer configured
// as walletd serve configures its own, reporting progress to progress.
func seed(ctx context.Context, c *seedConfig, progress io.Writer) (*seedReport, error) {
	logger := slog.New(slog.NewTextHandler(progress, &slog.HandlerOptions{Level: slog.LevelWarn}))
	p := dataPaths(c.DataDir)
	unlock, err := prepareDataDir(p)
	if err != nil {
		return nil, err
	}
	defer unlock()
	db, err := sqlite.OpenPipelined(ctx, p.LedgerDB)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	head, err := sqlite.NewOutbox(db, "").Head(ctx)
	if err != nil {
		return nil, err
	}
	keyring, priv, _, err := loadOrCreateKeys(p, head > 0, logger)
	if err != nil {
		return nil, err
	}
	if err := ensureAdminKey(ctx, db, p, logger); err != nil {
		return nil, err
	}
	currencies := walletd.DefaultCurrencies()
	if _, err := currencies.Scale(c.Currency); err != nil {
		return nil, fmt.Errorf("bench seed: --currency: %w", err)
	}
	w, err := ledger.NewWriter(ctx, ledger.WriterConfig{
		Store:           db,
		Lookup:          db.LookupIdempotencyKey,
		Keyring:         keyring,
		Currencies:      currencies,
		CheckpointKey:   priv,
		CheckpointEvery: c.CheckpointEvery,
		MaxBatch:        c.MaxBatch,
		Sync:            db.Sync,
		Logger:          logger,
	})
	if err != nil {
		return nil, err
	}
	w.Open()
	start := time.Now()
	run := strconv.FormatInt(start.UnixNano(), 36) // keys and user ids unique to the run
	rep := &seedReport{Wallets: c.Wallets, Entries: c.Entries}
	ids := make([]string, c.Wallets)
	var done atomic.Int64
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				n := done.Load()
				fmt.Fprintf(progress, "bench seed: %d / %d entries, %.0f entries/s\n", n, c.Entries, float64(n)/time.Since(start).Seconds())
			}
		}
	}()
	// Enough callers to keep a full batch waiting behind the one being
	// committed (the writer pipelines its group commit).
	workers := max(2*c.MaxBatch, 64)
	phase := func(n int, cmd func(i int) (walletd.Command, string), got func(i int, res *walletd.Result)) error {
		var next atomic.Int64
		var wg sync.WaitGroup
		errc := make(chan error, 1)
		for range min(workers, n) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1) - 1)
					if i >= n || ctx.Err() != nil {
						return
					}
					cm, key := cmd(i)
					res, err := w.Submit(ctx, key, cm)
					if err != nil {
						select {
						case errc <- fmt.Errorf("bench seed: %s: %w", key, err):
						default:
						}
						next.Store(int64(n)) // stop the others
						return
					}
					if got != nil {
						got(i, res)
					}
					done.Add(1)
				}
			}()
		}
		wg.Wait()
		select {
		case err := <-errc:
			return err
		default:
			return ctx.Err()
		}
	}
	err = phase(c.Wallets, func(i int) (walletd.Command, string) {
		return &ledger.CreateWallet{UserID: "seed-" + run + "-" + strconv.Itoa(i), Email: "seed" + strconv.Itoa(i) + "@example.com", Currency: c.Currency}, "seed-" + run + "-w" + strconv.Itoa(i)
	}, func(i int, res *walletd.Result) { ids[i] = res.Entries[0].WalletID })
	if err == nil {
		err = phase(c.Entries-c.Wallets, func(i int) (walletd.Command, string) {
			return &ledger.Post{WalletID: ids[i%len(ids)], Kind: walletd.KindCredit, Amount: "1.00", Type: "seed", Reason: "bench seed credit"},
				"seed-" + run + "-e" + strconv.Itoa(i)
		}, nil)
	}
	cerr := w.Close()
	if err != nil {
		return nil, errors.Join(err, cerr)
	} else if cerr != nil {
		return nil, cerr
	}
	rep.Head, _ = w.Head()
	rep.Duration = time.Since(start)
	return rep, db.Close()
}
