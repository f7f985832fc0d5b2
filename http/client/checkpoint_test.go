package client_test

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"math/bits"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walletd/walletd"
	whttp "github.com/walletd/walletd/http"
	"github.com/walletd/walletd/http/client"
	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/walletdtest"
)

// mustCheckpointServer starts a real API over a ledger that signs a
// checkpoint every 3 entries and serves its public key, with n credits.
func mustCheckpointServer(tb testing.TB, n int) (*walletdtest.Ledger, *client.Client, string) {
	tb.Helper()
	l := walletdtest.MustOpenLedger(tb, func(c *ledger.WriterConfig) { c.CheckpointEvery = 3 })
	w := l.MustWallet(tb, "alice", "USD")
	for i := 0; i < n; i++ {
		l.MustCredit(tb, w, "1.00")
	}
	der, err := x509.MarshalPKIXPublicKey(l.Pub)
	if err != nil {
		tb.Fatal(err)
	}
	k, token, err := walletd.NewAPIKey("admin", []string{walletd.ScopeAdmin}, time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	if err := l.DB.CreateAPIKey(context.Background(), k); err != nil {
		tb.Fatal(err)
	}
	s := &whttp.Server{Addr: "127.0.0.1:0", Writer: l.Writer, Ledger: l.DB, APIKeys: l.DB, Logger: quietLogger,
		CheckpointPublicKey: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))}
	if err := s.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return l, client.NewClient(s.URL(), token), s.URL()
}

func TestLedgerService_LatestCheckpoint(t *testing.T) {
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		l, c, _ := mustCheckpointServer(t, 20) // 21 entries: checkpoints at 3, 6 … 21
		cp, pub, err := c.LedgerService().LatestCheckpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		stored, err := l.DB.Checkpoints(ctx, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		want := stored[len(stored)-1]
		if cp.Seq != 21 || cp.Seq != want.Seq || cp.HeadHash != want.HeadHash || !cp.CreatedAt.Equal(want.CreatedAt) ||
			string(cp.Message()) != string(want.Message()) {
			t.Fatalf("latest %+v, want %+v", cp, want)
		}
		if !pub.Equal(l.Pub) || !cp.Verify(pub) {
			t.Fatalf("served public key %x, want %x", pub, l.Pub)
		}
	})

	t.Run("ErrNone", func(t *testing.T) {
		_, c, _ := mustCheckpointServer(t, 0) // one entry, no checkpoint
		_, pub, err := c.LedgerService().LatestCheckpoint(ctx)
		if walletd.ErrorCode(err) != walletd.ENotFound || pub == nil {
			t.Fatalf("LatestCheckpoint = %v, public key %x; want not_found and the key", err, pub)
		}
	})

	t.Run("ErrScope", func(t *testing.T) {
		l, _, url := mustCheckpointServer(t, 3)
		k, token, err := walletd.NewAPIKey("reader", []string{walletd.ScopeWalletsRead}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := l.DB.CreateAPIKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		_, _, err = client.NewClient(url, token).LedgerService().LatestCheckpoint(ctx)
		expectError(t, err, http.StatusForbidden, "forbidden")
	})
}

