package client_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/walletd/walletd"
	"github.com/walletd/walletd/http/client"
	"github.com/walletd/walletd/ledger"
)

func newCreateWallet(user string) *ledger.CreateWallet {
	return &ledger.CreateWallet{UserID: user, Email: user + "@example.com", Currency: "USD"}
}

// mustWallet creates a USD wallet of user through the client and returns
// its id.
func (s *testServer) mustWallet(tb testing.TB, user string) string {
	tb.Helper()
	res, err := s.Client.WalletService().Submit(context.Background(), "", newCreateWallet(user))
	if err != nil {
		tb.Fatal(err)
	}
	return res.Entries[0].WalletID
}

// expectStored fails unless es are, field for field, the entries the
// ledger stored at their seqs.
func (s *testServer) expectStored(tb testing.TB, es ...*walletd.Entry) {
	tb.Helper()
	for _, e := range es {
		stored, err := s.L.DB.Entries(context.Background(), e.Seq-1, 1)
		if err != nil || len(stored) != 1 {
			tb.Fatalf("entry %d: %v", e.Seq, err)
		}
		st := stored[0]
		if !bytes.Equal(e.AppendCanonical(nil), st.AppendCanonical(nil)) || e.Hash != st.Hash || e.PrevHash != st.PrevHash || e.KeyID != st.KeyID {
			tb.Fatalf("client's entry\n%+v\nstored\n%+v", e, st)
		}
	}
}

func TestWalletService_Submit(t *testing.T) {
	s := mustServer(t, false)
	ctx := context.Background()
	ws := s.Client.WalletService()

	t.Run("CreateWallet", func(t *testing.T) {
		res, err := ws.Submit(ctx, "create-1", newCreateWallet("alice"))
		if err != nil {
			t.Fatal(err)
		}
		e := res.Entries[0]
		if len(res.Entries) != 1 || res.Replayed || !strings.HasPrefix(e.WalletID, "wal_") || e.Kind != walletd.KindOpen ||
			e.UserID != "alice" || e.Email != "alice@example.com" || e.Currency != "USD" || e.BalanceAfter != "0.00" ||
			e.HeldAfter != "0.00" || e.Seq == 0 || e.CreatedAt.IsZero() {
			t.Fatalf("result %+v, entry %+v", res, e)
		}
		again, err := ws.Submit(ctx, "create-1", newCreateWallet("alice"))
		if err != nil || !again.Replayed || again.Entries[0].WalletID != e.WalletID {
			t.Fatalf("replay: %v %+v", err, again)
		}
	})

	t.Run("Credit", func(t *testing.T) {
		id := s.mustWallet(t, "bob")
		res, err := ws.Submit(ctx, "credit-1", &ledger.Post{WalletID: id, Kind: walletd.KindCredit, Amount: "25.50", Type: "topup",
			Reason: "card", OrderID: "o-1", Metadata: map[string]string{"z": "1", "a": "<&>"}})
		if err != nil {
			t.Fatal(err)
		}
		e := res.Entries[0]
		if len(res.Entries) != 1 || e.Kind != walletd.KindCredit || e.Amount != "25.50" || e.BalanceAfter != "25.50" ||
			e.IdempotencyKey != "credit-1" || e.WalletID != id {
			t.Fatalf("entry %+v", e)
		}
		s.expectStored(t, e)
		again, err := ws.Submit(ctx, "credit-1", &ledger.Post{WalletID: id, Kind: walletd.KindCredit, Amount: "25.50", Type: "topup",
			Reason: "card", OrderID: "o-1", Metadata: map[string]string{"z": "1", "a": "<&>"}})
		if err != nil || !again.Replayed || again.Entries[0].ID != e.ID {
			t.Fatalf("replay: %v %+v", err, again)
		}
	})

	t.Run("Debit", func(t *testing.T) {
		id := s.mustWallet(t, "carol")
		if _, err := ws.Submit(ctx, "", &ledger.Post{WalletID: id, Kind: walletd.KindCredit, Amount: "10"}); err != nil {
			t.Fatal(err)
		}
		res, err := ws.Submit(ctx, "", &ledger.Post{WalletID: id, Kind: walletd.KindDebit, Amount: "4"})
		if err != nil {
			t.Fatal(err)
		}
		e := res.Entries[0]
		if e.Kind != walletd.KindDebit || e.Type != "manual_debit" || e.Amount != "4.00" || e.BalanceAfter != "6.00" {
			t.Fatalf("entry %+v", e)
		}
		s.expectStored(t, e)
	})

	t.Run("Transfer", func(t *testing.T) {
		from, to := s.mustWallet(t, "dan"), s.mustWallet(t, "erin")
		if _, err := ws.Submit(ctx, "", &ledger.Post{WalletID: from, Kind: walletd.KindCredit, Amount: "10"}); err != nil {
			t.Fatal(err)
		}
		res, err := ws.Submit(ctx, "tfr-1", &ledger.Transfer{FromWalletID: from, ToWalletID: to, Amount: "2.50", Note: "rent",
			Metadata: map[string]string{"k": "v"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Entries) != 2 {
			t.Fatalf("%d entries", len(res.Entries))
		}
		out, in := res.Entries[0], res.Entries[1]
		if out.WalletID != from || in.WalletID != to || out.TransferID == "" || out.TransferID != in.TransferID ||
			out.Counterparty != to || in.BalanceAfter != "2.50" || out.BalanceAfter != "7.50" {
			t.Fatalf("entries %+v %+v", out, in)
		}
		s.expectStored(t, out, in)
	})

	for _, tc := range []struct {
		name   string
		cmd    func(id string) walletd.Command
		key    string
		status int
		code   string
	}{
		{"ErrInsufficientFunds", func(id string) walletd.Command {
			return &ledger.Post{WalletID: id, Kind: walletd.KindDebit, Amount: "1"}
		}, "", 422, walletd.EInsufficientFunds},
		{"ErrInvalidAmount", func(id string) walletd.Command {
			return &ledger.Post{WalletID: id, Kind: walletd.KindCredit, Amount: "1.001"}
		}, "", 400, walletd.EInvalidAmount},
		{"ErrNotFound", func(string) walletd.Command {
			return &ledger.Post{WalletID: "wal_nope", Kind: walletd.KindCredit, Amount: "1"}
		}, "", 404, walletd.ENotFound},
		{"ErrWalletExists", func(string) walletd.Command { return newCreateWallet("frank") }, "", 409, walletd.EWalletExists},
		{"ErrIdempotencyConflict", func(id string) walletd.Command {
			return &ledger.Post{WalletID: id, Kind: walletd.KindCredit, Amount: "2"}
		}, "same-key", 409, walletd.EIdempotencyConflict},
		{"ErrCurrencyMismatch", func(id string) walletd.Command {
			eur, err := ws.Submit(ctx, "", &ledger.CreateWallet{UserID: "frank", Email: "frank@example.com", Currency: "EUR"})
			if err != nil {
				t.Fatal(err)
			}
			return &ledger.Transfer{FromWalletID: id, ToWalletID: eur.Entries[0].WalletID, Amount: "1"}
		}, "", 422, walletd.ECurrencyMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := s.mustWallet(t, "frank-"+tc.name)
			if tc.code == walletd.EWalletExists {
				s.mustWallet(t, "frank")
			}
			if tc.key != "" {
				if _, err := ws.Submit(ctx, tc.key, &ledger.Post{WalletID: id, Kind: walletd.KindCredit, Amount: "1"}); err != nil {
					t.Fatal(err)
				}
			}
			cmd := tc.cmd(id)
			_, err := ws.Submit(ctx, tc.key, cmd)
			expectError(t, err, tc.status, tc.code)
			expectError(t, ws.Exec(ctx, tc.key, cmd), tc.status, tc.code)
		})
	}

	t.Run("ErrUnsupported", func(t *testing.T) {
		var calls atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) }))
		defer srv.Close()
		ws := client.NewClient(srv.URL, "tok").WalletService()
		for _, cmd := range []walletd.Command{
			&ledger.SetStatus{WalletID: "wal_1", Frozen: true},
			&ledger.Post{WalletID: "wal_1", Kind: walletd.KindFreeze},
			&ledger.Post{Kind: walletd.KindCredit, Amount: "1"},
		} {
			_, err := ws.Submit(ctx, "", cmd)
			if walletd.ErrorCode(err) != walletd.EInvalid {
				t.Errorf("%T %+v: %v", cmd, cmd, err)
			}
			if err := ws.Exec(ctx, "", cmd); walletd.ErrorCode(err) != walletd.EInvalid {
				t.Errorf("Exec %T %+v: %v", cmd, cmd, err)
			}
		}
		if calls.Load() != 0 {
			t.Fatalf("%d requests sent", calls.Load())
		}
	})
}

