package ledger_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/walletd/walletd"

	"github.com/walletd/walletd/ledger"
	"github.com/walletd/walletd/walletdtest"
)

func TestCreateWallet(t *testing.T) {
	t.Run("CreateWallet", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		before := time.Now().UTC().Truncate(time.Microsecond)
		res := mustSubmit(t, l, "", &ledger.CreateWallet{UserID: "alice", Email: "alice@example.com", Currency: "USD"})
		if len(res.Entries) != 1 || res.Replayed {
			t.Fatalf("result %+v", res)
		}
		e := res.Entries[0]
		if e.Seq != 1 || e.Kind != walletd.KindOpen || e.Type != "open" || e.UserID != "alice" || e.Email != "alice@example.com" ||
			e.Currency != "USD" || e.Amount != "0.00" || e.BalanceAfter != "0.00" || e.HeldAfter != "0.00" ||
			!strings.HasPrefix(e.WalletID, "wal_") || !strings.HasPrefix(e.ID, "txn_") || !strings.HasPrefix(e.EventID, "wph_") ||
			e.KeyID != "k1" || e.PrevHash != (walletd.Hash{}) || e.IdempotencyKey != "" || e.RequestHash != "" {
			t.Fatalf("open entry %+v", e)
		}
		if e.Hash != ledger.ComputeHash(l.Keyring.Key("k1"), e) {
			t.Fatal("the open entry's hash is not the HMAC of its contents")
		}
		if e.CreatedAt.Location() != time.UTC || e.CreatedAt.Before(before) || e.CreatedAt.Nanosecond()%1000 != 0 {
			t.Fatalf("created_at %v", e.CreatedAt)
		}
		w := getWallet(t, l, e.WalletID)
		if w.UserID != "alice" || w.Email != "alice@example.com" || w.Currency != "USD" || w.Status != walletd.StatusActive ||
			!w.Balance.IsZero() || !w.Held.IsZero() || w.LastSeq != 1 {
			t.Fatalf("wallet %+v", w)
		}
		stored := allEntries(t, l)
		if len(stored) != 1 || stored[0].Hash != e.Hash || stored[0].ID != e.ID {
			t.Fatalf("stored entries %+v", stored)
		}

		// Another currency for the same user is another wallet.
		jpy := mustSubmit(t, l, "", &ledger.CreateWallet{UserID: "alice", Email: "alice@example.com", Currency: "JPY"}).Entries[0]
		if jpy.Amount != "0" || jpy.WalletID == e.WalletID || jpy.Seq != 2 || jpy.PrevHash != e.Hash {
			t.Fatalf("JPY open entry %+v", jpy)
		}
		wantVerified(t, l)
	})
	t.Run("ErrWalletExists", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		l.MustWallet(t, "alice", "USD")
		before := snapshot(t, l)
		_, err := submit(l, "", &ledger.CreateWallet{UserID: "alice", Email: "other@example.com", Currency: "USD"})
		wantCode(t, err, walletd.EWalletExists)
		wantUnchanged(t, l, before)

		// Racing creations of one wallet: exactly one wins, whatever the batching.
		const n = 20
		errs := make(chan error, n)
		for i := 0; i < n; i++ {
			go func() {
				_, err := submit(l, "", &ledger.CreateWallet{UserID: "bob", Email: "bob@example.com", Currency: "EUR"})
				errs <- err
			}()
		}
		won := 0
		for i := 0; i < n; i++ {
			if err := <-errs; err == nil {
				won++
			} else {
				wantCode(t, err, walletd.EWalletExists)
			}
		}
		if won != 1 || headSeq(t, l) != 2 {
			t.Fatalf("%d creations won, head %d", won, headSeq(t, l))
		}
	})
	t.Run("ErrInvalidEmail", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		for _, email := range []string{"", "   ", "alice", "@example.com", "alice@", "al ice@example.com", "alice@exa\tmple.com",
			"<alice@example.com>", "alice@exa\nmple.com", strings.Repeat("a", 250) + "@b.com", "alice\xff@example.com"} {
			_, err := submit(l, "", &ledger.CreateWallet{UserID: "alice", Email: email, Currency: "USD"})
			wantCode(t, err, walletd.EInvalid)
		}
		if headSeq(t, l) != 0 {
			t.Fatal("a refused wallet was written")
		}
	})
	t.Run("ErrInvalidCurrency", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		for _, cur := range []string{"", "XXX", "usd", "US", "USDX", "€"} {
			_, err := submit(l, "", &ledger.CreateWallet{UserID: "alice", Email: "alice@example.com", Currency: cur})
			wantCode(t, err, walletd.EInvalidCurrency)
		}
		if headSeq(t, l) != 0 {
			t.Fatal("a refused wallet was written")
		}
	})
	t.Run("ErrUserRequired", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		for _, user := range []string{"", "   ", "\t", strings.Repeat("u", walletd.MaxUserIDLen+1), "a\x00b", "a\x7fb", "a\xffb"} {
			_, err := submit(l, "", &ledger.CreateWallet{UserID: user, Email: "alice@example.com", Currency: "USD"})
			wantCode(t, err, walletd.EInvalid)
		}
		if headSeq(t, l) != 0 {
			t.Fatal("a refused wallet was written")
		}
	})

}