// TestLedgerService_LatestCheckpoint_Search finds the last checkpoint of
// listings no one would page through, in few requests, against a fake API
// that answers after_seq and limit as walletd does.
func TestLedgerService_LatestCheckpoint_Search(t *testing.T) {
	ctx := context.Background()
	every := func(n, step uint64) []uint64 {
		var out []uint64
		for s := step; s <= n; s += step {
			out = append(out, s)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		seqs []uint64
	}{
		{"One", []uint64{1}},
		{"OneLate", []uint64{987654}},
		{"Two", []uint64{2, 3}},
		{"Dense", every(5000, 1)},
		{"Every1000", every(3_000_000, 1000)},
		{"Sparse", []uint64{5, 6, 1 << 20, 1<<40 + 3}},
		{"Huge", []uint64{7, 1<<62 + 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var requests atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				after, err1 := strconv.ParseUint(r.URL.Query().Get("after_seq"), 10, 63)
				limit, err2 := strconv.Atoi(r.URL.Query().Get("limit"))
				if err1 != nil || err2 != nil || limit < 1 || limit > client.MaxCheckpointPage {
					w.WriteHeader(http.StatusBadRequest)
					json.NewEncoder(w).Encode(map[string]any{"success": false, "code": "invalid_request", "message": "bad query"})
					return
				}
				i := sort.Search(len(tc.seqs), func(i int) bool { return tc.seqs[i] > after })
				items := []client.CheckpointJSON{}
				for ; i < len(tc.seqs) && len(items) < limit; i++ {
					items = append(items, client.NewCheckpointJSON(&walletd.Checkpoint{LedgerID: "ldg_fake", Seq: tc.seqs[i],
						CreatedAt: time.Unix(int64(i), 0), Signature: make([]byte, 64)}))
				}
				json.NewEncoder(w).Encode(map[string]any{"success": true, "data": map[string]any{"items": items, "public_key": ""}})
			}))
			defer srv.Close()
			cp, pub, err := client.NewClient(srv.URL, "t").LedgerService().LatestCheckpoint(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if want := tc.seqs[len(tc.seqs)-1]; cp.Seq != want || pub != nil {
				t.Fatalf("latest seq %d, public key %x; want %d and none", cp.Seq, pub, want)
			}
			// 2·log2 of the last seq, and one more, at most.
			if n, max := requests.Load(), int64(2*bits.Len64(tc.seqs[len(tc.seqs)-1])+2); n > max {
				t.Fatalf("%d requests, want at most %d", n, max)
			}
			t.Logf("%d requests", requests.Load())
		})
	}
}

func TestCheckpointJSON_Checkpoint(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(nil)
	cp := &walletd.Checkpoint{LedgerID: "ldg_x", Seq: 42, HeadHash: walletd.Hash{0xab, 0x01},
		CreatedAt: time.Date(2024, 5, 1, 12, 0, 0, 500000000, time.UTC)}
	cp.Sign(priv)
	good := client.NewCheckpointJSON(cp)

	t.Run("OK", func(t *testing.T) {
		for _, msg := range []string{good.Message, ""} { // message is optional
			j := good
			j.Message = msg
			got, err := j.Checkpoint()
			if err != nil {
				t.Fatal(err)
			}
			if string(got.Message()) != string(cp.Message()) || !got.Verify(priv.Public().(ed25519.PublicKey)) {
				t.Fatalf("got %+v", got)
			}
		}
	})
	for name, tc := range map[string]struct {
		edit func(j *client.CheckpointJSON)
		want string
	}{
		"ErrSeqZero":        {func(j *client.CheckpointJSON) { j.Seq = 0 }, "seq"},
		"ErrNoLedgerID":     {func(j *client.CheckpointJSON) { j.LedgerID = "" }, "ledger_id"},
		"ErrUpperCaseHash":  {func(j *client.CheckpointJSON) { j.HeadHash = strings.ToUpper(j.HeadHash) }, "head_hash"},
		"ErrShortHash":      {func(j *client.CheckpointJSON) { j.HeadHash = j.HeadHash[:62] }, "head_hash"},
		"ErrTimeDigits":     {func(j *client.CheckpointJSON) { j.CreatedAt = "2024-05-01T12:00:00.5Z" }, "created_at"},
		"ErrTimeZone":       {func(j *client.CheckpointJSON) { j.CreatedAt = "2024-05-01T14:00:00.500000+02:00" }, "created_at"},
		"ErrSignatureB64":   {func(j *client.CheckpointJSON) { j.Signature = strings.TrimRight(j.Signature, "=") }, "signature"},
		"ErrSignatureShort": {func(j *client.CheckpointJSON) { j.Signature = "AAAA" }, "signature"},
		"ErrMessage":        {func(j *client.CheckpointJSON) { j.Message = strings.Replace(j.Message, "42", "43", 1) }, "message"},
	} {
		t.Run(name, func(t *testing.T) {
			j := good
			tc.edit(&j)
			if _, err := j.Checkpoint(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Checkpoint() = %v, want an error about %s", err, tc.want)
			}
		})
	}
}