func TestWalletService_Exec(t *testing.T) {
	s := mustServer(t, false)
	ctx := context.Background()
	ws := s.Client.WalletService()
	id := s.mustWallet(t, "gina")
	if err := ws.Exec(ctx, "exec-1", &ledger.Post{WalletID: id, Kind: walletd.KindCredit, Amount: "3"}); err != nil {
		t.Fatal(err)
	}
	if err := ws.Exec(ctx, "exec-1", &ledger.Post{WalletID: id, Kind: walletd.KindCredit, Amount: "3"}); err != nil {
		t.Fatal(err) // a replay
	}
	w, err := s.L.DB.Wallet(ctx, id)
	if err != nil || w.Balance.String() != "3" {
		t.Fatalf("wallet %+v, %v", w, err)
	}
}

// BenchmarkWalletService is the client's own cost per credit, against a
// server that answers at once with a canned entry: what `walletd bench`
// adds to each request it measures.
func BenchmarkWalletService(b *testing.B) {
	answer := []byte(`{"success":true,"data":{"transaction_id":"txn_2Zq","seq":42,"ledger_hash":"` + strings.Repeat("ab", 32) +
		`","prev_hash":"` + strings.Repeat("cd", 32) + `","request_hash":"` + strings.Repeat("ef", 32) + `","key_id":"k1",` +
		`"event_id":"wph_2Zq","kind":"credit","type":"topup","wallet_id":"wal_1","user_id":"u1","currency":"USD","amount":"1.00",` +
		`"balance_after":"101.00","held_after":"0.00","available_after":"101.00","reason":"bench","metadata":{},` +
		`"idempotency_key":"bench-1","created_at":"2025-01-02T03:04:05.123456Z"}}` + "\n")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		w.Write(answer)
	}))
	defer srv.Close()
	ws := client.NewClient(srv.URL, "tok").WalletService()
	cmd := &ledger.Post{WalletID: "wal_1", Kind: walletd.KindCredit, Amount: "1.00", Type: "topup", Reason: "bench"}
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		fn   func() error
	}{
		{"Exec", func() error { return ws.Exec(ctx, "bench-1", cmd) }},
		{"Submit", func() error { _, err := ws.Submit(ctx, "bench-1", cmd); return err }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := bc.fn(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
		})
	}
}