func TestPost(t *testing.T) {
	t.Run("Credit", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		w := l.MustWallet(t, "alice", "USD")
		open := allEntries(t, l)[0]
		res := mustSubmit(t, l, "", &ledger.Post{WalletID: w, Kind: walletd.KindCredit, Amount: "25", Type: "topup",
			Reason: "Card top-up", OrderID: "wc_1001", Metadata: map[string]string{"source": "stripe", "channel": "web"}})
		e := res.Entries[0]
		if len(res.Entries) != 1 || e.Seq != 2 || e.Kind != walletd.KindCredit || e.Type != "topup" || e.WalletID != w ||
			e.Amount != "25.00" || e.BalanceAfter != "25.00" || e.HeldAfter != "0.00" || e.Reason != "Card top-up" ||
			e.OrderID != "wc_1001" || e.Metadata != `{"channel":"web","source":"stripe"}` || e.Email != "" ||
			e.TransferID != "" || e.Counterparty != "" || e.PrevHash != open.Hash {
			t.Fatalf("credit entry %+v", e)
		}
		e2 := l.MustCredit(t, w, "0.01")
		if e2.Seq != 3 || e2.BalanceAfter != "25.01" || e2.PrevHash != e.Hash {
			t.Fatalf("second credit %+v", e2)
		}
		wantBalance(t, l, w, "25.01")
		if got := getWallet(t, l, w).LastSeq; got != 3 {
			t.Fatalf("last_seq %d", got)
		}

		jpy := l.MustWallet(t, "alice", "JPY")
		if e := l.MustCredit(t, jpy, "1500"); e.Amount != "1500" || e.BalanceAfter != "1500" {
			t.Fatalf("JPY credit %+v", e)
		}
		kwd := l.MustWallet(t, "alice", "KWD")
		if e := l.MustCredit(t, kwd, "0.001"); e.Amount != "0.001" || e.BalanceAfter != "0.001" || e.HeldAfter != "0.000" {
			t.Fatalf("KWD credit %+v", e)
		}
		wantVerified(t, l)
	})
	t.Run("Debit", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		w := l.MustWallet(t, "alice", "USD")
		c := l.MustCredit(t, w, "10.00")
		e := mustSubmit(t, l, "", debit(w, "3.50")).Entries[0]
		if e.Kind != walletd.KindDebit || e.Type != "order_payment" || e.Amount != "3.50" || e.BalanceAfter != "6.50" || e.Seq != 3 || e.PrevHash != c.Hash {
			t.Fatalf("debit entry %+v", e)
		}
		e = mustSubmit(t, l, "", debit(w, "6.50")).Entries[0]
		if e.BalanceAfter != "0.00" {
			t.Fatalf("debit to zero %+v", e)
		}
		wantBalance(t, l, w, "0")
		wantVerified(t, l)
	})
	t.Run("ErrInsufficientFunds", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		w := l.MustWallet(t, "alice", "USD")
		empty := l.MustWallet(t, "bob", "USD")
		l.MustCredit(t, w, "10.00")
		before := snapshot(t, l)
		_, err := submit(l, "", debit(w, "10.01"))
		wantCode(t, err, walletd.EInsufficientFunds)
		_, err = submit(l, "", debit(empty, "0.01"))
		wantCode(t, err, walletd.EInsufficientFunds)
		_, err = submit(l, "", transfer(w, empty, "10.01"))
		wantCode(t, err, walletd.EInsufficientFunds)
		wantUnchanged(t, l, before)
		// The whole balance may go.
		mustSubmit(t, l, "", debit(w, "10.00"))
		wantBalance(t, l, w, "0")
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		w := l.MustWallet(t, "alice", "USD")
		l.MustCredit(t, w, "10.00")
		before := snapshot(t, l)
		for _, cmd := range []walletd.Command{
			credit("wal_nope", "1.00"),
			debit("wal_nope", "1.00"),
			&ledger.SetStatus{WalletID: "wal_nope", Frozen: true},
			transfer("wal_nope", w, "1.00"),
			transfer(w, "wal_nope", "1.00"),
			transfer("wal_nope", "wal_nope", "1.00"),
		} {
			_, err := submit(l, "", cmd)
			wantCode(t, err, walletd.ENotFound)
		}
		wantUnchanged(t, l, before)
	})
	t.Run("ErrInvalidKind", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		w := l.MustWallet(t, "alice", "USD")
		before := snapshot(t, l)
		for _, kind := range []string{"", walletd.KindOpen, walletd.KindFreeze, "CREDIT", "refund"} {
			_, err := submit(l, "", &ledger.Post{WalletID: w, Kind: kind, Amount: "1.00", Type: "topup"})
			wantCode(t, err, walletd.EInvalid)
		}
		wantUnchanged(t, l, before)
	})
	t.Run("ErrInvalidAmount", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		a := l.MustWallet(t, "alice", "USD")
		b := l.MustWallet(t, "bob", "USD")
		yen := l.MustWallet(t, "carol", "JPY")
		l.MustCredit(t, a, "100.00")
		l.MustCredit(t, yen, "100")
		before := snapshot(t, l)
		for _, amount := range []string{"1e400", "-0", "0.001", "NaN", "Inf", "-1", "0", "0.00", "", " 1", "01", "1,00", "1234567890123456"} {
			for name, cmd := range map[string]walletd.Command{
				"credit":   credit(a, amount),
				"debit":    debit(a, amount),
				"transfer": transfer(a, b, amount),
			} {
				_, err := submit(l, "", cmd)
				if walletd.ErrorCode(err) != walletd.EInvalidAmount {
					t.Errorf("%s of %q: %v, want %s", name, amount, err, walletd.EInvalidAmount)
				}
			}
		}
		for _, amount := range []string{"1.0", "0.5"} {
			_, err := submit(l, "", credit(yen, amount))
			wantCode(t, err, walletd.EInvalidAmount)
		}
		wantUnchanged(t, l, before)
	})
	t.Run("ErrMaxBalance", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		a := l.MustWallet(t, "alice", "USD")
		b := l.MustWallet(t, "bob", "USD")
		l.MustCredit(t, a, "999999999999999.99")
		l.MustCredit(t, b, "1.00")
		before := snapshot(t, l)
		_, err := submit(l, "", credit(a, "0.01"))
		wantCode(t, err, walletd.EInvalidAmount)
		_, err = submit(l, "", transfer(b, a, "0.01"))
		wantCode(t, err, walletd.EInvalidAmount)
		wantUnchanged(t, l, before)
	})
	t.Run("ErrType", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		w := l.MustWallet(t, "alice", "USD")
		l.MustCredit(t, w, "10.00")
		before := snapshot(t, l)
		for _, typ := range []string{walletd.TypeTransferIn, walletd.TypeTransferOut, "", "Top-Up", "top up", "top-up", "topup\n",
			strings.Repeat("a", walletd.MaxTypeLen+1), "café"} {
			for _, kind := range []string{walletd.KindCredit, walletd.KindDebit} {
				_, err := submit(l, "", &ledger.Post{WalletID: w, Kind: kind, Amount: "1.00", Type: typ})
				if walletd.ErrorCode(err) != walletd.EInvalid {
					t.Errorf("%s with type %q: %v, want %s", kind, typ, err, walletd.EInvalid)
				}
			}
		}
		wantUnchanged(t, l, before)
		if e := mustSubmit(t, l, "", &ledger.Post{WalletID: w, Kind: walletd.KindCredit, Amount: "1.00", Type: strings.Repeat("a", walletd.MaxTypeLen)}).Entries[0]; len(e.Type) != walletd.MaxTypeLen {
			t.Fatalf("type %q", e.Type)
		}
	})
	t.Run("ErrText", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		a := l.MustWallet(t, "alice", "USD")
		b := l.MustWallet(t, "bob", "USD")
		l.MustCredit(t, a, "10.00")
		before := snapshot(t, l)
		long := strings.Repeat("r", walletd.MaxReasonLen+1)
		for _, cmd := range []walletd.Command{
			&ledger.Post{WalletID: a, Kind: walletd.KindCredit, Amount: "1.00", Type: "topup", Reason: long},
			&ledger.Post{WalletID: a, Kind: walletd.KindCredit, Amount: "1.00", Type: "topup", Reason: "bell\x07"},
			&ledger.Post{WalletID: a, Kind: walletd.KindCredit, Amount: "1.00", Type: "topup", Reason: "bad \xff utf-8"},
			&ledger.Post{WalletID: a, Kind: walletd.KindCredit, Amount: "1.00", Type: "topup", OrderID: strings.Repeat("o", walletd.MaxOrderIDLen+1)},
			&ledger.Post{WalletID: a, Kind: walletd.KindCredit, Amount: "1.00", Type: "topup", OrderID: "o\r\n1"},
			&ledger.Transfer{FromWalletID: a, ToWalletID: b, Amount: "1.00", Note: long},
			&ledger.SetStatus{WalletID: a, Frozen: true, Reason: long},
		} {
			_, err := submit(l, "", cmd)
			wantCode(t, err, walletd.EInvalid)
		}
		wantUnchanged(t, l, before)
		e := mustSubmit(t, l, "", &ledger.Post{WalletID: a, Kind: walletd.KindCredit, Amount: "1.00", Type: "topup",
			Reason: "tab\tand ünïcode ☕ " + strings.Repeat("r", 100)}).Entries[0]
		if !strings.HasPrefix(e.Reason, "tab\tand ünïcode ☕") {
			t.Fatalf("reason %q", e.Reason)
		}
		wantVerified(t, l)
	})
	t.Run("ErrMetadata", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		a := l.MustWallet(t, "alice", "USD")
		b := l.MustWallet(t, "bob", "USD")
		l.MustCredit(t, a, "10.00")
		before := snapshot(t, l)
		tooMany := map[string]string{}
		for i := 0; i <= walletd.MaxMetadataKeys; i++ {
			tooMany[fmt.Sprintf("k%02d", i)] = "v"
		}
		for name, m := range map[string]map[string]string{
			"TooManyKeys":  tooMany,
			"EmptyKey":     {"": "v"},
			"LongKey":      {strings.Repeat("k", walletd.MaxMetadataKeyLen+1): "v"},
			"LongValue":    {"k": strings.Repeat("v", walletd.MaxMetadataValLen+1)},
			"BadUTF8Key":   {"k\xff": "v"},
			"BadUTF8Val":   {"k": "v\xff"},
			"NewlineVal":   {"k": "a\nb"},
			"BidiVal":      {"k": "a\u202eb"},
			"ZeroWidthKey": {"k\u200b": "v"},
			"ControlKey":   {"k\x01": "v"},
		} {
			for op, cmd := range map[string]walletd.Command{
				"credit":   &ledger.Post{WalletID: a, Kind: walletd.KindCredit, Amount: "1.00", Type: "topup", Metadata: m},
				"debit":    &ledger.Post{WalletID: a, Kind: walletd.KindDebit, Amount: "1.00", Type: "fee", Metadata: m},
				"transfer": &ledger.Transfer{FromWalletID: a, ToWalletID: b, Amount: "1.00", Metadata: m},
			} {
				_, err := submit(l, "", cmd)
				if walletd.ErrorCode(err) != walletd.EInvalid {
					t.Errorf("%s with metadata %s: %v, want %s", op, name, err, walletd.EInvalid)
				}
			}
		}
		wantUnchanged(t, l, before)

		// The limits themselves are allowed.
		full := map[string]string{}
		for i := 0; i < walletd.MaxMetadataKeys; i++ {
			full[fmt.Sprintf("%0*d", walletd.MaxMetadataKeyLen, i)] = strings.Repeat("v", walletd.MaxMetadataValLen)
		}
		e := mustSubmit(t, l, "", &ledger.Post{WalletID: a, Kind: walletd.KindCredit, Amount: "1.00", Type: "topup", Metadata: full}).Entries[0]
		if want, _ := ledger.CanonicalMetadata(full); e.Metadata != want || want == "" {
			t.Fatal("the stored metadata is not the canonical JSON")
		}
		// JSON specials survive as canonical JSON (a tab is the one
		// control character free text may hold).
		e = mustSubmit(t, l, "", &ledger.Post{WalletID: a, Kind: walletd.KindCredit, Amount: "1.00", Type: "topup",
			Metadata: map[string]string{"z": "<a&b>", "a": "\"quoted\"\t\\"}}).Entries[0]
		if e.Metadata != `{"a":"\"quoted\"\t\\","z":"\u003ca\u0026b\u003e"}` {
			t.Fatalf("metadata %s", e.Metadata)
		}
		// No metadata is the empty string, not "{}" or "null".
		for _, m := range []map[string]string{nil, {}} {
			if e := mustSubmit(t, l, "", &ledger.Post{WalletID: a, Kind: walletd.KindCredit, Amount: "1.00", Type: "topup", Metadata: m}).Entries[0]; e.Metadata != "" {
				t.Fatalf("metadata %q", e.Metadata)
			}
		}
		wantVerified(t, l)
	})

}

