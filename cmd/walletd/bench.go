package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/bits"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/walletd/walletd"

	"github.com/shopspring/decimal"
	"github.com/walletd/walletd/http/client"
	"github.com/walletd/walletd/ledger"
)

const benchUsage = `Usage:
  walletd bench [--url URL] [--token T] [--wallets M] [--concurrency N] [--duration D]
                [--mix credit=70,debit=20,transfer=10] [--currency USD] [--json]

Drives a running walletd with load and reports throughput and latency. It
creates M wallets (user ids unique to the run), credits each with a starting
balance, then N workers issue the mix of credits, debits and transfers for
D, each waiting for its answer before the next (closed loop). Requests go to
--url only (redirects are not followed). The token defaults to the contents
of <data-dir>/admin.key.

With --rate R the run is open loop instead: requests are started on a fixed
schedule, R a second, whatever the answers do, by up to N workers. Each
request's latency counts from the time the schedule started it at, not from
when a worker got to it, so a server that falls behind shows its queueing in
the latencies (free of coordinated omission); requests still scheduled when
the duration ends are not sent.
`

// benchConfig is what `walletd bench` runs.
type benchConfig struct {
	URL          string
	Token        string
	Wallets      int
	Concurrency  int
	Duration     time.Duration
	Mix          string
	Currency     string
	StartBalance string
	Idempotency  bool
	Timeout      time.Duration
	JSON         bool
	Rate         float64 // requests a second, open loop; 0: closed loop
}

// benchOps are the operations of the mix, in a fixed order.
var benchOps = []string{"credit", "debit", "transfer"}

// runBench is `walletd bench`.
func runBench(ctx context.Context, args []string) error {
	return benchMain(ctx, args, os.Stdout, os.Stderr)
}

func benchMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "seed" {
		return benchSeedMain(ctx, args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), benchUsage+"\nFlags:\n"); fs.PrintDefaults() }
	c := &benchConfig{}
	dataDir := dataDirFlag(fs)
	fs.StringVar(&c.URL, "url", "http://127.0.0.1:8080", "base URL of the walletd to drive")
	fs.StringVar(&c.Token, "token", "", "API token with wallets:write (default: <data-dir>/admin.key)")
	fs.IntVar(&c.Wallets, "wallets", 100, "wallets to create and spread the load over")
	fs.IntVar(&c.Concurrency, "concurrency", 64, "concurrent workers, each with one request in flight")
	fs.DurationVar(&c.Duration, "duration", 10*time.Second, "how long to drive load")
	fs.StringVar(&c.Mix, "mix", "credit=70,debit=20,transfer=10", "weights of the operations")
	fs.StringVar(&c.Currency, "currency", "USD", "currency of the wallets")
	fs.StringVar(&c.StartBalance, "start-balance", "1000", "amount credited to each wallet before the run")
	fs.BoolVar(&c.Idempotency, "idempotency", true, "send a unique Idempotency-Key with every write, as clients should")
	fs.DurationVar(&c.Timeout, "timeout", 30*time.Second, "timeout of one request")
	fs.BoolVar(&c.JSON, "json", false, "print the report as JSON")
	fs.Float64Var(&c.Rate, "rate", 0, "open loop: start this many requests a second on a fixed schedule (0: closed loop)")
	if err := parseFlags(fs, args); err != nil {
		return err
	} else if fs.NArg() > 0 {
		return fmt.Errorf("bench: unexpected argument %q", fs.Arg(0))
	}
	if c.Token == "" {
		p := dataPaths(*dataDir)
		tok, err := readToken(p.AdminKey)
		if err != nil {
			return fmt.Errorf("bench: no --token and no admin key: %w", err)
		}
		c.Token = tok
	}
	rep, err := bench(ctx, c, stderr)
	if err != nil {
		return err
	}
	if c.JSON {
		b, _ := json.MarshalIndent(rep, "", "  ")
		fmt.Fprintf(stdout, "%s\n", b)
	} else {
		rep.print(stdout)
	}
	return nil
}

