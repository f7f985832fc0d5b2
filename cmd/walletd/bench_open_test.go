package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestBench_OpenLoop(t *testing.T) {
	ctx := context.Background()

	t.Run("FixedRate", func(t *testing.T) {
		f, srv := newFakeWalletd(t)
		var out bytes.Buffer
		err := benchMain(ctx, []string{"--url", srv.URL, "--token", f.token, "--wallets", "3", "--concurrency", "8",
			"--duration", "1s", "--rate", "200", "--mix", "credit=1", "--json"}, &out, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		var rep benchReport
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
		// 200 a second for a second, whatever the server's speed.
		if rep.Rate != 200 || rep.Requests < 190 || rep.Requests > 200 || rep.OK != rep.Requests {
			t.Fatalf("report %+v", rep)
		}
	})

	t.Run("LatencyCountsFromTheSchedule", func(t *testing.T) {
		// A server that answers the writes one at a time, in 20 ms each,
		// offered 100 a second: the queue grows, and so must the latency.
		f, srv := newFakeWalletd(t)
		gate := make(chan struct{}, 1)
		slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/credit") && r.Header.Get("X-Setup") == "" {
				gate <- struct{}{}
				time.Sleep(20 * time.Millisecond)
				<-gate
			}
			srv.Config.Handler.ServeHTTP(w, r)
		}))
		t.Cleanup(slow.Close)
		var out bytes.Buffer
		err := benchMain(ctx, []string{"--url", slow.URL, "--token", f.token, "--wallets", "2", "--concurrency", "64",
			"--duration", "1s", "--rate", "100", "--mix", "credit=1", "--json"}, &out, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		var rep benchReport
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
		// Served at 50 a second, the last of 100 waits about half a
		// second: a closed loop would report ~20 ms throughout.
		if rep.LatencyMS["max"] < 300 || rep.LatencyMS["p99"] < 300 {
			t.Fatalf("latencies %v do not show the queue", rep.LatencyMS)
		}
	})

	for _, tc := range []struct{ name, rate string }{
		{"ErrNegativeRate", "-1"}, {"ErrNaNRate", "NaN"}, {"ErrInfRate", "+Inf"}, {"ErrHugeRate", "1e9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, srv := newFakeWalletd(t)
			err := benchMain(ctx, []string{"--url", srv.URL, "--token", f.token, "--duration", "100ms", "--rate", tc.rate}, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), "--rate") {
				t.Fatalf("--rate %s: %v", tc.rate, err)
			}
		})
	}
}
