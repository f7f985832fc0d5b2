package health

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestChecker(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := t0.Add(time.Minute)
	var asked []uint64
	seqs := map[string]uint64{"relay": 100, "projector": 90}
	c := &Checker{
		Head: func(context.Context) (uint64, error) { return 100, nil },
		CommittedAt: func(_ context.Context, seq uint64) (time.Time, error) {
			asked = append(asked, seq)
			return t0.Add(time.Duration(seq) * 100 * time.Millisecond), nil // entry 91 at +9.1 s
		},
		Components: []Component{{Name: "relay", Seq: func() uint64 { return seqs["relay"] }},
			{Name: "projector", Seq: func() uint64 { return seqs["projector"] }}},
		Now: func() time.Time { return now },
	}
	ctx := context.Background()

	// Defaults: 100,000 entries or 10 s. The projector is 10 entries and
	// 50.9 s behind.
	lags, ready, err := c.Check(ctx)
	if err != nil || ready || len(lags) != 2 {
		t.Fatalf("%v %v %v", lags, ready, err)
	}
	if l := lags[1]; l.Entries != 10 || l.Seconds < 50.8 || l.Seconds > 51 || !l.Behind || lags[0].Behind || lags[0].Entries != 0 || lags[0].Seconds != 0 {
		t.Fatalf("lags: %+v", lags)
	}
	if len(asked) != 1 || asked[0] != 91 {
		t.Fatalf("asked for %v", asked)
	}
	if d := Describe(lags); !strings.Contains(d, "projector is 10 entries (50.9 s)") || strings.Contains(d, "relay") {
		t.Fatalf("describe: %q", d)
	}

	// A bound in seconds only.
	now = t0.Add(10 * time.Second) // 0.9 s after entry 91
	if _, ready, _ := c.Check(ctx); !ready {
		t.Fatal("0.9 s behind: want ready")
	}
	c.MaxLag = 500 * time.Millisecond
	if _, ready, _ := c.Check(ctx); ready {
		t.Fatal("0.9 s behind, bound 0.5 s: want not ready")
	}
	c.MaxLag, c.MaxLagEntries = -1, 9
	if _, ready, _ := c.Check(ctx); ready {
		t.Fatal("10 entries behind, bound 9: want not ready")
	}
	c.MaxLagEntries = -1
	if _, ready, _ := c.Check(ctx); !ready {
		t.Fatal("no bounds: want ready")
	}

	// The metrics.
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	want := `
# HELP walletd_lag_entries Ledger entries committed after the last one the component has handled.
# TYPE walletd_lag_entries gauge
walletd_lag_entries{component="projector"} 10
walletd_lag_entries{component="relay"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "walletd_lag_entries"); err != nil {
		t.Fatal(err)
	}
	seqs["projector"] = 100
	if n, err := testutil.GatherAndCount(reg, "walletd_lag_seconds"); err != nil || n != 2 {
		t.Fatalf("lag seconds: %d %v", n, err)
	}

	c.Head = func(context.Context) (uint64, error) { return 0, errors.New("database is locked") }
	if _, _, err := c.Check(ctx); err == nil {
		t.Fatal("a head that fails: want an error")
	}
}