// benchReport is the outcome of a run.
type benchReport struct {
	URL          string             `json:"url"`
	Wallets      int                `json:"wallets"`
	Concurrency  int                `json:"concurrency"`
	Duration     string             `json:"duration"`
	Mix          map[string]int     `json:"mix"`
	Currency     string             `json:"currency"`
	Idempotency  bool               `json:"idempotency"`
	Rate         float64            `json:"rate,omitempty"` // offered requests a second (open loop)
	Late         uint64             `json:"late,omitempty"` // open loop: requests started 1 ms or more after their time
	SetupSeconds float64            `json:"setup_seconds"`
	Elapsed      float64            `json:"elapsed_seconds"`
	Requests     uint64             `json:"requests"`
	OK           uint64             `json:"ok"`
	OpsPerSec    float64            `json:"ops_per_sec"`      // successful writes per second
	ReqPerSec    float64            `json:"requests_per_sec"` // every answered request per second
	OKByOp       map[string]uint64  `json:"ok_by_op"`
	Errors       map[string]uint64  `json:"errors"` // "422 insufficient_funds", "transport" …
	LatencyMS    map[string]float64 `json:"latency_ms"`
	Interrupted  bool               `json:"interrupted,omitempty"`
}

func (r *benchReport) print(w io.Writer) {
	fmt.Fprintf(w, "walletd bench: url=%s wallets=%d concurrency=%d duration=%s mix=%s currency=%s idempotency=%t\n",
		r.URL, r.Wallets, r.Concurrency, r.Duration, formatMix(r.Mix), r.Currency, r.Idempotency)
	if r.Rate > 0 {
		fmt.Fprintf(w, "open loop: %.0f requests/s offered, %d started late (all workers busy)\n", r.Rate, r.Late)
	}
	if r.Interrupted {
		fmt.Fprintln(w, "interrupted: the figures cover the run until then")
	}
	fmt.Fprintf(w, "setup:    %d wallets created and funded in %.2fs\n", r.Wallets, r.SetupSeconds)
	fmt.Fprintf(w, "total:    %d requests in %.2fs, %d ok\n", r.Requests, r.Elapsed, r.OK)
	fmt.Fprintf(w, "ops/s:    %.0f ok writes/s (%.0f requests/s)\n", r.OpsPerSec, r.ReqPerSec)
	fmt.Fprintf(w, "latency:  p50=%.2fms p90=%.2fms p99=%.2fms p99.9=%.2fms max=%.2fms mean=%.2fms\n",
		r.LatencyMS["p50"], r.LatencyMS["p90"], r.LatencyMS["p99"], r.LatencyMS["p99.9"], r.LatencyMS["max"], r.LatencyMS["mean"])
	var ops []string
	for _, op := range benchOps {
		if n, ok := r.OKByOp[op]; ok {
			ops = append(ops, fmt.Sprintf("%s=%d", op, n))
		}
	}
	fmt.Fprintf(w, "ok by op: %s\n", strings.Join(ops, " "))
	if len(r.Errors) == 0 {
		fmt.Fprintln(w, "errors:   none")
		return
	}
	keys := make([]string, 0, len(r.Errors))
	for k := range r.Errors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, r.Errors[k]))
	}
	fmt.Fprintf(w, "errors:   %s\n", strings.Join(parts, " "))
}

// parseMix parses "credit=70,debit=20,transfer=10".
func parseMix(s string) (map[string]int, error) {
	mix := map[string]int{}
	total := 0
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		op, w, ok := strings.Cut(part, "=")
		n, err := strconv.Atoi(strings.TrimSpace(w))
		if !ok || err != nil || n < 0 {
			return nil, fmt.Errorf("--mix: %q is not op=weight", part)
		}
		op = strings.TrimSpace(op)
		known := false
		for _, o := range benchOps {
			known = known || o == op
		}
		if !known {
			return nil, fmt.Errorf("--mix: unknown operation %q (want credit, debit, transfer)", op)
		}
		mix[op] += n
		total += n
	}
	if total == 0 {
		return nil, errors.New("--mix: no operation has a weight")
	}
	return mix, nil
}