func TestSetStatus(t *testing.T) {
	t.Run("ErrWalletFrozen", func(t *testing.T) {
		l := walletdtest.MustOpenLedger(t, nil)
		w := l.MustWallet(t, "alice", "USD")
		other := l.MustWallet(t, "bob", "USD")
		l.MustCredit(t, w, "10.00")
		l.MustCredit(t, other, "10.00")
		f := mustSubmit(t, l, "", &ledger.SetStatus{WalletID: w, Frozen: true, Reason: "chargeback review"}).Entries[0]
		if f.Kind != walletd.KindFreeze || f.Type != walletd.KindFreeze || f.Amount != "0.00" || f.BalanceAfter != "10.00" || f.Reason != "chargeback review" {
			t.Fatalf("freeze entry %+v", f)
		}
		if st := getWallet(t, l, w).Status; st != walletd.StatusFrozen {
			t.Fatalf("status %s", st)
		}
		before := snapshot(t, l)
		_, err := submit(l, "", debit(w, "1.00"))
		wantCode(t, err, walletd.EWalletFrozen)
		_, err = submit(l, "", transfer(w, other, "1.00"))
		wantCode(t, err, walletd.EWalletFrozen)
		_, err = submit(l, "", &ledger.SetStatus{WalletID: w, Frozen: true})
		wantCode(t, err, walletd.EConflict)
		wantUnchanged(t, l, before)

		// Money may still come in.
		if e := l.MustCredit(t, w, "5.00"); e.BalanceAfter != "15.00" {
			t.Fatalf("credit to a frozen wallet %+v", e)
		}
		if es := mustSubmit(t, l, "", transfer(other, w, "1.00")).Entries; es[1].BalanceAfter != "16.00" {
			t.Fatalf("transfer into a frozen wallet %+v", es[1])
		}

		u := mustSubmit(t, l, "", &ledger.SetStatus{WalletID: w, Frozen: false}).Entries[0]
		if u.Kind != walletd.KindUnfreeze || u.Type != walletd.KindUnfreeze || u.Amount != "0.00" {
			t.Fatalf("unfreeze entry %+v", u)
		}
		if st := getWallet(t, l, w).Status; st != walletd.StatusActive {
			t.Fatalf("status %s", st)
		}
		_, err = submit(l, "", &ledger.SetStatus{WalletID: w, Frozen: false})
		wantCode(t, err, walletd.EConflict)
		mustSubmit(t, l, "", debit(w, "16.00"))
		wantBalance(t, l, w, "0")
		wantVerified(t, l)
	})
}