func formatMix(mix map[string]int) string {
	var parts []string
	for _, op := range benchOps {
		if n, ok := mix[op]; ok {
			parts = append(parts, fmt.Sprintf("%s=%d", op, n))
		}
	}
	return strings.Join(parts, ",")
}

// benchClient sends the bench's writes to one walletd through the HTTP
// client, each with a unique Idempotency-Key when asked to.
type benchClient struct {
	*client.Client
	wallets *client.WalletService
	idem    bool
	runID   string
	seq     atomic.Uint64
}

// key returns the Idempotency-Key of the next write, or "" without
// --idempotency.
func (c *benchClient) key() string {
	if !c.idem {
		return ""
	}
	return c.runID + "-" + strconv.FormatUint(c.seq.Add(1), 36)
}

// apiError is a non-2xx answer or a transport failure, keyed for counting.
type apiError struct {
	key string // "422 insufficient_funds", "transport"
	msg string
}

func (e *apiError) Error() string { return e.key + ": " + e.msg }

// benchError returns err, an error of the client, as an *apiError when it
// is an answer of the server or a transport failure, and as it is else.
func benchError(err error) error {
	var ce *client.Error
	var ue *url.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce):
		key := strconv.Itoa(ce.StatusCode)
		if code := ce.Code(); code != "" {
			key += " " + code
		}
		return &apiError{key: key, msg: ce.Message()}
	case errors.As(err, &ue):
		return &apiError{key: "transport", msg: err.Error()}
	}
	return err
}

// bench sets up the wallets and drives the load.
func bench(ctx context.Context, c *benchConfig, progress io.Writer) (*benchReport, error) {
	mix, err := parseMix(c.Mix)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("bench: --url %q is not an http(s) URL", c.URL)
	}
	if c.Wallets < 1 || (mix["transfer"] > 0 && c.Wallets < 2) {
		return nil, errors.New("bench: --wallets must be at least 1, and 2 with transfers")
	} else if c.Concurrency < 1 {
		return nil, errors.New("bench: --concurrency must be at least 1")
	} else if c.Duration <= 0 {
		return nil, errors.New("bench: --duration must be positive")
	} else if c.Rate < 0 || math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0) || c.Rate > 1e7 {
		return nil, errors.New("bench: --rate must be 0 (closed loop) or a rate up to 10000000 a second")
	}
	scale, err := walletd.DefaultCurrencies().Scale(c.Currency)
	if err != nil {
		return nil, fmt.Errorf("bench: --currency: %s", walletd.ErrorMessage(err))
	}
	start, err := decimal.NewFromString(c.StartBalance)
	if err != nil || !start.IsPositive() {
		return nil, fmt.Errorf("bench: --start-balance %q is not a positive amount", c.StartBalance)
	}
	amount := func(major float64) string {
		d := decimal.NewFromFloat(major).Round(scale)
		if !d.IsPositive() {
			d = decimal.New(1, -scale) // one minor unit
		}
		return walletd.FormatAmount(d, scale)
	}

	var runID [6]byte
	rand.Read(runID[:])
	cl := &benchClient{
		Client: &client.Client{
			BaseURL: c.URL,
			Token:   c.Token,
			HTTPClient: &http.Client{
				Timeout: c.Timeout,
				Transport: &http.Transport{
					Proxy:               nil, // straight to --url, never through a proxy
					MaxIdleConns:        2 * c.Concurrency,
					MaxIdleConnsPerHost: 2 * c.Concurrency,
					IdleConnTimeout:     90 * time.Second,
					DisableCompression:  true,
				},
				// Follow nothing: requests go to --url and nowhere else.
				CheckRedirect: client.NoRedirect,
			},
		},
		idem:  c.Idempotency,
		runID: "bench-" + hex.EncodeToString(runID[:]),
	}
	cl.wallets = cl.WalletService()
	defer cl.CloseIdleConnections()

	rep := &benchReport{
		URL: c.URL, Wallets: c.Wallets, Concurrency: c.Concurrency, Duration: c.Duration.String(),
		Mix: mix, Currency: c.Currency, Idempotency: c.Idempotency, Rate: c.Rate,
		OKByOp: map[string]uint64{}, Errors: map[string]uint64{},
	}

	// Setup: create and fund the wallets, c.Concurrency at a time.
	fmt.Fprintf(progress, "bench: creating and funding %d %s wallets at %s …\n", c.Wallets, c.Currency, c.URL)
	setupStart := time.Now()
	wallets := make([]string, c.Wallets)
	startAmount := walletd.FormatAmount(start, scale)
	errs := make(chan error, c.Wallets)
	sem := make(chan struct{}, c.Concurrency)
	var wg sync.WaitGroup
	for i := range wallets {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			user := fmt.Sprintf("%s-%d", cl.runID, i)
			res, err := cl.wallets.Submit(ctx, cl.key(), &ledger.CreateWallet{UserID: user, Email: user + "@bench.invalid", Currency: c.Currency})
			if err != nil {
				errs <- fmt.Errorf("bench: create wallet: %w", benchError(err))
				return
			}
			id := res.Entries[0].WalletID
			if id == "" {
				errs <- errors.New("bench: create wallet: the answer has no data.id")
				return
			}
			fund := &ledger.Post{WalletID: id, Kind: walletd.KindCredit, Amount: startAmount, Type: "topup", Reason: "bench starting balance"}
			if err := cl.wallets.Exec(ctx, cl.key(), fund); err != nil {
				errs <- fmt.Errorf("bench: fund wallet: %w", benchError(err))
				return
			}
			wallets[i] = id
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rep.SetupSeconds = time.Since(setupStart).Seconds()

	// The run.
	fmt.Fprintf(progress, "bench: %d workers for %s …\n", c.Concurrency, c.Duration)
	creditAmount, debitAmount, transferAmount := amount(1), amount(0.5), amount(0.25)
	total := 0
	for _, op := range benchOps {
		total += mix[op]
	}
	pick := func(r *mrand.Rand) string {
		n := r.IntN(total)
		for _, op := range benchOps {
			if n < mix[op] {
				return op
			}
			n -= mix[op]
		}
		return benchOps[0]
	}

	hist := newLatencyHistogram()
	type workerResult struct {
		requests, ok uint64
		okByOp       map[string]uint64
		errors       map[string]uint64
	}
	results := make([]workerResult, c.Concurrency)
	runStart := time.Now()
	deadline := runStart.Add(c.Duration)
	// Open loop: the schedule, the start time of every request.
	var schedule chan time.Time
	var late atomic.Uint64
	if c.Rate > 0 {
		schedule = make(chan time.Time, c.Concurrency)
		go func() {
			defer close(schedule)
			for i := 0; ctx.Err() == nil; i++ {
				t := runStart.Add(time.Duration(float64(i) * float64(time.Second) / c.Rate))
				if !t.Before(deadline) {
					return
				}
				select {
				case schedule <- t:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	// next returns when the worker's next request starts by the book.
	next := func() (time.Time, bool) {
		if schedule == nil {
			now := time.Now()
			return now, ctx.Err() == nil && now.Before(deadline)
		}
		t, ok := <-schedule
		if !ok {
			return t, false
		}
		if d := time.Until(t); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return t, false
			}
		} else if d < -time.Millisecond {
			late.Add(1)
		}
		return t, true
	}
	for wi := 0; wi < c.Concurrency; wi++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := workerResult{okByOp: map[string]uint64{}, errors: map[string]uint64{}}
			r := mrand.New(mrand.NewPCG(uint64(wi), uint64(runStart.UnixNano())))
			// The worker's commands, reused: only their wallets change.
			credit := &ledger.Post{Kind: walletd.KindCredit, Amount: creditAmount, Type: "topup", Reason: "bench"}
			debit := &ledger.Post{Kind: walletd.KindDebit, Amount: debitAmount, Type: "order_payment", Reason: "bench"}
			transfer := &ledger.Transfer{Amount: transferAmount, Note: "bench"}
			for {
				t0, ok := next()
				if !ok {
					break
				}
				op := pick(r)
				var cmd walletd.Command
				switch op {
				case "credit":
					credit.WalletID, cmd = wallets[r.IntN(len(wallets))], credit
				case "debit":
					debit.WalletID, cmd = wallets[r.IntN(len(wallets))], debit
				case "transfer":
					from := r.IntN(len(wallets))
					to := (from + 1 + r.IntN(len(wallets)-1)) % len(wallets)
					transfer.FromWalletID, transfer.ToWalletID, cmd = wallets[from], wallets[to], transfer
				}
				key := cl.key()
				err := benchError(cl.wallets.Exec(ctx, key, cmd))
				if err != nil && ctx.Err() != nil {
					break // interrupted: not an error of the server
				}
				hist.record(time.Since(t0))
				res.requests++
				var ae *apiError
				switch {
				case err == nil:
					res.ok++
					res.okByOp[op]++
				case errors.As(err, &ae):
					res.errors[ae.key]++
				default:
					res.errors["client"]++
				}
			}
			results[wi] = res
		}()
	}
	wg.Wait()
	elapsed := time.Since(runStart)
	rep.Interrupted = ctx.Err() != nil
	rep.Late = late.Load()
	for _, res := range results {
		rep.Requests += res.requests
		rep.OK += res.ok
		for k, v := range res.okByOp {
			rep.OKByOp[k] += v
		}
		for k, v := range res.errors {
			rep.Errors[k] += v
		}
	}
	rep.Elapsed = elapsed.Seconds()
	rep.OpsPerSec = float64(rep.OK) / elapsed.Seconds()
	rep.ReqPerSec = float64(rep.Requests) / elapsed.Seconds()
	rep.LatencyMS = map[string]float64{
		"p50": hist.quantile(0.50), "p90": hist.quantile(0.90), "p99": hist.quantile(0.99),
		"p99.9": hist.quantile(0.999), "max": hist.max(), "mean": hist.mean(),
	}
	return rep, nil
}

// latencyHistogram records durations in microseconds: exactly below 1024
// µs, then in 512 buckets per power of two (under 0.2% apart). It is safe
// for concurrent use and its size does not grow with the run.
type latencyHistogram struct {
	counts [1024 + 40*512]atomic.Uint64
	n      atomic.Uint64
	sumUS  atomic.Uint64
	maxUS  atomic.Uint64
}

func newLatencyHistogram() *latencyHistogram { return &latencyHistogram{} }

func latencyBucket(us uint64) int {
	if us < 1024 {
		return int(us)
	}
	e := bits.Len64(us) - 10 // us >> e is in [512, 1024)
	i := 1024 + (e-1)*512 + int(us>>e) - 512
	return min(i, 1024+40*512-1)
}

// bucketUpper returns the largest value in bucket i, in µs.
func bucketUpper(i int) uint64 {
	if i < 1024 {
		return uint64(i)
	}
	e := (i-1024)/512 + 1
	m := uint64((i-1024)%512 + 512)
	return (m+1)<<e - 1
}

func (h *latencyHistogram) record(d time.Duration) {
	us := uint64(max(d.Microseconds(), 0))
	h.counts[latencyBucket(us)].Add(1)
	h.n.Add(1)
	h.sumUS.Add(us)
	for {
		m := h.maxUS.Load()
		if us <= m || h.maxUS.CompareAndSwap(m, us) {
			break
		}
	}
}

// quantile returns the q-quantile in milliseconds (the upper bound of its
// bucket), 0 with no samples.
func (h *latencyHistogram) quantile(q float64) float64 {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(n)))
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			return float64(min(bucketUpper(i), h.maxUS.Load())) / 1000
		}
	}
	return h.max()
}

func (h *latencyHistogram) max() float64 { return float64(h.maxUS.Load()) / 1000 }

func (h *latencyHistogram) mean() float64 {
	if n := h.n.Load(); n > 0 {
		return float64(h.sumUS.Load()) / float64(n) / 1000
	}
	return 0
}
